#!/usr/bin/env python3
"""Local Kafka and PostgreSQL without Docker, for development, tests, the demo and the benchmarks.

    python3 deploy/local/infra.py up|down|status|env|reset|prune [--state-dir DIR]

Apache Kafka 4.3.1 (KRaft, one combined broker + controller, jars from Maven Central) and a throwaway
PostgreSQL 15 cluster run as local processes with all their state in one folder (default
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
import json
import os
import secrets
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
# Kafka readiness: a Metadata request over a plain socket (no client library needed)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return bytes(buf)


def kafka_brokers(host: str, port: int, timeout: float = 2.0) -> list[tuple[int, str, int]]:
    """Send Metadata v4 for no topics; return the brokers listed as (node id, host, port).

    A KRaft broker lists itself once it has caught up with the metadata log and is unfenced, so a non-empty
    answer means clients can use it. Raises OSError when nothing answers.
    """
    client_id = b"hearth-infra"
    header = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id  # api key 3 (Metadata), version 4
    request = header + struct.pack(">ib", 0, 0)  # no topics; allow_auto_topic_creation false
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        data = _recv_exact(sock, size)
    _correlation_id, _throttle_ms, count = struct.unpack_from(">iii", data, 0)
    offset, brokers = 12, []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", data, offset)
        broker_host = data[offset + 6 : offset + 6 + host_len].decode()
        broker_port, rack_len = struct.unpack_from(">ih", data, offset + 6 + host_len)
        offset += 6 + host_len + 6 + max(rack_len, 0)
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def kafka_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        return bool(kafka_brokers(host, int(port), timeout))
    except (OSError, struct.error, ValueError):
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


def provision_sql(service: str, password: str) -> str:
    """SQL giving a service its own LOGIN role and a database it owns that no other role may connect to."""
    return (
        f"CREATE ROLE \"{service}\" LOGIN PASSWORD '{password}';\n"
        f'CREATE DATABASE "{service}" OWNER "{service}";\n'
        f'REVOKE CONNECT, TEMPORARY ON DATABASE "{service}" FROM PUBLIC;\n'
    )


def _render(template: Path, target: Path, **values: object) -> None:
    text = string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    target.write_text(text)


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
    def pg_admin_dsn(self) -> str:
        return self._dsn("postgres", self._credentials()["postgres"], "postgres")

    def service_dsn(self, service: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
        return self._dsn(service, self._credentials()["services"][service], service)

    def service_dsns(self) -> dict[str, str]:
        return {service: self.service_dsn(service) for service in SERVICES}

    def env(self) -> dict[str, str]:
        """What `<state>/env` exports: the addresses services and tests need."""
        values = {"HEARTH_KAFKA_BOOTSTRAP": self.kafka_bootstrap, "HEARTH_PG_ADMIN_DSN": self.pg_admin_dsn}
        for service in SERVICES:
            values[f"HEARTH_{service.upper()}_DATABASE_URL"] = self.service_dsn(service)
        return values

    def _dsn(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.pg_port}/{database}"

    def _credentials(self) -> dict[str, Any]:
        creds = _read_json(self.credentials_file)
        if not creds.get("provisioned"):
            raise InfraError(f"no credentials in {self.credentials_file}: run `up` first")
        return creds

    # -- both at once

    def up(self) -> bool:
        """Start whatever is not running and wait until both answer; True if anything was started."""
        with self._locked():
            kafka_pid, pg_pid = self.kafka_pid(), self.postgres_pid()
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
        kafka_ready = bool(kafka_pid) and kafka_answers(f"127.0.0.1:{kafka_port}", 1.0)
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
        self.kafka_data.mkdir(parents=True, exist_ok=True)
        config, log_config = self.kafka_dir / "server.properties", self.kafka_dir / "log4j2.yaml"
        _render(HERE / "server.properties", config, kafka_port=self.kafka_port,
                controller_port=self.controller_port, log_dir=self.kafka_data)  # fmt: skip
        shutil.copy(HERE / "log4j2.yaml", log_config)
        base = [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={log_config}", "-cp", f"{lib}/*"]
        self._kafka_spawned_at = time.monotonic()
        with self.kafka_log.open("ab") as log:
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Kafka =====\n".encode())
            log.flush()
            if not (self.kafka_data / "meta.properties").exists():
                cmd = [
                    *base,
                    "kafka.tools.StorageTool",
                    "format",
                    "-c",
                    str(config),
                    "-t",
                    _kafka_cluster_id(),
                ]
                formatted = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
                if formatted.returncode != 0:
                    raise InfraError(f"formatting Kafka's storage failed\n{log_tail(self.kafka_log)}")
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

    def _wait_for_kafka(self) -> None:
        process, deadline = self._kafka_process, time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                tail = log_tail(self.kafka_log)
                raise InfraError(f"Kafka exited with code {process.returncode} while starting\n{tail}")
            if kafka_answers(self.kafka_bootstrap, 1.0):
                self.timings["kafka_start"] = time.monotonic() - self._kafka_spawned_at
                self.echo(f"Kafka is up at {self.kafka_bootstrap} in {self.timings['kafka_start']:.1f} s")
                return
            time.sleep(0.1)
        raise InfraError(
            f"Kafka did not answer a metadata request at {self.kafka_bootstrap} in {self.timeout:.0f} s\n"
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
            provisioned = bool(_read_json(self.credentials_file).get("provisioned"))
            if not provisioned or not (self.pg_data / "PG_VERSION").exists():
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
        self.credentials_file.unlink(missing_ok=True)
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
        """Passwords for the superuser and a role + database per service, each closed to everybody else."""
        admin = secrets.token_urlsafe(24)
        services = {service: secrets.token_urlsafe(24) for service in SERVICES}
        sql = [f"ALTER ROLE postgres PASSWORD '{admin}';"]
        sql += [provision_sql(service, password) for service, password in services.items()]
        sql += ['REVOKE CONNECT, TEMPORARY ON DATABASE "postgres", "template1" FROM PUBLIC;']
        result = self._pg_run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.pg_socket_dir),
                              "-p", str(self.pg_port), "-U", "postgres", "-d", "postgres", "-f", "-",
                              stdin="\n".join(sql))  # fmt: skip
        if result.returncode != 0:
            raise InfraError(f"creating the service roles and databases failed:\n{result.stderr}")
        creds = {"postgres": admin, "services": services, "provisioned": True}
        _write_private(self.credentials_file, json.dumps(creds, indent=2) + "\n")


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
