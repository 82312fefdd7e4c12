"""A three-node Kafka cluster (KRaft, combined broker + controller nodes, SASL_SSL/SCRAM, replication factor 3,
min.insync.replicas 2) with its own PostgreSQL, for failover tests that kill brokers and service replicas.

HEARTH_CLUSTER_STATE_DIR names a launcher state folder whose three-node cluster is already up
(`python3 deploy/local/infra.py up --brokers 3 --state-dir DIR`): the tests use it and leave it running.
Otherwise the session starts a private one (`.state/private-<hex>`, free ports) and deletes it at the end. The
tests stop and start its nodes, so the cluster must be the launcher's, not any broker named in the environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth.kit.testing import launcher
from hearth.kit.testing.plugin import kafka_environment

BROKERS = 3
# A node started again after a SIGKILL recovers every log it holds first: minutes on a busy 2-core machine.
START_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def _cluster_shared() -> Iterator[Any]:
    script = launcher.load()
    given = os.environ.get("HEARTH_CLUSTER_STATE_DIR", "").strip()
    if given:
        local = script.LocalInfra(Path(given), timeout=START_TIMEOUT)
        if local.brokers != BROKERS or not local.is_up():
            pytest.fail(f"HEARTH_CLUSTER_STATE_DIR={given} holds no running {BROKERS}-node cluster", pytrace=False)
        yield local
        return
    script.prune_private()
    state_dir: Path = script.private_state_dir()
    ports: set[int] = set()
    while len(ports) < 2 * BROKERS + 1:
        ports.add(script.free_port())
    chosen = sorted(ports)
    local = script.LocalInfra(
        state_dir,
        pg_port=chosen[0],
        kafka_ports=chosen[1 : 1 + BROKERS],
        controller_ports=chosen[1 + BROKERS :],
        timeout=START_TIMEOUT,
    )
    state_dir.mkdir(parents=True)
    (state_dir / "owner.pid").write_text(f"{os.getpid()}\n")  # lets `prune` clean up if we die
    started = time.monotonic()
    try:
        try:
            local.up()
        except Exception as e:
            detail = str(e) if isinstance(e, script.InfraError) else f"{type(e).__name__}: {e}"
            pytest.fail(f"could not start a {BROKERS}-node Kafka cluster:\n{detail}", pytrace=False)
        print(f"\n{BROKERS}-node cluster up in {time.monotonic() - started:.1f} s at {local.kafka_bootstrap}")
        yield local
    finally:
        with contextlib.suppress(Exception):
            local.down()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def cluster(_cluster_shared: Any) -> Iterator[Any]:
    """The cluster with every node running (an earlier test may have stopped some); during the test os.environ
    holds its admin settings, replication factor and min ISR included (`cluster.kafka_env()`)."""
    _cluster_shared.start_kafka()
    with kafka_environment(_cluster_shared.kafka_env()):
        yield _cluster_shared
