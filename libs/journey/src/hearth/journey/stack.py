"""The four services as separate processes on one Kafka and one Postgres: start, migrate, kill, restart, stop.

Used by `make demo`, the end-to-end tests and the benchmarks.  Each service gets its own database and the run's
topic prefix, so runs never see each other's events.  A service may run as several processes (`add_replica`):
same database, consumer group and settings, each on its own HTTP port, as replicas behind a load balancer.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hearth.kit import audit_keys
from hearth.kit.acls import apply_acls, catalog_acls
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.service_harness import free_port
from hearth.kit.topics import catalog_topics, ensure_topics

SERVE_ONLY = frozenset({"HEARTH_AUDIT_SIGNING_KEY", "HEARTH_IDEMPOTENCY_SECRET", "HEARTH_JWT_SECRET"})
PORTS = {"screening": 8081, "fulfillment": 8082, "session": 8083, "followup": 8084}


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]  # what `serve` gets: the runtime role's DSN, never the owner's
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    migrations_dsn: str | None = field(default=None, repr=False)  # the owner's, for `migrate` only

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self, command: str = "serve") -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        env = dict(self.env)
        if command == "migrate":  # the owner's DSN, and none of the secrets only `serve` needs
            env = {k: v for k, v in env.items() if k not in SERVE_ONLY}
            if self.migrations_dsn is not None:
                env["HEARTH_MIGRATIONS_DATABASE_URL"] = self.migrations_dsn
        return subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", f"hearth.{self.name}.main", command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def inherited_environment(*, keep_kafka: bool) -> dict[str, str]:
    """This process's environment without its hearth and Postgres settings (an admin DSN, another service's
    credentials): a service process gets only its own. The admin's Kafka settings pass only when the service has
    no principal of its own (a broker without authentication)."""

    def passes(name: str) -> bool:
        if keep_kafka and name.startswith("HEARTH_KAFKA_"):
            return True
        return not name.startswith(("HEARTH_", "PG"))

    return {name: value for name, value in os.environ.items() if passes(name)}


@dataclass
class Stack:
    bootstrap: str
    dsns: Mapping[str, str]
    prefix: str
    jwt_secret: str
    log_dir: Path
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=lambda: dict(PORTS))
    kafka_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # per service: its own principal
    owner_dsns: Mapping[str, str] = field(default_factory=dict)  # schema owners, for `migrate` only
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    audit_public_keys: dict[str, str] = field(default_factory=dict)  # for `hearth audit verify <service>`
    replicas: dict[str, list[ServiceProcess]] = field(default_factory=dict)  # more processes of a service

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, port in self.ports.items():
            signing = audit_keys.generate()  # each service its own; only its serve process holds it
            self.audit_public_keys[name] = audit_keys.encode_public(signing.public_key())
            env = {
                **inherited_environment(keep_kafka=not self.kafka_env.get(name)),
                "HEARTH_DATABASE_URL": self.dsns[name],
                "HEARTH_KAFKA_BOOTSTRAP": self.bootstrap,
                "HEARTH_TOPIC_PREFIX": self.prefix,
                "HEARTH_JWT_SECRET": self.jwt_secret,
                "HEARTH_IDEMPOTENCY_SECRET": secrets.token_urlsafe(32),  # each service its own
                "HEARTH_AUDIT_SIGNING_KEY": audit_keys.encode_private(signing),
                "HEARTH_HTTP_HOST": "127.0.0.1",
                "HEARTH_HTTP_PORT": str(port),
                "HEARTH_OUTBOX_SWEEP_SECONDS": "0.5",
                "HEARTH_TIMER_POLL_SECONDS": "0.2",
                "PYTHONUNBUFFERED": "1",
                **self.kafka_env.get(name, {}),
                **self.overrides.get(name, {}),
            }
            self.services[name] = ServiceProcess(
                name, port, env, self.log_dir / f"{name}.log", migrations_dsn=self.owner_dsns.get(name)
            )

    def url(self, name: str) -> str:
        return self.services[name].url

    def processes(self, name: str) -> list[ServiceProcess]:
        """Every process of the service: the first, then the replicas added."""
        return [self.services[name], *self.replicas.get(name, [])]

    def urls(self, name: str) -> list[str]:
        """The service's addresses, as a load balancer would route: the live processes' (all when none lives)."""
        processes = self.processes(name)
        return [p.url for p in processes if p.alive] or [p.url for p in processes]

    async def add_replica(self, name: str) -> ServiceProcess:
        """Start one more process of the service (same database, consumer group and keys) on a free HTTP port;
        returns it once it is ready."""
        first = self.services[name]
        port = free_port()
        number = len(self.processes(name)) + 1
        replica = ServiceProcess(
            name,
            port,
            {**first.env, "HEARTH_HTTP_PORT": str(port)},
            self.log_dir / f"{name}-{number}.log",
            migrations_dsn=first.migrations_dsn,
        )
        self.replicas.setdefault(name, []).append(replica)
        replica.proc = replica.spawn()
        await self._wait_ready(replica)
        return replica

    @property
    def secured(self) -> bool:
        """The broker authenticates (as this process's HEARTH_KAFKA_* environment does): services need ACLs."""
        return str(kafka_client_options().get("security_protocol", "PLAINTEXT")).startswith("SASL")

    async def start(self) -> None:
        """Topics and ACLs (as the admin of this process's HEARTH_KAFKA_* environment), migrations, processes."""
        await ensure_topics(self.bootstrap, catalog_topics(self.prefix), partitions=6)
        if self.secured:
            await apply_acls(self.bootstrap, catalog_acls(self.prefix), kafka_client_options())
        await asyncio.gather(*(self._migrate(s) for s in self.services.values()))
        for service in self.services.values():
            service.proc = service.spawn()
        await asyncio.gather(*(self.wait_ready(name) for name in self.services))

    async def _migrate(self, service: ServiceProcess) -> None:
        proc = service.spawn("migrate")
        code = await asyncio.to_thread(proc.wait, 60)
        if code != 0:
            raise RuntimeError(f"{service.name} migrate exited with {code}; see {service.log_path}")

    async def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        await self._wait_ready(self.services[name], timeout)

    async def _wait_ready(self, service: ServiceProcess, timeout: float = 60.0) -> None:
        name = service.name
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while asyncio.get_running_loop().time() < deadline:
                if not service.alive:
                    raise RuntimeError(f"{name} exited during start-up; see {service.log_path}")
                try:
                    if (await client.get(f"{service.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{name} was not ready within {timeout:.0f}s; see {service.log_path}")

    async def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hooks, in-flight work lost as a crash would lose it."""
        await self.kill_process(self.services[name])

    async def kill_process(self, service: ServiceProcess) -> None:
        """SIGKILL one process of a service (a replica, say)."""
        if service.alive and service.proc is not None:
            os.killpg(service.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(service.proc.wait, 10)

    async def restart(self, name: str) -> None:
        service = self.services[name]
        service.proc = service.spawn()
        service.restarts += 1
        await self.wait_ready(name)

    async def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM everything: each service finishes in-flight work, flushes its outbox, commits offsets."""
        every = [p for name in self.services for p in self.processes(name)]
        running = [s for s in every if s.alive and s.proc is not None]
        for s in running:
            assert s.proc is not None
            s.proc.send_signal(signal.SIGTERM)
        for s in running:
            assert s.proc is not None
            try:
                await asyncio.to_thread(s.proc.wait, timeout)
            except subprocess.TimeoutExpired:
                os.killpg(s.proc.pid, signal.SIGKILL)
