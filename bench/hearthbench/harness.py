"""The run: its rows, the failures noted on them, and the databases, topics and worker processes it makes,
each removed at the end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import secrets
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import asyncpg

from hearth.contracts import dlq_topic
from hearth.kit.testing import postgres
from hearth.kit.testing.helpers import migrate_kit
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.topics import ensure_topics

from .events import CONSUMER_SERVICE, SCREENED_TOPIC
from .profiling import write_profile
from .rows import Row, catalog
from .sizes import Sizes
from .workers import WorkerProcess


class Bench:
    """One run: the rows it fills, the failures it notes, and every database, topic and process it makes."""

    def __init__(self, args: argparse.Namespace, bootstrap: str, admin_dsn: str, log_dir: Path) -> None:
        self.args = args
        self.sizes: Sizes = args.sizes
        self.bootstrap = bootstrap
        self.admin_dsn = admin_dsn
        self.log_dir = log_dir
        self.run_id = secrets.token_hex(3)
        self.rows = catalog(args)
        self.by_key = {r.key: r for r in self.rows}
        self.failures: list[str] = []
        self.profiles: list[Path] = []
        self.rates: dict[str, float] = {}  # rates the latency runs achieved, by row key
        self.started = time.monotonic()
        self._databases: list[str] = []
        self._topics: list[str] = []
        self._workers: list[WorkerProcess] = []

    # -- rows

    def put(self, key: str, value: float, note: str = "") -> None:
        row = self.by_key[key]
        row.value = value
        row.note = note
        self.say(f"{row.what}: {row.figure()}" + (f" ({note})" if note else ""))

    def value(self, key: str) -> float | None:
        row = self.by_key.get(key)
        return row.value if row else None

    def add_row(self, row: Row) -> None:
        last = max(i for i, r in enumerate(self.rows) if r.section == row.section)
        self.rows.insert(last + 1, row)
        self.by_key[row.key] = row

    def peak(self, key: str, mib: float | None, note: str) -> None:
        if mib is not None and (self.value(key) or 0) < mib:
            self.put(key, mib, note)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", file=sys.stderr, flush=True)

    async def attempt(
        self, keys: Sequence[str], what: str, fn: Callable[[], Awaitable[None]], *, timeout: float | None = -1.0
    ) -> None:
        """Run one measurement; a failure is noted on its rows (and in the log) and the run goes on."""
        try:
            await asyncio.wait_for(fn(), self.args.stage_timeout if timeout == -1.0 else timeout)
        except Exception as exc:
            reason = f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:160]
            for key in keys:
                row = self.by_key.get(key)
                if row is not None and row.value is None:
                    row.note = reason
            self.failures.append(f"{what}: {reason}")
            with (self.log_dir / "failures.log").open("a") as log:
                log.write(f"--- {what}\n{traceback.format_exc()}\n")
            self.say(f"{what} {reason}")

    @contextlib.contextmanager
    def profiled(self, stage: str) -> Iterator[None]:
        if stage not in self.args.profile:
            yield
            return
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            path = write_profile(profiler, stage, self.args.profile_dir)
            self.profiles.append(path)
            self.say(f"profile of {stage} written to {path}")

    # -- resources, each removed at the end

    async def database(self, name: str, *, kit: bool = True, extra_sql: str = "") -> str:
        dsn = await postgres.create_database(self.admin_dsn, prefix=f"bench_{name}")
        self._databases.append(dsn)
        if kit:
            await migrate_kit(dsn, extra_sql)
        elif extra_sql:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(extra_sql)
            finally:
                await conn.close()
        return dsn

    async def topics(self, name: str, *, dlq: bool = False) -> str:
        """A fresh prefix with its `screened` topic (and followup's DLQ); returns the prefix."""
        prefix = f"bench-{self.run_id}-{name}."
        names = [prefix + SCREENED_TOPIC] + ([prefix + dlq_topic(CONSUMER_SERVICE)] if dlq else [])
        await self.topic(*names)
        return prefix

    async def topic(self, *names: str) -> None:
        await ensure_topics(self.bootstrap, names, partitions=self.args.partitions)
        self._topics.extend(names)

    def worker(self, role: str, *args: str) -> WorkerProcess:
        worker = WorkerProcess(self.log_dir, role, *args)
        self._workers.append(worker)
        return worker

    async def cleanup(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(Exception):
                await worker.stop()
        for dsn in self._databases:
            try:
                await postgres.drop_database(self.admin_dsn, dsn)
            except Exception as exc:
                self.say(f"could not drop {dsn.rsplit('/', 1)[-1]}: {type(exc).__name__}: {exc}")
        if self._topics:
            await delete_topics(self.bootstrap, self._topics, within=30.0)
