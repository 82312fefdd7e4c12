"""Private copies for fault tests (`<repo>/.state/private-<hex>`), and what test sessions that died left behind."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import time
from pathlib import Path

from .common import STATE_ROOT, Echo, InfraError, stderr
from .local_infra import LocalInfra
from .processes import pid_alive


def private_state_dir() -> Path:
    return STATE_ROOT / f"private-{secrets.token_hex(4)}"


def prune_private(echo: Echo | None = stderr) -> list[Path]:
    """Stop and delete each `<repo>/.state/private-*` folder whose owning process is gone."""
    pruned = []
    for folder in sorted(STATE_ROOT.glob("private-*")):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            owner = 0
        try:
            being_created = not owner and time.time() - folder.stat().st_mtime < 120
        except OSError:
            continue  # gone already
        if (owner and pid_alive(owner)) or being_created:
            continue
        with contextlib.suppress(InfraError, OSError):
            LocalInfra(folder, echo=echo).down()
        shutil.rmtree(folder, ignore_errors=True)
        pruned.append(folder)
    return pruned
