"""The simulated people ask again for what another service has not applied yet, backing off from 0.1 s but never
waiting longer than `LONGEST_ASK_INTERVAL` between two asks: how long they take to notice a change must not grow
with how long the change took (the journey's figures would measure the asking)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hearth.journey.funnel import Tally
from hearth.journey.simulator import LONGEST_ASK_INTERVAL, Simulator


async def test_asks_back_off_to_a_ceiling_and_stop_at_the_answer() -> None:
    loop = asyncio.get_running_loop()
    asked: list[float] = []

    async def attempt() -> Any:
        asked.append(loop.time())
        return "found" if len(asked) == 12 else None

    started = loop.time()
    simulator = Simulator(api=None, timings=None, tally=Tally(), patience=30)  # type: ignore[arg-type]
    assert await simulator._until(attempt, "the answer") == "found"
    gaps = [b - a for a, b in zip([started, *asked], asked, strict=False)]
    assert len(asked) == 12
    assert gaps[0] >= 0.1  # the first ask waits too: the change takes at least a hop
    assert gaps[2] > gaps[1] + 0.03  # backing off (after a second ask at the first interval)
    assert max(gaps) <= LONGEST_ASK_INTERVAL + 0.05
    assert sum(g >= LONGEST_ASK_INTERVAL - 0.01 for g in gaps) >= 6


async def test_gives_up_after_its_patience() -> None:
    async def never() -> Any:
        return None

    simulator = Simulator(api=None, timings=None, tally=Tally(), patience=0.5)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError, match="the answer"):
        await simulator._until(never, "the answer")
