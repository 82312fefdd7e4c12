from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from hearth.kit import migrations


async def test_migrations_apply_once_even_with_concurrent_runners(pg_database):
    conns = [await asyncpg.connect(pg_database) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrations.migrate(c, migrations.kit_migrations()) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations.kit_migrations())]
        assert await migrations.is_current(conns[0], migrations.kit_migrations())
        assert await migrations.migrate(conns[0], migrations.kit_migrations()) == []
    finally:
        for c in conns:
            await c.close()


async def test_an_edited_migration_is_refused(pg_database):
    conn = await asyncpg.connect(pg_database)
    try:
        applied = migrations.kit_migrations()
        await migrations.migrate(conn, applied)
        edited = [replace(applied[0], sql=applied[0].sql + "\n-- edited"), *applied[1:]]
        with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
            await migrations.migrate(conn, edited)
        assert not await migrations.is_current(conn, edited)
    finally:
        await conn.close()


async def test_plain_request_fingerprints_are_discarded(pg_database):
    conn = await asyncpg.connect(pg_database)
    try:
        before = [m for m in migrations.kit_migrations() if m.version < 10]
        await migrations.migrate(conn, before)
        insert = (
            "INSERT INTO hearth_idempotency (principal, key, request_hash, status_code, response)"
            " VALUES ('p', $1, $2, 200, '{}')"
        )
        await conn.execute(insert, "old", "a" * 64)
        await conn.execute(insert, "new", "hmac-sha256:" + "b" * 64)
        await migrations.migrate(conn, migrations.kit_migrations())
        assert [r["key"] for r in await conn.fetch("SELECT key FROM hearth_idempotency")] == ["new"]
    finally:
        await conn.close()
