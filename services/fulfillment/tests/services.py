"""Helpers of the component tests: input events, waiting for the service to catch up, reading every record."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from hearth.contracts import (
    ApprovalRevoked,
    Approved,
    Event,
    EventData,
    ReasonCode,
    SessionStarted,
    build_event,
    spec_for,
)
from hearth.fulfillment.main import define
from hearth.fulfillment.settings import FulfillmentSettings
from hearth.kit.app import create_app
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import group_lag, wait_for
from hearth.kit.testing.service_harness import ServiceUnderTest, prepare
from hearth.kit.topics import partitions_of

from .orders import NOW, approval


@asynccontextmanager
async def serving(infra: Any, prefix: str, **settings: Any) -> AsyncIterator[ServiceUnderTest]:
    """The harness's `running_service`, except that `log_level` can be set too (`prepare` fixes it to WARNING
    and a second value for it is a TypeError), so a test can see the DEBUG lines."""
    level = settings.pop("log_level", "WARNING")
    prepared, definition, dsn = await prepare(
        define, FulfillmentSettings, infra, prefix, {"master_key": MASTER_KEY, **settings}
    )
    prepared = prepared.model_copy(update={"log_level": level})
    app = create_app(definition, prepared)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield ServiceUnderTest(definition, prepared, dsn, prefix, infra.kafka_bootstrap, client)


MASTER_KEY = base64.b64encode(b"component-test-master-key-32byte").decode()
CONSUMED = (Approved, ApprovalRevoked, SessionStarted)


def approved(approval_id: str, patient: str, plan: str = "foundation") -> Event[Approved]:
    return build_event(approval(plan, approval_id), subject=patient)


def revoked(approval_id: str, patient: str) -> Event[ApprovalRevoked]:
    data = ApprovalRevoked(approval_id=approval_id, prescriber_id="clin-1", reason=ReasonCode.ADVERSE_EVENT)
    return build_event(data, subject=patient)


def session_started(approval_id: str, patient: str, number: int, session_id: str | None = None) -> Event[Any]:
    at = NOW + timedelta(days=2 * number)
    data = SessionStarted(
        session_id=session_id or f"ses-{uuid.uuid4().hex[:12]}",
        approval_id=approval_id,
        session_number=number,
        dose_mg=200,
        dose_finding=number <= 2,
        started_at=at,
        check_ins_due=(at, at + timedelta(minutes=20)),
    )
    return build_event(data, subject=patient)


async def caught_up(svc: ServiceUnderTest | tuple[str, str], timeout: float = 30.0) -> None:
    """Every record on the consumed topics has been handled and its offset committed (`svc`: the service
    under test, or its bootstrap and topic prefix)."""
    bootstrap, prefix = (svc.bootstrap, svc.prefix) if isinstance(svc, ServiceUnderTest) else svc
    topics = [prefix + spec_for(model).topic for model in CONSUMED]

    async def no_lag() -> bool:
        return await group_lag(bootstrap, prefix + "fulfillment", topics) == 0  # groups carry the prefix

    await wait_for(no_lag, timeout=timeout, what="the fulfillment consumer to catch up")


async def outbox_count(svc: ServiceUnderTest, model: type[EventData]) -> int:
    """Events of a type the service staged: every event leaves through the outbox, so none here means none."""
    conn = await svc.db()
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM hearth_outbox WHERE event_type = $1", spec_for(model).type)
        )
    finally:
        await conn.close()


async def order_of(svc: ServiceUnderTest, approval_id: str) -> dict[str, Any]:
    conn = await svc.db()
    try:
        row = await wait_for(
            lambda: conn.fetchrow("SELECT order_id FROM orders WHERE approval_id = $1", approval_id),
            timeout=30,
            what=f"the order of {approval_id}",
        )
    finally:
        await conn.close()
    return dict(row)


def auth(svc: ServiceUnderTest, role: Any, subject: str = "tester-1", **extra: str) -> dict[str, str]:
    return {**svc.auth(role, subject), **extra}


async def every_record(bootstrap: str, prefix: str) -> list[Any]:
    """Every record on every topic whose name starts with `prefix`, from the beginning to the current end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
    finally:
        await admin.close()
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **kafka_client_options()
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


def when(days: float) -> datetime:
    return NOW + timedelta(days=days)
