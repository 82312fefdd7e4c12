"""One run of the journey: the stack up, N patients through it, the system left to settle, the figures taken."""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.kit.acls import catalog_acls, remove_acls
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing import postgres
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.service_harness import free_port
from hearth.kit.topics import catalog_topics

from .client import Api, Gates
from .event_counter import EventCounter
from .funnel import Tally
from .personas import Persona, cast
from .simulator import WAIT, Record, Simulator
from .stack import PORTS, Stack
from .timings import Timings


@dataclass
class Run:
    stack: Stack
    counter: EventCounter
    tally: Tally = field(default_factory=Tally)
    records: list[Record] = field(default_factory=list)


def make_stack(
    bootstrap: str,
    dsns: dict[str, str],
    prefix: str,
    log_dir: Path,
    timings: Timings,
    master_key_file: Path,
    kafka_env: Mapping[str, Mapping[str, str]] | None = None,
    owner_dsns: Mapping[str, str] | None = None,
) -> Stack:
    """The stack with this run's timings; each service's master key is kept beside `master_key_file` (which is
    fulfillment's), because the personal data it wraps outlives the run."""
    overrides = timings.env()
    for name in PORTS:  # fulfillment's file keeps its old name
        path = master_key_file if name == "fulfillment" else master_key_file.with_name(f"master-key-{name}")
        overrides[name] = {**overrides.get(name, {}), "HEARTH_MASTER_KEY": _master_key(path)}
    return Stack(
        bootstrap=bootstrap,
        dsns=dsns,
        prefix=prefix,
        jwt_secret=secrets.token_urlsafe(32),
        log_dir=log_dir,
        overrides=overrides,
        kafka_env=kafka_env or {},
        owner_dsns=owner_dsns or {},
    )


def _master_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


async def drive(
    run: Run,
    people: list[Persona],
    timings: Timings,
    *,
    arrival_seconds: float = 20.0,
    seed: int = 7,
    during: Callable[[], Coroutine[Any, Any, None]] | None = None,
    gates: Gates | None = None,
    patience: float = WAIT,
    evenly: bool = False,
) -> None:
    """Start the patients spread over `arrival_seconds` (at random moments, or `evenly`: a steady rate), run
    `during` alongside (fault injection), wait for all.
    `gates` can hold the simulator's requests to a service for a while; `patience` is how long a patient waits
    for another service to have applied an event."""
    api = Api(run.stack.urls, run.stack.jwt_secret, gates=gates)
    simulator = Simulator(api, timings, run.tally, patience=patience)
    rng = random.Random(seed)
    try:

        async def arrive(p: Persona, at: float) -> Record:
            await asyncio.sleep(at)
            return await simulator.journey(p)

        step = arrival_seconds / len(people) if people else 0.0
        moments = [i * step if evenly else rng.uniform(0, arrival_seconds) for i in range(len(people))]
        tasks = [asyncio.create_task(arrive(p, at)) for p, at in zip(people, moments, strict=True)]
        side = asyncio.create_task(during()) if during is not None else None
        run.records = list(await asyncio.gather(*tasks))
        if side is not None:
            await side
    finally:
        await api.close()


async def settle(run: Run, timings: Timings, *, timeout: float = 60.0) -> None:
    """Wait until every timer a run set has had time to fire and the event counts stop changing."""
    await asyncio.sleep(timings.integration_closes_after + timings.auto_close_after + 2)
    deadline = asyncio.get_running_loop().time() + timeout
    last = -1
    while asyncio.get_running_loop().time() < deadline:
        total = sum(run.counter.counts.values())
        if total == last:
            return
        last = total
        await asyncio.sleep(3)


__all__ = ["Run", "cast", "drive", "make_stack", "running_journey", "settle"]


@asynccontextmanager
async def running_journey(infra: Any, prefix: str, log_dir: Path, timings: Timings) -> AsyncIterator[Run]:
    """The four services as processes on fresh databases of `infra` (an admin DSN and a Kafka bootstrap), on
    free ports, with an event counter on the run's topics; everything stopped and dropped afterwards.  Each
    database is provisioned as in production: `migrate` runs as its owner role, `serve` as its runtime role."""
    databases = {name: await postgres.provision_database(infra.pg_admin_dsn) for name in PORTS}
    stack = make_stack(
        infra.kafka_bootstrap,
        {name: db.runtime for name, db in databases.items()},  # serve: the runtime role only
        prefix,
        log_dir,
        timings,
        log_dir / "master-key",
        service_kafka_env(infra),
        {name: db.owner for name, db in databases.items()},  # migrate: the owner role
    )
    stack_ports = {name: free_port() for name in PORTS}
    for name, service in stack.services.items():
        service.port = stack_ports[name]
        service.env["HEARTH_HTTP_PORT"] = str(service.port)
    counter = EventCounter(infra.kafka_bootstrap, prefix)
    try:
        await stack.start()
        await counter.start()
        yield Run(stack, counter)
    finally:
        await counter.stop()
        await stack.stop()
        for db in databases.values():
            await postgres.drop_database(infra.pg_admin_dsn, db.admin)
        # A broker shared by many runs keeps every partition and ACL it was given, and each one costs it on every
        # metadata update, checkpoint and authorisation from then on.
        await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))
        if stack.secured:
            await remove_acls(infra.kafka_bootstrap, catalog_acls(prefix), kafka_client_options())


def service_kafka_env(infra: Any) -> dict[str, dict[str, str]]:
    """Each service's own Kafka principal: `kafka_service_env` of the launcher (a method) or of the test
    fixtures' Infra (a mapping); empty when the broker has no authentication."""
    source = getattr(infra, "kafka_service_env", None)
    if source is None:
        return {}
    return {name: dict(source(name) if callable(source) else source.get(name, {})) for name in PORTS}
