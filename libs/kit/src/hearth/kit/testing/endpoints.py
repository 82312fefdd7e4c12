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


@dataclass(frozen=True)
class Infra:
    """The endpoints of the session's infrastructure.

    `service_dsns` maps each service to a DSN of its own role and database: filled by the local launcher
    (and from `HEARTH_<SERVICE>_DATABASE_URL` when all four are set), empty for Docker.
    """

    kafka_bootstrap: str
    pg_admin_dsn: str = field(repr=False)  # holds a password
    origin: Origin
    service_dsns: Mapping[str, str] = field(default_factory=dict, repr=False)


def from_env() -> Infra | None:
    """HEARTH_KAFKA_BOOTSTRAP + HEARTH_PG_ADMIN_DSN, when both are set (one without the other is an error)."""
    bootstrap = os.environ.get("HEARTH_KAFKA_BOOTSTRAP", "").strip()
    admin_dsn = os.environ.get("HEARTH_PG_ADMIN_DSN", "").strip()
    if not bootstrap and not admin_dsn:
        return None
    if not bootstrap or not admin_dsn:
        missing = "HEARTH_KAFKA_BOOTSTRAP" if not bootstrap else "HEARTH_PG_ADMIN_DSN"
        raise ValueError(f"{missing} is not set, but its partner is: set both or neither")
    urls = {s: os.environ.get(f"HEARTH_{s.upper()}_DATABASE_URL", "") for s in SERVICES}
    services = urls if all(urls.values()) else {}
    return Infra(bootstrap, admin_dsn, "env", services)


def pg_address(dsn: str) -> tuple[str, int]:
    parts = urlsplit(dsn)
    return parts.hostname or "127.0.0.1", parts.port or 5432
