"""The local launcher (`deploy/local/infra.py`), imported from the repository and typed for the fixtures."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

LAUNCHER = Path("deploy") / "local" / "infra.py"


class LocalInfra(Protocol):
    """The typed face of `deploy/local/infra.py`'s `LocalInfra`: one Kafka broker, one Postgres cluster.

    Every method blocks; from an async test call it through `asyncio.to_thread` when the loop must keep
    running meanwhile (for example while a consumer is meant to notice the broker going away).
    """

    state_dir: Path
    kafka_port: int
    controller_port: int
    pg_port: int
    kafka_log: Path
    pg_log: Path

    @property
    def kafka_bootstrap(self) -> str: ...
    @property
    def kafka_ca_file(self) -> Path: ...
    @property
    def pg_admin_dsn(self) -> str: ...
    def kafka_env(self) -> dict[str, str]: ...
    def kafka_service_env(self, service: str) -> dict[str, str]: ...
    def kafka_service_envs(self) -> dict[str, dict[str, str]]: ...
    def service_dsn(self, service: str) -> str: ...
    def service_dsns(self) -> dict[str, str]: ...
    def owner_dsn(self, service: str) -> str: ...
    def owner_dsns(self) -> dict[str, str]: ...
    def env(self) -> dict[str, str]: ...
    def up(self) -> bool: ...
    def down(self) -> bool: ...
    def is_up(self) -> bool: ...
    def attach(self, holder: int | None = None) -> bool: ...
    def detach(self, holder: int | None = None) -> bool: ...
    def status(self) -> Mapping[str, Any]: ...
    def start_kafka(self) -> bool: ...
    def stop_kafka(self, hard: bool = False, timeout: float = 30.0) -> bool: ...
    def start_postgres(self) -> bool: ...
    def stop_postgres(self, hard: bool = False, timeout: float = 30.0) -> bool: ...
    def kafka_pid(self) -> int | None: ...
    def postgres_pid(self) -> int | None: ...


def repo_root(start: Path | None = None) -> Path:
    """The checkout holding `deploy/local/infra.py`, found by walking up from `start` (or this file)."""
    candidates = [start] if start else []
    candidates += [Path.cwd(), Path(__file__)]
    for candidate in candidates:
        for folder in [candidate.resolve(), *candidate.resolve().parents]:
            if (folder / LAUNCHER).is_file():
                return folder
    raise FileNotFoundError(f"no {LAUNCHER} above {', '.join(str(c) for c in candidates)}")


@cache
def load(root: Path | None = None) -> ModuleType:
    """Import the launcher script as a module (it is a standalone file, not part of any package)."""
    path = repo_root(root) / LAUNCHER
    spec = importlib.util.spec_from_file_location("hearth_local_infra", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module
