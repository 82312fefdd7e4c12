#!/usr/bin/env python3
"""Local Kafka and PostgreSQL without Docker, for development, tests, the demo and the benchmarks.

    python3 deploy/local/infra.py up|down|status|env|reset|prune [--state-dir DIR]

Apache Kafka 4.3.1 (KRaft, one combined broker + controller, jars from Maven Central; clients use SASL_SSL with
SCRAM-SHA-512 and a local CA, no anonymous access) and a throwaway PostgreSQL 15 cluster (an owner role and a
runtime role per service database) run as local processes with all their state in one folder (default
`<repo>/.state/local`, git-ignored). Standard library only, so it runs before `uv sync`. The pytest plugin
(`hearth.kit.testing`) imports this file by path and drives `LocalInfra` directly. The code lives in the
`localinfra` package beside this file; deploy/local/README.md explains the choices.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The package beside this file, also when this file is imported by path (hearth.kit.testing.launcher.load).
if (_HERE := str(Path(__file__).resolve().parent)) not in sys.path:
    sys.path.insert(0, _HERE)

from localinfra.cli import main
from localinfra.common import (
    DEFAULT_JAR_CACHE,
    DEFAULT_PG_BIN,
    DEFAULT_STATE_DIR,
    HERE,
    JVM_OPTIONS,
    KAFKA_ADMIN,
    KAFKA_LAYOUT,
    KAFKA_SASL_MECHANISM,
    KAFKA_SECURITY_PROTOCOL,
    MARKER,
    POSTGRES_LAYOUT,
    REPO,
    SERVICES,
    STATE_ROOT,
    InfraError,
)
from localinfra.local_infra import ComponentStatus, LocalInfra
from localinfra.private import private_state_dir, prune_private
from localinfra.probe import kafka_answers, kafka_brokers
from localinfra.processes import free_port, log_tail, pid_alive, port_free, tcp_open
from localinfra.provisioning import provision_sql

__all__ = [
    "DEFAULT_JAR_CACHE",
    "DEFAULT_PG_BIN",
    "DEFAULT_STATE_DIR",
    "HERE",
    "JVM_OPTIONS",
    "KAFKA_ADMIN",
    "KAFKA_LAYOUT",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SECURITY_PROTOCOL",
    "MARKER",
    "POSTGRES_LAYOUT",
    "REPO",
    "SERVICES",
    "STATE_ROOT",
    "ComponentStatus",
    "InfraError",
    "LocalInfra",
    "free_port",
    "kafka_answers",
    "kafka_brokers",
    "log_tail",
    "main",
    "pid_alive",
    "port_free",
    "private_state_dir",
    "provision_sql",
    "prune_private",
    "tcp_open",
]

if __name__ == "__main__":
    sys.exit(main())
