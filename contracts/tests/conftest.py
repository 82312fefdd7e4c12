"""Fixtures shared by the contract tests: one parameter per catalog entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hearth.contracts import CATALOG, EventSpec
from hearth.contracts.schema import example_event

SPECS = list(CATALOG.values())


@pytest.fixture(params=SPECS, ids=[spec.topic for spec in SPECS])
def spec(request: pytest.FixtureRequest) -> EventSpec:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def example_json(spec: EventSpec) -> dict[str, Any]:
    """The example event of ``spec`` as a decoded JSON object, ready to be broken by a test."""
    return json.loads(example_event(spec).to_json())  # type: ignore[no-any-return]
