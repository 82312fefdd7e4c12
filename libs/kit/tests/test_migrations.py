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
