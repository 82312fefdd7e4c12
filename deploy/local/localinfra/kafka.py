"""The Kafka broker of a state folder: format its storage once (TLS files, SCRAM users), run it, wait, stop it."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, BinaryIO

from .common import HERE, JVM_OPTIONS, KAFKA_ADMIN, KAFKA_LAYOUT, KAFKA_SASL_MECHANISM, InfraError
from .credentials import scram_credential
from .files import render
from .jars import kafka_classpath
from .probe import kafka_answers
from .processes import cmdline, kill_group, log_tail, pid_alive, port_free, wait_gone
from .state import StateFolder
from .tls import make_tls


def kafka_cluster_id() -> str:
    """A Kafka-style UUID (URL-safe base64, 22 characters), as `kafka-storage random-uuid` prints."""
    while True:
        raw = secrets.token_bytes(16)
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if any(raw) and not text.startswith("-"):
            return text


class Broker:
    """`java ... kafka.Kafka server.properties`, detached in its own process group, with a pid file.

    The caller holds the state folder's lock; `spawn` returns at once, `wait` until clients can use it.
    """

    def __init__(self, folder: StateFolder) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0

    def pid(self) -> int | None:
        """The broker's pid while it runs from this state folder."""
        try:
            pid = int((self.folder.kafka_dir / "kafka.pid").read_text())
        except (OSError, ValueError):
            return None
        cmd = cmdline(pid) if pid_alive(pid) else ""
        return pid if "kafka.Kafka" in cmd and str(self.folder.kafka_dir) in cmd else None

    def secured(self) -> bool:
        """Whether the storage was formatted with this launcher's SCRAM users, and the TLS files exist."""
        tls = self.folder.kafka_tls_dir
        return (
            self.folder.kafka_formatted.exists()
            and self.folder.credentials.has_kafka()
            and all((tls / name).exists() for name in ("ca.pem", "broker.p12", "truststore.p12"))
        )

    def spawn(self) -> None:
        """Start the broker process (formatting its storage first if needed); does not wait for it."""
        f = self.folder
        java = shutil.which("java", path=f"{os.environ.get('JAVA_HOME', '')}/bin:{os.environ['PATH']}")
        if java is None:
            raise InfraError("Java 17+ is needed: apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME")
        lib = kafka_classpath(f.jar_cache, f.echo, f.timings)
        for port in (f.kafka_port, f.controller_port):
            if not port_free(port):
                raise InfraError(
                    f"port {port} is taken by another process, so Kafka cannot listen on it: stop that "
                    "process or choose other ports (HEARTH_KAFKA_PORT, HEARTH_KAFKA_CONTROLLER_PORT)"
                )
        self.spawned_at = time.monotonic()
        formatted = (f.kafka_data / "meta.properties").exists()
        if formatted and not self.secured():
            f.echo(
                f"Kafka's storage in {f.kafka_data} was formatted without SASL/SCRAM and TLS: formatting it "
                "again (its topics, offsets and transactional ids are dropped; they are throwaway)"
            )
            shutil.rmtree(f.kafka_data)
            formatted = False
        if not formatted:
            f.kafka_formatted.unlink(missing_ok=True)
            f.credentials.new_kafka()
        f.kafka_data.mkdir(parents=True, exist_ok=True)
        creds = f.credentials.kafka()
        config, log_config = f.kafka_dir / "server.properties", f.kafka_dir / "log4j2.yaml"
        render(HERE / "server.properties", config, kafka_port=f.kafka_port, controller_port=f.controller_port,
               log_dir=f.kafka_data, tls_dir=f.kafka_tls_dir, admin_password=creds["admin"],
               store_password=creds["store"])  # fmt: skip
        shutil.copy(HERE / "log4j2.yaml", log_config)
        base = [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={log_config}", "-cp", f"{lib}/*"]
        with f.kafka_log.open("ab") as log:
            log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Kafka =====\n".encode())
            log.flush()
            if not formatted:
                self._format(java, base, config, creds, log)
            self.process = subprocess.Popen(
                [*base, "kafka.Kafka", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=f.kafka_dir,
                start_new_session=True,  # its own process group: a Ctrl-C in the terminal does not reach it
            )
        (f.kafka_dir / "kafka.pid").write_text(f"{self.process.pid}\n")

    def _format(self, java: str, base: list[str], config: Path, creds: dict[str, Any], log: BinaryIO) -> None:
        """The TLS files, then `StorageTool format` with a new cluster id and every user's salted password."""
        f = self.folder
        cluster_id = kafka_cluster_id()
        users = {KAFKA_ADMIN: creds["admin"], **creds["services"]}
        scram = [f"--add-scram={scram_credential(KAFKA_SASL_MECHANISM, n, p)}" for n, p in users.items()]
        cmd = [*base, "kafka.tools.StorageTool", "format", "-c", str(config), "-t", cluster_id, *scram]
        started = time.monotonic()
        make_tls(java, f.kafka_tls_dir, creds["store"])
        f.timings["kafka_tls"] = time.monotonic() - started
        formatting = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
        if formatting.returncode != 0:
            raise InfraError(f"formatting Kafka's storage failed\n{log_tail(f.kafka_log)}")
        marker = {"cluster_id": cluster_id, "layout": KAFKA_LAYOUT, "scram_users": sorted(users)}
        f.kafka_formatted.write_text(json.dumps(marker) + "\n")
        f.timings["kafka_format"] = time.monotonic() - self.spawned_at

    def wait(self) -> None:
        """Until the admin can log in and the broker lists itself (`HEARTH_INFRA_TIMEOUT`, 90 s by default)."""
        f, process, deadline = self.folder, self.process, time.monotonic() + self.folder.timeout
        security = f.kafka_env()
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                tail = log_tail(f.kafka_log)
                raise InfraError(f"Kafka exited with code {process.returncode} while starting\n{tail}")
            if kafka_answers(f.kafka_bootstrap, 1.0, security):
                f.timings["kafka_start"] = time.monotonic() - self.spawned_at
                f.echo(f"Kafka is up at {f.kafka_bootstrap} in {f.timings['kafka_start']:.1f} s")
                return
            time.sleep(0.1)
        raise InfraError(
            f"Kafka did not answer a metadata request (SASL_SSL as {KAFKA_ADMIN}) at {f.kafka_bootstrap} in "
            f"{f.timeout:.0f} s\n"
            f"{log_tail(f.kafka_log)}"
        )

    def stop(self, hard: bool, timeout: float) -> bool:
        """SIGTERM the broker (SIGKILL when `hard`, or when it outlives `timeout`); its data stays."""
        f = self.folder
        pid = self.pid()
        if pid is None:
            (f.kafka_dir / "kafka.pid").unlink(missing_ok=True)
            return False
        f.echo(f"Stopping Kafka (pid {pid}{', SIGKILL' if hard else ''})")
        started = time.monotonic()
        kill_group(pid, signal.SIGKILL if hard else signal.SIGTERM)
        if not wait_gone(pid, timeout):
            f.echo(f"Kafka did not stop within {timeout:.0f} s: SIGKILL")
            kill_group(pid, signal.SIGKILL)
            if not wait_gone(pid, 10):
                raise InfraError(f"Kafka (pid {pid}) survived SIGKILL")
        f.timings["kafka_stop"] = time.monotonic() - started
        (f.kafka_dir / "kafka.pid").unlink(missing_ok=True)
        self.process = None
        return True
