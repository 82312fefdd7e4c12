"""The soak's verdict: RSS growth, bounded lag and backlog, and no dead letter, from samples alone."""

from __future__ import annotations

import math

from bench.hearthbench.soak_verdict import Check, Window, verdict, windows

SERVICES = ["session", "followup"]


def samples(
    minutes: float = 10,
    every: float = 10,
    rss: dict[str, tuple[float, float]] | None = None,
    lag: tuple[float, float] = (5, 5),
    letters: float = 0,
) -> list[dict[str, float]]:
    """Straight lines from a first to a last value over the run, per column."""
    rss = rss or {s: (100.0, 100.0) for s in SERVICES}
    n = int(minutes * 60 / every)
    out = []
    for k in range(n + 1):
        f = k / n
        sample = {"t_s": k * every}
        for s in SERVICES:
            a, z = rss[s]
            sample[f"{s}.rss_mib"] = a + (z - a) * f
            sample[f"{s}.lag"] = lag[0] + (lag[1] - lag[0]) * f
            sample[f"{s}.outbox_backlog"] = 3.0
            sample[f"{s}.dead_letters"] = letters if k == n else 0.0
            sample[f"{s}.dlq_records"] = 0.0
        out.append(sample)
    return out


def by_what(checks: list[Check]) -> dict[str, Check]:
    return {c.what: c for c in checks}


def test_windows_are_two_minutes_after_the_warmup_and_at_the_end() -> None:
    assert windows(900, 60) == (Window(60, 180), Window(780, 900))


def test_windows_of_a_short_run_split_what_follows_the_warmup_and_never_overlap() -> None:
    first, last = windows(240, 60)

    assert (first, last) == (Window(60, 150), Window(150, 240))


def test_a_steady_run_passes_every_check() -> None:
    checks = verdict(samples(), SERVICES, 600, 60)

    assert [c.mark for c in checks] == ["PASS"] * len(checks)
    assert len(checks) == 2 + 2 + 2 + 1  # RSS and lag and backlog per service, letters once


def test_rss_growing_by_ten_percent_or_more_fails_with_the_figure() -> None:
    grown = samples(rss={"session": (100.0, 125.0), "followup": (100.0, 104.0)})

    checks = by_what(verdict(grown, SERVICES, 600, 60))

    session, followup = checks["session RSS growth < 10 %"], checks["followup RSS growth < 10 %"]
    assert not session.passed
    assert "+" in session.figure and "%" in session.figure
    assert followup.passed


def test_growth_is_measured_between_window_medians_not_from_the_warmup() -> None:
    # Memory that climbs during the warm-up only (imports, caches, pools) is not a leak.
    warm = samples()
    for s in warm:
        if s["t_s"] < 60:
            s["session.rss_mib"] = 40.0

    assert by_what(verdict(warm, SERVICES, 600, 60))["session RSS growth < 10 %"].passed


def test_lag_that_keeps_climbing_fails_and_a_small_one_passes() -> None:
    climbing = by_what(verdict(samples(lag=(50, 5000)), SERVICES, 600, 60))
    small = by_what(verdict(samples(lag=(0, 90)), SERVICES, 600, 60))  # under the floor of 100 records

    assert not climbing["session consumer lag bounded"].passed
    assert small["session consumer lag bounded"].passed


def test_a_service_that_consumes_nothing_has_no_lag_check() -> None:
    data = samples()
    for s in data:
        s["followup.lag"] = math.nan

    checks = by_what(verdict(data, SERVICES, 600, 60))

    assert "followup consumer lag bounded" not in checks
    assert "session consumer lag bounded" in checks


def test_one_dead_letter_fails_the_run() -> None:
    checks = by_what(verdict(samples(letters=1), SERVICES, 600, 60))

    letters = checks["0 dead letters"]
    assert not letters.passed
    assert letters.figure.startswith("2 hearth_dead_letters rows")


def test_no_samples_fail_rather_than_pass() -> None:
    checks = verdict([], SERVICES, 600, 60)

    assert checks
    assert not any(c.passed for c in checks)
