#!/usr/bin/env python3
"""Local Kafka and PostgreSQL without Docker, for development, tests, the demo and the benchmarks.

    python3 deploy/local/infra.py up|down|status|env|reset|prune [--state-dir DIR]

Apache Kafka 4.3.1 (KRaft, one combined broker + controller, jars from Maven Central; clients use SASL_SSL with
SCRAM-SHA-512 and a local CA, no anonymous access) and a throwaway PostgreSQL 15 cluster (an owner role and a
runtime role per service database) run as local processes with all their state in one folder (default
`<repo>/.state/local`, git-ignored). Standard library only, so it runs before `uv sync`. The pytest plugin
(`hearth.kit.testing`) imports this file and drives `LocalInfra` directly. deploy/local/README.md explains
the choices.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import string
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STATE_ROOT = REPO / ".state"
DEFAULT_STATE_DIR = STATE_ROOT / "local"
DEFAULT_JAR_CACHE = STATE_ROOT / "kafka-lib"
DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICES = ("screening", "fulfillment", "session", "followup")
JVM_OPTIONS = ("-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError")
MARKER = ".hearth-infra"  # marks a state folder, so `reset` never deletes anything else
KAFKA_ADMIN = "admin"  # the broker's super user: the broker itself, operators, the test fixtures
KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM = "SASL_SSL", "SCRAM-SHA-512"
# Bumped when the Kafka security or the Postgres roles change: a state folder made before is set up again.
KAFKA_LAYOUT = "sasl_ssl+scram-sha-512/1"
POSTGRES_LAYOUT = "owner+runtime/1"


class InfraError(RuntimeError):
    """Something the developer has to act on; the message says what, with the relevant log tail."""


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


# ----------------------------------------------------------------------------------------------------------
# Processes, ports, logs


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a zombie child of ours is reaped)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _kill_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on the port now (with SO_REUSEADDR, as Java and Postgres bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last lines of {path} ---\n{tail}\n--- end of {path} ---"


# ----------------------------------------------------------------------------------------------------------
# Kafka readiness: SASL/SCRAM over TLS, then a Metadata request, on a plain socket (no client library needed)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return bytes(buf)


def _kafka_string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


class _KafkaConnection:
    """Request/response framing (request header v1) over a socket that may be wrapped in TLS."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.correlation = sock, 0

    def call(self, api_key: int, version: int, body: bytes) -> bytes:
        self.correlation += 1
        request = struct.pack(">hhi", api_key, version, self.correlation) + _kafka_string("hearth-infra") + body
        self.sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(self.sock, 4))
        data = _recv_exact(self.sock, size)
        if struct.unpack_from(">i", data)[0] != self.correlation:
            raise ConnectionError("the broker answered another request")
        return data[4:]


def _scram_authenticate(conn: _KafkaConnection, mechanism: str, username: str, password: str) -> None:
    """SaslHandshake v1 + SaslAuthenticate v0 with SCRAM-SHA-256/512 (RFC 5802) or PLAIN; raises on refusal."""
    data = conn.call(17, 1, _kafka_string(mechanism))
    if (error := struct.unpack_from(">h", data)[0]) != 0:
        raise PermissionError(f"the broker refused SASL mechanism {mechanism} (error {error})")

    def authenticate(message: bytes) -> bytes:
        data = conn.call(36, 0, struct.pack(">i", len(message)) + message)
        error, text_len = struct.unpack_from(">hh", data)
        text = data[4 : 4 + max(text_len, 0)].decode(errors="replace")
        if error != 0:
            raise PermissionError(f"SASL authentication failed (error {error}): {text}")
        offset = 4 + max(text_len, 0)
        (length,) = struct.unpack_from(">i", data, offset)
        return data[offset + 4 : offset + 4 + max(length, 0)]

    if mechanism == "PLAIN":
        authenticate(f"\0{username}\0{password}".encode())
        return
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    name = username.replace("=", "=3D").replace(",", "=2C")
    client_nonce = secrets.token_urlsafe(24)
    first_bare = f"n={name},r={client_nonce}"
    server_first = authenticate(f"n,,{first_bare}".encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields["r"].startswith(client_nonce):
        raise PermissionError("the broker answered SCRAM with a foreign nonce")
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    final_bare = f"c={base64.b64encode(b'n,,').decode()},r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(hashlib.new(digest, client_key).digest(), auth_message, digest).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    server_final = authenticate(f"{final_bare},p={proof}".encode()).decode()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    if not hmac.compare_digest(server_final, f"v={expected}"):
        raise PermissionError("the broker's SCRAM signature does not match: not the broker we formatted")


def kafka_brokers(
    host: str, port: int, timeout: float = 2.0, security: Mapping[str, str] | None = None
) -> list[tuple[int, str, int]]:
    """Send Metadata v4 for no topics; return the brokers listed as (node id, host, port).

    `security` holds the client's HEARTH_KAFKA_* settings (SECURITY_PROTOCOL, SASL_MECHANISM, USERNAME,
    PASSWORD, CA_FILE), as `hearth.kit.settings.KafkaSettings` reads them; without it the connection is
    PLAINTEXT. With SSL the broker's certificate is verified against the CA file and the host name; with SASL
    the client authenticates first. A KRaft broker lists itself once it has caught up with the metadata log
    and is unfenced, so a non-empty answer means clients can use it. Raises OSError when nothing answers.
    """
    security = security or {}
    protocol = security.get("HEARTH_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT"
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        sock = raw
        if protocol.endswith("SSL"):
            context = ssl.create_default_context(cafile=security.get("HEARTH_KAFKA_CA_FILE") or None)
            sock = context.wrap_socket(raw, server_hostname=host)
        with sock:
            conn = _KafkaConnection(sock)
            if protocol.startswith("SASL"):
                _scram_authenticate(
                    conn,
                    security.get("HEARTH_KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512",
                    security.get("HEARTH_KAFKA_USERNAME", ""),
                    security.get("HEARTH_KAFKA_PASSWORD", ""),
                )
            data = conn.call(3, 4, struct.pack(">ib", 0, 0))  # no topics; allow_auto_topic_creation false
    _throttle_ms, count = struct.unpack_from(">ii", data, 0)
    offset, brokers = 8, []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", data, offset)
        broker_host = data[offset + 6 : offset + 6 + host_len].decode()
        broker_port, rack_len = struct.unpack_from(">ih", data, offset + 6 + host_len)
        offset += 6 + host_len + 6 + max(rack_len, 0)
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def kafka_answers(bootstrap: str, timeout: float = 2.0, security: Mapping[str, str] | None = None) -> bool:
    """Whether the broker authenticates these settings (see `kafka_brokers`) and lists itself."""
    host, _, port = bootstrap.rpartition(":")
    try:
        return bool(kafka_brokers(host, int(port), timeout, security))
    except (OSError, struct.error, ValueError, KeyError, UnicodeDecodeError):
        return False


def _kafka_cluster_id() -> str:
    """A Kafka-style UUID (URL-safe base64, 22 characters), as `kafka-storage random-uuid` prints."""
    while True:
        raw = secrets.token_bytes(16)
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if any(raw) and not text.startswith("-"):
            return text


# ----------------------------------------------------------------------------------------------------------
# Files


def provision_sql(service: str, password: str, owner_password: str) -> tuple[list[str], list[str]]:
    """A service's database, its owner role `<service>_owner` and its runtime role `<service>`.

    Returns the statements to run in the maintenance database and those to run in the service's own database
    afterwards (deploy/compose/postgres/init-databases.sh does the same for compose). The owner owns the database
    and its public schema and runs the migrations; the runtime role may connect to this database only, use the
    schema, and read and write what the owner creates there, but not create, alter or drop anything (no CREATE on
    the schema, no TEMPORARY). Nobody else may connect.
    """
    owner = f"{service}_owner"
    cluster = [
        f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{owner_password}'",
        f"CREATE ROLE \"{service}\" LOGIN PASSWORD '{password}'",
        f'CREATE DATABASE "{service}" OWNER "{owner}"',
        f'REVOKE ALL ON DATABASE "{service}" FROM PUBLIC',
        f'GRANT CONNECT ON DATABASE "{service}" TO "{service}"',
    ]
    database = [  # PostgreSQL 15: schema public belongs to the database owner; PUBLIC cannot create in it
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f'GRANT USAGE ON SCHEMA public TO "{service}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{service}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{service}"',
    ]
    return cluster, database


def _scram_credential(mechanism: str, name: str, password: str, iterations: int = 4096) -> str:
    """A `StorageTool format --add-scram` argument with the salted password, so no password is on a command line."""
    salt = secrets.token_bytes(16)
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
    encode = base64.b64encode
    return (
        f'{mechanism}=[name={name},iterations={iterations},salt="{encode(salt).decode()}",'
        f'saltedpassword="{encode(salted).decode()}"]'
    )


def _render(template: Path, target: Path, **values: object) -> None:
    """Fill in the template; the result is readable by its owner only (the Kafka one holds a password)."""
    text = string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    _write_private(target, text)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _env_port(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _check_service(service: str) -> None:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")


# One flock per state folder, re-entrant within a process (a second descriptor on the file would deadlock).
_LOCKS: dict[Path, list[int]] = {}


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    entry = _LOCKS.get(folder)
    if entry is None:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        entry = _LOCKS[folder] = [fd, 0]
    entry[1] += 1
    try:
        yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _LOCKS[folder]
            os.close(entry[0])  # releases the flock


# ----------------------------------------------------------------------------------------------------------
# The launcher


class LocalInfra:
    """One Kafka broker and one PostgreSQL cluster whose state lives in `state_dir`.

    Ports: the argument, else HEARTH_KAFKA_PORT / HEARTH_KAFKA_CONTROLLER_PORT / HEARTH_PG_PORT, else the
    ports this folder was last started with, else 9092 / 9093 / 5433. Every method blocks until done.
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
        echo: Callable[[str], None] | None = _stderr,
        timeout: float | None = None,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        saved = _read_json(self.state_dir / "ports.json")
        self.kafka_port: int = kafka_port or _env_port("HEARTH_KAFKA_PORT") or saved.get("kafka") or 9092
        self.controller_port: int = (
            controller_port or _env_port("HEARTH_KAFKA_CONTROLLER_PORT") or saved.get("controller") or 9093
        )
        self.pg_port: int = pg_port or _env_port("HEARTH_PG_PORT") or saved.get("postgres") or 5433
        self.jar_cache = Path(jar_cache or os.environ.get("HEARTH_KAFKA_LIB") or DEFAULT_JAR_CACHE).resolve()
        self.pg_bin = Path(pg_bin or os.environ.get("HEARTH_PG_BIN") or DEFAULT_PG_BIN)
        self.timeout = timeout or float(os.environ.get("HEARTH_INFRA_TIMEOUT", "90"))
        self.echo = echo or (lambda _message: None)
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
        self.env_file = self.state_dir / "env"
        self.timings: dict[str, float] = {}  # seconds, of the last jar resolution / start / stop
        self._kafka_process: subprocess.Popen[bytes] | None = None
        self._kafka_spawned_at = 0.0

    def __repr__(self) -> str:
        return f"LocalInfra({str(self.state_dir)!r}, {self.kafka_bootstrap}, 127.0.0.1:{self.pg_port})"

    # -- addresses and credentials

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_ca_file(self) -> Path:
        """The local CA's certificate (PEM) that signed the broker's: clients verify the broker with it."""
        return self.kafka_tls_dir / "ca.pem"

    def kafka_env(self) -> dict[str, str]:
        """HEARTH_KAFKA_BOOTSTRAP and the admin's HEARTH_KAFKA_* security settings (`KafkaSettings` reads them)."""
        return self._kafka_env(KAFKA_ADMIN, self._kafka_credentials()["admin"])

    def kafka_service_env(self, service: str) -> dict[str, str]:
        """The same settings with the service's own principal (user name = service name) and password."""
        _check_service(service)
        return self._kafka_env(service, self._kafka_credentials()["services"][service])

    def kafka_service_envs(self) -> dict[str, dict[str, str]]:
        return {service: self.kafka_service_env(service) for service in SERVICES}

    def _kafka_env(self, username: str, password: str) -> dict[str, str]:
        return {
            "HEARTH_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "HEARTH_KAFKA_SECURITY_PROTOCOL": KAFKA_SECURITY_PROTOCOL,
            "HEARTH_KAFKA_SASL_MECHANISM": KAFKA_SASL_MECHANISM,
            "HEARTH_KAFKA_USERNAME": username,
            "HEARTH_KAFKA_PASSWORD": password,
            "HEARTH_KAFKA_CA_FILE": str(self.kafka_ca_file),
        }

    @property
    def pg_admin_dsn(self) -> str:
        return self._dsn("postgres", self._credentials()["postgres"], "postgres")

    def service_dsn(self, service: str) -> str:
        """The service's runtime role on its database: reads and writes tables, no DDL."""
        _check_service(service)
        return self._dsn(service, self._credentials()["services"][service], service)

    def owner_dsn(self, service: str) -> str:
        """The owner role `<service>_owner` of the service's database: migrations (DDL) run as it."""
        _check_service(service)
        return self._dsn(f"{service}_owner", self._credentials()["owners"][service], service)

    def service_dsns(self) -> dict[str, str]:
        return {service: self.service_dsn(service) for service in SERVICES}

    def owner_dsns(self) -> dict[str, str]:
        return {service: self.owner_dsn(service) for service in SERVICES}

    def env(self) -> dict[str, str]:
        """What `<state>/env` exports: addresses and credentials for services, tests and operators."""
        values = {**self.kafka_env(), "HEARTH_PG_ADMIN_DSN": self.pg_admin_dsn}
        kafka = self._kafka_credentials()["services"]
        for service in SERVICES:
            upper = service.upper()
            values[f"HEARTH_{upper}_DATABASE_URL"] = self.service_dsn(service)
            values[f"HEARTH_{upper}_MIGRATIONS_DATABASE_URL"] = self.owner_dsn(service)
            values[f"HEARTH_{upper}_KAFKA_PASSWORD"] = kafka[service]
        return values

    def _dsn(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.pg_port}/{database}"

    def _credentials(self) -> dict[str, Any]:
        creds = _read_json(self.credentials_file)
        if creds.get("postgres_layout") != POSTGRES_LAYOUT:
            raise InfraError(f"no PostgreSQL credentials in {self.credentials_file}: run `up` first")
        return creds

    def _kafka_credentials(self) -> dict[str, Any]:
        kafka = _read_json(self.credentials_file).get("kafka")
        if not isinstance(kafka, dict) or kafka.get("layout") != KAFKA_LAYOUT:
            raise InfraError(f"no Kafka credentials in {self.credentials_file}: run `up` first")
        return kafka

    def _save_credentials(self, **parts: object) -> None:
        """Merge into credentials.json (mode 0600); a part set to None is removed."""
        creds = _read_json(self.credentials_file)
        for key, value in parts.items():
            if value is None:
                creds.pop(key, None)
            else:
                creds[key] = value
        _write_private(self.credentials_file, json.dumps(creds, indent=2) + "\n")

    def _kafka_secured(self) -> bool:
        """Whether the broker's storage was formatted with this launcher's SCRAM users, and the TLS files exist."""
        kafka = _read_json(self.credentials_file).get("kafka")
        return (
            self.kafka_formatted.exists()
            and isinstance(kafka, dict)
            and kafka.get("layout") == KAFKA_LAYOUT
            and all((self.kafka_tls_dir / name).exists() for name in ("ca.pem", "broker.p12", "truststore.p12"))
        )

    def _postgres_provisioned(self) -> bool:
        return _read_json(self.credentials_file).get("postgres_layout") == POSTGRES_LAYOUT

    # -- both at once

    def up(self) -> bool:
        """Start whatever is not running and wait until both answer; True if anything was started."""
        with self._locked():
            kafka_pid, pg_pid = self.kafka_pid(), self.postgres_pid()
            if kafka_pid and not self._kafka_secured():
                self.echo(f"Kafka (pid {kafka_pid}) runs without SASL/TLS: stopping it to format it again")
                self.stop_kafka()
                kafka_pid = None
            if pg_pid and not self._postgres_provisioned():
                self.echo(f"PostgreSQL (pid {pg_pid}) predates the owner/runtime roles: stopping it to re-create it")
                self.stop_postgres()
                pg_pid = None
            if kafka_pid:
                self.echo(f"Kafka is already up at {self.kafka_bootstrap} (pid {kafka_pid})")
            if pg_pid:
                self.echo(f"PostgreSQL is already up at 127.0.0.1:{self.pg_port} (pid {pg_pid})")
            if kafka_pid and pg_pid:
                self._write_env()
                return False
            self._save_ports()
            try:
                if not kafka_pid:
                    self._spawn_kafka()  # the broker boots while Postgres starts
                if not pg_pid:
                    self.start_postgres()
                if not kafka_pid:
                    self._wait_for_kafka()
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
        saved = _read_json(self.state_dir / "ports.json")  # the ports it really runs on
        kafka_port, pg_port = saved.get("kafka", self.kafka_port), saved.get("postgres", self.pg_port)
        kafka_pid, pg_pid = self.kafka_pid(), self.postgres_pid()
        security = self.kafka_env() if self._kafka_secured() else None
        kafka_ready = bool(kafka_pid) and kafka_answers(f"127.0.0.1:{kafka_port}", 1.0, security)
        pg_ready = bool(pg_pid) and tcp_open("127.0.0.1", pg_port)
        return {
            "kafka": ComponentStatus(
                "kafka", bool(kafka_pid), kafka_ready, kafka_pid, f"127.0.0.1:{kafka_port}", self.kafka_log
            ),
            "postgres": ComponentStatus(
                "postgres", bool(pg_pid), pg_ready, pg_pid, f"127.0.0.1:{pg_port}", self.pg_log
            ),
        }

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
        flag = self.state_dir / "keep"
        if keep:
            self._prepare_state_dir()
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def attach(self, holder: int | None = None) -> bool:
        """Register `holder` (a pid, default this process) as a user and bring both up; True if started."""
        with self._locked():
            lease = self._lease_dir() / str(holder or os.getpid())
            lease.touch()
            try:
                return self.up()
            except BaseException:
                lease.unlink(missing_ok=True)
                raise

    def detach(self, holder: int | None = None) -> bool:
        """Unregister `holder`; stop both when no live user is left and nobody ran `up` by hand."""
        with self._locked():
            (self._lease_dir() / str(holder or os.getpid())).unlink(missing_ok=True)
            return self.down_if_unused()

    def down_if_unused(self) -> bool:
        """Stop both unless a live process holds a lease or it was started with `make up`."""
        with self._locked():
            if self.users() or (self.state_dir / "keep").exists():
                return False
            return self.down()

    def users(self) -> list[int]:
        """Pids of the live processes holding a lease (dead ones are forgotten)."""
        live = []
        for lease in self._lease_dir().iterdir():
            if lease.name.isdigit() and pid_alive(int(lease.name)):
                live.append(int(lease.name))
            else:
                lease.unlink(missing_ok=True)
        return live

    def _lease_dir(self) -> Path:
        path = self.state_dir / "leases"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        self._prepare_state_dir()
        return _locked(self.state_dir)

    def _prepare_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / MARKER).touch()

    def _save_ports(self) -> None:
        ports = {"kafka": self.kafka_port, "controller": self.controller_port, "postgres": self.pg_port}
        (self.state_dir / "ports.json").write_text(json.dumps(ports) + "\n")

    def _write_env(self) -> None:
        lines = [f"export {name}='{value}'" for name, value in self.env().items()]
        _write_private(self.env_file, "\n".join(lines) + "\n")

    @staticmethod
    def _quietly(action: Callable[[], object]) -> None:
        with contextlib.suppress(Exception):
            action()

    # -- Kafka

    def kafka_pid(self) -> int | None:
        """The broker's pid while it runs from this state folder."""
        try:
            pid = int((self.kafka_dir / "kafka.pid").read_text())
        except (OSError, ValueError):
            return None
        cmd = _cmdline(pid) if pid_alive(pid) else ""
        return pid if "kafka.Kafka" in cmd and str(self.kafka_dir) in cmd else None

    def start_kafka(self) -> bool:
        """Start the broker (its storage is formatted the first time only) and wait until it answers."""
        with self._locked():
            if pid := self.kafka_pid():
                self.echo(f"Kafka is already up at {self.kafka_bootstrap} (pid {pid})")
                return False
            self._save_ports()
            self._spawn_kafka()
            try:
                self._wait_for_kafka()
            except BaseException:
                self._quietly(self.stop_kafka)
                raise
            return True

    def stop_kafka(self, hard: bool = False, timeout: float = 30.0) -> bool:
        """SIGTERM the broker (SIGKILL when `hard`, or when it outlives `timeout`); its data stays."""
        with self._locked():
            pid = self.kafka_pid()
            if pid is None:
                (self.kafka_dir / "kafka.pid").unlink(missing_ok=True)
                return False
            self.echo(f"Stopping Kafka (pid {pid}{', SIGKILL' if hard else ''})")
            started = time.monotonic()
            _kill_group(pid, signal.SIGKILL if hard else signal.SIGTERM)
            if not _wait_gone(pid, timeout):
                self.echo(f"Kafka did not stop within {timeout:.0f} s: SIGKILL")
                _kill_group(pid, signal.SIGKILL)
                if not _wait_gone(pid, 10):
                    raise InfraError(f"Kafka (pid {pid}) survived SIGKILL")
            self.timings["kafka_stop"] = time.monotonic() - started
            (self.kafka_dir / "kafka.pid").unlink(missing_ok=True)
            self._kafka_process = None
            return True

    def kafka_classpath(self) -> Path:
        """The folder of broker jars: resolved with Maven once, then shared by every state folder."""
        jars, stamp = self.jar_cache / "jars", self.jar_cache / "jars.sha256"
        digest = hashlib.sha256((HERE / "pom.xml").read_bytes()).hexdigest()

        def cached() -> bool:
            return jars.is_dir() and stamp.exists() and stamp.read_text().strip() == digest

        if cached():
            return jars
        with _locked(self.jar_cache):  # another process may be resolving the same jars right now
            if not cached():
                self._resolve_jars(jars)
                stamp.write_text(digest + "\n")
        return jars

    def _resolve_jars(self, jars: Path) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise InfraError("Maven (`mvn`) is not on PATH: apt-get install -y maven")
        self.echo(f"Resolving the Kafka jars from Maven Central into {self.jar_cache} (once)")
        started = time.monotonic()
        work, fresh = self.jar_cache / "build", self.jar_cache / "jars.new"
        for folder in (work, fresh):
            shutil.rmtree(folder, ignore_errors=True)
        work.mkdir()
        shutil.copy(HERE / "pom.xml", work / "pom.xml")  # Maven runs outside the repository tree
        cmd = [mvn, "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
               f"-Dmaven.repo.local={self.jar_cache / 'm2'}", f"-DoutputDirectory={fresh}"]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
        if result.returncode != 0 or not any(fresh.glob("kafka_2.13-*.jar")):
            output = (result.stdout + result.stderr)[-4000:]
            raise InfraError(f"Maven could not resolve the Kafka jars (exit {result.returncode}):\n{output}")
        shutil.rmtree(jars, ignore_errors=True)
        fresh.rename(jars)
        shutil.rmtree(work, ignore_errors=True)
        self.timings["kafka_jars"] = time.monotonic() - started
        self.echo(f"Kafka jars resolved in {self.timings['kafka_jars']:.1f} s")

    def _spawn_kafka(self) -> None:
        java = shutil.which("java", path=f"{os.environ.get('JAVA_HOME', '')}/bin:{os.environ['PATH']}")
        if java is None:
            raise InfraError("Java 17+ is needed: apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME")
        lib = self.kafka_classpath()
        for port in (self.kafka_port, self.controller_port):
            if not port_free(port):
                raise InfraError(
                    f"port {port} is taken by another process, so Kafka cannot listen on it: stop that "
                    "process or choose other ports (HEARTH_KAFKA_PORT, HEARTH_KAFKA_CONTROLLER_PORT)"
                )
        self._kafka_spawned_at = time.monotonic()
        formatted = (self.kafka_data / "meta.properties").exists()
        if formatted and not self._kafka_secured():
            self.echo(
                f"Kafka's storage in {self.kafka_data} was formatted without SASL/SCRAM and TLS: formatting it "
                "again (its topics, offsets and transactional ids are dropped; they are throwaway)"
            )
            shutil.rmtree(self.kafka_data)
            formatted = False
        if not formatted:
            self.kafka_formatted.unlink(missing_ok=True)
            self._new_kafka_credentials()
        self.kafka_data.mkdir(parents=True, exist_ok=True)
        creds = self._kafka_credentials()
        config, log_config = self.kafka_dir / "server.properties", self.kafka_dir / "log4j2.yaml"
        _render(HERE / "server.properties", config, kafka_port=self.kafka_port,
                controller_port=self.controller_port, log_dir=self.kafka_data, tls_dir=self.kafka_tls_dir,
                admin_password=creds["admin"], store_password=creds["store"])  # fmt: skip
        shutil.copy(HERE / "log4j2.yaml", log_config)
        base = [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={log_config}", "-cp", f"{lib}/*"]
        with self.kafka_log.open("ab") as log:
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Kafka =====\n".encode())
            log.flush()
            if not formatted:
                cluster_id = _kafka_cluster_id()
                users = {KAFKA_ADMIN: creds["admin"], **creds["services"]}
                scram = [f"--add-scram={_scram_credential(KAFKA_SASL_MECHANISM, n, p)}" for n, p in users.items()]
                cmd = [*base, "kafka.tools.StorageTool", "format", "-c", str(config), "-t", cluster_id, *scram]
                self._make_tls(java, creds["store"])
                formatting = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
                if formatting.returncode != 0:
                    raise InfraError(f"formatting Kafka's storage failed\n{log_tail(self.kafka_log)}")
                marker = {"cluster_id": cluster_id, "layout": KAFKA_LAYOUT, "scram_users": sorted(users)}
                self.kafka_formatted.write_text(json.dumps(marker) + "\n")
                self.timings["kafka_format"] = time.monotonic() - self._kafka_spawned_at
            self._kafka_process = subprocess.Popen(
                [*base, "kafka.Kafka", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.kafka_dir,
                start_new_session=True,  # its own process group: a Ctrl-C in the terminal does not reach it
            )
        (self.kafka_dir / "kafka.pid").write_text(f"{self._kafka_process.pid}\n")

    def _new_kafka_credentials(self) -> None:
        """New SCRAM passwords (admin and one per service) and a password for the broker's key stores."""
        kafka = {
            "layout": KAFKA_LAYOUT,
            "admin": secrets.token_urlsafe(24),
            "services": {service: secrets.token_urlsafe(24) for service in SERVICES},
            "store": secrets.token_urlsafe(24),
        }
        self._save_credentials(kafka=kafka)

    def _make_tls(self, java: str, store_password: str) -> None:
        """With the JDK's keytool: a local CA, the broker's key and certificate signed by it, a trust store.

        tls/ca.pem is the CA certificate for clients; broker.p12 (key + chain) and truststore.p12 are the broker's.
        The certificate names IP 127.0.0.1 and DNS localhost, so clients can verify the host name. Independent
        steps run side by side (each keytool run is a JVM start).
        """
        started = time.monotonic()
        keytool = Path(java).resolve().parent / "keytool"
        if not keytool.exists():
            keytool = Path(shutil.which("keytool") or "keytool")
        tls = self.kafka_tls_dir
        shutil.rmtree(tls, ignore_errors=True)
        tls.mkdir(parents=True, mode=0o700)
        env = {**os.environ, "HEARTH_STORE_PASSWORD": store_password}
        san = "san=ip:127.0.0.1,dns:localhost"

        def keytool_cmd(*args: str) -> list[str]:
            return [str(keytool), "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", *args,
                    "-storetype", "PKCS12", "-storepass:env", "HEARTH_STORE_PASSWORD"]  # fmt: skip

        def side_by_side(*commands: list[str]) -> None:
            running = [subprocess.Popen(c, cwd=tls, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT) for c in commands]  # fmt: skip
            for command, process in zip(commands, running, strict=True):
                output = process.communicate(timeout=120)[0].decode(errors="replace")
                if process.returncode != 0:
                    raise InfraError(f"making the broker's TLS files failed: {' '.join(command[:4])} ...\n{output}")

        key = ("-keyalg", "EC", "-groupname", "secp256r1")
        side_by_side(
            keytool_cmd("-genkeypair", "-alias", "ca", *key, "-dname", f"CN=hearth local CA {tls.parent.parent.name}",
                        "-ext", "bc:c", "-validity", "3650", "-keystore", "ca.p12"),
            keytool_cmd("-genkeypair", "-alias", "broker", *key, "-dname", "CN=localhost", "-ext", san,
                        "-validity", "825", "-keystore", "broker.p12"),
        )  # fmt: skip
        side_by_side(
            keytool_cmd("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca.pem"),
            keytool_cmd("-certreq", "-alias", "broker", "-keystore", "broker.p12", "-file", "broker.csr"),
        )
        side_by_side(
            keytool_cmd("-gencert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-infile", "broker.csr",
                        "-outfile", "broker.pem", "-validity", "825", "-ext", san, "-ext", "ku:c=digitalSignature",
                        "-ext", "eku=serverAuth,clientAuth"),
            keytool_cmd("-importcert", "-noprompt", "-alias", "ca", "-keystore", "truststore.p12", "-file", "ca.pem"),
        )  # fmt: skip
        (tls / "chain.pem").write_text((tls / "broker.pem").read_text() + (tls / "ca.pem").read_text())
        side_by_side(
            keytool_cmd("-importcert", "-noprompt", "-alias", "broker", "-keystore", "broker.p12", "-file", "chain.pem")
        )
        for leftover in ("broker.csr", "chain.pem"):
            (tls / leftover).unlink()
        (tls / "ca.p12").chmod(0o600)  # the CA's private key: only this launcher signs with it
        self.timings["kafka_tls"] = time.monotonic() - started

    def _wait_for_kafka(self) -> None:
        process, deadline = self._kafka_process, time.monotonic() + self.timeout
        security = self.kafka_env()
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                tail = log_tail(self.kafka_log)
                raise InfraError(f"Kafka exited with code {process.returncode} while starting\n{tail}")
            if kafka_answers(self.kafka_bootstrap, 1.0, security):
                self.timings["kafka_start"] = time.monotonic() - self._kafka_spawned_at
                self.echo(f"Kafka is up at {self.kafka_bootstrap} in {self.timings['kafka_start']:.1f} s")
                return
            time.sleep(0.1)
        raise InfraError(
            f"Kafka did not answer a metadata request (SASL_SSL as {KAFKA_ADMIN}) at {self.kafka_bootstrap} in "
            f"{self.timeout:.0f} s\n"
            f"{log_tail(self.kafka_log)}"
        )

    # -- PostgreSQL

    def postgres_pid(self) -> int | None:
        """The postmaster's pid while this state folder's cluster runs."""
        try:
            pid = int((self.pg_data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and "postgres" in _cmdline(pid) else None

    def start_postgres(self) -> bool:
        """Start the cluster (created and provisioned the first time) and wait until it takes connections."""
        with self._locked():
            if pid := self.postgres_pid():
                self.echo(f"PostgreSQL is already up at 127.0.0.1:{self.pg_port} (pid {pid})")
                return False
            self._save_ports()
            self._check_pg_binaries()
            if not port_free(self.pg_port):
                raise InfraError(
                    f"port {self.pg_port} is taken by another process, so PostgreSQL cannot listen on it: "
                    "stop that process or choose another port (HEARTH_PG_PORT)"
                )
            started = time.monotonic()
            provisioned = self._postgres_provisioned()
            if not provisioned or not (self.pg_data / "PG_VERSION").exists():
                if (self.pg_data / "PG_VERSION").exists():
                    self.echo(
                        f"The PostgreSQL cluster in {self.pg_data} predates the owner/runtime role split: "
                        "creating it again (its databases are throwaway)"
                    )
                self._init_cluster()
                provisioned = False
            self._configure_cluster()
            result = self._pg_ctl("-l", str(self.pg_log), "-t", str(int(self.timeout)), "start")
            if result.returncode != 0:
                output = result.stdout + result.stderr
                raise InfraError(f"PostgreSQL did not start:\n{output}\n{log_tail(self.pg_log)}")
            if not provisioned:
                self._provision()
            self.timings["postgres_start"] = time.monotonic() - started
            self.echo(f"PostgreSQL is up at 127.0.0.1:{self.pg_port} in {time.monotonic() - started:.1f} s")
            return True

    def stop_postgres(self, hard: bool = False, timeout: float = 30.0) -> bool:
        """Fast shutdown (`immediate`, like a crash, when `hard`); SIGKILL if it outlives `timeout`."""
        with self._locked():
            pid = self.postgres_pid()
            if pid is None:
                return False
            self.echo(f"Stopping PostgreSQL (pid {pid}{', immediate' if hard else ''})")
            started = time.monotonic()
            result = self._pg_ctl("-m", "immediate" if hard else "fast", "-t", str(int(timeout)), "stop")
            if result.returncode != 0 and pid_alive(pid):
                self.echo(f"pg_ctl stop failed ({result.stderr.strip()}): SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                if not _wait_gone(pid, 10):
                    raise InfraError(f"PostgreSQL (pid {pid}) survived SIGKILL\n{log_tail(self.pg_log)}")
            self.timings["postgres_stop"] = time.monotonic() - started
            return True

    def _check_pg_binaries(self) -> None:
        if not (self.pg_bin / "postgres").exists():
            raise InfraError(
                f"the PostgreSQL 15 server binaries are missing ({self.pg_bin}/postgres). Install them:\n"
                "    apt-get install -y postgresql-15\n"
                "or point HEARTH_PG_BIN at the folder holding postgres, initdb and pg_ctl."
            )
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise InfraError("Postgres refuses to run as root, and there is no `postgres` user") from None

    def _pg_run(self, *cmd: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program; as the `postgres` user when we are root (Postgres refuses root)."""
        argv = [str(self.pg_bin / cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PGTZ": "UTC"}
        return subprocess.run(
            argv, input=stdin, capture_output=True, text=True, check=False, cwd=self.pg_dir, env=env,
            timeout=self.timeout + 30,
        )  # fmt: skip

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._pg_run("pg_ctl", "-D", str(self.pg_data), "-w", *args)

    def _chown(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def _init_cluster(self) -> None:
        self.echo(f"Creating a PostgreSQL cluster in {self.pg_data}")
        shutil.rmtree(self.pg_data, ignore_errors=True)
        self._save_credentials(postgres=None, services=None, owners=None, provisioned=None, postgres_layout=None)
        self.pg_dir.mkdir(parents=True, exist_ok=True)
        self.pg_dir.chmod(0o755)
        self._chown(self.pg_dir)
        result = self._pg_run("initdb", "-D", str(self.pg_data), "-U", "postgres", "--auth=trust",
                              "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        if result.returncode != 0:
            hint = ""
            if os.geteuid() == 0 and "ermission denied" in result.stderr:
                hint = f"\nThe postgres user must reach {self.pg_dir}: every parent folder needs o+x."
            raise InfraError(f"initdb failed:\n{result.stdout}{result.stderr}{hint}")

    def _configure_cluster(self) -> None:
        self.pg_socket_dir.mkdir(parents=True, exist_ok=True)
        self.pg_socket_dir.chmod(0o700)
        self.pg_log.touch()
        self._chown(self.pg_socket_dir, self.pg_log)
        hba, conf = self.pg_data / "pg_hba.conf", self.pg_data / "hearth.conf"
        shutil.copy(HERE / "pg_hba.conf", hba)
        _render(HERE / "postgresql.conf", conf, port=self.pg_port, socket_dir=self.pg_socket_dir)
        self._chown(hba, conf)
        main_conf = self.pg_data / "postgresql.conf"
        if "include_if_exists = 'hearth.conf'" not in main_conf.read_text():
            with main_conf.open("a") as f:
                f.write("\n# deploy/local/postgresql.conf, rendered at every start\n")
                f.write("include_if_exists = 'hearth.conf'\n")

    def _provision(self) -> None:
        """A password for the superuser; per service a database, its owner role and its runtime role."""
        admin = secrets.token_urlsafe(24)
        services = {service: secrets.token_urlsafe(24) for service in SERVICES}
        owners = {service: secrets.token_urlsafe(24) for service in SERVICES}
        sql = [f"ALTER ROLE postgres PASSWORD '{admin}';"]
        sql += ['REVOKE CONNECT, TEMPORARY ON DATABASE "postgres", "template1" FROM PUBLIC;']
        for service in SERVICES:
            cluster, database = provision_sql(service, services[service], owners[service])
            sql += [f"{statement};" for statement in cluster]
            sql += [f'\\connect "{service}"', *(f"{statement};" for statement in database), '\\connect "postgres"']
        result = self._pg_run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.pg_socket_dir),
                              "-p", str(self.pg_port), "-U", "postgres", "-d", "postgres", "-f", "-",
                              stdin="\n".join(sql))  # fmt: skip
        if result.returncode != 0:
            raise InfraError(f"creating the service roles and databases failed:\n{result.stderr}")
        self._save_credentials(
            postgres=admin, services=services, owners=owners, postgres_layout=POSTGRES_LAYOUT, provisioned=None
        )


# ----------------------------------------------------------------------------------------------------------
# Private copies for fault tests, and what test sessions that died left behind


def private_state_dir() -> Path:
    return STATE_ROOT / f"private-{secrets.token_hex(4)}"


def prune_private(echo: Callable[[str], None] | None = _stderr) -> list[Path]:
    """Stop and delete each `<repo>/.state/private-*` folder whose owning process is gone."""
    pruned = []
    for folder in sorted(STATE_ROOT.glob("private-*")):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            owner = 0
        try:
            being_created = not owner and time.time() - folder.stat().st_mtime < 120
        except OSError:
            continue  # gone already
        if (owner and pid_alive(owner)) or being_created:
            continue
        with contextlib.suppress(InfraError, OSError):
            LocalInfra(folder, echo=echo).down()
        shutil.rmtree(folder, ignore_errors=True)
        pruned.append(folder)
    return pruned


# ----------------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="infra.py", description="Local Kafka 4.3.1 (KRaft) and PostgreSQL 15 for development and tests."
    )
    parser.add_argument(
        "command",
        choices=("up", "down", "status", "env", "reset", "prune"),
        help="up: start both (idempotent); down: stop both; status: show both (exit 3 unless both are up); "
        "env: print export lines; reset: stop both and delete the state; prune: clean up after test "
        "sessions that died",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("HEARTH_STATE_DIR") or DEFAULT_STATE_DIR),
        help=f"state folder (default: $HEARTH_STATE_DIR or {DEFAULT_STATE_DIR})",
    )
    parser.add_argument(
        "--if-unused", action="store_true", help="down: only when no test session uses it and no `up` kept it"
    )
    args = parser.parse_args(argv)
    infra = LocalInfra(args.state_dir)
    try:
        return _run(args.command, infra, if_unused=args.if_unused)
    except InfraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(command: str, infra: LocalInfra, *, if_unused: bool) -> int:
    if command == "up":
        started = time.monotonic()
        infra.up()
        infra.keep(True)
        print(f'Up in {time.monotonic() - started:.1f} s. In a shell: eval "$(python3 {__file__} env)"')
        for status in infra.status().values():
            print(status.line())
    elif command == "down":
        if if_unused:
            if not (infra.kafka_pid() or infra.postgres_pid()):
                print("Nothing was running.")
            else:
                print("Stopped." if infra.down_if_unused() else "Left running (in use, or started by `up`).")
            return 0
        infra.keep(False)
        if users := infra.users():
            print(f"warning: test sessions (pids {', '.join(map(str, users))}) are using it", file=sys.stderr)
        print("Stopped." if infra.down() else "Nothing was running.")
    elif command == "status":
        statuses = infra.status().values()
        for status in statuses:
            print(status.line())
        return 0 if all(s.running and s.ready for s in statuses) else 3
    elif command == "env":
        for name, value in infra.env().items():
            print(f"export {name}='{value}'")
    elif command == "reset":
        infra.keep(False)
        infra.reset()
        print(f"Deleted {infra.state_dir}")
    elif command == "prune":
        for folder in prune_private():
            print(f"Removed {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
