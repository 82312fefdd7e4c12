"""Fixtures of the screening tests: the service on real Kafka and Postgres, and what it emitted, checked against
the published contracts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from hearth.contracts import Event, EventData, parse_event, spec_for
from hearth.kit.testing.helpers import read_raw
from hearth.kit.testing.service_harness import ServiceUnderTest, running_service
from hearth.screening.main import define
from hearth.screening.settings import ScreeningSettings

SCHEMAS = Path(__file__).resolve().parents[3] / "contracts/src/hearth/contracts/schemas"
Emitted = Callable[..., Awaitable[list[Event[Any]]]]


@pytest.fixture
async def svc(infra: Any, unique_name: Any) -> AsyncIterator[ServiceUnderTest]:
    """The screening service in this process, serving CO, CA and NY, on its own database and topic prefix."""
    prefix = unique_name("screening") + "."
    overrides = {"served_states": ("CO", "CA", "NY")}
    async with running_service(define, ScreeningSettings, infra, prefix, overrides=overrides) as service:
        yield service


@cache
def _validator(topic: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{topic}.json").read_text()))


async def _emitted(
    svc: ServiceUnderTest, model: type[EventData], *, count: int, timeout: float = 30.0
) -> list[Event[Any]]:
    events = await svc.wait_for_events(model, count=count, timeout=timeout)
    if events:
        records = await read_raw(svc.bootstrap, svc.topic(model), expect=len(events))
        for record in records:
            _validator(spec_for(model).topic).validate(json.loads(record.value))
            assert isinstance(parse_event(record.value).data, model)
    return events


@pytest.fixture
def emitted() -> Emitted:
    """`await emitted(svc, Model, count=n)`: every distinct `Model` event the service emitted (waiting for `n`,
    then a little longer for extras), each record checked against its JSON Schema and parsed with the contract."""
    return _emitted
