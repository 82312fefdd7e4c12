"""Where Kafka and Postgres come from: the environment, or the local launcher (deploy/local/infra.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

from hearth.kit.testing import launcher
from hearth.kit.testing.launcher import LocalInfra

from . import REPO


def infra_endpoints() -> tuple[str, str, str, str, Callable[[], None]]:
    """(bootstrap, admin DSN, where they come from, Kafka version, release) — the local launcher's lease is
    released by `release`, which stops Kafka and Postgres only when this run started them and nobody else
    uses them."""
    bootstrap = os.environ.get("HEARTH_KAFKA_BOOTSTRAP", "").strip()
    admin = os.environ.get("HEARTH_PG_ADMIN_DSN", "").strip()
    if bootstrap and admin:
        return (
            bootstrap,
            admin,
            "given by HEARTH_KAFKA_BOOTSTRAP / HEARTH_PG_ADMIN_DSN",
            "Kafka (version unknown)",
            lambda: None,
        )
    script = launcher.load(REPO)
    state_dir = os.environ.get("HEARTH_STATE_DIR") or script.DEFAULT_STATE_DIR
    local = cast(LocalInfra, script.LocalInfra(state_dir))
    was_up = local.is_up()
    local.attach()
    os.environ.update(local.kafka_env())  # this process is the admin: topics, databases, every client
    jars = sorted(Path(getattr(local, "jar_cache", script.DEFAULT_JAR_CACHE)).glob("jars/kafka_2.13-*.jar"))
    version = f"Apache Kafka {jars[-1].stem.split('-', 1)[1]}" if jars else "Apache Kafka (version unknown)"
    origin = "local processes of deploy/local/infra.py" + (" (already up)" if was_up else " (started for this run)")

    def release() -> None:
        if was_up:
            # Found running: leave it running. The lease only kept a test run that ended meanwhile from
            # stopping it under this run; dropping it must not stop it either.
            (local.state_dir / "leases" / str(os.getpid())).unlink(missing_ok=True)
        else:
            local.detach()  # started here: stopped again, unless a test run has started using it since

    return local.kafka_bootstrap, local.pg_admin_dsn, origin, version, release
