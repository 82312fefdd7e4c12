"""Who uses a state folder: a lease per test session (or demo, benchmark), and `keep` after an `up` by hand."""

from __future__ import annotations

import os
from pathlib import Path

from .processes import pid_alive


class Leases:
    """`<state>/leases/<pid>` for each process using the infrastructure; `<state>/keep` once someone ran `up`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @property
    def folder(self) -> Path:
        path = self.state_dir / "leases"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def take(self, holder: int | None = None) -> Path:
        """Register `holder` (a pid, default this process); returns its lease file."""
        lease = self.folder / str(holder or os.getpid())
        lease.touch()
        return lease

    def drop(self, holder: int | None = None) -> None:
        (self.folder / str(holder or os.getpid())).unlink(missing_ok=True)

    def users(self) -> list[int]:
        """Pids of the live processes holding a lease (dead ones are forgotten)."""
        live = []
        for lease in self.folder.iterdir():
            if lease.name.isdigit() and pid_alive(int(lease.name)):
                live.append(int(lease.name))
            else:
                lease.unlink(missing_ok=True)
        return live

    def kept(self) -> bool:
        """Whether someone started it by hand (`up`): then test sessions leave it running."""
        return (self.state_dir / "keep").exists()

    def keep(self, keep: bool) -> None:
        flag = self.state_dir / "keep"
        if keep:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)
