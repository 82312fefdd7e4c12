"""The audit trail checked against signed checkpoints on real Kafka: truncation, a rewrite with every later hash
recomputed, a service that stopped checkpointing and a forged checkpoint are each named; the chain alone sees
none of the first two.

The insider here holds the database administrator's credentials (the only ones that can get past the trail's
trigger, test_audit_roles.py); the signing key stays with the service.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hearth.contracts import build_event, topic_for
from hearth.contracts.events.audit import CHECKPOINTS
from hearth.kit import audit, audit_keys, migrations
from hearth.kit.audit_verify import Verdict, read_checkpoints, verify_anchored
from hearth.kit.checkpoints import CheckpointPublisher, sign
from hearth.kit.cli import main as hearth
from hearth.kit.clock import SystemClock
from hearth.kit.publisher import KafkaPublisher, Record
from hearth.kit.service import ServiceDefinition
from hearth.kit.settings import KitSettings, kafka_client_options
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.postgres import Database, drop_database, provision_database
from hearth.kit.testing.service_harness import AUDIT_SIGNING_KEY, running_service
from hearth.kit.topics import catalog_topics

LAG = timedelta(minutes=10)


@dataclass
class Trail:
    db: Database
    pool: asyncpg.Pool
    publisher: CheckpointPublisher
    prefix: str
    bootstrap: str

    async def append(self, n: int, *, at: datetime | None = None) -> None:
        async with self.pool.acquire() as conn:
            for i in range(n):
                async with conn.transaction():
                    when = at or datetime.now(UTC)
                    await audit.append(conn, at=when, actor="clin-1", action="approved", entity=f"a:{i}")

    async def verdict(self, key: audit_keys.Ed25519PublicKey | None = None) -> Verdict:
        topic = self.prefix + topic_for(CHECKPOINTS["screening"])
        checkpoints = await read_checkpoints(self.bootstrap, topic, kafka_client_options())
        async with self.pool.acquire() as conn:
            public = key or self.publisher.key.public_key()
            return await verify_anchored(conn, checkpoints, public, now=datetime.now(UTC), max_lag=LAG)

    async def as_admin(self, sql: str, *args: object) -> None:
        conn = await asyncpg.connect(self.db.admin)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()


@pytest.fixture
async def trail(infra, kafka_topics, unique_name) -> AsyncIterator[Trail]:
    prefix = unique_name("ckpt") + "."
    await kafka_topics(prefix + topic_for(CHECKPOINTS["screening"]), partitions=1)
    db = await provision_database(infra.pg_admin_dsn)
    conn = await asyncpg.connect(db.owner)
    await migrations.migrate(conn, migrations.kit_migrations())
    await conn.close()
    pool = await asyncpg.create_pool(db.runtime, min_size=1, max_size=2)
    publisher = CheckpointPublisher(
        pool,
        KafkaPublisher(infra.kafka_bootstrap, **kafka_client_options()),
        "screening",
        audit_keys.generate(),
        SystemClock(),
        topic_prefix=prefix,
        interval=0.2,
    )
    try:
        yield Trail(db, pool, publisher, prefix, infra.kafka_bootstrap)
    finally:
        await publisher.publisher.stop()
        await pool.close()
        await drop_database(infra.pg_admin_dsn, db.admin)


def kinds(verdict: Verdict) -> list[str]:
    return [f.kind for f in verdict.findings]


async def test_an_untouched_trail_is_anchored_to_its_head(trail: Trail) -> None:
    await trail.append(3)
    await trail.publisher.publish()
    await trail.append(2)
    checkpoint = await trail.publisher.publish()

    verdict = await trail.verdict()
    assert (verdict.intact, verdict.rows, verdict.anchored_to) == (True, 5, 5), verdict.findings
    assert checkpoint.seq == 5 and checkpoint.key_id == audit_keys.key_id(trail.publisher.key.public_key())


async def test_removing_the_last_rows_is_named_truncation(trail: Trail) -> None:
    await trail.append(5)
    await trail.publisher.publish()
    await trail.as_admin("ALTER TABLE audit.trail DISABLE TRIGGER trail_no_update")
    await trail.as_admin("DELETE FROM audit.trail WHERE seq >= 4")

    async with trail.pool.acquire() as conn:
        assert await audit.verify(conn) == (3, None)  # the chain alone sees nothing wrong
    verdict = await trail.verdict()
    assert kinds(verdict) == ["truncation"]
    assert "rows 4 to 5 were removed" in verdict.findings[0].detail


async def test_a_rewrite_with_every_later_hash_recomputed_is_named(trail: Trail) -> None:
    await trail.append(2)
    await trail.publisher.publish()  # vouches for seq 2
    await trail.append(3)
    await trail.publisher.publish()  # vouches for seq 5
    await trail.as_admin("ALTER TABLE audit.trail DISABLE TRIGGER trail_no_update")
    conn = await asyncpg.connect(trail.db.admin)
    try:  # edit row 3 and recompute the hashes from there on, so that the chain verifies again
        rows = await conn.fetch("SELECT * FROM audit.trail ORDER BY seq")
        prev = rows[1]["hash"]
        for row in rows[2:]:
            actor = "someone-else" if row["seq"] == 3 else row["actor"]
            digest = audit.row_hash(prev, row["at"], actor, row["action"], row["entity"], {})
            await conn.execute(
                "UPDATE audit.trail SET actor = $2, prev_hash = $3, hash = $4 WHERE seq = $1",
                row["seq"],
                actor,
                prev,
                digest,
            )
            prev = digest
        assert await audit.verify(conn) == (5, None)  # the chain alone sees nothing wrong
    finally:
        await conn.close()

    verdict = await trail.verdict()
    assert kinds(verdict) == ["rewrite"]
    assert "rewritten between seq 3 and 5" in verdict.findings[0].detail
    assert verdict.anchored_to == 2


async def test_rows_no_checkpoint_covers_are_named_when_checkpointing_stopped(trail: Trail) -> None:
    await trail.append(2, at=datetime.now(UTC) - timedelta(hours=2))
    never = await trail.verdict()
    assert kinds(never) == ["stopped_checkpointing"] and "no checkpoint was ever published" in never.findings[0].detail

    await trail.publisher.publish()
    await trail.append(3, at=datetime.now(UTC) - timedelta(hours=1))  # written, then no checkpoint for an hour
    verdict = await trail.verdict()
    assert kinds(verdict) == ["stopped_checkpointing"]
    assert "3 row(s) from seq 3" in verdict.findings[0].detail and "covers seq 2" in verdict.findings[0].detail
    await trail.append(1)  # a fresh row inside the allowed lag is not a finding on its own
    await trail.publisher.publish()
    assert (await trail.verdict()).intact


async def test_a_checkpoint_signed_with_another_key_is_named_and_never_trusted(trail: Trail) -> None:
    await trail.append(2)
    await trail.publisher.publish()
    forger = CheckpointPublisher(
        trail.pool,
        trail.publisher.publisher,
        "screening",
        audit_keys.generate(),
        SystemClock(),
        topic_prefix=trail.prefix,
    )
    forged = sign("screening", 99, "ab" * 32, datetime.now(UTC), forger.key)
    assert forged.seq == 99
    await forger.publish()  # a well-formed checkpoint of the real head, but not with the service's key
    event = build_event(forged, subject="audit-trail:screening")
    topic = trail.prefix + topic_for(CHECKPOINTS["screening"])
    await trail.publisher.publisher.send_all([Record(topic, b"audit-trail:screening", event.to_json(), [])])

    verdict = await trail.verdict()
    assert kinds(verdict) == ["forged_checkpoint", "forged_checkpoint"]  # seq 99 is not taken for truncation
    assert verdict.anchored_to == 2


async def test_run_checkpoints_while_the_head_moves_and_once_more_on_stop(trail: Trail) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(trail.publisher.run(stop))
    await trail.append(2)
    await asyncio.sleep(1.0)
    await trail.append(1)
    stop.set()
    await asyncio.wait_for(running, 30)

    topic = trail.prefix + topic_for(CHECKPOINTS["screening"])
    seqs = [cp.seq for cp in await read_checkpoints(trail.bootstrap, topic, kafka_client_options())]
    assert 2 in seqs and seqs[-1] == 3, seqs


async def test_the_command_names_truncation(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    await trail.append(3)
    await trail.publisher.publish()
    public = audit_keys.encode_public(trail.publisher.key.public_key())
    monkeypatch.setenv("HEARTH_TOPIC_PREFIX", trail.prefix)
    argv = ["audit", "verify", "screening", "--dsn", trail.db.runtime, "--public-key", public]

    def run() -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out), pytest.raises(SystemExit) as exit_:
            hearth(argv)
        return int(exit_.value.code or 0), out.getvalue()

    code, output = await asyncio.to_thread(run)  # the command runs its own event loop
    intact = "screening: audit trail intact (3 entries, 1 checkpoints, anchored up to seq 3)"
    assert code == 0 and intact in output.splitlines(), output
    await trail.as_admin("ALTER TABLE audit.trail DISABLE TRIGGER trail_no_update")
    await trail.as_admin("DELETE FROM audit.trail WHERE seq = 3")
    code, output = await asyncio.to_thread(run)
    assert code == 1 and "NOT intact" in output and "truncation: the chain ends at seq 2" in output, output


async def test_a_service_publishes_a_checkpoint_of_its_final_head_when_it_stops(infra, unique_name) -> None:
    prefix = unique_name("svc") + "."

    def define(settings: KitSettings) -> ServiceDefinition:
        return ServiceDefinition(name="screening", title="probe")

    overrides = {"audit_checkpoint_seconds": 0.2}
    # The topics outlive the service here (its last checkpoint is read after it stopped); deleted below.
    async with running_service(define, KitSettings, infra, prefix, overrides=overrides, keep_topics=True) as svc:
        conn = await svc.db()
        try:
            for i in range(4):
                async with conn.transaction():
                    await audit.append(conn, at=datetime.now(UTC), actor="x", action="probed", entity=f"p:{i}")
        finally:
            await conn.close()
    topic = prefix + topic_for(CHECKPOINTS["screening"])
    try:
        checkpoints = await read_checkpoints(infra.kafka_bootstrap, topic, kafka_client_options())
    finally:
        await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))
    assert checkpoints and checkpoints[-1].seq == 4
    public = audit_keys.signing_key(AUDIT_SIGNING_KEY).public_key()
    assert all(audit_keys.key_id(public) == cp.key_id for cp in checkpoints)
