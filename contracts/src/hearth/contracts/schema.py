"""JSON Schema of each event: the whole CloudEvent with its typed data, as published in the package's schemas/.

The published schemas are *open* (no ``additionalProperties: false``) although our models forbid unknown
fields when building: a schema describes what a reader must accept, and within a major version a newer
producer may add optional fields that an older reader has to let through.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import CoreSchema

from hearth.contracts.catalog import EventSpec
from hearth.contracts.codec import build_event, event_class
from hearth.contracts.envelope import Event
from hearth.contracts.primitives import EXAMPLE_AT, EXAMPLE_JOURNEY, EXAMPLE_PATIENT

DRAFT = "https://json-schema.org/draft/2020-12/schema"


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: CoreSchema | Any) -> bool:
        # Titles derived from field names ("Phq9 Total") only repeat the property name.
        return False


def example_event(spec: EventSpec) -> Event[Any]:
    """A fixed, valid example of the event, identical on every run (the id is derived from the type)."""
    return build_event(
        spec.data_model.example(),
        subject=EXAMPLE_PATIENT,
        id=str(uuid5(NAMESPACE_URL, spec.dataschema)),
        time=EXAMPLE_AT,
        correlationid=EXAMPLE_JOURNEY,
    )


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The self-contained JSON Schema (draft 2020-12) of the event, with its example."""
    generated = event_class(spec.data_model).model_json_schema(schema_generator=_Generator)
    properties = generated["properties"]
    properties["type"] = {
        "type": "string",
        "const": spec.type,
        "description": properties["type"]["description"],
    }
    properties["dataschema"] = {
        "type": "string",
        "const": spec.dataschema,
        "description": properties["dataschema"]["description"],
    }
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": spec.dataschema,
        "title": f"{spec.data_model.__name__}Event",
        "description": f"{spec.description} Topic {spec.topic}, key = subject (patient id).",
        "type": "object",
        "properties": properties,
        "required": generated["required"],
        "$defs": generated.get("$defs", {}),
        "examples": [json.loads(example_event(spec).to_json())],
    }
    published: dict[str, Any] = _publishable(schema)
    return published


def _publishable(node: Any) -> Any:
    # Open every object (see the module docstring) and flatten docstring line breaks, so that re-wrapping a
    # docstring does not change a published schema.
    if isinstance(node, dict):
        return {
            key: " ".join(value.split()) if key == "description" and isinstance(value, str) else _publishable(value)
            for key, value in node.items()
            if key != "additionalProperties"
        }
    if isinstance(node, list):
        return [_publishable(item) for item in node]
    return node
