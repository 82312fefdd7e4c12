"""Restoring a service's database from a backup loses and doubles nothing.

Mid-run, fulfillment's and session's databases are dumped (`pg_dump`); the run goes on, so both keep consuming
approvals (and revocations) and session keeps firing check-in timers; then each is stopped, its database dropped and
restored from the dump (`pg_restore --create`), and the service started again.  Its consumer positions live in
the restored database, so it rewinds to where its state was and Kafka redelivers the rest; events it emits
again carry the same ids (derived from what caused them), so every consumer's inbox drops the repeats.  The
books must balance exactly and no record may be dead-lettered.

From the backup until the restored service has caught up, the simulator's requests to these two services wait
(people come back later): a restore loses what a service accepted over HTTP after its backup — a session a
patient started, a box the pharmacy shipped — which no consumer position can bring back; docs/operations.md
says how operators keep that window small (continuous archiving) and find what fell into it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from hearth.contracts import SERVICES, dlq_topic
from hearth.journey.client import Gates
from hearth.journey.personas import cast
from hearth.journey.reconcile import reconcile
from hearth.journey.run import drive, running_journey, settle
from hearth.journey.timings import Timings
from hearth.kit.testing.helpers import read_raw, wait_for
from hearth.kit.testing.postgres import with_database

TIMINGS = Timings(check_in_offsets=(0.0, 3.0, 6.0, 9.0), check_in_grace=3.0, integration_closes_after=20.0)
RESTORED = ("fulfillment", "session")


def _pg_tool(name: str) -> str:
    folder = os.environ.get("HEARTH_PG_BIN", "/usr/lib/postgresql/15/bin")
    found = shutil.which(name, path=folder) or shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found in {folder} or on PATH: install postgresql-15 (client tools)")
    return found


def _database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


async def _positions(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT coalesce(sum(next_offset), 0) FROM hearth_consumer_positions"))
    finally:
        await conn.close()


async def _caught_up(dsn: str, position_before_stop: int) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        overdue = await conn.fetchval("SELECT count(*) FROM hearth_timers WHERE due_at < now()")
    finally:
        await conn.close()
    return overdue == 0 and await _positions(dsn) >= position_before_stop


async def _run(*argv: str) -> None:
    done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")


async def test_a_restored_database_rewinds_its_service_and_the_books_balance(infra, unique_name, tmp_path: Path):
    prefix = unique_name("restore") + "."
    people = cast(60, seed=41, check_ins=len(TIMINGS.check_in_offsets))
    gates = Gates()
    seen: dict[str, tuple[int, int, int]] = {}  # positions at the backup, before the stop, after the restore
    async with running_journey(infra, prefix, tmp_path / "logs", TIMINGS) as run:
        admin = {name: with_database(infra.pg_admin_dsn, _database_of(run.stack.dsns[name])) for name in RESTORED}

        async def backup_and_restore() -> None:
            await asyncio.sleep(12)
            dumps = {name: tmp_path / f"{name}.dump" for name in RESTORED}
            at_backup = {name: await _positions(admin[name]) for name in RESTORED}
            for name in RESTORED:
                gates.hold(name)  # from the backup on, people's requests to these two wait (see above)
                await gates.drained(name)  # and every answer already given is in the backup
                await _run(_pg_tool("pg_dump"), "--format=custom", f"--file={dumps[name]}", admin[name])
            await asyncio.sleep(10)  # the run goes on: approvals reach both services, check-in timers fire
            for name in RESTORED:
                before_stop = await _positions(admin[name])
                await run.stack.kill(name)
                database = _database_of(admin[name])
                conn = await asyncpg.connect(infra.pg_admin_dsn)
                try:
                    await conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
                finally:
                    await conn.close()
                await _run(_pg_tool("pg_restore"), "--create", "--exit-on-error", "-d", infra.pg_admin_dsn, dumps[name])
                seen[name] = (at_backup[name], before_stop, await _positions(admin[name]))
                await run.stack.restart(name)
            # People come back once the restored services have caught up (the runbook's last step): what they
            # consumed before the stop is applied again and the timers that had fired have fired again.
            for name in RESTORED:
                await wait_for(
                    lambda name=name: _caught_up(admin[name], seen[name][1]),
                    timeout=60,
                    what=f"{name} to catch up after its restore",
                )
                gates.release(name)

        await drive(run, people, TIMINGS, arrival_seconds=40, during=backup_and_restore, gates=gates)
        await settle(run, TIMINGS)
        assert all(s.alive for s in run.stack.services.values()), "a service did not survive"
        letters = {}
        for name in SERVICES:
            conn = await asyncpg.connect(with_database(infra.pg_admin_dsn, _database_of(run.stack.dsns[name])))
            try:
                letters[name] = await conn.fetchval("SELECT count(*) FROM hearth_dead_letters")
            finally:
                await conn.close()
        on_topic = {
            service: len(await read_raw(infra.kafka_bootstrap, prefix + dlq_topic(service), expect=1, timeout=2))
            for service in SERVICES
        }
    for name in RESTORED:
        at_backup, before_stop, restored = seen[name]
        # Read just before the dump (consumers keep running): the dump's position is at least that one.
        assert at_backup <= restored < before_stop, f"{name} did not rewind: {seen[name]}"
    books = reconcile(run.records, run.counter)
    print("restore:", seen, "reconciliation:", books.figures)
    assert books.balanced, "\n".join(books.problems)
    assert books.figures["approved"] > 20
    assert letters == dict.fromkeys(SERVICES, 0), f"dead letters after the restore: {letters}"
    assert on_topic == dict.fromkeys(SERVICES, 0), f"records on the dead-letter topics: {on_topic}"
