"""Pooled connections go back to the pool without asyncpg's four-statement reset (db.py): that is only safe while
nothing leaves session state on one.  These tests hold the code to that and check what is still cleaned up."""

from __future__ import annotations

import re
from pathlib import Path

from hearth.kit.db import create_pool

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
# Connections of their own, never borrowed from a pool: the relay's (LISTEN, the leader's session lock) and the
# migrations' (a session lock while they run); the test helpers run on throwaway databases.
OWN_CONNECTIONS = {"relay.py", "migrations.py"}
SESSION_STATE = [
    re.compile(r"""["']SET\s+(?!LOCAL\b)"""),  # a statement SET outside SET LOCAL outlives its transaction
    re.compile(r"""["']\s*(UN)?LISTEN\b"""),
    re.compile(r"pg_(try_)?advisory_lock(_shared)?\("),  # session-level; the _xact_ ones end with the transaction
    re.compile(r"\badd_listener\("),
    re.compile(r"WITH\s+HOLD", re.IGNORECASE),
    re.compile(r"set_config\([^)]*false\)", re.IGNORECASE),
]


def test_no_code_leaves_session_state_on_a_pooled_connection() -> None:
    assert len(SOURCES) > 100  # the glob found the tree
    found = []
    for path in SOURCES:
        if path.name in OWN_CONNECTIONS or "/testing/" in path.as_posix():
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in SESSION_STATE):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "session state on a pooled connection (db.py, _keep_session):\n" + "\n".join(found)


async def test_a_transaction_left_open_is_rolled_back_on_release(kit_dsn: str) -> None:
    pool = await create_pool(kit_dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (x int)")
        async with pool.acquire() as conn:  # the one connection of the pool, back again
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
    finally:
        await pool.close()
