"""The sections in order, each run unless --only leaves it out, then the resources removed."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from .harness import Bench
from .inbox import inbox_section
from .journey import journey_section
from .limits import limits
from .machine import Machine, describe
from .memory import meminfo_mib, own_peak_rss_mib
from .outbox import outbox_section
from .timers import timers_section


async def run_all(b: Bench, origin: str, kafka_version: str, pg_origin: str | None = None) -> Machine:
    machine = await describe(b, origin, kafka_version, pg_origin)
    b.put("mem.total", meminfo_mib("MemTotal") or 0.0)
    sections: list[tuple[str, Callable[[Bench], Awaitable[None]]]] = [
        ("limits", limits),
        ("outbox", outbox_section),
        ("inbox", inbox_section),
        ("timers", timers_section),
        ("journey", journey_section),
    ]
    try:
        for name, fn in sections:
            if name not in b.args.only:
                for row in b.rows:
                    if row.section == name and row.value is None:
                        row.note = "not run (--only)"
                continue
            b.say(f"--- {name}")
            keys = [r.key for r in b.rows if r.section == name]
            await b.attempt(keys, name, functools.partial(fn, b), timeout=None)
    finally:
        await b.cleanup()
    b.put("mem.bench", own_peak_rss_mib(), "whole run, every in-process stage (getrusage)")
    return machine
