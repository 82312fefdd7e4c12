"""The Kafka nodes of a state folder (one broker, or a cluster of three): format their storage once (TLS files,
SCRAM users), run them, wait, stop them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from .common import (
    CLUSTER_JVM_OPTIONS,
    HERE,
    JVM_OPTIONS,
    KAFKA_ADMIN,
    KAFKA_LAYOUT,
    KAFKA_SASL_MECHANISM,
    InfraError,
)
from .credentials import scram_credential
from .files import read_json, render
from .jars import kafka_classpath
from .probe import kafka_brokers
from .processes import cmdline, kill_group, log_tail, pid_alive, port_free, wait_gone
from .state import KafkaNode, StateFolder
from .tls import make_tls


def kafka_cluster_id() -> str:
    """A Kafka-style UUID (URL-safe base64, 22 characters), as `kafka-storage random-uuid` prints."""
    while True:
        raw = secrets.token_bytes(16)
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if any(raw) and not text.startswith("-"):
            return text


def _freed(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while not port_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


class Broker:
    """One node: `java ... kafka.Kafka server.properties`, detached in its own process group, with a pid file.

    The caller holds the state folder's lock; `spawn` returns at once, `wait` until clients can use it.
    """

    def __init__(self, folder: StateFolder, node: KafkaNode) -> None:
        self.folder = folder
        self.node = node
        self.process: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0

    @property
    def pid_file(self) -> Path:
        return self.node.folder / "kafka.pid"

    def pid(self) -> int | None:
        """The node's pid while it runs from this state folder."""
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        cmd = cmdline(pid) if pid_alive(pid) else ""
        return pid if "kafka.Kafka" in cmd and str(self.node.config) in cmd else None

    def render(self) -> None:
        """The node's server.properties (its id, ports, the voters, the replication of a cluster of this size)."""
        f, node = self.folder, self.node
        creds = f.credentials.kafka()
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in f.kafka_nodes)
        replication, min_isr = f.replication
        node.folder.mkdir(parents=True, exist_ok=True)
        render(HERE / "server.properties", node.config, node_id=node.node_id, quorum_voters=voters,
               kafka_port=node.port, controller_port=node.controller_port, log_dir=node.data,
               tls_dir=f.kafka_tls_dir, admin_password=creds["admin"], store_password=creds["store"],
               replication=replication, min_isr=min_isr)  # fmt: skip
        shutil.copy(HERE / "log4j2.yaml", node.folder / "log4j2.yaml")

    def command(self, java: str, lib: Path) -> list[str]:
        options = JVM_OPTIONS if self.folder.brokers == 1 else CLUSTER_JVM_OPTIONS
        log_config = self.node.folder / "log4j2.yaml"
        return [java, *options, f"-Dlog4j2.configurationFile={log_config}", "-cp", f"{lib}/*"]

    def spawn(self, java: str, lib: Path) -> None:
        """Start the node's process (its storage is formatted already); does not wait for it."""
        node = self.node
        self.spawned_at = time.monotonic()
        self.render()
        with node.log.open("ab") as log:
            banner = f"===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Kafka node {node.node_id} ====="
            log.write(f"\n{banner}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*self.command(java, lib), "kafka.Kafka", str(node.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=node.folder,
                start_new_session=True,  # its own process group: a Ctrl-C in the terminal does not reach it
            )
        self.pid_file.write_text(f"{self.process.pid}\n")

    def answers(self) -> bool:
        """Whether the node authenticates the admin and lists itself (it is unfenced: clients can use it)."""
        try:
            listed = kafka_brokers("127.0.0.1", self.node.port, 1.0, self.folder.kafka_env())
        except (OSError, struct.error, ValueError, KeyError, UnicodeDecodeError):
            return False
        return any(node_id == self.node.node_id for node_id, _, _ in listed)

    def stop(self, hard: bool) -> int | None:
        """Send SIGTERM (SIGKILL when `hard`) to the node's process group; returns the pid signalled."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return None
        name = "Kafka" if self.folder.brokers == 1 else f"Kafka node {self.node.node_id}"
        self.folder.echo(f"Stopping {name} (pid {pid}{', SIGKILL' if hard else ''})")
        kill_group(pid, signal.SIGKILL if hard else signal.SIGTERM)
        return pid


class KafkaCluster:
    """The state folder's Kafka nodes (one, or three): format their storage once, run them, wait, stop them."""

    def __init__(self, folder: StateFolder) -> None:
        self.folder = folder
        self.brokers = {node.node_id: Broker(folder, node) for node in folder.kafka_nodes}

    def pids(self) -> dict[int, int | None]:
        return {node_id: broker.pid() for node_id, broker in self.brokers.items()}

    def formatted(self) -> bool:
        """Every node's storage was formatted, for a cluster of this size."""
        marker = read_json(self.folder.kafka_formatted)
        return (
            bool(marker)
            and marker.get("brokers", 1) == self.folder.brokers
            and all((b.node.data / "meta.properties").exists() for b in self.brokers.values())
        )

    def secured(self) -> bool:
        """Whether the storage was formatted with this launcher's SCRAM users, and the TLS files exist."""
        tls = self.folder.kafka_tls_dir
        return (
            self.folder.kafka_formatted.exists()
            and self.folder.credentials.has_kafka()
            and all((tls / name).exists() for name in ("ca.pem", "broker.p12", "truststore.p12"))
        )

    def _java(self) -> str:
        java = shutil.which("java", path=f"{os.environ.get('JAVA_HOME', '')}/bin:{os.environ['PATH']}")
        if java is None:
            raise InfraError("Java 17+ is needed: apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME")
        return java

    def spawn(self, node_ids: Iterable[int] | None = None) -> list[Broker]:
        """Start these nodes (default: every node not running), formatting the storage first if needed; does
        not wait for them. Returns the nodes started."""
        f = self.folder
        java = self._java()
        lib = kafka_classpath(f.jar_cache, f.echo, f.timings)
        wanted = [self.brokers[n] for n in (node_ids or self.brokers)]
        starting = [b for b in wanted if b.pid() is None]
        for broker in starting:
            for port in (broker.node.port, broker.node.controller_port):
                if not _freed(port, 10.0):  # a node killed a moment ago may still be closing its sockets
                    raise InfraError(
                        f"port {port} is taken by another process, so Kafka cannot listen on it: stop that "
                        "process or choose other ports (HEARTH_KAFKA_PORT, HEARTH_KAFKA_CONTROLLER_PORT)"
                    )
        started = time.monotonic()
        if not (self.formatted() and self.secured()):
            if any(self.pids().values()):
                raise InfraError("Kafka's storage must be formatted again, but some of its nodes are running")
            self._format_all(java, lib)
        for broker in starting:
            broker.spawn(java, lib)
            broker.spawned_at = started
        return starting

    def _format_all(self, java: str, lib: Path) -> None:
        """The TLS files, then `StorageTool format` of every node with one new cluster id and every user's
        salted password (the same records on each node: whichever node leads first writes them)."""
        f = self.folder
        if any((b.node.data / "meta.properties").exists() for b in self.brokers.values()):
            f.echo(
                f"Kafka's storage in {f.state_dir} was formatted without SASL/SCRAM and TLS or for another number "
                "of brokers: formatting it again (its topics, offsets and transactional ids are dropped; they are "
                "throwaway)"
            )
        for broker in self.brokers.values():
            shutil.rmtree(broker.node.data, ignore_errors=True)
            broker.node.data.mkdir(parents=True)
        f.kafka_formatted.unlink(missing_ok=True)
        f.credentials.new_kafka()
        creds = f.credentials.kafka()
        cluster_id = kafka_cluster_id()
        users = {KAFKA_ADMIN: creds["admin"], **creds["services"]}
        scram = [f"--add-scram={scram_credential(KAFKA_SASL_MECHANISM, n, p)}" for n, p in users.items()]
        started = time.monotonic()
        make_tls(java, f.kafka_tls_dir, creds["store"])
        f.timings["kafka_tls"] = time.monotonic() - started
        running = []
        for broker in self.brokers.values():
            broker.render()
            log = broker.node.log.open("ab")
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} formatting Kafka's storage =====\n".encode())
            log.flush()
            cmd = [*broker.command(java, lib), "kafka.tools.StorageTool", "format", "-c", str(broker.node.config),
                   "-t", cluster_id, *scram]  # fmt: skip
            running.append((broker, log, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        failed = []
        for broker, log, process in running:
            if process.wait() != 0:
                failed.append(log_tail(broker.node.log))
            log.close()
        if failed:
            raise InfraError("formatting Kafka's storage failed\n" + "\n".join(failed))
        marker = {"cluster_id": cluster_id, "layout": KAFKA_LAYOUT, "scram_users": sorted(users)}
        if f.brokers > 1:
            marker["brokers"] = f.brokers
        f.kafka_formatted.write_text(json.dumps(marker) + "\n")
        f.timings["kafka_format"] = time.monotonic() - started

    def wait(self, brokers: Iterable[Broker]) -> None:
        """Until each node lets the admin log in and lists itself (`HEARTH_INFRA_TIMEOUT`, 90 s by default)."""
        f, deadline = self.folder, time.monotonic() + self.folder.timeout
        pending = list(brokers)
        addresses = ",".join(b.node.address for b in pending)
        spawned_at = min((b.spawned_at for b in pending), default=time.monotonic())
        while pending and time.monotonic() < deadline:
            for broker in list(pending):
                process = broker.process
                if process is not None and process.poll() is not None:
                    tail = log_tail(broker.node.log)
                    raise InfraError(f"Kafka exited with code {process.returncode} while starting\n{tail}")
                if broker.answers():
                    pending.remove(broker)
            if pending:
                time.sleep(0.1)
        if pending:
            tails = "\n".join(log_tail(b.node.log) for b in pending)
            addresses = ",".join(b.node.address for b in pending)
            raise InfraError(
                f"Kafka did not answer a metadata request (SASL_SSL as {KAFKA_ADMIN}) at {addresses} in "
                f"{f.timeout:.0f} s\n{tails}"
            )
        f.timings["kafka_start"] = time.monotonic() - spawned_at
        f.echo(f"Kafka is up at {addresses} in {f.timings['kafka_start']:.1f} s")

    def stop(self, hard: bool, timeout: float, node_ids: Iterable[int] | None = None) -> bool:
        """SIGTERM the nodes (SIGKILL when `hard`, or when one outlives `timeout`), all at once; the data
        stays. True if any was running."""
        f = self.folder
        chosen = [self.brokers[n] for n in (node_ids or self.brokers)]
        started = time.monotonic()
        signalled = [(b, pid) for b in chosen if (pid := b.stop(hard)) is not None]
        for broker, pid in signalled:
            if not wait_gone(pid, max(0.0, timeout - (time.monotonic() - started))):
                f.echo(f"Kafka (pid {pid}) did not stop within {timeout:.0f} s: SIGKILL")
                kill_group(pid, signal.SIGKILL)
                if not wait_gone(pid, 10):
                    raise InfraError(f"Kafka (pid {pid}) survived SIGKILL")
            broker.pid_file.unlink(missing_ok=True)
            broker.process = None
        if signalled:
            f.timings["kafka_stop"] = time.monotonic() - started
        return bool(signalled)
