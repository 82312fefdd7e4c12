"""Helpers for tests that follow docs/subscribing.md: the `hearth` command as an operator runs it, the settings it
prints, and a stream of one example event of each type as the services would publish it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from hearth.contracts import CATALOG, Event, build_event

from ..settings import kafka_client_options

HEARTH = str(Path(sys.executable).parent / "hearth")


def registry_entry(name: str, events: Iterable[str]) -> str:
    """A subscriber registry (TOML) with one entry, as a team would add it."""
    quoted = ", ".join(f'"{event}"' for event in events)
    return (
        f'[[subscriber]]\nname = "{name}"\nteam = "Test team"\ncontact = "test-team@hearth.internal"\n'
        f'description = "Follows the subscriber guide."\nevents = [{quoted}]\n'
    )


def hearth(*args: str, prefix: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`hearth ARGS` with the test's admin settings (os.environ) and the topic prefix."""
    env = {**os.environ, "HEARTH_TOPIC_PREFIX": prefix}
    return subprocess.run([HEARTH, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def exported(text: str) -> dict[str, str]:
    """The `export NAME='value'` lines `hearth subscribers add|credentials` print, as a mapping."""
    lines = [line.removeprefix("export ") for line in text.splitlines() if line.startswith("export ")]
    return {name: value.strip("'") for name, _, value in (line.partition("=") for line in lines)}


async def publish(bootstrap: str, prefix: str, records: Iterable[tuple[str, bytes]], key: bytes) -> None:
    """Publish (topic without prefix, value) pairs as the admin, with the CloudEvents content type."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **kafka_client_options())
    await producer.start()
    try:
        headers = [("content-type", Event.CONTENT_TYPE.encode())]
        for topic, value in records:
            await producer.send_and_wait(prefix + topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def publish_every_example(bootstrap: str, prefix: str, subject: str) -> list[Event[Any]]:
    """One example event of every catalog type, each on its topic (the first one twice: a re-delivery)."""
    events = [build_event(spec.data_model.example(), subject=subject) for spec in CATALOG.values()]
    records = [(CATALOG[e.type].topic, e.to_json()) for e in [events[0], *events]]
    await publish(bootstrap, prefix, records, subject.encode())
    return events
