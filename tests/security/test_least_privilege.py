"""Least privilege holds at run time: every `serve` process of the stack holds its runtime role's DSN and nothing
more, and every connection to a service's database is made by that runtime role. And when the stack stops,
each service's audit trail is anchored to its last row by a signed checkpoint.

The stack is the one `make demo` and the journey tests run (`hearth.journey.run.running_journey`): each service's
database provisioned as in production (owner, runtime and audit roles), `migrate` run as the owner and exited,
`serve` started with the runtime DSN only. Each serve process's environment is read from `/proc/<pid>/environ`
and searched for the owner's and the administrator's credentials; `pg_stat_activity` names who is connected.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from hearth.contracts import topic_for
from hearth.contracts.events.audit import CHECKPOINTS
from hearth.journey.client import Api
from hearth.journey.personas import Persona, intake_body
from hearth.journey.run import running_journey
from hearth.journey.timings import Timings
from hearth.kit import audit_keys
from hearth.kit.audit_verify import read_checkpoints, verify_anchored
from hearth.kit.auth import Role
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.postgres import with_database


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


def _password(dsn: str) -> str:
    password = urlsplit(dsn).password
    assert password, f"a DSN without a password: {urlsplit(dsn).username}"
    return password


async def test_serve_processes_hold_only_their_runtime_role(infra: Any, unique_name: Any, tmp_path: Path) -> None:
    async with running_journey(infra, unique_name("least") + ".", tmp_path / "logs", Timings()) as run:
        services = run.stack.services
        api = Api({name: run.stack.url(name) for name in services}, run.stack.jwt_secret)
        try:  # one command, so screening writes its tables and appends to its audit trail as the runtime role
            persona = Persona("pt-least-1", "foundation", "CO", None, 1, (), False, 200)
            await api.post("screening", "/intakes", intake_body(persona), role=Role.PATIENT, subject="pt-least-1")
        finally:
            await api.close()

        runtime = {name: run.stack.dsns[name] for name in services}
        owners = {name: s.migrations_dsn for name, s in services.items()}
        assert all(owners.values()), "the stack ran its migrations without the owner role"
        forbidden = {"the administrator's password": _password(infra.pg_admin_dsn)}
        forbidden |= {f"{name}'s owner password": _password(dsn) for name, dsn in owners.items() if dsn}
        for name, service in services.items():
            assert service.proc is not None and service.alive
            environ = _environ(service.proc.pid)
            assert environ["HEARTH_DATABASE_URL"] == runtime[name]
            assert "HEARTH_MIGRATIONS_DATABASE_URL" not in environ
            assert not [key for key in environ if "PG_ADMIN" in key or key.startswith("PG")]
            others = {f"{other}'s runtime password": _password(runtime[other]) for other in services if other != name}
            blob = "\0".join(f"{k}={v}" for k, v in environ.items())
            held = [what for what, secret in (forbidden | others).items() if secret in blob]
            assert not held, f"{name} (pid {service.proc.pid}) holds {held}"

        admin = await asyncpg.connect(infra.pg_admin_dsn)
        try:
            for name in services:
                database = urlsplit(runtime[name]).path.lstrip("/")
                users = await admin.fetch(
                    "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
                assert {u["usename"] for u in users} == {urlsplit(runtime[name]).username}, name
        finally:
            await admin.close()

        # Stopped, every service has published a signed checkpoint of its final head: each trail is anchored to
        # its last row (screening's holds the intake's entry).
        await run.stack.stop()
        for name in services:
            conn = await asyncpg.connect(with_database(infra.pg_admin_dsn, urlsplit(runtime[name]).path[1:]))
            try:
                topic = run.stack.prefix + topic_for(CHECKPOINTS[name])
                checkpoints = await read_checkpoints(infra.kafka_bootstrap, topic, kafka_client_options())
                key = audit_keys.public_key(run.stack.audit_public_keys[name])
                verdict = await verify_anchored(conn, checkpoints, key, now=datetime.now(UTC), max_lag=timedelta(0))
                assert verdict.intact and verdict.anchored_to == verdict.rows, (name, verdict)
                assert name != "screening" or verdict.rows >= 1
            finally:
                await conn.close()
