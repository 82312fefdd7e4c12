"""Benchmarks: how close the kit comes to what this machine can do.

    make bench                                   # default sizes: under 10 minutes on a quiet 2-core machine
    uv run python bench/run.py --quick           # small sizes, to check that every row still runs
    uv run python bench/run.py --timers 1000000  # any size is an option: --help lists them
    uv run python bench/run.py --only limits,inbox --profile inbox-1
    make bench BENCH_ARGS=--durable              # every section twice: test settings, then fsync etc. on

One run measures, side by side: the limits of the machine (raw aiokafka produce/consume, raw asyncpg commits,
pgbench for reference), the outbox relay, the inbox consumer (batch 1 and 100: the before/after of settling a
batch per transaction and offset commit), durable timers, the whole journey when `hearth.journey.bench` exists,
and the peak RSS of every process started. Each figure is printed with its ratio to the limit it is compared
with; the same table, the machine's description, the commit and the command go to bench/RESULTS.md.

The local Kafka and Postgres come from HEARTH_KAFKA_BOOTSTRAP + HEARTH_PG_ADMIN_DSN when both are set, else from
deploy/local/infra.py (started when down, and stopped again at the end unless something else uses it). Every
run uses fresh databases and topics of its own and removes them afterwards. No figure here is asserted anywhere.

The local Postgres runs with fsync, synchronous_commit and full_page_writes off (test settings). `--durable` starts
a private cluster (Kafka stays shared) and runs every section on it twice: with those test settings, then with all
three on, each pass's ratios against the limits of its own pass; bench/RESULTS.md shows both tables and a third
one setting them side by side.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import uvloop  # the services' event loop (uvicorn runs them on it): the kit is measured on what it runs on

# Run as a script, Python puts bench/ first on the path; the repo root goes before it so that the package is
# `bench.hearthbench` here just as it is for mypy, which checks bench/ from the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hearthbench import REPO
from bench.hearthbench.durability import DURABLE, TEST_SETTINGS, PassRun, apply_settings, private_postgres
from bench.hearthbench.harness import Bench
from bench.hearthbench.infra import infra_endpoints
from bench.hearthbench.profiling import PROFILE_PATTERN, PROFILE_STAGES
from bench.hearthbench.results import machine_facts, write_results
from bench.hearthbench.sections import run_all
from bench.hearthbench.sizes import QUICK, SIZE_HELP, Sizes
from bench.hearthbench.table import render_text, table
from hearth.kit.logging import configure_logging

SECTIONS = ("limits", "outbox", "inbox", "timers", "journey")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    default = Sizes()
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Throughput, latency and memory of the kit, side by side with the machine's limits.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (any size given explicitly still wins)")
    size = parser.add_argument_group("sizes (defaults shown; --quick uses small ones)")
    for name, text in SIZE_HELP.items():
        kind = type(getattr(default, name))
        shown = f"[{getattr(default, name)}; --quick: {getattr(QUICK, name)}]"
        size.add_argument(f"--{name.replace('_', '-')}", type=kind, default=argparse.SUPPRESS, help=f"{text} {shown}")
    knobs = parser.add_argument_group("settings")
    knobs.add_argument("--partitions", type=int, default=6, help="partitions of every topic created")
    knobs.add_argument("--keys", type=int, default=1000, help="distinct record keys (patients)")
    knobs.add_argument("--linger-ms", type=int, default=5, help="linger of the raw pipelined producer")
    knobs.add_argument("--rounds", type=int, default=2, help="timed rounds of raw produce/consume (best counts)")
    knobs.add_argument("--pg-concurrency", type=int, default=4, help="connections of the concurrent raw rate")
    knobs.add_argument("--stage-tx", type=int, default=100, help="events per staging transaction")
    knobs.add_argument("--relay-batch", type=int, default=500, help="outbox_batch_size of the relay")
    knobs.add_argument("--inbox-batches", default="1,100", help="consumer_batch_size values, comma-separated")
    knobs.add_argument("--fire-batches", default="100,500", help="timer batch sizes of the firing rate")
    knobs.add_argument("--timer-rate", type=float, default=1000.0, help="timers falling due per second (lateness)")
    knobs.add_argument("--timer-interval", type=float, default=0.5, help="timer_poll_seconds of the lateness run")
    knobs.add_argument("--timer-batch", type=int, default=100, help="timer_batch_size of the lateness run")
    knobs.add_argument(
        "--load", type=float, default=0.5, help="latency runs go at this fraction of the measured maximum rate"
    )
    knobs.add_argument("--outbox-rate", type=float, help="rate of the relay latency run (default: --load x max)")
    knobs.add_argument("--hop-rate", type=float, help="rate of the inbox hop runs (default: --load x max)")
    run = parser.add_argument_group("run")
    run.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run, of {', '.join(SECTIONS)}")
    run.add_argument(
        "--profile", default="", help=f"cProfile these stages (slows them), of {', '.join(PROFILE_STAGES)}"
    )
    run.add_argument("--profile-dir", type=Path, default=REPO / "bench" / "profiles", help="where profiles go")
    run.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md", help="markdown results file")
    run.add_argument(
        "--durable",
        action="store_true",
        help="run every section twice on a private Postgres: with the local test settings (fsync,"
        " synchronous_commit, full_page_writes off), then durable (all three on); each pass against its own limits",
    )
    run.add_argument("--no-results", action="store_true", help="print the table only, write no results file")
    run.add_argument("--pgbench", default="/usr/lib/postgresql/15/bin/pgbench", help="pgbench binary")
    run.add_argument("--stage-timeout", type=float, default=300.0, help="seconds before a stuck stage is abandoned")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else default
    chosen = {name: getattr(args, name) for name in Sizes.__dataclass_fields__ if hasattr(args, name)}
    args.sizes = replace(base, **chosen)
    args.only = _choices(args.only, SECTIONS, "--only", parser)
    args.profile = [x.strip() for x in args.profile.split(",") if x.strip()]
    if unknown := [x for x in args.profile if not PROFILE_PATTERN.match(x)]:
        parser.error(f"--profile: unknown {', '.join(unknown)} (choose from {', '.join(PROFILE_STAGES)})")
    args.inbox_batches = [int(x) for x in args.inbox_batches.split(",") if x.strip()]
    args.fire_batches = [int(x) for x in args.fire_batches.split(",") if x.strip()]
    return args


def _choices(text: str, allowed: Sequence[str], option: str, parser: argparse.ArgumentParser) -> list[str]:
    picked = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in picked if x not in allowed]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return picked


def _quiet_logging(log_dir: Path) -> None:
    """The kit's JSON log lines (and FastStream's, aiokafka's) go to a file, not between the figures."""
    configure_logging("bench", "WARNING")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "hearth-json":
            file_handler = logging.FileHandler(log_dir / "bench.log")
            file_handler.setFormatter(handler.formatter)
            root.removeHandler(handler)
            root.addHandler(file_handler)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["uv", "run", "python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    log_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    _quiet_logging(log_dir)
    started = time.monotonic()
    bootstrap, admin_dsn, origin, kafka_version, release = infra_endpoints()
    runs: list[PassRun] = []
    try:
        if not args.durable:
            b = Bench(args, bootstrap, admin_dsn, log_dir)
            b.say(f"sizes: {args.sizes}; logs in {log_dir}")
            runs.append(PassRun(None, b, uvloop.run(run_all(b, origin, kafka_version))))
        else:
            say = Bench(args, bootstrap, admin_dsn, log_dir).say
            with private_postgres(say) as pg:
                for p in (TEST_SETTINGS, DURABLE):
                    uvloop.run(apply_settings(pg.admin_dsn, p.settings))
                    b = Bench(args, bootstrap, pg.admin_dsn, log_dir)
                    b.say(f"=== pass: {p.name} ({p.describe()}); sizes: {args.sizes}; logs in {log_dir}")
                    runs.append(PassRun(p, b, uvloop.run(run_all(b, origin, kafka_version, pg.origin))))
    finally:
        release()
    elapsed = time.monotonic() - started
    for run in runs:
        print()
        if run.pass_ is not None:
            print(f"{run.title}:")
        print(render_text(table(run.bench.rows, run.bench.by_key)))
    print()
    for name, value in machine_facts(runs):
        print(f"{name}: {value}")
    print(f"total: {elapsed / 60:.1f} min")
    if not args.no_results:
        write_results(runs, elapsed, args.out, command)
        print(f"written: {args.out}")
    failures = sum(len(run.bench.failures) for run in runs)
    if failures:
        print(f"{failures} measurement(s) failed; tracebacks and logs in {log_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
