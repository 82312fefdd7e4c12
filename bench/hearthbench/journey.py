"""The whole journey: `hearth.journey.bench` (a Stack of the four services and a simulator), when it exists."""

from __future__ import annotations

import importlib
import os
import time
from typing import cast

import asyncpg

from .harness import Bench
from .machine import cpus, loadavg, until_quiet
from .rows import Row

# A figure's unit is the end of its name ("... p99 ms", "... peak RSS MiB", "... CPU % of machine").
JOURNEY_UNITS = (
    (" per minute", "per min"),
    (" ms", "ms"),
    (" mib", "MiB"),
    (" mb", "MB"),
    (" % of machine", "% of machine"),
    (" s", "s"),
)


def journey_row(name: str) -> Row:
    """The row of one figure of `journey_figures`: its unit taken off the end of its name."""
    unit = next((u for suffix, u in JOURNEY_UNITS if name.lower().endswith(suffix)), "")
    what = name[: len(name) - len(unit) - 1] if unit and unit != "per min" else name
    if unit == "% of machine":
        what += " share"  # beside the same process's "CPU" row in seconds
    return Row(f"journey.{name}", "journey", what, unit, limit="mem.total" if unit == "MiB" else None)


async def journey_section(b: Bench) -> None:
    # ----- HOOK: hearth.journey.bench.journey_figures(patients, **run) -> dict[str, float] ------------------
    row = b.by_key["journey"]
    try:
        module = importlib.import_module("hearth.journey.bench")
    except ModuleNotFoundError as exc:
        row.note = f"not measured: hearth.journey.bench is not importable ({exc})"
        b.say(row.note)
        return
    figures_of = getattr(module, "journey_figures", None)
    if figures_of is None:
        row.note = "not measured: hearth.journey.bench has no journey_figures(patients)"
        b.say(row.note)
        return
    # The journey's own Stack uses the local launcher's Kafka, and the Postgres cluster of this run.
    os.environ.setdefault("HEARTH_KAFKA_BOOTSTRAP", b.bootstrap)
    os.environ.setdefault("HEARTH_PG_ADMIN_DSN", b.admin_dsn)
    patients = b.sizes.patients
    # The sections before leave work behind (autovacuum of their tables, the broker deleting their topics, and
    # the pages they dirtied, a million timers among them, which the cluster's next checkpoint would write in the
    # middle of the journey); the journey measures a sustained rate, so it starts once that is done.  The
    # checkpoints made while its patients arrive are among its figures.
    wrote = await _checkpoint(b.admin_dsn)
    waited, busy = await until_quiet()
    load = loadavg()
    b.say(
        f"journey: earlier sections' pages checkpointed in {wrote:.1f} s; machine quiet after {waited:.0f} s"
        f" ({busy:.0%} busy), load average {load}"
    )

    async def run() -> None:
        figures = cast(
            dict[str, float],
            await figures_of(
                patients,
                admin_dsn=b.admin_dsn,
                per_minute=b.sizes.journey_rate,
                sustain_seconds=b.sizes.journey_seconds,
            ),
        )
        for name, value in figures.items():
            b.add_row(journey_row(name))
            note = (
                f"{patients} patients started together"
                if " at once: " in name
                else f"{b.sizes.journey_rate:,.0f} patients a minute arriving for {b.sizes.journey_seconds:.0f} s"
            )
            if name.endswith("% of machine"):
                note += f", while they went through; 100% = all {cpus()} CPUs"
            if name.startswith(("kafka broker", "postgres cluster")):
                note += "; the whole process tree, so other runs' work too when it is shared"
            b.put(f"journey.{name}", float(value), note)
        row.note = (
            f"sustained arrivals, then {patients} patients at once; started after {waited:.0f} s of waiting for"
            f" the machine to be quiet ({busy:.0%} busy, load average {load}); figures below"
        )

    await b.attempt(["journey"], "whole journey", run)
    # ----- end of the hook ---------------------------------------------------------------------------------


async def _checkpoint(admin_dsn: str) -> float:
    """Write every dirty page of the cluster now; the seconds it took."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        started = time.monotonic()
        await conn.execute("CHECKPOINT")
        return time.monotonic() - started
    finally:
        await conn.close()
