"""cProfile of chosen stages (--profile): which stages can be profiled, and the file a profile goes to."""

from __future__ import annotations

import cProfile
import io
import pstats
import re
from pathlib import Path

PROFILE_STAGES = (
    "outbox-stage",
    "relay",
    "inbox-<batch>[-run]",
    "inbox-db-<batch>[-run|-bare]",
    "timers-schedule",
    "timers-fire",
)
PROFILE_PATTERN = re.compile(
    r"^(outbox-stage|relay|inbox-[0-9]+(-run)?|inbox-db-[0-9]+(-run|-bare)?|timers-schedule|timers-fire)$"
)


def write_profile(profiler: cProfile.Profile, stage: str, directory: Path) -> Path:
    """<directory>/<stage>.txt: the costliest functions by own time, then by cumulative time; the raw stats go
    next to it as <stage>.prof, for pstats or a viewer."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stage}.txt"
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"cProfile of the stage {stage!r} (bench/run.py); figures of a profiled stage are slower\n\n")
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(35)
    path.write_text(out.getvalue())
    profiler.dump_stats(path.with_suffix(".prof"))
    return path
