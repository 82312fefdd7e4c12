"""`db.savepoint`: this part of a transaction or none of it, like a nested `conn.transaction()`, under one fixed
name.  asyncpg names each nested transaction anew (`__asyncpg_savepoint_<n>__`), so with pg_stat_statements
loaded every savepoint was a statement never seen before: the statistics table filled with them and Postgres
kept evicting entries, under an exclusive lock every backend waits on.  The kit's batches take one each."""

from __future__ import annotations

import asyncpg
import pytest

from hearth.kit.db import savepoint


async def _table(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TABLE t (n integer PRIMARY KEY)")


async def test_a_savepoint_keeps_or_drops_its_part_and_the_rest_of_the_transaction_goes_on(pg_database):
    conn = await asyncpg.connect(pg_database)
    try:
        await _table(conn)
        async with conn.transaction():
            await conn.execute("INSERT INTO t VALUES (1)")
            async with savepoint(conn):
                await conn.execute("INSERT INTO t VALUES (2)")
            with pytest.raises(asyncpg.UniqueViolationError):
                async with savepoint(conn):
                    await conn.execute("INSERT INTO t VALUES (3)")
                    await conn.execute("INSERT INTO t VALUES (1)")  # fails: the savepoint's part goes, 3 too
            with pytest.raises(RuntimeError):
                async with savepoint(conn):
                    await conn.execute("INSERT INTO t VALUES (4)")
                    raise RuntimeError("a handler's own failure")
            for n in (5, 6):  # one after another under the same name
                async with savepoint(conn):
                    await conn.execute("INSERT INTO t VALUES ($1)", n)
            async with savepoint(conn):  # nested under the same name
                await conn.execute("INSERT INTO t VALUES (7)")
                with pytest.raises(RuntimeError):
                    async with savepoint(conn):
                        await conn.execute("INSERT INTO t VALUES (8)")
                        raise RuntimeError("inner")
                await conn.execute("INSERT INTO t VALUES (9)")
            await conn.execute("INSERT INTO t VALUES (10)")  # the transaction is usable after every failure
        assert [r["n"] for r in await conn.fetch("SELECT n FROM t ORDER BY n")] == [1, 2, 5, 6, 7, 9, 10]
    finally:
        await conn.close()


async def test_savepoints_are_one_statement_text_however_many_are_taken(pg_database):
    conn = await asyncpg.connect(pg_database)
    try:
        await _table(conn)
        seen: list[str] = []
        conn.add_query_logger(lambda q: seen.append(q.query))
        async with conn.transaction():
            for n in range(20):
                async with savepoint(conn):
                    await conn.execute("INSERT INTO t VALUES ($1)", n)
        texts = {q for q in seen if "SAVEPOINT" in q.upper()}
        assert len(texts) == 2, texts  # SAVEPOINT and RELEASE, the same text each time
    finally:
        await conn.close()
