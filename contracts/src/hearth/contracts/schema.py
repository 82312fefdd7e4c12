"""JSON Schema of each event: the whole CloudEvent with its typed data, as published in the package's schemas/.

The published schemas are *open* (no ``additionalProperties: false``) although our models forbid unknown
fields when building: a schema describes what a reader must accept, and within a major version a newer
producer may add optional fields that an older reader has to let through.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import CoreSchema

from hearth.contracts.base import CODE_PATTERN, OpenCodes
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
        "pattern": f"^{_literal(spec.dataschema)}(\\?minor=[0-9]+)?$",
        "description": f"{spec.dataschema}?minor=<n>: this schema, at the minor version the producer was built with"
        " (a newer minor only adds, so this schema reads it).",
    }
    for name, definition in generated.get("$defs", {}).items():
        if name in _open_code_lists():
            generated["$defs"][name] = _open(definition)
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


def _literal(text: str) -> str:
    """``text`` as a regular expression matching itself, in the ECMA-262 dialect JSON Schema uses (a validator in
    Unicode mode refuses escapes such as ``\\-``, so only the syntax characters are escaped)."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", text)


def _open_code_lists() -> set[str]:
    return {cls.__name__ for cls in OpenCodes.__subclasses__()}


def _open(definition: dict[str, Any]) -> dict[str, Any]:
    """An open code list: the known codes, or any code shaped like one (added by a newer minor version)."""
    known = [code for code in definition["enum"]]
    note = (
        "Open list: codes may be added within a major version; read a code you do not know as unknown "
        f"(it matches {CODE_PATTERN})."
    )
    return {
        "title": definition["title"],
        "description": f"{definition.get('description', '')} {note}".strip(),
        "type": "string",
        "anyOf": [{"type": "string", "enum": known}, {"type": "string", "pattern": CODE_PATTERN}],
    }


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
