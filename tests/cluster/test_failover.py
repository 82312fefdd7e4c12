"""Failover on a three-node Kafka cluster (replication factor 3, min.insync.replicas 2, producers with acks=all and
idempotence) during simulator runs: the books balance exactly afterwards (every approved patient one order, every
shipped box one box-shipped, every timer fired once), no record reaches a dead-letter topic, nothing is applied
twice.

1. The node leading a busy partition is SIGKILLed mid-journey and started again 20 s later.
2. Two nodes stopped (one left: no controller quorum, fewer in-sync replicas than min.insync.replicas): every
   publish fails, the outboxes hold the events, /readyz says why, the logs stay quiet, and everything drains when
   the nodes return.
3. Each service as two processes; one of each SIGKILLed mid-journey (its partitions move to the other) and one
   more added mid-journey (another rebalance).

The figures each test measures are printed (`pytest -s`) and quoted in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from hearth.contracts import SERVICES, dlq_topic
from hearth.journey.personas import cast
from hearth.journey.reconcile import reconcile
from hearth.journey.run import Run, drive, running_journey, settle
from hearth.journey.stack import Stack
from hearth.journey.timings import Timings
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.helpers import read_raw

# The fault tests' margins: a moving leader or a rebalance delays check-ins and timers by seconds.
TIMINGS = Timings(check_in_offsets=(0.0, 3.0, 6.0, 9.0), check_in_grace=3.0, integration_closes_after=20.0)
BUSY_TOPIC = "fulfillment.box-shipped.v1"  # several records per patient
# Warning and error lines a service may log per minute while two of three brokers are down (OUTAGE seconds, then
# the minute or so they take to start again): a line per kind of failure every half minute or so is expected (up
# to 39 in 85 s were measured), a line per retry, record or poll is a storm (thousands).
OUTAGE = 20.0
QUIET_PER_MINUTE = 45


async def describe(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """The topic's partitions (leader, replicas, ISR); asked again while the node asked is one just killed."""
    for attempt in range(60):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
        try:
            await admin.start()
            [described] = await admin.describe_topics([topic])
            return list(described["partitions"])
        except KafkaError:
            if attempt == 59:
                raise
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    return next(int(p["leader"]) for p in await describe(bootstrap, topic) if p["partition"] == partition)


async def letters(bootstrap: str, prefix: str) -> dict[str, int]:
    """Records on each service's dead-letter topic (read before the run ends: its topics are deleted with it)."""
    return {
        service: len(await read_raw(bootstrap, prefix + dlq_topic(service), expect=1, timeout=2))
        for service in SERVICES
    }


def complaints(stack: Stack) -> Counter[str]:
    """Warning, error and critical log lines per service, every process of it counted."""
    counts: Counter[str] = Counter()
    for name in stack.services:
        for process in stack.processes(name):
            if not process.log_path.exists():
                continue
            for line in process.log_path.read_text(errors="replace").splitlines():
                try:
                    level = str(json.loads(line).get("level", "")).lower()
                except (ValueError, AttributeError):
                    level = "error" if "Traceback" in line or "ERROR" in line else ""
                if level in ("warning", "error", "critical", "exception"):
                    counts[name] += 1
    return counts


async def unsent(stack: Stack) -> dict[str, int]:
    """Events waiting in each service's outbox."""
    counts = {}
    for name, dsn in stack.dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            counts[name] = int(await conn.fetchval("SELECT count(*) FROM hearth_outbox WHERE sent_at IS NULL"))
        finally:
            await conn.close()
    return counts


async def readiness(stack: Stack) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each service's first process: /readyz status and body."""
    answers = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for name in stack.services:
            response = await client.get(f"{stack.url(name)}/readyz")
            answers[name] = (response.status_code, response.json())
    return answers


def balanced(run: Run, dead: dict[str, int], *, approved_at_least: int) -> dict[str, int]:
    books = reconcile(run.records, run.counter)
    assert books.balanced, "\n".join(books.problems)
    assert books.figures["approved"] >= approved_at_least, books.figures
    assert dead == dict.fromkeys(SERVICES, 0), f"dead letters: {dead}"
    return books.figures


@pytest.mark.timeout(900)
async def test_the_leader_of_a_busy_partition_killed_mid_journey(cluster, unique_name, tmp_path):
    prefix = unique_name("leader") + "."
    people = cast(100, seed=31, check_ins=len(TIMINGS.check_in_offsets))
    figures: dict[str, float] = {}
    async with running_journey(cluster, prefix, tmp_path / "logs", TIMINGS) as run:
        busy = prefix + BUSY_TOPIC
        partitions = await describe(cluster.kafka_bootstrap, busy)
        assert {len(p["replicas"]) for p in partitions} == {3}, partitions

        async def fault() -> None:
            await asyncio.sleep(12)  # patients mid-journey: orders placed, boxes shipping
            leader = await leader_of(cluster.kafka_bootstrap, busy, 0)
            killed = time.monotonic()
            await asyncio.to_thread(cluster.stop_kafka, True, 30.0, [leader])
            figures["killed node"] = leader
            while await leader_of(cluster.kafka_bootstrap, busy, 0) in (leader, -1):
                await asyncio.sleep(0.5)
            figures["new leader after s"] = round(time.monotonic() - killed, 1)
            await asyncio.sleep(max(0.0, 20 - (time.monotonic() - killed)))
            restarting = time.monotonic()
            await asyncio.to_thread(cluster.start_kafka, [leader])
            figures["node back after s"] = round(time.monotonic() - restarting, 1)

        started = time.monotonic()
        await drive(run, people, TIMINGS, arrival_seconds=30, during=fault)
        await settle(run, TIMINGS)
        figures["journey and settling s"] = round(time.monotonic() - started, 1)
        dead = await letters(cluster.kafka_bootstrap, prefix)
        assert all(process.alive for name in SERVICES for process in run.stack.processes(name))
    print("leader killed:", figures)
    books = balanced(run, dead, approved_at_least=50)
    print("books:", books)
    assert "new leader after s" in figures and "node back after s" in figures


@pytest.mark.timeout(900)
async def test_two_brokers_down_hold_the_outbox_and_drain_when_they_return(cluster, unique_name, tmp_path):
    prefix = unique_name("quorum") + "."
    people = cast(30, seed=37, check_ins=len(TIMINGS.check_in_offsets))
    figures: dict[str, Any] = {}
    held: Counter[str] = Counter()  # the most events seen waiting in each outbox
    not_ready: dict[str, str] = {}  # a reason each service gave while the nodes were down
    async with running_journey(cluster, prefix, tmp_path / "logs", TIMINGS) as run:

        async def outage() -> None:
            await asyncio.sleep(8)
            before = complaints(run.stack)
            down = time.monotonic()
            for node in (3, 2):  # stopped one after the other: the partitions' in-sync sets shrink to node 1
                await asyncio.to_thread(cluster.stop_kafka, False, 60.0, [node])
            restarting: asyncio.Future[bool] | None = None
            while restarting is None or not restarting.done():  # down for OUTAGE s, then while they start
                for name, count in (await unsent(run.stack)).items():
                    held[name] = max(held[name], count)
                for name, (status, body) in (await readiness(run.stack)).items():
                    if status == 503 and "outbox_publishing" in body.get("reasons", {}):
                        not_ready.setdefault(name, body["reasons"]["outbox_publishing"])
                await asyncio.sleep(1)
                if restarting is None and time.monotonic() - down >= OUTAGE:
                    back = time.monotonic()
                    restarting = asyncio.ensure_future(asyncio.to_thread(cluster.start_kafka, [2, 3]))
            await restarting
            figures["nodes back after s"] = round(time.monotonic() - back, 1)
            while any((await unsent(run.stack)).values()):
                await asyncio.sleep(0.5)
            figures["outboxes drained after s"] = round(time.monotonic() - back, 1)
            while any(status != 200 for status, _ in (await readiness(run.stack)).values()):
                await asyncio.sleep(0.5)
            figures["all ready after s"] = round(time.monotonic() - back, 1)
            figures["complaints during the outage"] = dict(complaints(run.stack) - before)
            figures["outage s"] = round(time.monotonic() - down, 1)

        # A node started again may take a minute on a busy machine: patients wait as long as the outage lasts.
        await drive(run, people, TIMINGS, arrival_seconds=20, during=outage, patience=300)
        await settle(run, TIMINGS)
        dead = await letters(cluster.kafka_bootstrap, prefix)
    print("two nodes down:", figures, "held:", dict(held), "not ready:", not_ready)
    books = balanced(run, dead, approved_at_least=15)
    print("books:", books)
    assert held["screening"] > 0, "screening's outbox never held an event while two nodes were down"
    assert "screening" in not_ready, "screening's /readyz never reported its failing publishes"
    assert "publishing to Kafka has failed" in not_ready["screening"]
    bound = QUIET_PER_MINUTE * max(1.0, figures["outage s"] / 60)
    noisy = {name: n for name, n in figures["complaints during the outage"].items() if n > bound}
    assert not noisy, f"more than {bound:.0f} warning/error lines in a {figures['outage s']:.0f} s outage: {noisy}"


@pytest.mark.timeout(900)
async def test_replicas_killed_and_added_mid_journey(cluster, unique_name, tmp_path):
    prefix = unique_name("replicas") + "."
    people = cast(60, seed=41, check_ins=len(TIMINGS.check_in_offsets))
    figures: dict[str, Any] = {}
    async with running_journey(cluster, prefix, tmp_path / "logs", TIMINGS) as run:
        await asyncio.gather(*(run.stack.add_replica(name) for name in SERVICES))

        async def churn() -> None:
            await asyncio.sleep(8)
            for name in SERVICES:  # the first process of each: it leads the relay, holds partitions and timers
                await run.stack.kill(name)
            killed = time.monotonic()
            await asyncio.sleep(8)
            await asyncio.gather(*(run.stack.add_replica(name) for name in SERVICES))
            figures["replicas added after the kill s"] = round(time.monotonic() - killed, 1)

        started = time.monotonic()
        await drive(run, people, TIMINGS, arrival_seconds=20, during=churn)
        await settle(run, TIMINGS)
        figures["journey and settling s"] = round(time.monotonic() - started, 1)
        live = {name: sum(p.alive for p in run.stack.processes(name)) for name in SERVICES}
        dead = await letters(cluster.kafka_bootstrap, prefix)
    print("replicas:", figures, live)
    books = balanced(run, dead, approved_at_least=25)
    print("books:", books)
    assert live == dict.fromkeys(SERVICES, 2), live
