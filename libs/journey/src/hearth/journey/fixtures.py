"""The pytest fixture of cross-service tests: the four services as real processes on fresh databases and a topic
prefix of their own.  Test folders take it with `from hearth.journey.fixtures import journey` in their conftest."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from .run import Run, running_journey
from .timings import Timings

StartJourney = Callable[..., AbstractAsyncContextManager[Run]]


@pytest.fixture
def journey(infra: Any, unique_name: Callable[[str], str], tmp_path: Path) -> StartJourney:
    """`async with journey(timings) as run:` — the stack on the session's Kafka and Postgres."""

    def start(timings: Timings) -> AbstractAsyncContextManager[Run]:
        return running_journey(infra, unique_name("journey") + ".", tmp_path / "logs", timings)

    return start
