"""The soak's files: the CSV of its samples, the plot, and the report with its verdict."""

from __future__ import annotations

import math
from pathlib import Path

from bench.hearthbench.soak_files import SoakReport, columns, plot, read_csv, report_lines, write_csv
from bench.hearthbench.soak_verdict import Check, windows

SERVICES = ["screening", "session"]


def some_samples() -> list[dict[str, float]]:
    return [
        {"t_s": 0.0, "patients_started": 1, "screening.rss_mib": 90.5, "screening.lag": math.nan, "session.lag": 3},
        {"t_s": 10.0, "patients_started": 8, "screening.rss_mib": 91.25, "session.lag": 0, "session.dead_letters": 0},
    ]


def test_the_csv_has_a_column_per_figure_and_reads_back_with_gaps_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "soak" / "soak-4min.csv"

    write_csv(path, some_samples(), SERVICES)

    header = path.read_text().splitlines()[0].split(",")
    assert header == columns(SERVICES)
    assert "session.outbox_backlog" in header
    back = read_csv(path)
    assert back[0]["t_s"] == 0
    assert back[1]["screening.rss_mib"] == 91.25
    assert back[1]["patients_started"] == 8
    assert math.isnan(back[0]["screening.lag"])  # not measured: an empty cell, not a zero
    assert math.isnan(back[0]["session.outbox_backlog"])


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "soak.png"

    plot(path, some_samples(), SERVICES, windows(240, 60), "a title")

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def report(minutes: float, checks: list[Check]) -> SoakReport:
    return SoakReport(
        minutes=minutes,
        rate_per_min=42.0,
        rate_source="50% of 84.0/min",
        interval_s=10,
        warmup_s=60,
        checks=checks,
        csv="bench/soak/soak-4min.csv",
        png="bench/soak/soak-4min.png",
        facts={"Machine": "2 CPUs"},
    )


def test_a_short_run_says_it_is_a_sample_and_gives_each_check_with_its_figure() -> None:
    checks = [Check("session RSS growth < 10 %", True, "+1.0 %"), Check("0 dead letters", False, "3 rows")]

    text = "\n".join(report_lines(report(4, checks)))

    assert text.startswith("# Soak: 4 min of the whole journey (a short sample run)")
    assert "4-minute sample run" in text
    assert "not the run of record" in text
    assert "**Verdict**: FAIL (1 of 2 checks)" in text
    assert "| session RSS growth < 10 % | PASS | +1.0 % |" in text
    assert "| 0 dead letters | FAIL | 3 rows |" in text
    assert "](soak/soak-4min.png)" in text  # relative to bench/SOAK.md
    assert "42.0 patients per minute (50% of 84.0/min)" in text


def test_a_run_of_the_default_length_is_not_called_a_sample() -> None:
    text = "\n".join(report_lines(report(15, [Check("0 dead letters", True, "0 rows")])))

    assert "sample" not in text.split("\n")[0]
    assert "**Verdict**: PASS (1 of 1 checks)" in text
