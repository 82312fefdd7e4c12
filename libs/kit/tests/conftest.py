from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from hearth.kit.testing.helpers import migrate_kit
from hearth.kit.testing.workers import EFFECTS_SQL


@pytest.fixture
async def kit_dsn(pg_database: str) -> str:
    """A fresh database with the kit's tables and the test effect tables."""
    await migrate_kit(pg_database, EFFECTS_SQL)
    return pg_database


@pytest.fixture
async def pool(kit_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(kit_dsn, min_size=1, max_size=5)
    yield p
    await p.close()
