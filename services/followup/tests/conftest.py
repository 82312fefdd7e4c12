"""Fixtures of the follow-up component tests: a probe that reads what the service emitted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import asyncpg
import pytest

from hearth.contracts import Event, EventData, spec_for
from hearth.kit.testing.service_harness import read_topic

D = TypeVar("D", bound=EventData)


class Probe:
    """Reads a service's output topics and tables.  `events` waits for `expect` matching events (optionally
    reading again after `settle` seconds); "exactly once" is asserted on the outbox, where a second emission
    would be a second row (the wire may repeat an event id, which read_topic folds)."""

    def __init__(self, bootstrap: str, prefix: str, dsn: str) -> None:
        self.bootstrap, self.prefix, self.dsn = bootstrap, prefix, dsn

    async def events(
        self,
        model: type[D],
        where: Callable[[Event[D]], bool],
        *,
        expect: int,
        timeout: float = 30.0,
        settle: float = 0.0,
    ) -> list[Event[D]]:
        topic = self.prefix + spec_for(model).topic
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [
                e for e in await read_topic(self.bootstrap, topic, stop_after=10**9, timeout=1.0, settle=0) if where(e)
            ]
            if len(found) >= expect or loop.time() > deadline:
                break
        if settle:
            await asyncio.sleep(settle)
            found = [
                e for e in await read_topic(self.bootstrap, topic, stop_after=10**9, timeout=1.0, settle=0) if where(e)
            ]
        return found

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def until(self, sql: str, *args: Any, timeout: float = 30.0) -> list[asyncpg.Record]:
        """Poll a query until it returns rows."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            rows = await self.fetch(sql, *args)
            if rows:
                return rows
            if loop.time() > deadline:
                raise AssertionError(f"no rows after {timeout}s: {sql} {args}")
            await asyncio.sleep(0.1)

    async def outbox_count(self, model: type[EventData], key: str) -> int:
        rows = await self.fetch(
            "SELECT count(*) AS n FROM hearth_outbox WHERE event_type = $1 AND key = $2", spec_for(model).type, key
        )
        return int(rows[0]["n"])


@pytest.fixture(scope="session")
def probe_for() -> Callable[[str, str, str], Probe]:
    return Probe
