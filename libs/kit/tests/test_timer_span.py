"""With tracing on, a timer firing is the root span of a trace of its own, and the events it emits carry it."""

from __future__ import annotations

from datetime import timedelta

import orjson
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hearth.contracts.events.screening import Screened
from hearth.kit import telemetry
from hearth.kit.context import EventContext
from hearth.kit.testing.workers import ProbeTimer
from hearth.kit.timer_poller import TimerPoller, timer_routes
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork


async def test_a_timer_fires_in_its_own_span_and_its_events_carry_it(pool):
    uow = UnitOfWork(pool, "screening")

    async def schedule(tx: Tx) -> None:
        tx.schedule(ProbeTimer(key="t-1"), at=uow.clock.now() - timedelta(seconds=1), key="t-1")

    await uow.run(schedule, EventContext.new())

    async def emit(timer: ProbeTimer, tx: Tx) -> None:
        tx.emit(Screened.example(), subject="pt-timer-1")

    exporter = InMemorySpanExporter()
    tracing = telemetry.ServiceTracing("screening", exporter, batch=False)
    token = tracing.activate()
    try:
        assert await TimerPoller(uow, timer_routes((ProbeTimer, emit))).fire_due() == 1
    finally:
        telemetry.deactivate(token)
        tracing.close()
    [fired] = [s for s in exporter.get_finished_spans() if s.name == f"timer {ProbeTimer.kind}"]
    assert fired.parent is None and fired.attributes["hearth.timer_key"] == "t-1"
    assert fired.resource.attributes["service.name"] == "screening"
    # The poller's own statements, and the outbox rows written at the end of its transaction, make no trace.
    assert [s.name for s in exporter.get_finished_spans() if s.parent is None] == [fired.name]
    payload = await pool.fetchval("SELECT payload FROM hearth_outbox")
    traceparent = orjson.loads(payload)["traceparent"]
    assert traceparent.startswith(f"00-{fired.context.trace_id:032x}-{fired.context.span_id:016x}-")
