"""A batch handler gets the new events of its type that come one after the other in a batch, in one call and in
the order read, each with its own unit of work; duplicates, forged and malformed records never reach it; a run
that fails is settled again record by record, so only the bad record is dead-lettered; and what it emits is
what a handler per event would have emitted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hearth.contracts import Event, build_event, parse_event, spec_for, topic_for
from hearth.contracts.events.followup import IntegrationDue
from hearth.contracts.events.screening import Screened
from hearth.contracts.events.session import SessionStarted
from hearth.kit import telemetry
from hearth.kit.dead_letters import StoredRecord as Record
from hearth.kit.event_handlers import BatchHandler, batched
from hearth.kit.inbox import Inbox, Outcome
from hearth.kit.testing.helpers import screened_event
from hearth.kit.testing.workers import on_screened_batched
from hearth.kit.tx import Tx
from hearth.kit.uow import UnitOfWork


def _records(prefix: str, values: Sequence[bytes], topic: str | None = None) -> list[Record]:
    topic = topic or prefix + topic_for(Screened)
    return [Record(topic, 0, i, b"pt", v) for i, v in enumerate(values)]


def _recording(calls: list[list[str]], fail_on: str | None = None) -> BatchHandler:
    async def many(items: Sequence[tuple[Event[Screened], Tx]]) -> None:
        ids = [str(event.id) for event, _ in items]
        calls.append(ids)
        if fail_on in ids:
            raise RuntimeError("handler bug")
        await on_screened_batched.many(items)

    return batched(many)


async def _applied(pool) -> list[str]:
    rows = await pool.fetch("SELECT event_id::text FROM test_effects ORDER BY applied_at, ctid")
    return [r[0] for r in rows]


async def test_a_run_reaches_the_handler_once_in_order_without_duplicates_or_bad_records(pool, unique_name):
    prefix = unique_name("ibr") + "."
    events = [screened_event(f"pt-{i % 2}") for i in range(6)]
    forged = json.loads(screened_event("pt-9").to_json())
    forged["source"] = "/hearth/session"
    calls: list[list[str]] = []
    inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), {spec_for(Screened).type: _recording(calls)})
    assert await inbox.handle_batch(_records(prefix, [events[0].to_json()])) is Outcome.APPLIED
    values = [
        events[0].to_json(),  # applied in the batch before: a duplicate
        events[1].to_json(),
        b"{not json",
        events[2].to_json(),
        json.dumps(forged).encode(),
        events[3].to_json(),
        events[3].to_json(),  # the same event twice in one batch
        events[4].to_json(),
        events[5].to_json(),
    ]
    assert await inbox.handle_batch(_records(prefix, values)) is Outcome.APPLIED
    assert calls == [[str(events[0].id)], [str(e.id) for e in events[1:]]]
    assert await _applied(pool) == [str(e.id) for e in events]
    letters = await pool.fetch("SELECT origin_offset, reason FROM hearth_dead_letters ORDER BY origin_offset")
    assert [(r["origin_offset"], r["reason"]) for r in letters] == [(2, "contract"), (4, "wrong_source")]


async def test_runs_keep_the_order_of_the_batch_across_handlers(pool, unique_name):
    prefix = unique_name("ibo") + "."
    order: list[str] = []

    async def many(items: Sequence[tuple[Event[Any], Tx]]) -> None:
        order.append("screened: " + ",".join(event.subject for event, _ in items))

    async def each(event: Event[SessionStarted], tx: Tx) -> None:
        order.append(f"started {event.subject}")

    routes = {spec_for(Screened).type: batched(many), spec_for(SessionStarted).type: each}
    inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), routes)
    started = build_event(SessionStarted.example(), subject="pt-s")
    screened_topic, started_topic = prefix + topic_for(Screened), prefix + topic_for(SessionStarted)
    batch = [
        Record(screened_topic, 0, 0, b"pt", screened_event("pt-1").to_json()),
        Record(screened_topic, 0, 1, b"pt", screened_event("pt-2").to_json()),
        Record(started_topic, 0, 0, b"pt", started.to_json()),
        Record(screened_topic, 0, 2, b"pt", screened_event("pt-3").to_json()),
    ]
    assert await inbox.handle_batch(batch) is Outcome.APPLIED
    assert order == ["screened: pt-1,pt-2", "started pt-s", "screened: pt-3"]


async def test_a_failing_run_is_settled_record_by_record_and_only_the_bad_one_is_lettered(pool, unique_name):
    prefix = unique_name("ibf") + "."
    events = [screened_event(f"pt-{i}") for i in range(5)]
    poison = str(events[2].id)
    calls: list[list[str]] = []
    routes = {spec_for(Screened).type: _recording(calls, fail_on=poison)}
    inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), routes, max_attempts=3)
    batch = _records(prefix, [e.to_json() for e in events])
    assert await inbox.handle_batch(batch) is Outcome.RETRY
    assert await inbox.handle_batch(batch) is Outcome.RETRY
    assert await _applied(pool) == [], "a retried batch left effects"
    assert await inbox.handle_batch(batch) is Outcome.APPLIED
    ids = [str(e.id) for e in events]
    # Each pass: the whole run fails, then the records one by one up to the poison one (or all of them when its
    # attempts are spent and it is lettered).
    assert calls == [ids, *[[i] for i in ids[:3]]] * 2 + [ids, *[[i] for i in ids]]
    assert sorted(await _applied(pool)) == sorted(set(ids) - {poison})
    letters = await pool.fetch("SELECT origin_offset, reason FROM hearth_dead_letters")
    assert [(r["origin_offset"], r["reason"]) for r in letters] == [(2, "handler_failed")]


async def test_what_a_run_emits_is_what_one_handler_per_event_emits(pool, unique_name):
    """Ids derived from the consumed event, causation, correlation and trace: per event, not per run."""
    prefix = unique_name("ibe") + "."
    events = [screened_event(f"pt-{i}") for i in range(4)]

    def due(subject: str) -> IntegrationDue:
        return IntegrationDue.example().model_copy(update={"session_id": f"sess-{subject}"})

    async def each(event: Event[Screened], tx: Tx) -> None:
        tx.emit(due(event.subject), subject=event.subject)
        tx.emit(due(event.subject), subject=event.subject)

    async def many(items: Sequence[tuple[Event[Screened], Tx]]) -> None:
        for event, tx in items:
            await each(event, tx)

    emitted: dict[str, list[tuple[str, str, str, str | None]]] = {}
    for name, handler in (("each", each), ("batched", batched(many))):
        consumer = f"followup-{name}"
        inbox = Inbox(
            UnitOfWork(pool, "followup", topic_prefix=prefix), {spec_for(Screened).type: handler}, consumer=consumer
        )
        assert await inbox.handle_batch(_records(prefix, [e.to_json() for e in events])) is Outcome.APPLIED
        rows = await pool.fetch("DELETE FROM hearth_outbox RETURNING payload, id")
        emitted[name] = [
            (str(e.id), e.causationid or "", e.correlationid, e.traceparent)
            for e in (parse_event(bytes(r["payload"])) for r in sorted(rows, key=lambda r: r["id"]))
        ]
    assert len(emitted["batched"]) == 8
    assert emitted["batched"] == emitted["each"]
    assert [c for _, c, _, _ in emitted["batched"]] == [str(e.id) for e in events for _ in range(2)]
    assert len({i for i, _, _, _ in emitted["batched"]}) == 8


async def test_each_event_of_a_run_has_its_own_handler_span_and_emits_into_its_own_trace(pool, unique_name):
    prefix = unique_name("ibt") + "."
    traces = [f"{i + 1:032x}" for i in range(3)]
    events = [
        build_event(Screened.example(), subject=f"pt-{i}", traceparent=f"00-{t}-{i + 1:016x}-01")
        for i, t in enumerate(traces)
    ]

    async def many(items: Sequence[tuple[Event[Screened], Tx]]) -> None:
        for event, tx in items:
            tx.emit(IntegrationDue.example(), subject=event.subject)

    spans = InMemorySpanExporter()
    tracing = telemetry.ServiceTracing("followup", spans, batch=False)
    token = tracing.activate()
    try:
        inbox = Inbox(UnitOfWork(pool, "followup", topic_prefix=prefix), {spec_for(Screened).type: batched(many)})
        assert await inbox.handle_batch(_records(prefix, [e.to_json() for e in events])) is Outcome.APPLIED
    finally:
        telemetry.deactivate(token)
        tracing.close()
    handled = [s for s in spans.get_finished_spans() if s.name.startswith("handle ")]
    assert sorted((f"{s.parent.trace_id:032x}", s.parent.span_id) for s in handled) == [
        (t, i + 1) for i, t in enumerate(traces)
    ]
    rows = await pool.fetch("SELECT payload FROM hearth_outbox ORDER BY id")
    emitted = [parse_event(bytes(r["payload"])) for r in rows]
    span_of = {f"{s.parent.trace_id:032x}": f"{s.context.span_id:016x}" for s in handled}
    assert [(e.subject, e.traceparent) for e in emitted] == [
        (f"pt-{i}", f"00-{t}-{span_of[t]}-01") for i, t in enumerate(traces)
    ]
