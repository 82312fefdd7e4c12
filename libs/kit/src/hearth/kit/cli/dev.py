"""`hearth dev up|down|status`: the local Kafka and Postgres of `deploy/local/` (a development checkout only)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    dev = commands.add_parser("dev", help="local Kafka and Postgres without Docker")
    dev.add_argument("action", choices=["up", "down", "status", "env"])
    dev.set_defaults(run=run)


def _launcher() -> Path | None:
    for folder in [Path.cwd(), *Path.cwd().parents]:
        candidate = folder / "deploy" / "local" / "infra.py"
        if candidate.exists():
            return candidate
    return None


def run(args: argparse.Namespace) -> int:
    launcher = _launcher()
    if launcher is None:
        print("deploy/local/infra.py not found: run this from a checkout of the project")
        return 2
    return subprocess.call([sys.executable, str(launcher), args.action])  # noqa: S603 - our own script
