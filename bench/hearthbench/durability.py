"""The Postgres settings a pass runs under, and the private cluster `--durable` runs both passes on.

The local cluster's test settings (deploy/local/postgresql.conf) turn fsync, synchronous_commit and
full_page_writes off; production keeps them on. The three are reloadable (context sighup/user), but the shared
local cluster serves other test runs, so `--durable` starts a cluster of its own (a private state folder of the
launcher, on a free port) and switches it between the two with ALTER SYSTEM + pg_reload_conf: both passes run on
the same cluster, the three settings being the only difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from hearth.kit.testing import launcher

from . import REPO
from .harness import Bench
from .machine import Machine

DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


@dataclass(frozen=True)
class Pass:
    """One run of every section under one set of the three settings."""

    name: str
    settings: Mapping[str, str]

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.settings.items())


TEST_SETTINGS = Pass("test settings", dict.fromkeys(DURABILITY_SETTINGS, "off"))
DURABLE = Pass("durable", dict.fromkeys(DURABILITY_SETTINGS, "on"))


@dataclass(frozen=True)
class PrivatePostgres:
    admin_dsn: str
    port: int
    state_dir: str

    @property
    def origin(self) -> str:
        return (
            f"a private cluster started for this run on port {self.port} (deploy/local launcher, state folder"
            f" {os.path.relpath(self.state_dir, REPO)}), removed at the end"
        )


@contextlib.contextmanager
def private_postgres(say: Callable[[str], None]) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this run's own (Kafka stays the shared one), stopped and deleted afterwards."""
    script = launcher.load(REPO)
    script.prune_private(echo=None)
    state_dir = script.private_state_dir()
    state_dir.mkdir(parents=True)
    (state_dir / "owner.pid").write_text(f"{os.getpid()}\n")  # `infra.py prune` removes it if this run dies
    local: Any = script.LocalInfra(state_dir, pg_port=script.free_port(), echo=say)
    try:
        local.start_postgres()
        yield PrivatePostgres(local.pg_admin_dsn, local.pg_port, str(state_dir))
    finally:
        with contextlib.suppress(Exception):
            local.stop_postgres()
        shutil.rmtree(state_dir, ignore_errors=True)


async def apply_settings(admin_dsn: str, settings: Mapping[str, str], *, timeout: float = 30.0) -> None:
    """ALTER SYSTEM each setting, reload, and wait until a new session shows them all (the postmaster rereads its
    configuration asynchronously); a checkpoint then starts the pass from a clean state."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for name, value in settings.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        shown = await settings_in_force(admin_dsn, list(settings))
        if shown == dict(settings):
            break
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"Postgres still shows {shown} after reloading with {dict(settings)}")
        await asyncio.sleep(0.2)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def settings_in_force(admin_dsn: str, names: list[str]) -> dict[str, str]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch("SELECT name, setting FROM pg_settings WHERE name = any($1::text[])", names)
    finally:
        await conn.close()
    found = {r["name"]: r["setting"] for r in rows}
    return {n: found.get(n, "?") for n in names}


@dataclass
class PassRun:
    """What one pass measured: its rows (in `bench`) and the machine and settings it found."""

    pass_: Pass | None  # None: the one pass of a run without --durable, on whatever cluster was given
    bench: Bench
    machine: Machine

    @property
    def title(self) -> str:
        return "Figures" if self.pass_ is None else f"Figures: {self.pass_.name} ({self.pass_.describe()})"
