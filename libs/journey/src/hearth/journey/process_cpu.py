"""CPU time each process of a run spends over a window, as seconds and as a share of the whole machine, so the
bottleneck of a run shows: a service near 1/ncpu of the machine is bound on its one Python thread.

A process's CPU is counted with its descendants: the live ones' own time plus the time of every child already
reaped (`children_user`/`children_system`), which is how a Postgres cluster's exited backends stay counted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]


@dataclass(frozen=True)
class CpuShare:
    name: str
    seconds: float
    percent_of_machine: float  # 100 = every CPU of the machine busy for the whole window


def machine_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def shares(
    before: Mapping[str, float | None], after: Mapping[str, float | None], wall_seconds: float, cpus: int
) -> list[CpuShare]:
    """Each name measured at both ends, by CPU seconds spent in between, largest first."""
    out = []
    for name, start in before.items():
        end = after.get(name)
        if start is None or end is None:
            continue
        seconds = max(0.0, end - start)
        percent = 100.0 * seconds / (wall_seconds * cpus) if wall_seconds > 0 and cpus > 0 else float("nan")
        out.append(CpuShare(name, seconds, percent))
    return sorted(out, key=lambda s: s.seconds, reverse=True)


def figures(measured: list[CpuShare]) -> dict[str, float]:
    """As `journey_figures` reports them: `<name> CPU s` and `<name> CPU % of machine`."""
    out: dict[str, float] = {}
    for share in measured:
        out[f"{share.name} CPU s"] = share.seconds
        out[f"{share.name} CPU % of machine"] = share.percent_of_machine
    return out


def tree_cpu_seconds(pid: int, *, alone: bool = False) -> float | None:
    """CPU seconds of `pid` and its descendants so far, or of `pid` by itself when `alone` (None once gone)."""
    try:
        root = psutil.Process(pid)
        if alone:
            t = root.cpu_times()
            return float(t.user + t.system)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # exited meanwhile: its time reaches its parent's children_* once reaped
            if proc is root:
                return None
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class CpuWindow:
    """`start()` … `stop()` around the measured part of a run; `stop()` gives each named process's share."""

    def __init__(self, pids: Mapping[str, int | None], *, alone: Collection[str] = ()) -> None:
        self.pids = dict(pids)
        self.alone = frozenset(alone)  # measured without descendants: a parent of other measured processes
        self._before: dict[str, float | None] = {}
        self._started = 0.0

    def start(self) -> None:
        self._before = self._sample()
        self._started = time.monotonic()

    def stop(self) -> list[CpuShare]:
        after = self._sample()
        return shares(self._before, after, time.monotonic() - self._started, machine_cpus())

    def _sample(self) -> dict[str, float | None]:
        return {
            name: tree_cpu_seconds(pid, alone=name in self.alone) if pid else None for name, pid in self.pids.items()
        }
