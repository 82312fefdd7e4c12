"""The pieces of `bench/run.py`: sizes, the table of rows, the run's resources, one module per section
(limits, outbox, inbox, timers, journey) and the results file."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # bench/hearthbench/ → the repository root
