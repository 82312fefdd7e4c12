"""The soak's verdict from its samples, with no I/O: memory that does not grow, lag and outbox backlog that stay
bounded, and no dead letter.

A sample is one row of the CSV: `t_s` (seconds since the paced load began) and, per service, the columns of
`SERVICE_COLUMNS` named `<service>.<column>`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Sample = Mapping[str, float]

SERVICE_COLUMNS = ("rss_mib", "lag", "outbox_backlog", "dead_letters", "dlq_records")
RSS_GROWTH_LIMIT = 10.0  # percent, median of the last window over the median of the first
# Bounded: the last window's median at most this many times the first window's, or at most the floor (a few
# records in flight are not a trend).
BOUND_FACTOR = 2.0
FLOORS = {"lag": 100.0, "outbox_backlog": 50.0}


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    def describe(self) -> str:
        return f"{self.start / 60:.1f} to {self.end / 60:.1f} min"


@dataclass(frozen=True)
class Check:
    what: str
    passed: bool
    figure: str

    @property
    def mark(self) -> str:
        return "PASS" if self.passed else "FAIL"


def windows(duration: float, warmup: float, longest: float = 120.0) -> tuple[Window, Window]:
    """The first window right after the warm-up and the last one ending with the run, each `longest` seconds
    or, in a short run, half of what follows the warm-up (so the two never overlap)."""
    length = min(longest, max(0.0, duration - warmup) / 2)
    return Window(warmup, warmup + length), Window(duration - length, duration)


def median_in(samples: Sequence[Sample], column: str, window: Window) -> float | None:
    values = [s[column] for s in samples if window.start <= s["t_s"] <= window.end and _present(s.get(column))]
    return statistics.median(values) if values else None


def rss_growth(samples: Sequence[Sample], service: str, first: Window, last: Window) -> Check:
    column = f"{service}.rss_mib"
    a, z = median_in(samples, column, first), median_in(samples, column, last)
    if a is None or z is None or a <= 0:
        return Check(f"{service} RSS growth < {RSS_GROWTH_LIMIT:g} %", False, "no samples in a window")
    growth = (z - a) / a * 100
    figure = f"{growth:+.1f} % (median {a:.1f} MiB in {first.describe()} → {z:.1f} MiB in {last.describe()})"
    return Check(f"{service} RSS growth < {RSS_GROWTH_LIMIT:g} %", growth < RSS_GROWTH_LIMIT, figure)


def bounded(samples: Sequence[Sample], service: str, column: str, first: Window, last: Window) -> Check:
    label = {"lag": "consumer lag", "outbox_backlog": "outbox backlog"}.get(column, column)
    what = f"{service} {label} bounded"
    name = f"{service}.{column}"
    a, z = median_in(samples, name, first), median_in(samples, name, last)
    if a is None or z is None:
        return Check(what, False, "no samples in a window")
    peak = max(s[name] for s in samples if _present(s.get(name)))
    floor = FLOORS.get(column, 0.0)
    passed = z <= max(BOUND_FACTOR * a, floor)
    figure = f"median {a:,.0f} in {first.describe()} → {z:,.0f} in {last.describe()}; peak {peak:,.0f}"
    return Check(what, passed, figure)


def no_letters(samples: Sequence[Sample], services: Sequence[str]) -> Check:
    last = samples[-1] if samples else {}
    rows = sum(last.get(f"{s}.dead_letters", 0.0) or 0.0 for s in services)
    records = sum(last.get(f"{s}.dlq_records", 0.0) or 0.0 for s in services)
    passed = bool(samples) and rows == 0 and records == 0
    figure = f"{rows:,.0f} hearth_dead_letters rows, {records:,.0f} records on the DLQ topics"
    return Check("0 dead letters", passed, figure)


def verdict(samples: Sequence[Sample], services: Sequence[str], duration: float, warmup: float) -> list[Check]:
    first, last = windows(duration, warmup)
    checks = [rss_growth(samples, s, first, last) for s in services]
    for column in ("lag", "outbox_backlog"):
        # A service that consumes nothing has no lag column: nothing to bound.
        measured = [s for s in services if any(_present(x.get(f"{s}.{column}")) for x in samples)]
        checks += [bounded(samples, s, column, first, last) for s in measured]
    checks.append(no_letters(samples, services))
    return checks


def _present(value: float | None) -> bool:
    return value is not None and value == value  # NaN: not measured at that sample
