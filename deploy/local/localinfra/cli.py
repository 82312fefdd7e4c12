"""The command line: `python3 deploy/local/infra.py up|down|status|env|reset|prune [--state-dir DIR] [--brokers N]`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .common import DEFAULT_STATE_DIR, LAUNCHER, InfraError
from .local_infra import LocalInfra
from .private import prune_private


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="infra.py", description="Local Kafka 4.3.1 (KRaft) and PostgreSQL 15 for development and tests."
    )
    parser.add_argument(
        "command",
        choices=("up", "down", "status", "env", "reset", "prune"),
        help="up: start both (idempotent); down: stop both; status: show both (exit 3 unless both are up); "
        "env: print export lines; reset: stop both and delete the state; prune: clean up after test "
        "sessions that died",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("HEARTH_STATE_DIR") or DEFAULT_STATE_DIR),
        help=f"state folder (default: $HEARTH_STATE_DIR or {DEFAULT_STATE_DIR})",
    )
    parser.add_argument(
        "--if-unused", action="store_true", help="down: only when no test session uses it and no `up` kept it"
    )
    parser.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=None,
        help="up: Kafka nodes (combined broker + controller): 1, or a cluster of 3 (replication factor 3, min "
        "in-sync replicas 2; node n on the first ports + 2(n-1)); default: as the state folder was last started, "
        "else 1",
    )
    args = parser.parse_args(argv)
    infra = LocalInfra(args.state_dir, brokers=args.brokers)
    try:
        return _run(args.command, infra, if_unused=args.if_unused)
    except InfraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(command: str, infra: LocalInfra, *, if_unused: bool) -> int:
    if command == "up":
        started = time.monotonic()
        infra.up()
        infra.keep(True)
        print(f'Up in {time.monotonic() - started:.1f} s. In a shell: eval "$(python3 {LAUNCHER} env)"')
        for status in infra.status().values():
            print(status.line())
    elif command == "down":
        if if_unused:
            if not (any(infra.kafka_pids().values()) or infra.postgres_pid()):
                print("Nothing was running.")
            else:
                print("Stopped." if infra.down_if_unused() else "Left running (in use, or started by `up`).")
            return 0
        infra.keep(False)
        if users := infra.users():
            print(f"warning: test sessions (pids {', '.join(map(str, users))}) are using it", file=sys.stderr)
        print("Stopped." if infra.down() else "Nothing was running.")
    elif command == "status":
        statuses = infra.status().values()
        for status in statuses:
            print(status.line())
        return 0 if all(s.running and s.ready for s in statuses) else 3
    elif command == "env":
        for name, value in infra.env().items():
            print(f"export {name}='{value}'")
    elif command == "reset":
        infra.keep(False)
        infra.reset()
        print(f"Deleted {infra.state_dir}")
    elif command == "prune":
        for folder in prune_private():
            print(f"Removed {folder}")
    return 0
