"""`LocalInfra`: start, stop and share one state folder's Kafka broker and PostgreSQL cluster."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .common import DEFAULT_STATE_DIR, MARKER, Echo, InfraError, stderr
from .jars import kafka_classpath
from .kafka import KafkaCluster
from .leases import Leases
from .postgres import Postgres
from .processes import tcp_open
from .state import StateFolder


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    ready: bool
    pid: int | None
    address: str
    log: Path

    def line(self) -> str:
        state = "up" if self.running and self.ready else "not answering" if self.running else "down"
        pid = f"pid {self.pid}" if self.pid else "-"
        return f"{self.name:<9} {state:<14} {self.address:<16} {pid:<11} log {self.log}"


class LocalInfra(StateFolder):
    """Kafka (one broker, or `brokers=3` combined broker + controller nodes) and one PostgreSQL cluster whose
    state lives in `state_dir`.

    Ports and addresses: see `StateFolder`. Every method blocks until done; a file lock in the state folder
    serialises starts and stops across processes.
    """

    def __init__(
        self,
        state_dir: Path | str = DEFAULT_STATE_DIR,
        kafka_port: int | None = None,
        controller_port: int | None = None,
        pg_port: int | None = None,
        *,
        jar_cache: Path | str | None = None,
        pg_bin: Path | str | None = None,
        echo: Echo | None = stderr,
        timeout: float | None = None,
        brokers: int | None = None,
        kafka_ports: Sequence[int] | None = None,
        controller_ports: Sequence[int] | None = None,
    ) -> None:
        super().__init__(state_dir, kafka_port, controller_port, pg_port,
                         jar_cache=jar_cache, pg_bin=pg_bin, echo=echo, timeout=timeout, brokers=brokers,
                         kafka_ports=kafka_ports, controller_ports=controller_ports)  # fmt: skip
        self.leases = Leases(self.state_dir)
        self._kafka = KafkaCluster(self)
        self._postgres = Postgres(self)

    def __repr__(self) -> str:
        return f"LocalInfra({str(self.state_dir)!r}, {self.kafka_bootstrap}, 127.0.0.1:{self.pg_port})"

    # -- both at once

    def up(self) -> bool:
        """Start whatever is not running and wait until both answer; True if anything was started."""
        with self._locked():
            pids, pg_pid = self.kafka_pids(), self.postgres_pid()
            kafka_pid = self.kafka_pid() if all(pids.values()) else None
            if any(pids.values()) and not (self._kafka.secured() and self._kafka.formatted()):
                self.echo("Kafka runs without SASL/TLS or with another number of nodes: stopping it to format again")
                self.stop_kafka()
                kafka_pid = None
            if pg_pid and not self.credentials.has_postgres():
                self.echo(f"PostgreSQL (pid {pg_pid}) predates the owner/runtime roles: stopping it to re-create it")
                self.stop_postgres()
                pg_pid = None
            if kafka_pid:
                self.echo(f"Kafka is already up at {self.kafka_bootstrap} (pid {kafka_pid})")
            if pg_pid:
                self.echo(f"PostgreSQL is already up at 127.0.0.1:{self.pg_port} (pid {pg_pid})")
            if kafka_pid and pg_pid:
                self._postgres.bootstrap_audit()
                self._write_env()
                return False
            self._save_ports()
            try:
                if not kafka_pid:
                    starting = self._kafka.spawn()  # the brokers boot while Postgres starts
                if not pg_pid:
                    self.start_postgres()
                if not kafka_pid:
                    self._kafka.wait(starting)
                if pg_pid:  # already running: started ones were bootstrapped by start()
                    self._postgres.bootstrap_audit()
            except BaseException:
                if not kafka_pid:
                    self._quietly(self.stop_kafka)
                if not pg_pid:
                    self._quietly(self.stop_postgres)
                raise
            self._write_env()
            return True

    def down(self) -> bool:
        """Stop both (SIGTERM, SIGKILL after a timeout); True if anything was running."""
        with self._locked():
            errors, stopped = [], False
            for stop in (self.stop_kafka, self.stop_postgres):
                try:
                    stopped = stop() or stopped
                except InfraError as e:
                    errors.append(str(e))
            if errors:
                raise InfraError("\n".join(errors))
            return stopped

    def is_up(self) -> bool:
        return all(c.running and c.ready for c in self.status().values())

    def status(self) -> dict[str, ComponentStatus]:
        """`kafka` (node 1), `kafka-2` and `kafka-3` for a cluster, and `postgres`."""
        pg_port = self._saved_ports().get("postgres", self.pg_port)  # the port it really runs on
        pg_pid = self.postgres_pid()
        secured = self._kafka.secured()
        statuses = {}
        for broker in self._kafka.brokers.values():
            pid, node = broker.pid(), broker.node
            ready = bool(pid) and secured and broker.answers()
            statuses[node.name] = ComponentStatus(node.name, bool(pid), ready, pid, node.address, node.log)
        pg_ready = bool(pg_pid) and tcp_open("127.0.0.1", pg_port)
        statuses["postgres"] = ComponentStatus(
            "postgres", bool(pg_pid), pg_ready, pg_pid, f"127.0.0.1:{pg_port}", self.pg_log
        )
        return statuses

    def reset(self) -> None:
        """Stop both and delete the state folder (topics, databases, credentials); the jar cache stays."""
        with self._locked():
            self.down()
            if not (self.state_dir / MARKER).exists():
                raise InfraError(f"{self.state_dir} is not a state folder of this launcher; not deleting it")
            shutil.rmtree(self.state_dir)

    # -- shared by several processes: test sessions lease it, `make up` keeps it

    def keep(self, keep: bool = True) -> None:
        """Mark it as started by a person (`make up`): test sessions then leave it running."""
        if keep:
            self._prepare_state_dir()
        self.leases.keep(keep)

    def attach(self, holder: int | None = None) -> bool:
        """Register `holder` (a pid, default this process) as a user and bring both up; True if started."""
        with self._locked():
            lease = self.leases.take(holder)
            try:
                return self.up()
            except BaseException:
                lease.unlink(missing_ok=True)
                raise

    def detach(self, holder: int | None = None) -> bool:
        """Unregister `holder`; stop both when no live user is left and nobody ran `up` by hand."""
        with self._locked():
            self.leases.drop(holder)
            return self.down_if_unused()

    def down_if_unused(self) -> bool:
        """Stop both unless a live process holds a lease or it was started with `make up`."""
        with self._locked():
            if self.users() or self.leases.kept():
                return False
            return self.down()

    def users(self) -> list[int]:
        """Pids of the live processes holding a lease (dead ones are forgotten)."""
        return self.leases.users()

    @staticmethod
    def _quietly(action: Callable[[], object]) -> None:
        with contextlib.suppress(Exception):
            action()

    # -- one at a time (fault tests stop and start them)

    def kafka_pid(self, node: int = 1) -> int | None:
        """A node's pid (the first node's by default) while it runs from this state folder."""
        return self._kafka.brokers[node].pid()

    def kafka_pids(self) -> dict[int, int | None]:
        """Every node's pid (None for a node not running), by node id."""
        return self._kafka.pids()

    def start_kafka(self, nodes: Iterable[int] | None = None) -> bool:
        """Start the nodes not running (all, or those named; the storage is formatted the first time only) and
        wait until each answers."""
        with self._locked():
            chosen = list(nodes or self._kafka.brokers)
            if all(self._kafka.brokers[n].pid() for n in chosen):
                self.echo(f"Kafka is already up at {self.kafka_bootstrap}")
                return False
            self._save_ports()
            try:
                self._kafka.wait(self._kafka.spawn(chosen))
            except BaseException:
                self._quietly(lambda: self.stop_kafka(nodes=chosen))
                raise
            return True

    def stop_kafka(self, hard: bool = False, timeout: float = 30.0, nodes: Iterable[int] | None = None) -> bool:
        """SIGTERM the nodes (all, or those named; SIGKILL when `hard`, or when one outlives `timeout`); the data
        stays."""
        with self._locked():
            return self._kafka.stop(hard, timeout, nodes)

    def kafka_classpath(self) -> Path:
        """The folder of broker jars: resolved with Maven once, then shared by every state folder."""
        return kafka_classpath(self.jar_cache, self.echo, self.timings)

    def postgres_pid(self) -> int | None:
        """The postmaster's pid while this state folder's cluster runs."""
        return self._postgres.pid()

    def start_postgres(self) -> bool:
        """Start the cluster (created and provisioned the first time) and wait until it takes connections."""
        with self._locked():
            if pid := self.postgres_pid():
                self.echo(f"PostgreSQL is already up at 127.0.0.1:{self.pg_port} (pid {pid})")
                return False
            self._save_ports()
            self._postgres.start()
            return True

    def stop_postgres(self, hard: bool = False, timeout: float = 30.0) -> bool:
        """Fast shutdown (`immediate`, like a crash, when `hard`); SIGKILL if it outlives `timeout`."""
        with self._locked():
            return self._postgres.stop(hard, timeout)
