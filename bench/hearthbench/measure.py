"""Taking a measurement: pacing a rate, waiting for an outcome, percentiles, CPU share of a stage."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[int(q * 1000) - 1]


async def pace(rate: float, seconds: float, emit: Callable[[int, int], Awaitable[None]], tick: float = 0.01) -> float:
    """Call `emit(first, count)` so that events go out at `rate` per second for `seconds` (at most one call per
    `tick`; a slow call is caught up on the next one); returns the rate achieved."""
    loop = asyncio.get_running_loop()
    total = max(1, int(rate * seconds))
    start = loop.time()
    sent = 0
    while sent < total:
        due = min(total, int((loop.time() - start) * rate) + 1)
        if due > sent:
            await emit(sent, due - sent)
            sent = due
        await asyncio.sleep(max(tick, start + sent / rate - loop.time()))
    return total / max(loop.time() - start, 1e-9)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(every)


class CpuMeter:
    """Wall time and this process's CPU time over a stretch of code: the CPU share tells a stage that is bound
    by Python (near 100%) from one that waits on round trips (well below)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu

    @staticmethod
    def note(wall: float, cpu: float, count: int) -> str:
        per = f", {cpu / count * 1e6:,.0f} µs CPU each" if count else ""
        return f"bench process CPU {cpu / wall:.0%} of wall{per}"
