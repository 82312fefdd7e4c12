"""What every part of the launcher shares: where things live, the services, the security layouts, the error."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # deploy/local: the templates and pom.xml
REPO = HERE.parent.parent
STATE_ROOT = REPO / ".state"
DEFAULT_STATE_DIR = STATE_ROOT / "local"
DEFAULT_JAR_CACHE = STATE_ROOT / "kafka-lib"
DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
LAUNCHER = HERE / "infra.py"
# The audit trail's owner and schema in each service database (the kit's, run by the administrator): idempotent.
AUDIT_BOOTSTRAP_SQL = REPO / "libs/kit/src/hearth/kit/sql/bootstrap/audit.sql"
SERVICES = ("screening", "fulfillment", "session", "followup")
JVM_OPTIONS = ("-Xms256m", "-Xmx1g", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError")
# Each node of a three-node cluster: smaller, so three of them (and the single broker beside) fit a laptop.
CLUSTER_JVM_OPTIONS = ("-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError")
MARKER = ".hearth-infra"  # marks a state folder, so `reset` never deletes anything else
KAFKA_ADMIN = "admin"  # the broker's super user: the broker itself, operators, the test fixtures
KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM = "SASL_SSL", "SCRAM-SHA-512"
# Bumped when the Kafka security or the Postgres roles change: a state folder made before is set up again.
KAFKA_LAYOUT = "sasl_ssl+scram-sha-512/1"
POSTGRES_LAYOUT = "owner+runtime/1"

Echo = Callable[[str], None]


class InfraError(RuntimeError):
    """Something the developer has to act on; the message says what, with the relevant log tail."""


def stderr(message: str) -> None:
    """The default `echo`: progress messages on stderr, so stdout stays for what a command prints."""
    print(message, file=sys.stderr, flush=True)


def env_port(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def check_service(service: str) -> None:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
