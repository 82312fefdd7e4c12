"""The before/after notes of the results file: inbox batch settling (from this run) and timer lateness."""

from __future__ import annotations

from .harness import Bench
from .rows import fmt

# Measured once, before and after the change (commit 4b78f66), with this script's default sizes on this machine;
# the "before" code no longer exists, so only the "after" appears in the table above.
TIMER_IMPROVEMENT = [
    "",
    "## Timer lateness: before and after",
    "",
    "The poller used to sleep a whole poll interval whenever a batch was not full, so a timer fired on average",
    "half an interval late; it now sleeps until the earliest pending timer is due (never longer than the",
    "interval). Same script, same sizes, interval 500 ms, 1,000 timers/s due:",
    "",
    "- lateness p50: 316 ms → 42 ms; p99: 556 ms → 74 ms",
    "- journey session-completed → integration-due p99 (5 patients, zero delays): 1,186 ms → 199 ms",
    "",
]


# Measured once, before (commit 275bdab) and after the change (commit ccedaea onwards), default sizes.
INBOX_FAST_PASS = [
    "",
    "## Inbox fast pass: before and after",
    "",
    "Profiling showed the inbox bound by statements per record (savepoint, inbox insert, effect, release). A batch",
    "now records all its event ids with one INSERT … unnest, runs the handlers without savepoints, and falls back",
    "to the per-record pass only when a handler fails. Same script, same sizes, consumer batch 100:",
    "",
    "- through Kafka: 1,577 → 3,726 events/s; Inbox.handle_batch alone: 1,727 → 4,746 events/s",
    "- CPU per event, through Kafka: 420 µs → 182 µs",
    "",
]


def improvement_lines(b: Bench) -> list[str]:
    batches = sorted(b.args.inbox_batches)
    if len(batches) < 2:
        return ["Only one consumer batch size ran (--inbox-batches)."]
    lo, hi = batches[0], batches[-1]
    out = [
        f"The inbox used to settle one record per transaction and offset commit (`consumer_batch_size={lo}`"
        " reproduces that); it now settles a whole `getmany` batch in one transaction, each record in a savepoint,"
        f" and commits the offsets once (`consumer_batch_size={hi}`, the default).",
        "",
    ]
    for label, key in (("throughput", ""), ("throughput without Kafka", ".db"), ("hop p50", ".lat.p50"),
                       ("hop p99", ".lat.p99")):  # fmt: skip
        before, after = b.value(f"inbox.{lo}{key}"), b.value(f"inbox.{hi}{key}")
        unit = b.by_key[f"inbox.{lo}{key}"].unit
        if not (before and after):
            out.append(f"- {label}: not measured in this run")
            continue
        at = {x: f" at {b.rates[f'inbox.{x}.lat']:,.0f}/s" if f"inbox.{x}.lat" in b.rates else "" for x in (lo, hi)}
        if unit != "ms":
            at = {lo: "", hi: ""}
        out.append(
            f"- {label}: batch {lo}{at[lo]} {fmt(before, unit)} {unit} → batch {hi}{at[hi]} {fmt(after, unit)} {unit}"
            f" (after/before {after / before:.2f})"
        )
    out.append(
        f"- each hop run goes at {b.args.load:.0%} of its own batch size's measured maximum, so the two hop runs"
        " carry different loads."
    )
    return out


# Measured once, before (commit 2ff24b5) and after the change (commit bfb7938 onwards), on a heavily loaded
# shared machine; the "before" code no longer exists, so only the "after" appears in the table above.
TIMER_BATCHING = [
    "",
    "## Timers: before and after batching",
    "",
    "Profiling (py-spy; `bench/profiles/timers-before.svg`, `timers-after.svg`) showed the poller bound by round",
    "trips: per timer a SAVEPOINT (17 % of `fire_due`), the row's DELETE (20 %), the handler's one INSERT (22 %)",
    "and RELEASE (18 %); waiting on and writing to the socket were 61 % of all samples. Scheduling wrote one INSERT",
    "per timer. Now the poller deletes a claimed batch with one DELETE and runs every handler in one pass without",
    "savepoints (a savepoint per timer only after a handler fails), and a unit of work writes its schedules with",
    "one INSERT … unnest (its cancels and prefix cancels with one DELETE each). After, the handler's own statement",
    "is 76 % of `fire_due`.",
    "",
    "Measured on the shared 2-core machine while other work loaded it (load average 7 to 25), so single rates",
    "swung 2 to 5 times between minutes. The robust figures pair each stage with the raw statement rate taken",
    "seconds before it (`uv run python bench/timer_rates.py --rounds 5 --timers 2000 [--batch 500 --rounds 3]`;",
    "the old code run the same way with `PYTHONPATH` at an export of commit 2ff24b5's `libs/kit/src`), median of",
    "the rounds, two alternating before/after runs:",
    "",
    "- `TimerPoller.fire_due`, batch 100: 0.19 and 0.12 → 0.66 and 0.61 of raw statements; batch 500: 0.18 and"
    " 0.34 → 0.62 and 0.76",
    "- scheduling, 100 timers per unit of work: 0.55 and 0.64 → 3.97 and 5.99 (during the batch-500 runs: 0.91"
    " and 0.77 → 5.34 and 5.52)",
    "- best round: fire_due 2,496 → 7,275 timers/s; scheduling 7,517 → 55,893 timers/s",
    "- `uv run python bench/run.py --quick --only limits,timers`, three alternating runs, ratio to each run's raw"
    " statements: fire_due batch 100 0.75, 0.37, 0.26 → 0.71, 0.46, 0.66; batch 500 0.57, 0.17, 0.29 → 0.79,"
    " 0.59, 0.67; scheduling 100 per unit of work 1.60, 1.31, 0.96 → 12.2, 2.44, 5.41",
    "- one default-size run each (`--only limits,timers`): fire_due batch 100 0.02 → 0.22, scheduling 0.11 →"
    " 1.83; their limits were measured minutes before, in quieter moments than the stages. With 1,000,000"
    " pending timers, paired: fire_due 0.61 (median of 3).",
    "- the final code (commit d874c8c: the poller also holds back audit and outbox rows to the end of its pass,"
    " as the inbox does; tracing off), paired, median of 5: fire_due batch 100 0.92 (0.33 to 1.00), scheduling"
    " 5.86",
    "",
]
