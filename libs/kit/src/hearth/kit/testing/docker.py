"""Kafka and Postgres in Docker containers (testcontainers), when a Docker daemon answers."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from hearth.kit.testing import launcher
from hearth.kit.testing.endpoints import Infra

KAFKA_IMAGE = os.environ.get("HEARTH_KAFKA_IMAGE", "apache/kafka:4.1.0")
POSTGRES_IMAGE = os.environ.get("HEARTH_POSTGRES_IMAGE", "postgres:15")


def docker_available() -> bool:
    try:
        from testcontainers.core.docker_client import DockerClient

        DockerClient().client.ping()
    except Exception:
        return False
    return True


def _kafka_container(host: str, port: int) -> Any:
    # testcontainers' KafkaContainer takes Confluent images only: the Apache image runs as a plain container.
    # Clients use EXTERNAL (published on the same port number on the Docker host); the broker talks to
    # itself on PLAINTEXT inside the container.
    from testcontainers.core.container import DockerContainer

    env = {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:19092,CONTROLLER://:9093,EXTERNAL://:{port}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://localhost:19092,EXTERNAL://{host}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_NUM_PARTITIONS": "3",
        "KAFKA_DEFAULT_REPLICATION_FACTOR": "1",
        "KAFKA_MIN_INSYNC_REPLICAS": "1",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "10",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }
    container = DockerContainer(KAFKA_IMAGE).with_bind_ports(port, port)
    for name, value in env.items():
        container = container.with_env(name, value)
    return container


@contextlib.contextmanager
def docker_infra(timeout: float = 120.0) -> Iterator[Infra]:
    """Start Kafka and Postgres containers; stop them when the block ends."""
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.docker_client import DockerClient

    infra_script = launcher.load()
    host = DockerClient().host()
    port = infra_script.free_port()
    with contextlib.ExitStack() as stack:
        kafka = stack.enter_context(_kafka_container(host, port))
        postgres = stack.enter_context(PostgresContainer(POSTGRES_IMAGE, driver=None))
        bootstrap = f"{host}:{port}"
        deadline = time.monotonic() + timeout
        while not infra_script.kafka_answers(bootstrap, 1.0):
            if time.monotonic() > deadline:
                logs = kafka.get_logs()
                raise RuntimeError(f"the Kafka container did not answer at {bootstrap} in {timeout:.0f} s: {logs}")
            time.sleep(0.2)
        # The containers' broker has no authentication: PLAINTEXT, and no security settings.
        kafka_env = {"HEARTH_KAFKA_BOOTSTRAP": bootstrap, "HEARTH_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
        yield Infra(bootstrap, str(postgres.get_connection_url()), "docker", kafka_env=kafka_env)
