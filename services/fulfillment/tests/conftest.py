"""Fixtures of the fulfillment component tests: the service in this process on a fresh database and topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hearth.fulfillment.main import define
from hearth.fulfillment.settings import FulfillmentSettings
from hearth.kit.clock import ManualClock
from hearth.kit.testing.service_harness import ServiceUnderTest, running_service

from .orders import NOW
from .services import MASTER_KEY


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def svc(infra, unique_name, clock) -> AsyncIterator[ServiceUnderTest]:
    async with running_service(
        define,
        FulfillmentSettings,
        infra,
        unique_name("fulfillment") + ".",
        clock=clock,
        overrides={"master_key": MASTER_KEY},
    ) as service:
        yield service
