"""Neither the runtime role (serve) nor the owner role (migrate) can alter, disable or drop the audit trail.

The database is provisioned as in production (`hearth.kit.testing.postgres.provision_database`: owner, runtime
and audit roles, the audit bootstrap run by the administrator), migrated as the owner; then each role tries
every way past the trail that its privileges might allow, and each is refused by the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from hearth.kit import audit, migrations
from hearth.kit.testing.postgres import Database, drop_database, provision_database

DENIED = (asyncpg.InsufficientPrivilegeError, asyncpg.InvalidSchemaNameError)

# What a role holding the runtime or the migration credential might try, each as its own statement.
ATTEMPTS = [
    "ALTER TABLE audit.trail DISABLE TRIGGER ALL",
    "ALTER TABLE audit.trail DISABLE TRIGGER trail_no_update",
    "DROP TRIGGER trail_no_update ON audit.trail",
    "DROP TABLE audit.trail",
    "DROP SCHEMA audit CASCADE",
    "ALTER SCHEMA audit RENAME TO audit_old",
    "ALTER TABLE audit.trail RENAME TO trail_old",
    "ALTER TABLE audit.trail OWNER TO CURRENT_USER",
    "TRUNCATE audit.trail",
    "UPDATE audit.trail SET actor = 'someone-else' WHERE seq = 1",
    "DELETE FROM audit.trail WHERE seq = 1",
    "INSERT INTO audit.trail (seq, at, actor, action, entity, prev_hash, hash)"
    " VALUES (99, now(), 'x', 'x', 'x', 'x', repeat('a', 64))",
    "CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "ALTER FUNCTION audit.append(timestamptz, text, text, text, jsonb, text, text) SECURITY INVOKER",
    "ALTER FUNCTION audit.append_all(timestamptz[], text[], text[], text[], jsonb[], bytea[]) SECURITY INVOKER",
    "CREATE OR REPLACE FUNCTION audit.append_all(timestamptz[], text[], text[], text[], jsonb[], bytea[])"
    " RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$",
    "CREATE TABLE audit.decoy (x int)",
    "SET session_replication_role = replica",
]


@pytest.fixture
async def database(infra) -> AsyncIterator[Database]:
    db = await provision_database(infra.pg_admin_dsn)
    try:
        conn = await asyncpg.connect(db.owner)
        try:
            await migrations.migrate(conn, migrations.kit_migrations())
        finally:
            await conn.close()
        yield db
    finally:
        await drop_database(infra.pg_admin_dsn, db.admin)


async def _append(dsn: str, n: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(n):
            async with conn.transaction():
                await audit.append(conn, at=datetime.now(UTC), actor=f"clin-{i}", action="approved", entity=f"a:{i}")
    finally:
        await conn.close()


@pytest.mark.parametrize("role", ["runtime", "owner"])
async def test_no_credential_a_process_holds_gets_past_the_trail(database: Database, role: str) -> None:
    await _append(database.runtime, 3)
    conn = await asyncpg.connect(getattr(database, role))
    try:
        refused = []
        for statement in ATTEMPTS:
            try:
                async with conn.transaction():
                    await conn.execute(statement)
            except DENIED:
                refused.append(statement)
        assert refused == ATTEMPTS, f"{role} got past: {sorted(set(ATTEMPTS) - set(refused))}"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f'GRANT "{database.name}_audit" TO CURRENT_USER')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f'SET ROLE "{database.name}_audit"')
        assert await conn.fetchval("SELECT count(*) FROM audit.trail") == 3  # it may read the trail
    finally:
        await conn.close()
    admin = await asyncpg.connect(database.admin)
    try:
        assert await audit.verify(admin) == (3, None)
        triggers = await admin.fetch(
            "SELECT tgname, tgenabled::text AS enabled FROM pg_trigger"
            " WHERE tgrelid = 'audit.trail'::regclass ORDER BY tgname"
        )
        assert [(t["tgname"], t["enabled"]) for t in triggers] == [("trail_no_truncate", "O"), ("trail_no_update", "O")]
    finally:
        await admin.close()


async def test_the_runtime_role_appends_only_onto_the_head(database: Database) -> None:
    await _append(database.runtime, 2)
    conn = await asyncpg.connect(database.runtime)
    try:
        head = await conn.fetchval("SELECT hash FROM audit.trail ORDER BY seq DESC LIMIT 1")
        fork = "SELECT audit.append(now(), 'x', 'forged', 'a:0', '{}'::jsonb, $1, repeat('b', 64))"
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="head of the chain"):
            await conn.execute(fork, audit.GENESIS)  # a second chain from the start
        await conn.execute(fork, head)  # onto the head: accepted (the caller's hash is checked by verify)
        seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM audit.trail ORDER BY seq")]
        assert seqs == [1, 2, 3]
        checked, broken = await audit.verify(conn)
        assert checked == 3 and broken is not None and broken.seq == 3 and "altered" in broken.reason
    finally:
        await conn.close()


async def test_the_bootstrap_is_idempotent_and_carries_an_old_trail_over(infra) -> None:
    db = await provision_database(infra.pg_admin_dsn)
    try:
        owner = await asyncpg.connect(db.owner)
        try:
            # A database migrated before the trail moved: the owner's public.hearth_audit with a chain in it.
            await migrations.migrate(owner, [m for m in migrations.kit_migrations() if m.version <= 5])
        finally:
            await owner.close()
        admin = await asyncpg.connect(db.admin)
        try:
            await admin.execute("DROP SCHEMA audit CASCADE")  # as if the bootstrap had never run
            prev = audit.GENESIS
            for i in range(3):
                at = datetime.now(UTC)
                digest = audit.row_hash(prev, at, "clin-1", "approved", f"a:{i}", {})
                await admin.execute(
                    "INSERT INTO hearth_audit (at, actor, action, entity, details, prev_hash, hash)"
                    " VALUES ($1, 'clin-1', 'approved', $2, '{}', $3, $4)",
                    at,
                    f"a:{i}",
                    prev,
                    digest,
                )
                prev = digest
            owner = await asyncpg.connect(db.owner)
            try:
                with pytest.raises(asyncpg.RaiseError, match="audit bootstrap"):
                    await migrations.migrate(owner, migrations.kit_migrations())
            finally:
                await owner.close()
            from hearth.kit.bootstrap import bootstrap_audit

            await bootstrap_audit(admin)
            await bootstrap_audit(admin)  # again: nothing changes, nothing is copied twice
            owner = await asyncpg.connect(db.owner)
            try:
                await migrations.migrate(owner, migrations.kit_migrations())
            finally:
                await owner.close()
            assert await admin.fetchval("SELECT to_regclass('public.hearth_audit')") is None
            assert await audit.verify(admin) == (3, None)
        finally:
            await admin.close()
        await _append(db.runtime, 1)  # the chain carries on from the copied rows
        admin = await asyncpg.connect(db.admin)
        try:
            assert await audit.verify(admin) == (4, None)
        finally:
            await admin.close()
    finally:
        await drop_database(infra.pg_admin_dsn, db.admin)
