"""A state folder: where a broker and a cluster keep everything, their ports, and how clients reach them."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_JAR_CACHE,
    DEFAULT_PG_BIN,
    DEFAULT_STATE_DIR,
    KAFKA_ADMIN,
    KAFKA_SASL_MECHANISM,
    KAFKA_SECURITY_PROTOCOL,
    MARKER,
    SERVICES,
    Echo,
    check_service,
    env_port,
    stderr,
)
from .credentials import Credentials
from .files import locked, read_json, write_private


@dataclass(frozen=True)
class KafkaNode:
    """One combined broker + controller of a state folder: node 1 lives in `kafka/`, node n in `kafka-<n>/`."""

    node_id: int
    port: int
    controller_port: int
    folder: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "kafka.log"

    @property
    def config(self) -> Path:
        return self.folder / "server.properties"

    @property
    def name(self) -> str:
        return "kafka" if self.node_id == 1 else f"kafka-{self.node_id}"


class StateFolder:
    """The paths, ports and credentials of one state folder, and the addresses and settings clients use.

    Ports: the argument, else HEARTH_KAFKA_PORT / HEARTH_KAFKA_CONTROLLER_PORT / HEARTH_PG_PORT, else the
    ports this folder was last started with, else 9092 / 9093 / 5433. Brokers: the argument, else as
    last started, else 1; node n of a cluster listens on the first ports plus
    2(n-1) (9092, 9094, 9096 and 9093, 9095, 9097) unless `kafka_ports` / `controller_ports` name them.
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
        self.state_dir = Path(state_dir).resolve()
        saved = self._saved_ports()
        self.kafka_port: int = kafka_port or env_port("HEARTH_KAFKA_PORT") or saved.get("kafka") or 9092
        self.controller_port: int = (
            controller_port or env_port("HEARTH_KAFKA_CONTROLLER_PORT") or saved.get("controller") or 9093
        )
        self.pg_port: int = pg_port or env_port("HEARTH_PG_PORT") or saved.get("postgres") or 5433
        self.brokers: int = brokers or len(kafka_ports or ()) or saved.get("brokers") or 1
        if self.brokers < 1:
            raise ValueError("a Kafka cluster needs at least one broker")
        self.kafka_ports = self._node_ports(kafka_ports, saved.get("kafka_ports"), self.kafka_port)
        self.controller_ports = self._node_ports(controller_ports, saved.get("controller_ports"), self.controller_port)
        self.kafka_port, self.controller_port = self.kafka_ports[0], self.controller_ports[0]
        self.jar_cache = Path(jar_cache or os.environ.get("HEARTH_KAFKA_LIB") or DEFAULT_JAR_CACHE).resolve()
        self.pg_bin = Path(pg_bin or os.environ.get("HEARTH_PG_BIN") or DEFAULT_PG_BIN)
        self.timeout = timeout or float(os.environ.get("HEARTH_INFRA_TIMEOUT", "90"))
        self.echo: Echo = echo or (lambda _message: None)
        self.kafka_dir = self.state_dir / "kafka"
        self.kafka_data = self.kafka_dir / "data"
        self.kafka_log = self.kafka_dir / "kafka.log"
        self.kafka_tls_dir = self.kafka_dir / "tls"
        self.kafka_formatted = self.kafka_dir / "formatted.json"  # written once the storage has SCRAM users
        self.pg_dir = self.state_dir / "postgres"
        self.pg_data = self.pg_dir / "data"
        self.pg_socket_dir = self.pg_dir / "sock"
        self.pg_log = self.pg_dir / "postgres.log"
        self.credentials_file = self.state_dir / "credentials.json"
        self.credentials = Credentials(self.credentials_file)
        self.env_file = self.state_dir / "env"
        self.timings: dict[str, float] = {}  # seconds, of the last jar resolution / start / stop
        self.kafka_nodes = [
            KafkaNode(n + 1, port, controller, self.kafka_dir if n == 0 else self.state_dir / f"kafka-{n + 1}")
            for n, (port, controller) in enumerate(zip(self.kafka_ports, self.controller_ports, strict=True))
        ]

    def _node_ports(self, given: Sequence[int] | None, saved: object, first: int) -> list[int]:
        if given:
            if len(given) != self.brokers:
                raise ValueError(f"{len(given)} ports for {self.brokers} brokers")
            return list(given)
        if isinstance(saved, list) and len(saved) == self.brokers and saved[0] == first:
            return [int(p) for p in saved]
        return [first + 2 * n for n in range(self.brokers)]

    def kafka_node(self, node_id: int) -> KafkaNode:
        for node in self.kafka_nodes:
            if node.node_id == node_id:
                return node
        raise ValueError(f"no Kafka node {node_id}; nodes are 1 to {self.brokers}")

    @property
    def replication(self) -> tuple[int, int]:
        """Replication factor and minimum in-sync replicas of every topic: (1, 1) alone, else (3, 2) at most."""
        factor = min(self.brokers, 3)
        return factor, max(1, factor - 1)

    # -- addresses and credentials

    @property
    def kafka_bootstrap(self) -> str:
        """Every node's client address, comma-separated (one for a single broker)."""
        return ",".join(node.address for node in self.kafka_nodes)

    @property
    def kafka_ca_file(self) -> Path:
        """The local CA's certificate (PEM) that signed the broker's: clients verify the broker with it."""
        return self.kafka_tls_dir / "ca.pem"

    def kafka_env(self) -> dict[str, str]:
        """HEARTH_KAFKA_BOOTSTRAP and the admin's HEARTH_KAFKA_* security settings (`KafkaSettings` reads them)."""
        return self._kafka_env(KAFKA_ADMIN, self.credentials.kafka()["admin"])

    def kafka_service_env(self, service: str) -> dict[str, str]:
        """The same settings with the service's own principal (user name = service name) and password."""
        check_service(service)
        return self._kafka_env(service, self.credentials.kafka()["services"][service])

    def kafka_service_envs(self) -> dict[str, dict[str, str]]:
        return {service: self.kafka_service_env(service) for service in SERVICES}

    def _kafka_env(self, username: str, password: str) -> dict[str, str]:
        values = {
            "HEARTH_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "HEARTH_KAFKA_SECURITY_PROTOCOL": KAFKA_SECURITY_PROTOCOL,
            "HEARTH_KAFKA_SASL_MECHANISM": KAFKA_SASL_MECHANISM,
            "HEARTH_KAFKA_USERNAME": username,
            "HEARTH_KAFKA_PASSWORD": password,
            "HEARTH_KAFKA_CA_FILE": str(self.kafka_ca_file),
        }
        if self.brokers > 1:  # topics made through these settings are replicated (one broker: the defaults, 1)
            factor, min_isr = self.replication
            values["HEARTH_KAFKA_REPLICATION_FACTOR"] = str(factor)
            values["HEARTH_KAFKA_MIN_INSYNC_REPLICAS"] = str(min_isr)
        return values

    @property
    def pg_admin_dsn(self) -> str:
        return self._dsn("postgres", self.credentials.postgres()["postgres"], "postgres")

    def service_dsn(self, service: str) -> str:
        """The service's runtime role on its database: reads and writes tables, no DDL."""
        check_service(service)
        return self._dsn(service, self.credentials.postgres()["services"][service], service)

    def owner_dsn(self, service: str) -> str:
        """The owner role `<service>_owner` of the service's database: migrations (DDL) run as it."""
        check_service(service)
        return self._dsn(f"{service}_owner", self.credentials.postgres()["owners"][service], service)

    def service_dsns(self) -> dict[str, str]:
        return {service: self.service_dsn(service) for service in SERVICES}

    def owner_dsns(self) -> dict[str, str]:
        return {service: self.owner_dsn(service) for service in SERVICES}

    def env(self) -> dict[str, str]:
        """What `<state>/env` exports: addresses and credentials for services, tests and operators."""
        values = {**self.kafka_env(), "HEARTH_PG_ADMIN_DSN": self.pg_admin_dsn}
        kafka = self.credentials.kafka()["services"]
        for service in SERVICES:
            upper = service.upper()
            values[f"HEARTH_{upper}_DATABASE_URL"] = self.service_dsn(service)
            values[f"HEARTH_{upper}_MIGRATIONS_DATABASE_URL"] = self.owner_dsn(service)
            values[f"HEARTH_{upper}_KAFKA_PASSWORD"] = kafka[service]
        return values

    def _dsn(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.pg_port}/{database}"

    # -- the folder's own files

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        self._prepare_state_dir()
        return locked(self.state_dir)

    def _prepare_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / MARKER).touch()

    def _saved_ports(self) -> dict[str, Any]:
        """The ports this folder was last started with (`ports.json`): {} before the first start."""
        return read_json(self.state_dir / "ports.json")

    def _save_ports(self) -> None:
        ports = {
            "kafka": self.kafka_port,
            "controller": self.controller_port,
            "postgres": self.pg_port,
            "brokers": self.brokers,
            "kafka_ports": self.kafka_ports,
            "controller_ports": self.controller_ports,
        }
        (self.state_dir / "ports.json").write_text(json.dumps(ports) + "\n")

    def _write_env(self) -> None:
        lines = [f"export {name}='{value}'" for name, value in self.env().items()]
        write_private(self.env_file, "\n".join(lines) + "\n")
