"""What a soak leaves behind: its samples as CSV, a plot of them (PNG), and bench/SOAK.md with the verdict."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .soak_verdict import BOUND_FACTOR, FLOORS, RSS_GROWTH_LIMIT, SERVICE_COLUMNS, Check, Sample, Window

RUN_COLUMNS = ("t_s", "patients_started", "patients_finished", "patients_in_flight", "patient_errors")
OF_RECORD_MINUTES = 15.0  # `make soak`'s default: shorter runs say they are samples


def columns(services: Sequence[str]) -> list[str]:
    return [*RUN_COLUMNS, *(f"{s}.{c}" for s in services for c in SERVICE_COLUMNS)]


def write_csv(path: Path, samples: Sequence[Sample], services: Sequence[str]) -> None:
    """One row per sample; a figure not measured at that sample is left empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = columns(services)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for sample in samples:
            writer.writerow([_cell(sample.get(name)) for name in names])


def read_csv(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as source:
        return [
            {name: float(value) if value != "" else math.nan for name, value in row.items()}
            for row in csv.DictReader(source)
        ]


def _cell(value: float | None) -> str:
    if value is None or value != value:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def plot(path: Path, samples: Sequence[Sample], services: Sequence[str], marks: Sequence[Window], title: str) -> None:
    """RSS, consumer lag, outbox backlog and dead letters per service over time; the verdict's windows shaded."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    panels = (
        ("rss_mib", "RSS (MiB)"),
        ("lag", "consumer lag (records)"),
        ("outbox_backlog", "outbox backlog (rows)"),
        ("dead_letters", "dead letters (rows)"),
    )
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 11), sharex=True)
    minutes = [s["t_s"] / 60 for s in samples]
    for ax, (column, label) in zip(axes, panels, strict=True):
        for service in services:
            ax.plot(minutes, [s.get(f"{service}.{column}", math.nan) for s in samples], label=service, marker=".")
        for window, colour in zip(marks, ("tab:blue", "tab:orange"), strict=False):
            ax.axvspan(window.start / 60, window.end / 60, color=colour, alpha=0.08)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper left", ncol=len(services))
    axes[0].set_title(title)
    axes[-1].set_xlabel("minutes since the paced load began (shaded: the first and last windows the verdict compares)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


@dataclass(frozen=True)
class SoakReport:
    minutes: float
    rate_per_min: float
    rate_source: str
    interval_s: float
    warmup_s: float
    checks: Sequence[Check]
    csv: str  # paths relative to the repository
    png: str
    facts: Mapping[str, str]  # date, commit, command, machine, load, settings, patients …


def report_lines(r: SoakReport) -> list[str]:
    passed = all(c.passed for c in r.checks)
    sample = r.minutes < OF_RECORD_MINUTES
    lines = [
        f"# Soak: {r.minutes:g} min of the whole journey" + (" (a short sample run)" if sample else ""),
        "",
        "Written by `bench/soak.py` (`make soak`, SOAK_MINUTES=15 by default). "
        + (
            f"**This was a {r.minutes:g}-minute sample run to show the soak works, not the run of record** (that is"
            f" {OF_RECORD_MINUTES:g} minutes on a quiet machine)."
            if sample
            else "The figures are one run's, on the machine described."
        ),
        "",
        f"- **Verdict**: {'PASS' if passed else 'FAIL'} ({sum(c.passed for c in r.checks)} of {len(r.checks)} checks)",
        f"- **Load**: {r.rate_per_min:,.1f} patients per minute ({r.rate_source})",
        f"- **Samples**: every {r.interval_s:g} s, warm-up {r.warmup_s:g} s; [{Path(r.csv).name}]({_rel(r.csv)}),"
        f" plot [{Path(r.png).name}]({_rel(r.png)})",
    ]
    lines += [f"- **{name}**: {value}" for name, value in r.facts.items()]
    lines += ["", "## Checks", "", "| check | result | figure |", "|---|---|---|"]
    lines += [f"| {c.what} | {c.mark} | {c.figure} |" for c in r.checks]
    lines += ["", f"![soak plot]({_rel(r.png)})", "", "## How it is measured", "", *METHOD]
    return lines


def _rel(path: str) -> str:
    return path.removeprefix("bench/")  # links from bench/SOAK.md


METHOD = [
    "- The four services run as processes (the journey's Stack) on fresh databases and topics of the shared local"
    " Kafka and Postgres. Patients go through without think time (`hearth.journey.bench.ZERO` timings, one"
    " session, integration skipped), started at a constant rate: half the maximum measured by a burst of patients"
    " on the same stack just before (or the rate given with --rate).",
    "- Every sample: RSS of each service process (psutil); consumer lag = for every partition of every topic the"
    " service consumes, Kafka's end offset minus the service's position in its database"
    " (`hearth_consumer_positions`, the one that counts; the earliest offset where it has none); outbox backlog ="
    " `hearth_outbox` rows with no `sent_at`; dead letters = `hearth_dead_letters` rows, and the records on the"
    " service's `<service>.dlq` topic.",
    f"- RSS growth (< {RSS_GROWTH_LIMIT:g} %): the median of the first window after the warm-up against the median"
    " of the last window (each 2 min, or half of what follows the warm-up in a short run); bounded: the last"
    f" window's median at most {BOUND_FACTOR:g} times the first's, or at most a floor (lag {FLOORS['lag']:g}"
    f" records, backlog {FLOORS['outbox_backlog']:g} rows); letters: none at the last sample, taken after the"
    " in-flight patients finished.",
]


def write_report(path: Path, report: SoakReport) -> None:
    path.write_text("\n".join(report_lines(report)) + "\n")
