"""Versioned SQL migrations, applied by a separate command and guarded against two runners at once.

A small runner rather than Alembic or yoyo: the services speak asyncpg and plain SQL, the migrations are plain
SQL files, and the only features needed are ordering, checksums and a lock.  A Postgres advisory lock serialises
concurrent runners (two replicas of a Kubernetes Job, or a Job racing a compose one-shot); a checksum refuses a
migration file that was edited after it was applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from .db import Connection

_LOCK_ID = 0x6865617274  # "heart": one lock for every runner of one database
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS hearth_schema_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(component: str, folder: Traversable) -> list[Migration]:
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(component, int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{component}: two migrations share a version number")
    return found


def kit_migrations() -> list[Migration]:
    """The tables every service needs: outbox, inbox, timers, idempotency keys."""
    return load("kit", resources.files("hearth.kit").joinpath("sql"))


def package_migrations(component: str, package: str) -> list[Migration]:
    return load(component, resources.files(package).joinpath("migrations"))


async def pending(conn: Connection, migrations: list[Migration]) -> list[Migration]:
    """Migrations not yet applied; raises when an applied file has changed since."""
    exists = await conn.fetchval("SELECT to_regclass('hearth_schema_migrations') IS NOT NULL")
    if not exists:
        return list(migrations)
    rows = await conn.fetch("SELECT component, version, checksum FROM hearth_schema_migrations")
    applied = {(r["component"], r["version"]): r["checksum"] for r in rows}
    todo = []
    for m in migrations:
        checksum = applied.get((m.component, m.version))
        if checksum is None:
            todo.append(m)
        elif checksum != m.checksum:
            raise MigrationError(f"{m.component} migration {m.version:04d}_{m.name} changed after it was applied")
    return todo


async def migrate(conn: Connection, migrations: list[Migration]) -> list[Migration]:
    """Apply what is pending, each migration in its own transaction; returns what was applied."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(_LEDGER)
        todo = await pending(conn, migrations)
        for m in todo:
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO hearth_schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                    m.component,
                    m.version,
                    m.name,
                    m.checksum,
                )
        return todo
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def is_current(conn: Connection, migrations: list[Migration]) -> bool:
    """For /readyz: every known migration is applied."""
    try:
        return not await pending(conn, migrations)
    except MigrationError:
        return False
