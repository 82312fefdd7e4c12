"""Pytest fixtures for tests against real Kafka and Postgres (loaded by `-p hearth.kit.testing.plugin`).

Where the infrastructure comes from, in this order:
1. HEARTH_KAFKA_BOOTSTRAP and HEARTH_PG_ADMIN_DSN, when both are set (origin "env");
2. Docker containers through testcontainers, when a Docker daemon answers (origin "docker");
3. the local launcher `deploy/local/infra.py` (origin "local"): reused when already up (`make up`), otherwise
   started for the session and stopped at its end (unless another test session still uses it).
HEARTH_TEST_INFRA=local|docker skips the detection. Nothing starts until a test asks for one of these
fixtures, so pure unit tests run without Kafka or Postgres. A missing piece is a test error, never a skip.

The local broker requires SASL_SSL with SCRAM-SHA-512. Every Kafka client of the kit builds its security options
from HEARTH_KAFKA_* variables (`hearth.kit.settings.KafkaSettings`), so the `infra` fixture puts the admin's
(`Infra.kafka_env`) into `os.environ` for the session, where test helpers, worker subprocesses and services under
test find them; `private_infra` does the same with its own broker's for the duration of each test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from types import FrameType, ModuleType
from typing import cast

import pytest

from hearth.kit.testing import docker, launcher, leftovers, postgres
from hearth.kit.testing.endpoints import KAFKA_SECURITY_VARIABLES, Infra, UniqueName, from_env, pg_address
from hearth.kit.testing.kafka import CreateTopics, create_topics, delete_topics
from hearth.kit.testing.launcher import LocalInfra


def pytest_configure(config: pytest.Config) -> None:
    # A CI runner's timeout sends SIGTERM: turn it into KeyboardInterrupt so fixtures still tear down (and
    # stop the Kafka and Postgres processes they started) instead of the interpreter dying on the spot.
    with contextlib.suppress(ValueError):  # not the main thread
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _launcher() -> ModuleType:
    try:
        return launcher.load()
    except (OSError, ImportError) as e:
        pytest.fail(f"cannot load the local infrastructure launcher: {e}", pytrace=False)


def _check_reachable(found: Infra) -> None:
    script = _launcher()
    host, port = pg_address(found.pg_admin_dsn)
    if not script.kafka_answers(found.kafka_bootstrap.split(",")[0], 5.0, found.kafka_env):
        pytest.fail(f"Kafka at {found.kafka_bootstrap} ({found.origin}) does not answer", pytrace=False)
    if not script.tcp_open(host, port, 5.0):
        pytest.fail(f"PostgreSQL at {host}:{port} ({found.origin}) does not answer", pytrace=False)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The session's Kafka bootstrap address and Postgres admin DSN (the module docstring says from where)."""
    choice = os.environ.get("HEARTH_TEST_INFRA", "").strip().lower()
    try:
        found = from_env()
    except ValueError as e:
        pytest.fail(str(e), pytrace=False)
    if found is not None:
        _check_reachable(found)
        with kafka_environment(found.kafka_env), _leftovers_removed():
            yield found
    elif choice == "docker" or (choice != "local" and docker.docker_available()):
        with contextlib.ExitStack() as stack:
            try:
                found = stack.enter_context(docker.docker_infra())
            except Exception as e:
                pytest.fail(f"could not start Kafka and Postgres in Docker: {e}", pytrace=False)
            stack.enter_context(kafka_environment(found.kafka_env))
            yield found
    else:
        yield from _local_infra()


@contextlib.contextmanager
def kafka_environment(kafka_env: Mapping[str, str]) -> Iterator[None]:
    """Set HEARTH_KAFKA_BOOTSTRAP and the security variables to `kafka_env` (unset the ones it lacks); restore."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HEARTH_KAFKA_BOOTSTRAP", *KAFKA_SECURITY_VARIABLES):
            if kafka_env.get(name):
                patch.setenv(name, kafka_env[name])
            else:
                patch.delenv(name, raising=False)
        yield


def _local_infra() -> Iterator[Infra]:
    script = _launcher()
    script.prune_private()
    state_dir = os.environ.get("HEARTH_STATE_DIR") or script.DEFAULT_STATE_DIR
    local = cast(LocalInfra, script.LocalInfra(state_dir))
    try:
        local.attach()
        found = Infra(
            local.kafka_bootstrap,
            local.pg_admin_dsn,
            "local",
            local.service_dsns(),
            kafka_env=local.kafka_env(),
            kafka_service_env=local.kafka_service_envs(),
            owner_dsns=local.owner_dsns(),
        )
    except Exception as e:  # InfraError carries the log tail; anything else is named
        detail = str(e) if isinstance(e, script.InfraError) else f"{type(e).__name__}: {e}"
        pytest.fail(f"could not start the local Kafka and Postgres:\n{detail}", pytrace=False)
    try:
        with kafka_environment(found.kafka_env), _leftovers_removed():
            yield found
    finally:
        local.detach()


@contextlib.contextmanager
def _leftovers_removed() -> Iterator[None]:
    """The topics and ACLs tests made and did not delete go when the session ends (a broker that outlives it
    would otherwise keep them all: `hearth.kit.testing.leftovers`)."""
    try:
        yield
    finally:
        leftovers.remove_all_now()


@pytest.fixture
async def pg_database(infra: Infra) -> AsyncIterator[str]:
    """A fresh, empty database `t_<random>`; yields its DSN (admin credentials). Dropped after the test."""
    dsn = await postgres.create_database(infra.pg_admin_dsn)
    try:
        yield dsn
    finally:
        await postgres.drop_database(infra.pg_admin_dsn, dsn)


@pytest.fixture
def unique_name() -> UniqueName:
    """`unique_name("orders")` -> "orders-1a2b3c4d": topic names and consumer groups no other test shares."""

    def make(prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(4)}"

    return make


@pytest.fixture
async def kafka_topics(infra: Infra) -> AsyncIterator[CreateTopics]:
    """`await kafka_topics("a", "b", partitions=3)` creates topics and waits until metadata shows them.

    Returns the names; the topics are deleted after the test.
    """
    created: list[str] = []

    async def create(*names: str, partitions: int = 3, config: Mapping[str, str] | None = None) -> list[str]:
        await create_topics(
            infra.kafka_bootstrap, names, partitions=partitions, config=config, security=infra.kafka_env
        )
        created.extend(names)
        return list(names)

    yield create
    if created:
        await delete_topics(infra.kafka_bootstrap, created, security=infra.kafka_env)


@pytest.fixture(scope="module")
def _private_infra_shared() -> Iterator[LocalInfra]:
    script = _launcher()
    script.prune_private()
    local = _start_private(script)
    try:
        yield local
    finally:
        try:
            local.down()
        finally:
            shutil.rmtree(local.state_dir, ignore_errors=True)


def _start_private(script: ModuleType, attempts: int = 3) -> LocalInfra:
    """A new state folder on free ports, started; tried again on new ports if one was taken meanwhile."""
    for attempt in range(1, attempts + 1):
        state_dir: Path = script.private_state_dir()
        ports: set[int] = set()
        while len(ports) < 3:
            ports.add(script.free_port())
        local = cast(LocalInfra, script.LocalInfra(state_dir, *sorted(ports)))
        state_dir.mkdir(parents=True)
        (state_dir / "owner.pid").write_text(f"{os.getpid()}\n")  # lets `prune` clean up if we die
        try:
            local.up()
            return local
        except Exception as e:
            with contextlib.suppress(Exception):
                local.down()
            shutil.rmtree(state_dir, ignore_errors=True)
            if attempt < attempts and "is taken by another process" in str(e):
                continue
            detail = str(e) if isinstance(e, script.InfraError) else f"{type(e).__name__}: {e}"
            pytest.fail(f"could not start a private Kafka and Postgres for fault tests:\n{detail}", pytrace=False)
    raise AssertionError("unreachable")


@pytest.fixture
def private_infra(_private_infra_shared: LocalInfra) -> Iterator[LocalInfra]:
    """A Kafka broker and Postgres cluster of the test module's own, for fault tests that stop/start them.

    Shared by the tests of one module; before each test, whatever an earlier test stopped is started again.
    `stop_kafka()` / `start_kafka()` keep the broker's data (topics, offsets); `stop_postgres()` /
    `start_postgres()` keep the databases; `hard=True` kills instead of a clean shutdown.

    The broker has its own CA and credentials: during the test, os.environ holds its admin settings
    (`private_infra.kafka_env()`: HEARTH_KAFKA_BOOTSTRAP and the security variables) instead of the session's,
    so Kafka clients built from the environment talk to it. `kafka_service_env(service)`, `service_dsn(service)`
    and `owner_dsn(service)` give each service's own credentials on it.
    """
    _private_infra_shared.up()
    with kafka_environment(_private_infra_shared.kafka_env()):
        yield _private_infra_shared
