"""State files: JSON read leniently, files only their owner can read, templates, and one lock per folder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in the file; {} when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_private(path: Path, text: str) -> None:
    """Replace the file atomically with `text`, readable by its owner only (mode 0600)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def render(template: Path, target: Path, **values: object) -> None:
    """Fill in the template; the result is readable by its owner only (the Kafka one holds a password)."""
    text = string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    write_private(target, text)


# One flock per folder, re-entrant within a process (a second descriptor on the file would deadlock).
_LOCKS: dict[Path, list[int]] = {}


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold `folder/.lock` exclusively: other processes wait, this one may enter again."""
    entry = _LOCKS.get(folder)
    if entry is None:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        entry = _LOCKS[folder] = [fd, 0]
    entry[1] += 1
    try:
        yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _LOCKS[folder]
            os.close(entry[0])  # releases the flock
