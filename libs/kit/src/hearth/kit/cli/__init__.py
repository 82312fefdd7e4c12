"""The `hearth` operations command: dead letters, consumer positions, topics, event tail and timelines, dev
tokens, local infra."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import ValidationError

from hearth.contracts.subscribers import RegistryError

from ..settings import KafkaSettings
from . import audit, db, dev, dlq, events, kafka_acls, subscribers, tokens, topics
from .errors import CliError, explain


def build_parser() -> argparse.ArgumentParser:
    """The whole `hearth` command line, with the command groups of other workspace packages (`hearth rules`)."""
    parser = argparse.ArgumentParser(prog="hearth", description=__doc__)
    commands = parser.add_subparsers(dest="group", required=True)
    for module in (dlq, db, topics, kafka_acls, subscribers, events, audit, tokens, dev):
        module.register(commands)
    for plugin in entry_points(group="hearth.cli"):
        plugin.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    kafka_log = logging.getLogger("aiokafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)  # its errors are explained below, in one line
    try:
        result = args.run(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except KeyboardInterrupt:
        result = 130
    except CliError as error:
        result = _fail(str(error), error.code)
    except KafkaConnectionError:
        result = _fail(asyncio.run(explain(KafkaSettings())), 1)
    except KafkaError as error:  # refused by the broker: authorization, a missing topic, ...
        result = _fail(f"Kafka refused: {type(error).__name__}: {error}", 1)
    except (RegistryError, ValidationError, OSError) as error:  # a registry, the settings, a file
        result = _fail(" ".join(str(error).split()), 2)
    finally:
        kafka_log.setLevel(level)  # called in-process (tests), the caller's logging stays as it was
    sys.exit(result or 0)


def _fail(message: str, code: int) -> int:
    print(f"hearth: {message}", file=sys.stderr)
    return code
