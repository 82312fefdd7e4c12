"""The PostgreSQL cluster of a state folder: create and provision it once, start it with `pg_ctl`, stop it.

As root every Postgres program runs through `runuser -u postgres --` (Postgres refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .common import AUDIT_BOOTSTRAP_SQL, HERE, POSTGRES_LAYOUT, SERVICES, InfraError
from .files import render
from .processes import cmdline, log_tail, pid_alive, port_free, wait_gone
from .provisioning import provision_script
from .state import StateFolder


class Postgres:
    """The cluster in `<state>/postgres`; the caller holds the state folder's lock."""

    def __init__(self, folder: StateFolder) -> None:
        self.folder = folder

    def pid(self) -> int | None:
        """The postmaster's pid while this state folder's cluster runs."""
        try:
            pid = int((self.folder.pg_data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and "postgres" in cmdline(pid) else None

    def start(self) -> None:
        """Start the cluster (created and provisioned the first time) and wait until it takes connections."""
        f = self.folder
        self._check_binaries()
        if not port_free(f.pg_port):
            raise InfraError(
                f"port {f.pg_port} is taken by another process, so PostgreSQL cannot listen on it: "
                "stop that process or choose another port (HEARTH_PG_PORT)"
            )
        started = time.monotonic()
        provisioned = f.credentials.has_postgres()
        if not provisioned or not (f.pg_data / "PG_VERSION").exists():
            if (f.pg_data / "PG_VERSION").exists():
                f.echo(
                    f"The PostgreSQL cluster in {f.pg_data} predates the owner/runtime role split: "
                    "creating it again (its databases are throwaway)"
                )
            self._init_cluster()
            provisioned = False
        self._configure()
        result = self._ctl("-l", str(f.pg_log), "-t", str(int(f.timeout)), "start")
        if result.returncode != 0:
            output = result.stdout + result.stderr
            raise InfraError(f"PostgreSQL did not start:\n{output}\n{log_tail(f.pg_log)}")
        if not provisioned:
            self._provision()
        self.bootstrap_audit()
        f.timings["postgres_start"] = time.monotonic() - started
        f.echo(f"PostgreSQL is up at 127.0.0.1:{f.pg_port} in {time.monotonic() - started:.1f} s")

    def stop(self, hard: bool, timeout: float) -> bool:
        """Fast shutdown (`immediate`, like a crash, when `hard`); SIGKILL if it outlives `timeout`."""
        f = self.folder
        pid = self.pid()
        if pid is None:
            return False
        f.echo(f"Stopping PostgreSQL (pid {pid}{', immediate' if hard else ''})")
        started = time.monotonic()
        result = self._ctl("-m", "immediate" if hard else "fast", "-t", str(int(timeout)), "stop")
        if result.returncode != 0 and pid_alive(pid):
            f.echo(f"pg_ctl stop failed ({result.stderr.strip()}): SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not wait_gone(pid, 10):
                raise InfraError(f"PostgreSQL (pid {pid}) survived SIGKILL\n{log_tail(f.pg_log)}")
        f.timings["postgres_stop"] = time.monotonic() - started
        return True

    def _check_binaries(self) -> None:
        pg_bin = self.folder.pg_bin
        if not (pg_bin / "postgres").exists():
            raise InfraError(
                f"the PostgreSQL 15 server binaries are missing ({pg_bin}/postgres). Install them:\n"
                "    apt-get install -y postgresql-15\n"
                "or point HEARTH_PG_BIN at the folder holding postgres, initdb and pg_ctl."
            )
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise InfraError("Postgres refuses to run as root, and there is no `postgres` user") from None

    def _run(self, *cmd: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program; as the `postgres` user when we are root (Postgres refuses root)."""
        argv = [str(self.folder.pg_bin / cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PGTZ": "UTC"}
        return subprocess.run(
            argv, input=stdin, capture_output=True, text=True, check=False, cwd=self.folder.pg_dir, env=env,
            timeout=self.folder.timeout + 30,
        )  # fmt: skip

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.folder.pg_data), "-w", *args)

    @staticmethod
    def _chown(*paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def _init_cluster(self) -> None:
        f = self.folder
        f.echo(f"Creating a PostgreSQL cluster in {f.pg_data}")
        shutil.rmtree(f.pg_data, ignore_errors=True)
        f.credentials.save(postgres=None, services=None, owners=None, provisioned=None, postgres_layout=None)
        f.pg_dir.mkdir(parents=True, exist_ok=True)
        f.pg_dir.chmod(0o755)
        self._chown(f.pg_dir)
        result = self._run("initdb", "-D", str(f.pg_data), "-U", "postgres", "--auth=trust",
                           "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        if result.returncode != 0:
            hint = ""
            if os.geteuid() == 0 and "ermission denied" in result.stderr:
                hint = f"\nThe postgres user must reach {f.pg_dir}: every parent folder needs o+x."
            raise InfraError(f"initdb failed:\n{result.stdout}{result.stderr}{hint}")

    def _configure(self) -> None:
        """pg_hba.conf and hearth.conf from deploy/local, rendered at every start; included by postgresql.conf."""
        f = self.folder
        f.pg_socket_dir.mkdir(parents=True, exist_ok=True)
        f.pg_socket_dir.chmod(0o700)
        f.pg_log.touch()
        self._chown(f.pg_socket_dir, f.pg_log)
        hba, conf = f.pg_data / "pg_hba.conf", f.pg_data / "hearth.conf"
        shutil.copy(HERE / "pg_hba.conf", hba)
        render(HERE / "postgresql.conf", conf, port=f.pg_port, socket_dir=f.pg_socket_dir)
        self._chown(hba, conf)
        main_conf = f.pg_data / "postgresql.conf"
        if "include_if_exists = 'hearth.conf'" not in main_conf.read_text():
            with main_conf.open("a") as out:
                out.write("\n# deploy/local/postgresql.conf, rendered at every start\n")
                out.write("include_if_exists = 'hearth.conf'\n")

    def _provision(self) -> None:
        """A password for the superuser; per service a database, its owner role and its runtime role."""
        f = self.folder
        admin = secrets.token_urlsafe(24)
        services = {service: secrets.token_urlsafe(24) for service in SERVICES}
        owners = {service: secrets.token_urlsafe(24) for service in SERVICES}
        result = self._run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(f.pg_socket_dir),
                           "-p", str(f.pg_port), "-U", "postgres", "-d", "postgres", "-f", "-",
                           stdin=provision_script(admin, services, owners))  # fmt: skip
        if result.returncode != 0:
            raise InfraError(f"creating the service roles and databases failed:\n{result.stderr}")
        f.credentials.save(
            postgres=admin, services=services, owners=owners, postgres_layout=POSTGRES_LAYOUT, provisioned=None
        )

    def bootstrap_audit(self) -> None:
        """The audit trail's own role and schema in each service database, as the superuser (idempotent, so it
        runs at every `up`: a cluster made before the trail moved gets it too)."""
        f = self.folder
        sql = AUDIT_BOOTSTRAP_SQL.read_text()
        for service in SERVICES:
            result = self._run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(f.pg_socket_dir),
                               "-p", str(f.pg_port), "-U", "postgres", "-d", service, "-f", "-", stdin=sql)  # fmt: skip
            if result.returncode != 0:
                raise InfraError(f"the audit bootstrap of database {service} failed:\n{result.stderr}")
