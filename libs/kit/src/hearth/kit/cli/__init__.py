"""The `hearth` operations command: dead letters, consumer positions, topics, event tail and timelines, dev
tokens, local infra."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from . import audit, db, dev, dlq, events, kafka_acls, subscribers, tokens, topics


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hearth", description=__doc__)
    commands = parser.add_subparsers(dest="group", required=True)
    for module in (dlq, db, topics, kafka_acls, subscribers, events, audit, tokens, dev):
        module.register(commands)
    for plugin in entry_points(group="hearth.cli"):  # command groups of other workspace packages (`hearth rules`)
        plugin.load()(commands)
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except KeyboardInterrupt:
        result = 130
    sys.exit(result or 0)
