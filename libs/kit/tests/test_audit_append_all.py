"""A transaction's audit rows in one call: `audit.append_all()` hashes exactly what `row_hash` hashes, chains onto
rows of the older `audit.append()`, keeps one chain under concurrent writers, and a service whose database has an
older bootstrap refuses to start instead of failing every change."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import orjson
import pytest

from hearth.kit import audit, audit_keys
from hearth.kit.app import create_app
from hearth.kit.service import ServiceDefinition
from hearth.kit.settings import KitSettings
from hearth.kit.testing import postgres

ALPHABET = ["a", "Z", "0", " ", '"', "\\", "/", "\n", "\u00e9", "\u2028", "\U0001f600", "\x7f", "{", "]", ","]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))


def _details(rng: random.Random, depth: int = 0) -> dict[str, object]:
    out: dict[str, object] = {}
    for _ in range(rng.randint(0, 4)):
        makers = [
            lambda: _text(rng),
            lambda: rng.randint(-(2**53), 2**53),
            lambda: rng.choice([True, False, None]),
            lambda: rng.random() * 1000,
            lambda: [_text(rng), rng.randint(0, 9)],
            lambda: _details(rng, depth + 1),
        ]
        out[_text(rng)] = makers[rng.randint(0, 5 if depth < 2 else 4)]()
    return out


def test_the_rest_of_a_row_hashes_like_the_whole_row() -> None:
    rng = random.Random(20261203)
    for _ in range(2_000):
        prev = rng.choice([audit.GENESIS, hashlib.sha256(rng.randbytes(8)).hexdigest()])
        zone = timezone(timedelta(minutes=rng.choice([0, 60, -300, 330])))
        at = datetime(2026, 12, 3, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999_999))
        at = at.replace(tzinfo=zone)
        actor, action, entity, details = _text(rng), _text(rng), _text(rng), _details(rng)
        rest = audit.canonical_rest(at, actor, action, entity, details)
        joined = hashlib.sha256(b'["' + prev.encode() + b'",' + rest).hexdigest()
        assert joined == audit.row_hash(prev, at, actor, action, entity, details)


def _entry(i: int, **details: object) -> audit.Entry:
    return audit.Entry(datetime.now(UTC), f"clin-{i}", "approved", f"assessment:{i}", {"n": i, **details})


async def test_rows_of_both_functions_make_one_chain_that_verifies(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for i in range(2):  # rows of the older function, as a database written before this version holds them
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", 0x61756469)
                prev = await conn.fetchval("SELECT hash FROM audit.trail ORDER BY seq DESC LIMIT 1") or audit.GENESIS
                e = _entry(i)
                digest = audit.row_hash(prev, e.at, e.actor, e.action, e.entity, e.details)
                await conn.execute(
                    "SELECT audit.append($1, $2, $3, $4, $5::jsonb, $6, $7)",
                    e.at, e.actor, e.action, e.entity, orjson.dumps(e.details).decode(), prev, digest,
                )  # fmt: skip
        async with conn.transaction():
            await audit.write(
                conn, [_entry(2, text='é \u2028 😀 "q"'), _entry(3), _entry(4, nested={"b": 1, "a": [1]})]
            )
        assert await audit.verify(conn) == (5, None)
        rows = await conn.fetch("SELECT seq, prev_hash, hash FROM audit.trail ORDER BY seq")
        assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
        assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, 5))


async def test_concurrent_writers_keep_one_gapless_chain(pool: asyncpg.Pool) -> None:
    async def one(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await asyncio.sleep(random.random() / 100)
            await audit.write(conn, [_entry(i), _entry(i, second=True)])

    await asyncio.gather(*(one(i) for i in range(40)))
    async with pool.acquire() as conn:
        assert await audit.verify(conn) == (80, None)
        assert await conn.fetchval("SELECT array_agg(seq ORDER BY seq) = array(SELECT generate_series(1::bigint, 80))"
                                   " FROM audit.trail")  # fmt: skip


async def test_a_rolled_back_write_leaves_no_row_and_no_gap(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await audit.write(conn, [_entry(1)])
                raise RuntimeError("the change failed after its audit row")
        async with conn.transaction():
            await audit.write(conn, [_entry(2)])
        assert await audit.verify(conn) == (1, None)
        assert await conn.fetchval("SELECT seq FROM audit.trail") == 1


async def test_arrays_of_different_lengths_are_refused(pool: asyncpg.Pool) -> None:
    e = _entry(1)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InvalidParameterValueError, match="different lengths"):
            await conn.execute(
                "SELECT audit.append_all($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::jsonb[],"
                " $6::bytea[])",
                [e.at, e.at], [e.actor], [e.action], [e.entity], ["{}"],
                [audit.canonical_rest(e.at, e.actor, e.action, e.entity, e.details)],
            )  # fmt: skip
        assert await conn.fetchval("SELECT count(*) FROM audit.trail") == 0


async def test_a_service_on_an_older_bootstrap_refuses_to_start(infra) -> None:  # type: ignore[no-untyped-def]
    databases = await postgres.provision_database(infra.pg_admin_dsn)
    try:
        admin = await asyncpg.connect(databases.admin)
        try:
            await admin.execute(f"DROP FUNCTION {audit.APPEND_ALL}")
        finally:
            await admin.close()
        settings = KitSettings(
            database_url=databases.runtime,
            kafka_bootstrap=infra.kafka_bootstrap,
            jwt_secret="a-test-secret-that-is-long-enough-for-hs256",
            idempotency_secret="a-test-idempotency-key-that-is-32-bytes-or-more",
            audit_signing_key=audit_keys.encode_private(audit_keys.generate()),
            master_key=base64.b64encode(b"a-test-master-key-of-32-bytes-ok").decode(),
        )
        app = create_app(ServiceDefinition(name="screening", title="probe"), settings)
        with pytest.raises(RuntimeError, match="hearth audit bootstrap"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        await postgres.drop_database(infra.pg_admin_dsn, databases.admin)
