"""bench/RESULTS.md: the run, the machine, the table, the before/after notes and how each figure is measured."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import REPO
from .before_after import INBOX_FAST_PASS, TIMER_BATCHING, TIMER_IMPROVEMENT, improvement_lines
from .durability import PassRun
from .machine import Machine, cpus, loadavg
from .table import compare, render_compare_markdown, render_markdown, table

WHERE_THE_TIME_GOES = (
    "What each profile showed, what was changed and the figures before and after (flame graphs in"
    " `bench/profiles/`): [PROFILE.md](PROFILE.md). The journey rows above give each process's CPU share of the run."
)


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def git_commit() -> str:
    sha = _git("rev-parse", "HEAD") or "unknown"
    return sha + (" (with uncommitted changes)" if _git("status", "--porcelain") else "")


def write_results(runs: Sequence[PassRun], elapsed: float, path: Path, command: str) -> None:
    first = runs[0]
    b = first.bench
    sha = _git("rev-parse", "HEAD") or "unknown"
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") else ""
    s = b.sizes
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (`make bench`) at the end of every run: the figures below are one run's,",
        "on the machine described. Nothing in the test suite asserts any timing.",
        "",
        f"- **Date**: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- **Commit**: `{sha}`{dirty}",
        f"- **Command**: `{command}`",
        f"- **Sizes**: {', '.join(f'{k}={v:,}' if isinstance(v, int) else f'{k}={v:g}' for k, v in vars(s).items())}"
        + (" (**--quick**: small sizes, not the figures of record)" if b.args.quick else ""),
        f"- **Sections run**: {', '.join(b.args.only)}; total {elapsed / 60:.1f} min;"
        f" load average at the end {loadavg()}",
    ]
    if len(runs) > 1:
        lines.append(
            "- **Passes** (--durable): "
            + "; then ".join(f"{r.pass_.name} ({r.pass_.describe()})" for r in runs if r.pass_ is not None)
            + ". Both on the same private cluster, switched with ALTER SYSTEM + pg_reload_conf and checked in"
            " pg_settings; every ratio is taken against the limits measured in its own pass."
        )
    if busy := busy_note(first.machine):
        lines.append(busy)
    if b.args.profile:
        lines.append(f"- **Profiled** (so slower than unprofiled): {', '.join(b.args.profile)}")
    lines += ["", "## Machine", ""]
    lines += [f"- **{name}**: {value}" for name, value in machine_facts(runs)]
    for run in runs:
        lines += [
            "",
            f"## {run.title}",
            "",
            *RATIO_TEXT,
            "",
            render_markdown(table(run.bench.rows, run.bench.by_key)),
        ]
    if len(runs) == 2 and (pa := runs[0].pass_) is not None and (pz := runs[1].pass_) is not None:
        a, z = runs
        lines += [
            "",
            f"## {pz.name.capitalize()} beside {pa.name}",
            "",
            f"Each figure with its ratio to its own pass's limit; the last column is the {pz.name} figure over"
            f" the {pa.name} one (for a rate, below 1 is slower; for a latency, above 1 is slower).",
            "",
            render_compare_markdown(compare(a.bench.rows, a.bench.by_key, z.bench.by_key), pa.name, pz.name),
        ]
    lines += ["", "## Batch settling in the inbox: before and after", ""]
    lines += improvement_lines(b)
    lines += TIMER_IMPROVEMENT
    lines += INBOX_FAST_PASS
    lines += TIMER_BATCHING
    lines += ["", "## How each figure is measured", "", *METHOD]
    if (REPO / "bench" / "PROFILE.md").exists():
        lines += ["", "## Where the time goes", "", WHERE_THE_TIME_GOES]
    if (REPO / "bench" / "SOAK.md").exists():
        lines += ["", "## Soak", "", "Memory, lag, backlog and dead letters over a long paced run (`make soak`):"
                  " [SOAK.md](SOAK.md)."]  # fmt: skip
    for run in runs:
        if run.bench.failures:
            heading = "Not measured in this run" + (f" ({run.pass_.name})" if run.pass_ else "")
            lines += ["", f"## {heading}", ""] + [f"- {f}" for f in run.bench.failures]
    profiles = [p for run in runs for p in run.bench.profiles]
    if profiles:
        lines += ["", "## Profiles", ""] + [
            f"- `{p.relative_to(REPO) if p.is_relative_to(REPO) else p}`" for p in profiles
        ]
    path.write_text("\n".join(lines) + "\n")


def busy_note(machine: Machine) -> str:
    """A line saying the figures are not of record when other work kept the machine's CPUs busy at the start."""
    load = dict(machine.facts).get("load average at start (1/5/15 min)", "")
    try:
        one_minute = float(load.split()[0])
    except (IndexError, ValueError):
        return ""
    if one_minute <= cpus():
        return ""
    return (
        f"- **Not of record**: the load average was {one_minute:g} at the start on {cpus()} CPUs: other work"
        " shared the machine, so these figures are lower and noisier than a quiet machine's."
    )


def machine_facts(runs: Sequence[PassRun]) -> list[tuple[str, str]]:
    """The first pass's facts, then each later pass's facts that differ (its settings, its load), labelled."""
    facts = list(runs[0].machine.facts)
    if runs[0].pass_ is not None:
        facts = [(f"{n} ({runs[0].pass_.name})" if _per_pass(n) else n, v) for n, v in facts]
    first = dict(runs[0].machine.facts)
    for run in runs[1:]:
        label = run.pass_.name if run.pass_ else "next pass"
        facts += [(f"{n} ({label})", v) for n, v in run.machine.facts if first.get(n) != v]
    return facts


def _per_pass(name: str) -> bool:
    return name.startswith(("PostgreSQL settings", "load average"))


RATIO_TEXT = [
    "ratio = figure ÷ limit. For rates, 1.00 means the kit goes as fast as the raw client does (a batched",
    "stage can exceed the single-statement limit it is compared with); for latencies, the ratio says how many",
    "times the raw Kafka hop (or the timer poll interval) the kit takes. Kit events are CloudEvents of about",
    "0.6 KB; the raw Kafka figures use 1 KB values.",
]

METHOD = [
    "- Every run makes its own databases (through the admin DSN) and topics (6 partitions unless --partitions),"
    " and drops them at the end. Kit stages marked in-process run in the bench process; the latency runs start"
    " the kit's worker processes (`python -m hearth.kit.testing.workers relay|consumer`), as a service would.",
    "- Raw Kafka: pipelined `send()` futures gathered (acks=all, idempotent), best of --rounds; `getmany` on"
    " assigned partitions, no group, no commits; latency with linger 0 at the rate of each kit latency run, the"
    " send time carried in the value.",
    "- Raw Postgres: asyncpg single-row INSERTs of a 100-byte row, autocommit, for --pg-seconds (1 connection,"
    " and --pg-concurrency connections in one process as the kit would); statements: 100 INSERTs per"
    " transaction; pgbench over TCP with the same row and `-M prepared`, plus the built-in TPC-B-like script"
    " at scale 1.",
    "- Outbox: `hearth.kit.outbox.stage` on one connection; the relay (`OutboxRelay`, batch --relay-batch) drains"
    " the backlog in-process, its rate taken from the `sent_at` marks of the first to the last batch. Latency:"
    " each paced tick stages its events in one transaction; staging commit (wall clock after COMMIT returns)"
    " to arrival at a plain consumer of the topic.",
    "- Inbox: records already on the topic, the kit's `Inbox` behind its consumer (`InboxConsumer`) in-process,"
    ' rate from the effect rows\' `clock_timestamp()` (first to last), capped at --inbox-seconds. The "alone"'
    " row calls `Inbox.handle_batch` on records in memory: the difference to the row above is the Kafka consumer,"
    " Kafka fetches and offset commits. The effect is one row per event: written by a handler per event (one"
    " INSERT each), then by a batch handler (`batched`: one INSERT … unnest for each run of events; not at batch"
    " 1, where every run is one event). Hop: outbox commit in one database → relay process → Kafka → consumer"
    " process → effect row in another database; the effect time is `clock_timestamp()` in the transaction"
    " that commits it.",
    "- Timers: pending timers COPYed due from tomorrow on, so they stay pending; scheduling through"
    " `UnitOfWork.run` + `tx.schedule`; firing: due timers COPYed, then `TimerPoller.fire_due` until none is"
    " left; lateness: timers due at --timer-rate/s from 2 s ahead, `TimerPoller.run` with --timer-interval and"
    " --timer-batch, the handler writing `clock_timestamp()` next to the due time.",
    "- Memory: peak RSS (`getrusage` for this process, `VmHWM` from /proc for the worker processes, read just"
    " before they stop).",
    "- Journey CPU: each process's CPU seconds (psutil; a process with its descendants, reaped ones included, so"
    " a Postgres cluster's backends count) from the first patient started to the last one finished, and the"
    " same as % of the whole machine (100% = every CPU busy); the simulator is this process alone.",
    "- `--durable`: a private cluster of the local launcher (Kafka stays shared), first with the test settings"
    " of deploy/local/postgresql.conf, then with fsync, synchronous_commit and full_page_writes on (ALTER SYSTEM"
    " + pg_reload_conf, checked in pg_settings, then a CHECKPOINT); every section runs in both passes and every"
    " ratio is against the limits of its own pass.",
    "- \"bench process CPU\" in the notes is this process's CPU time over the stage's wall time: near 100% means"
    " the stage is bound by Python on one core, well below means it waits on round trips.",
]
