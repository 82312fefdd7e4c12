"""Soak: the whole journey at half its maximum rate for a while, watched for leaks, lag and dead letters.

    make soak                                   # 15 minutes (SOAK_MINUTES=15)
    make soak SOAK_MINUTES=4                    # a short run, to check that it works
    uv run python bench/soak.py --minutes 15 --rate 200   # a given rate (patients per minute), no maximum measured

The four services run as processes on fresh databases and topics of the local Kafka and Postgres. Unless --rate
is given, a burst of --probe-patients patients started at once on the same stack measures the maximum rate first;
patients are then started at --load times it (half) for --minutes. Every --interval seconds one sample: each
service's RSS, consumer lag (Kafka end offsets minus its database positions), outbox backlog and dead letters.
Writes bench/soak/soak-<minutes>min.csv and .png and bench/SOAK.md (the verdict: RSS growth < 10 %, lag and
backlog bounded, no dead letter); exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import uvloop  # the services' event loop: the simulator runs on it too

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench.hearthbench`, as in bench/run.py

from bench.hearthbench import REPO
from bench.hearthbench.durability import settings_in_force
from bench.hearthbench.infra import infra_endpoints
from bench.hearthbench.machine import cpus, loadavg
from bench.hearthbench.results import git_commit
from bench.hearthbench.soak_files import SoakReport, plot, write_csv, write_report
from bench.hearthbench.soak_run import SoakOutcome, SoakSettings, soak
from bench.hearthbench.soak_verdict import verdict, windows
from hearth.kit.logging import configure_logging


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/soak.py",
        description="The whole journey at a steady rate: RSS, consumer lag, outbox backlog, dead letters.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=15.0, help="length of the paced load")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds left out of the first window")
    parser.add_argument("--rate", type=float, help="patients per minute (default: --load x the measured maximum)")
    parser.add_argument("--load", type=float, default=0.5, help="fraction of the measured maximum")
    parser.add_argument("--probe-patients", type=int, default=40, help="patients of the burst measuring the max")
    parser.add_argument("--out-dir", type=Path, default=REPO / "bench" / "soak", help="CSV and PNG go here")
    parser.add_argument("--report", type=Path, default=REPO / "bench" / "SOAK.md", help="the verdict")
    args = parser.parse_args(argv)
    if args.minutes * 60 <= args.warmup:
        parser.error("--minutes must be longer than --warmup")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["uv", "run", "python", "bench/soak.py", *(sys.argv[1:] if argv is None else argv)])
    configure_logging("soak", "WARNING")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    load_at_start = loadavg()
    _, admin_dsn, origin, _, release = infra_endpoints()
    settings = SoakSettings(args.minutes, args.interval, args.warmup, args.rate, args.load, args.probe_patients)
    try:
        outcome = uvloop.run(soak(settings, say))
        pg = uvloop.run(settings_in_force(admin_dsn, ["fsync", "synchronous_commit", "full_page_writes"]))
    finally:
        release()
    duration = args.minutes * 60
    checks = verdict(outcome.samples, outcome.services, duration, args.warmup)
    stem = f"soak-{args.minutes:g}min"
    csv_path, png_path = args.out_dir / f"{stem}.csv", args.out_dir / f"{stem}.png"
    write_csv(csv_path, outcome.samples, outcome.services)
    title = f"soak, {args.minutes:g} min at {outcome.rate_per_min:,.1f} patients/min"
    plot(png_path, outcome.samples, outcome.services, windows(duration, args.warmup), title)
    report = SoakReport(
        minutes=args.minutes,
        rate_per_min=outcome.rate_per_min,
        rate_source=outcome.rate_source,
        interval_s=args.interval,
        warmup_s=args.warmup,
        checks=checks,
        csv=_shown(csv_path),
        png=_shown(png_path),
        facts=facts(outcome, command, origin, load_at_start, pg),
    )
    write_report(args.report, report)
    for check in checks:
        print(f"{check.mark}  {check.what}: {check.figure}")
    print(f"written: {args.report}, {csv_path}, {png_path}")
    return 0 if all(c.passed for c in checks) else 1


def facts(outcome: SoakOutcome, command: str, origin: str, load_at_start: str, pg: dict[str, str]) -> dict[str, str]:
    errors = f"{len(outcome.errors)}" + (f" (first: {outcome.errors[0][:160]})" if outcome.errors else "")
    return {
        "Date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "Commit": f"`{git_commit()}`",
        "Command": f"`{command}`",
        "Patients": f"{outcome.started:,} started, {outcome.finished:,} finished, {errors} with an error,"
        f" {outcome.in_flight_at_end} still in flight after the drain",
        "Machine": f"{cpus()} CPUs; load average at start {load_at_start}, at the end {loadavg()}"
        + (" — a busy machine: these figures are not of record" if _busy(load_at_start) else ""),
        "Kafka and PostgreSQL": origin,
        "PostgreSQL settings in force": ", ".join(f"{k}={v}" for k, v in pg.items())
        + (" (test settings: commits not durable)" if pg.get("fsync") == "off" else ""),
        "Services' logs": outcome.log_dir,
    }


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _busy(load_average: str) -> bool:
    """More runnable work than CPUs over the last minute when the run started (other work shares the machine)."""
    try:
        return float(load_average.split()[0]) > cpus()
    except (ValueError, IndexError):
        return True


if __name__ == "__main__":
    sys.exit(main())
