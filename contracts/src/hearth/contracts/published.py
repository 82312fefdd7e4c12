"""The published documents, as the package ships them: each event's JSON Schema and the AsyncAPI document.

They are the files the generator wrote (``schemas/<topic>.json``, ``asyncapi.json`` beside this module), read
from the installed package, so a subscriber validating events needs nothing but ``pip install hearth-contracts``.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any, cast

from hearth.contracts.catalog import spec_for


def schema_text(event: str) -> str:
    """The JSON Schema of an event type or topic (e.g. ``screening.approved.v1``), as published."""
    return files("hearth.contracts").joinpath(f"schemas/{spec_for(event).topic}.json").read_text(encoding="utf-8")


def schema(event: str) -> dict[str, Any]:
    """The JSON Schema of an event type or topic, decoded."""
    return cast("dict[str, Any]", json.loads(schema_text(event)))


def asyncapi_text() -> str:
    """The AsyncAPI 3.0 document of every event, as published."""
    return files("hearth.contracts").joinpath("asyncapi.json").read_text(encoding="utf-8")


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI document, decoded."""
    return cast("dict[str, Any]", json.loads(asyncapi_text()))
