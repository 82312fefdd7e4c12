"""Running one service for component tests: in-process (fast, with a controllable clock) or as a real process
(for SIGKILL tests), on a fresh database and its own topic prefix, so tests never see each other's events.

    async with running_service(define, Settings, infra, unique_name) as svc:
        await svc.publish(build_event(Approved.example(), subject="pt-1"))
        r = await svc.client.post("/sessions", json=..., headers=svc.auth(Role.PATIENT))
        started = await svc.wait_for_events(SessionStarted, count=1)
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace.export import SpanExporter

from hearth.contracts import Event, EventData, parse_event, spec_for

from ..app import create_app
from ..auth import AuthSettings, Role, mint_token
from ..clock import Clock
from ..runner import apply_migrations
from ..service import ServiceDefinition
from ..settings import KitSettings, kafka_client_options
from ..topics import catalog_topics, ensure_topics
from . import launcher, leftovers, postgres
from .helpers import ChildProcess, produce
from .kafka import delete_topics

S = TypeVar("S", bound=KitSettings)
D = TypeVar("D", bound=EventData)

JWT_SECRET = "component-test-secret-of-at-least-32-bytes"
IDEMPOTENCY_SECRET = "component-test-idempotency-hmac-key-32-bytes"
MASTER_KEY = base64.b64encode(b"component-test-master-key-32byte").decode()
AUDIT_SIGNING_KEY = base64.b64encode(b"component-test-audit-signing-key").decode()  # a fixed Ed25519 seed


@dataclass
class ServiceUnderTest:
    definition: ServiceDefinition
    settings: KitSettings
    dsn: str
    prefix: str
    bootstrap: str
    client: httpx.AsyncClient
    _seen: list[Event[Any]] = field(default_factory=list)

    def auth(self, role: Role, subject: str = "tester-1") -> dict[str, str]:
        token = mint_token(AuthSettings(jwt_secret=JWT_SECRET), subject, role)
        return {"Authorization": f"Bearer {token}"}

    def topic(self, model: type[EventData]) -> str:
        return self.prefix + spec_for(model).topic

    async def publish(self, *events: Event[Any]) -> None:
        """Put events on their (prefixed) topics, as their owning service's relay would."""
        await produce(
            self.bootstrap,
            [(self.prefix + spec_for(e.type).topic, e.partitionkey.encode(), e.to_json()) for e in events],
        )

    async def wait_for_events(
        self,
        model: type[D],
        *,
        count: int,
        timeout: float = 30.0,
        where: Callable[[Event[D]], bool] | None = None,
        settle: float = 1.0,
    ) -> list[Event[D]]:
        """Read the service's output topic until `count` distinct events matching `where` arrived, then a little
        longer (`settle`) to catch any extra one; returns every distinct matching event seen."""
        found = await read_topic(
            self.bootstrap, self.topic(model), stop_after=count, timeout=timeout, settle=settle, where=where
        )
        return found

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn)


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    stop_after: int,
    timeout: float = 30.0,
    settle: float = 1.0,
    where: Callable[[Any], bool] | None = None,
) -> list[Event[Any]]:
    """Distinct events on a topic from the beginning matching `where` (deduplicated by id, in arrival order)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        **kafka_client_options(),
    )
    await consumer.start()
    seen: dict[str, Event[Any]] = {}
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(seen) < stop_after and loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    event = parse_event(r.value)
                    if where is None or where(event):
                        seen.setdefault(str(event.id), event)
        settle_until = loop.time() + settle
        while loop.time() < settle_until:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    event = parse_event(r.value)
                    if where is None or where(event):
                        seen.setdefault(str(event.id), event)
    finally:
        await consumer.stop()
    return list(seen.values())


async def prepare(
    define: Callable[[S], ServiceDefinition],
    settings_type: type[S],
    infra: Any,
    prefix: str,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[S, ServiceDefinition, str]:
    """A fresh database with the service's migrations, its topics, and settings pointing at both.

    The database is provisioned as in production: the settings name its runtime role (`database_url`, what the
    service runs as) and its owner role (`migrations_database_url`, what the migrations ran as). The DSN
    returned is the administrator's, for the test's own inspection and clean-up only."""
    db = await postgres.provision_database(infra.pg_admin_dsn)
    dsn = db.admin
    defaults: dict[str, Any] = {
        "database_url": db.runtime,
        "migrations_database_url": db.owner,
        "kafka_bootstrap": infra.kafka_bootstrap,
        "topic_prefix": prefix,
        "jwt_secret": JWT_SECRET,
        "idempotency_secret": IDEMPOTENCY_SECRET,
        "audit_signing_key": AUDIT_SIGNING_KEY,
        "master_key": MASTER_KEY,
        "outbox_sweep_seconds": 0.2,
        "timer_poll_seconds": 0.1,
        "log_level": "WARNING",
    }
    settings = settings_type(**(defaults | dict(overrides or {})))
    definition = define(settings)
    await apply_migrations(definition, settings)
    leftovers.remember(infra.kafka_bootstrap, prefix)
    await ensure_topics(infra.kafka_bootstrap, catalog_topics(prefix), partitions=3)
    return settings, definition, dsn


@asynccontextmanager
async def running_service(
    define: Callable[[S], ServiceDefinition],
    settings_type: type[S],
    infra: Any,
    prefix: str,
    *,
    clock: Clock | None = None,
    overrides: Mapping[str, Any] | None = None,
    keep_topics: bool = False,
    span_exporter: SpanExporter | None = None,
) -> AsyncIterator[ServiceUnderTest]:
    """The service in this process: HTTP through httpx's ASGI transport, its real consumer, relay and poller.
    Its topics are deleted afterwards unless `keep_topics` (to read what it published while stopping).
    `span_exporter`: the service's spans go there (an in-memory exporter)."""
    settings, definition, dsn = await prepare(define, settings_type, infra, prefix, overrides)
    app = create_app(definition, settings, clock, span_exporter=span_exporter)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                yield ServiceUnderTest(definition, settings, dsn, prefix, infra.kafka_bootstrap, client)
    finally:
        await postgres.drop_database(infra.pg_admin_dsn, dsn)
        # A broker shared by a whole test session keeps every partition it is given, and its heap grows with them.
        if not keep_topics:
            await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))
            leftovers.forget(prefix)


def free_port() -> int:
    """A port for a service to listen on: the local launcher's choice (outside the kernel's ephemeral range)."""
    return int(launcher.load().free_port())


def _database_setting(name: str) -> bool:
    return name.startswith("PG") or (name.startswith("HEARTH_") and ("DATABASE_URL" in name or "_PG_" in name))


class ServiceProcess(ChildProcess):
    """The service as a real process (`python -m <module> serve`), for tests that SIGKILL it."""

    def __init__(self, module: str, env: Mapping[str, str]) -> None:
        self.module = module
        self.port = int(env.get("HEARTH_HTTP_PORT") or free_port())
        # No database credential of this process's environment passes (an admin DSN): only the service's own.
        inherited = {k: v for k, v in os.environ.items() if not _database_setting(k)}
        self.env = {**inherited, **env, "HEARTH_HTTP_PORT": str(self.port), "HEARTH_HTTP_HOST": "127.0.0.1"}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30.0) -> ServiceProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, "serve"], env=self.env)
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.module} exited with {self.proc.returncode} during start-up")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.module} was not ready within {timeout}s")


def service_env(settings: KitSettings) -> dict[str, str]:
    """The HEARTH_* environment that reproduces `settings` in a `serve` child process (without the owner DSN)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None or name in ("http_host", "http_port"):  # each process picks its own port
            continue
        if name == "migrations_database_url":  # `serve` never holds the owner's credentials
            continue
        secret = getattr(settings, name)
        if hasattr(secret, "get_secret_value"):
            value = secret.get_secret_value()
        if isinstance(value, list | tuple | set | frozenset | dict):
            import json

            value = json.dumps(sorted(value) if isinstance(value, set | frozenset) else value)
        env[f"HEARTH_{name.upper()}"] = str(value)
    return env
