"""Where the tests' Kafka and Postgres are: named in the environment, in Docker, or local processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

Origin = Literal["env", "docker", "local"]
SERVICES = ("screening", "fulfillment", "session", "followup")
UniqueName = Callable[[str], str]


KAFKA_SECURITY_VARIABLES = (
    "HEARTH_KAFKA_SECURITY_PROTOCOL",
    "HEARTH_KAFKA_SASL_MECHANISM",
    "HEARTH_KAFKA_USERNAME",
    "HEARTH_KAFKA_PASSWORD",
    "HEARTH_KAFKA_CA_FILE",
    # Not security, but the broker's as much: topics made for a three-node cluster are replicated.
    "HEARTH_KAFKA_REPLICATION_FACTOR",
    "HEARTH_KAFKA_MIN_INSYNC_REPLICAS",
)


@dataclass(frozen=True)
class Infra:
    """The endpoints of the session's infrastructure.

    `kafka_env` is what an admin Kafka client needs, as HEARTH_KAFKA_* variables (HEARTH_KAFKA_BOOTSTRAP and the
    security settings `hearth.kit.settings.KafkaSettings` reads); the `infra` fixture also puts it into
    `os.environ` for the session. `kafka_service_env` maps each service to the same variables with its own
    principal. `service_dsns` maps each service to a DSN of its runtime role on its own database, `owner_dsns`
    to its owner (migration) role. The per-service mappings are filled by the local launcher (and from the
    environment when all four are set), empty for Docker.
    """

    kafka_bootstrap: str
    pg_admin_dsn: str = field(repr=False)  # holds a password
    origin: Origin
    service_dsns: Mapping[str, str] = field(default_factory=dict, repr=False)
    kafka_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    kafka_service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    owner_dsns: Mapping[str, str] = field(default_factory=dict, repr=False)


def from_env() -> Infra | None:
    """HEARTH_KAFKA_BOOTSTRAP + HEARTH_PG_ADMIN_DSN, when both are set (one without the other is an error).

    The Kafka security settings come from the same environment (HEARTH_KAFKA_SECURITY_PROTOCOL and the rest);
    per service HEARTH_<SERVICE>_DATABASE_URL, _MIGRATIONS_DATABASE_URL and _KAFKA_PASSWORD when set for all four.
    """
    bootstrap = os.environ.get("HEARTH_KAFKA_BOOTSTRAP", "").strip()
    admin_dsn = os.environ.get("HEARTH_PG_ADMIN_DSN", "").strip()
    if not bootstrap and not admin_dsn:
        return None
    if not bootstrap or not admin_dsn:
        missing = "HEARTH_KAFKA_BOOTSTRAP" if not bootstrap else "HEARTH_PG_ADMIN_DSN"
        raise ValueError(f"{missing} is not set, but its partner is: set both or neither")
    kafka_env = {"HEARTH_KAFKA_BOOTSTRAP": bootstrap}
    kafka_env |= {name: os.environ[name] for name in KAFKA_SECURITY_VARIABLES if os.environ.get(name)}

    def per_service(suffix: str) -> dict[str, str]:
        values = {s: os.environ.get(f"HEARTH_{s.upper()}_{suffix}", "") for s in SERVICES}
        return values if all(values.values()) else {}

    passwords = per_service("KAFKA_PASSWORD")
    service_env = {
        service: {**kafka_env, "HEARTH_KAFKA_USERNAME": service, "HEARTH_KAFKA_PASSWORD": password}
        for service, password in passwords.items()
    }
    return Infra(
        bootstrap,
        admin_dsn,
        "env",
        per_service("DATABASE_URL"),
        kafka_env,
        service_env,
        per_service("MIGRATIONS_DATABASE_URL"),
    )


def pg_address(dsn: str) -> tuple[str, int]:
    parts = urlsplit(dsn)
    return parts.hostname or "127.0.0.1", parts.port or 5432
