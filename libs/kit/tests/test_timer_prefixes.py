"""Prefix cancels and locks on the timer table: exactly the keys that start with the prefix (LIKE wildcards,
backslashes, multi-byte and maximum code points included), found through an index rather than a scan of every
pending timer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest

from hearth.kit import timers

MAX = "\U0010ffff"

KEYS = [
    "",
    "a",
    "ab",
    "aXb",
    "a%",
    "a%b",
    "a_",
    "a_b",
    "a\\",
    "a\\b",
    "a\\\\",
    "a\x7f",
    "a\x80",
    "a" + MAX,
    "a" + MAX + "z",
    "b",
    "%",
    "_x",
    "é",
    "éa",
    "ê",
    "\ud7ff",
    "\ud7ffx",
    "\ue000",
    MAX,
    MAX + MAX,
    MAX + "a",
    "session:1:check-in:0",
    "session:1:check-in:1",
    "session:10:check-in:0",
    "session:1",
]

PREFIXES = [
    "",
    "a",
    "a%",
    "a_",
    "a\\",
    "a%b",
    "%",
    "_",
    "é",
    "a" + MAX,
    MAX,
    MAX + MAX,
    "\ud7ff",
    "session:1:",
    "nothing-starts-with-this",
]


def _starting_with(prefixes: Sequence[str]) -> set[str]:
    return {key for key in KEYS if any(key.startswith(p) for p in prefixes)}


async def _fill(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO hearth_timers (key, kind, due_at, payload) SELECT k, 'probe', $2, '{}' FROM unnest($1::text[]) k",
        KEYS,
        datetime(2030, 1, 1, tzinfo=UTC),
    )


async def _keys(pool: asyncpg.Pool) -> set[str]:
    return {r["key"] for r in await pool.fetch("SELECT key FROM hearth_timers")}


@pytest.mark.parametrize(
    ("prefix", "low", "high"),
    [
        ("", "", None),
        ("a", "a", "b"),
        ("a%", "a%", "a&"),
        ("aé", "aé", "aê"),
        ("a" + MAX, "a" + MAX, "b"),
        ("ab" + MAX + MAX, "ab" + MAX + MAX, "ac"),
        (MAX, MAX, None),
        (MAX + MAX, MAX + MAX, None),
        ("\ud7ff", "\ud7ff", "\ue000"),  # the next code point after U+D7FF that UTF-8 can carry
        ("x\ud7ff" + MAX, "x\ud7ff" + MAX, "x\ue000"),
    ],
)
def test_prefix_range_holds_exactly_the_strings_that_start_with_it(prefix: str, low: str, high: str | None):
    assert timers.prefix_range(prefix) == (low, high)


def test_prefix_range_agrees_with_startswith_in_code_point_order():
    for prefix in PREFIXES:
        low, high = timers.prefix_range(prefix)
        for key in KEYS:
            inside = key >= low and (high is None or key < high)  # Python compares str by code point
            assert inside == key.startswith(prefix), (prefix, key)


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_cancel_prefix_deletes_exactly_the_keys_starting_with_it(pool, prefix):
    await _fill(pool)
    async with pool.acquire() as conn:
        await timers.cancel_prefixes(conn, [prefix])
    assert await _keys(pool) == set(KEYS) - _starting_with([prefix])


async def test_several_prefixes_at_once_overlapping_and_repeated(pool):
    prefixes = ["a%", "a", "a_", "session:1:", "session:1:", MAX + MAX, "\ud7ff"]
    await _fill(pool)
    async with pool.acquire() as conn:
        await timers.cancel_prefixes(conn, prefixes)
    assert await _keys(pool) == set(KEYS) - _starting_with(prefixes)


@pytest.mark.parametrize("prefixes", [[p] for p in PREFIXES] + [["a_", "%", MAX, "session:1:"]], ids=repr)
async def test_lock_prefixes_locks_exactly_the_keys_starting_with_them(pool, prefixes):
    await _fill(pool)
    async with pool.acquire() as holder, holder.transaction():
        await timers.lock_prefixes(holder, prefixes)
        async with pool.acquire() as other, other.transaction():
            free = {r["key"] for r in await other.fetch("SELECT key FROM hearth_timers FOR UPDATE SKIP LOCKED")}
    assert set(KEYS) - free == _starting_with(prefixes)


# --- the plan: an index range per prefix, never a scan of every pending timer -------------------------------

ROWS = 50_000


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _plan(conn: asyncpg.Connection, sql: str, *args: object) -> list[dict[str, Any]]:
    explained = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    return list(_nodes(orjson.loads(explained)[0]["Plan"]))


def _timer_scans(nodes: list[dict[str, Any]]) -> list[str]:
    """The scan node types that read hearth_timers or one of its indexes."""
    return [
        n["Node Type"]
        for n in nodes
        if n.get("Relation Name") == "hearth_timers" or str(n.get("Index Name", "")).startswith("hearth_timers")
    ]


@pytest.fixture
async def many_timers(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute(
        "INSERT INTO hearth_timers (key, kind, due_at, payload)"
        " SELECT 'session:' || md5(s::text) || ':check-in:' || i, 'probe', now() + interval '1 day', '{}'"
        " FROM generate_series(1, $1::int / 10) s, generate_series(0, 9) i",
        ROWS,
    )
    await pool.execute("ANALYZE hearth_timers")
    return pool


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize(
    "prefixes", [["session:c4ca4238a0b923820dcc509a6f75849b:"], ["session:c4ca", "session:1", "session:e"]]
)
async def test_prefix_statements_scan_an_index_not_the_table(many_timers, plan_cache_mode, prefixes):
    async with many_timers.acquire() as conn:
        await conn.execute(f"SET plan_cache_mode = {plan_cache_mode}")
        try:
            for sql in (timers.CANCEL_PREFIXES, timers.LOCK_PREFIXES):
                scans = _timer_scans(await _plan(conn, sql, *timers.prefix_bounds(prefixes)))
                assert "Seq Scan" not in scans, (sql, scans)
                assert {"Index Scan", "Index Only Scan", "Bitmap Index Scan"} & set(scans), (sql, scans)
        finally:
            await conn.execute("RESET plan_cache_mode")


async def test_cancel_through_the_index_deletes_the_right_rows_of_many(many_timers):
    one = "session:" + await many_timers.fetchval("SELECT md5('7')") + ":"
    async with many_timers.acquire() as conn:
        await timers.cancel_prefixes(conn, [one])
    assert await many_timers.fetchval("SELECT count(*) FROM hearth_timers WHERE starts_with(key, $1)", one) == 0
    assert await many_timers.fetchval("SELECT count(*) FROM hearth_timers") == ROWS - 10
