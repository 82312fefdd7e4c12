"""The whole journey: `hearth.journey.bench` (a Stack of the four services and a simulator), when it exists."""

from __future__ import annotations

import importlib
import os
from typing import cast

from .harness import Bench
from .rows import Row

JOURNEY_UNITS = (("_per_min", "per min"), ("_ms", "ms"), ("_mib", "MiB"), ("_mb", "MB"), ("_s", "s"))


async def journey_section(b: Bench) -> None:
    # ----- HOOK: hearth.journey.bench.journey_figures(patients) -> dict[str, float] -------------------------
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
    # The journey's own Stack finds the infrastructure the way the tests do.
    os.environ.setdefault("HEARTH_KAFKA_BOOTSTRAP", b.bootstrap)
    os.environ.setdefault("HEARTH_PG_ADMIN_DSN", b.admin_dsn)
    patients = b.sizes.patients

    async def run() -> None:
        figures = cast(dict[str, float], await figures_of(patients))
        for name, value in figures.items():
            unit = next((u for suffix, u in JOURNEY_UNITS if name.lower().endswith(suffix)), "")
            limit = "mem.total" if unit == "MiB" else None
            b.add_row(Row(f"journey.{name}", "journey", name, unit, limit=limit))
            b.put(f"journey.{name}", float(value), f"{patients} patients")
        row.note = f"{patients} patients; figures below"

    await b.attempt(["journey"], "whole journey", run)
    # ----- end of the hook ---------------------------------------------------------------------------------
