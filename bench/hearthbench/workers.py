"""Kit components in processes of their own, as a service runs them (the relay and inbox latency runs)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from .memory import vm_hwm_mib


class WorkerProcess:
    """A kit component in its own process (`python -m hearth.kit.testing.workers`), its output in a log file."""

    def __init__(self, log_dir: Path, role: str, *args: str) -> None:
        self.role = role
        self.log_path = log_dir / f"{role}-{secrets.token_hex(3)}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hearth.kit.testing.workers", role, *args],
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {self.role} worker exited with {self.proc.returncode}:\n{tail}")

    def peak_rss_mib(self) -> float | None:
        return vm_hwm_mib(self.proc.pid) if self.proc.poll() is None else None

    async def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait, 10)
