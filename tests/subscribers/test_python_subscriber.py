"""docs/subscribing.md, followed as a new team would, on the real local broker:

1. register: an entry in the subscriber registry (a copy of it here, with a name no other test uses);
2. the operator runs `hearth subscribers add NAME` as the broker's admin and hands over the settings it prints;
3. the team runs examples/subscribers/python/subscriber.py with those settings only: every event of its topics is
   stored once (duplicates ignored), an unreadable record is parked, nothing else is readable;
4. the operator rewinds its consumer group to a date and the subscriber reads that history again;
5. `add` again is idempotent and narrows the ACLs to a narrowed entry; `remove` takes the access away.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from hearth.contracts import CATALOG, Event, build_event, dlq_topic
from hearth.contracts.subscribers import load_subscribers
from hearth.kit.acls import principal_acls
from hearth.kit.settings import KafkaSettings, kafka_client_options
from hearth.kit.testing import leftovers
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.topics import catalog_topics, ensure_topics

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/subscribers/python/subscriber.py"
HEARTH = str(Path(sys.executable).parent / "hearth")
READS = ["screening.approved.v1", "session.session-completed.v1"]


def registry_entry(name: str, events: list[str]) -> str:
    quoted = ", ".join(f'"{event}"' for event in events)
    return (
        f'[[subscriber]]\nname = "{name}"\nteam = "Test team"\ncontact = "test-team@hearth.internal"\n'
        f'description = "Follows the subscriber guide."\nevents = [{quoted}]\n'
    )


def hearth(*args: str, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_TOPIC_PREFIX": prefix}
    return subprocess.run([HEARTH, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def exported(text: str) -> dict[str, str]:
    """`export NAME='value'` lines as a mapping (values are shell-quoted, without quotes inside here)."""
    lines = [line.removeprefix("export ") for line in text.splitlines() if line.startswith("export ")]
    return {name: value.strip("'") for name, _, value in (line.partition("=") for line in lines)}


async def publish(bootstrap: str, prefix: str, events: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **kafka_client_options())
    await producer.start()
    try:
        for topic, value in events:
            headers = [("content-type", Event.CONTENT_TYPE.encode())]
            await producer.send_and_wait(prefix + topic, value, key=b"pt-subscriber-1", headers=headers)
    finally:
        await producer.stop()


def as_subscriber(settings: dict[str, str]) -> dict[str, object]:
    fields = {k.removeprefix("HEARTH_").lower(): v for k, v in settings.items() if k.startswith("HEARTH_KAFKA_")}
    return KafkaSettings(_env_prefix="HEARTH_TESTING_UNUSED_", **fields).kafka_client_options()


async def refused(bootstrap: str, options: dict[str, object], topic: str, group: str | None = None) -> str:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, **options)
    try:
        with pytest.raises(KafkaError) as error:
            await asyncio.wait_for(consumer.start(), 20)
            await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 20)
            await asyncio.wait_for(consumer.getone(), 10)
        return type(error.value).__name__
    finally:
        await consumer.stop()


async def test_a_team_follows_the_guide_with_the_python_example(infra, unique_name, tmp_path):
    prefix, name = unique_name("sub") + ".", unique_name("t-sub")
    registry = tmp_path / "subscribers.toml"
    registry.write_text(registry_entry(name, READS))
    assert load_subscribers(registry.read_text())[name].topics == tuple(READS)
    leftovers.remember(infra.kafka_bootstrap, prefix)
    await ensure_topics(infra.kafka_bootstrap, catalog_topics(prefix), partitions=2)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    approved, completed, shipped = (
        build_event(CATALOG[f"org.hearth.{t}"].data_model.example(), subject="pt-subscriber-1")
        for t in ("screening.approved.v1", "session.session-completed.v1", "fulfillment.box-shipped.v1")
    )
    await publish(
        infra.kafka_bootstrap,
        prefix,
        [
            ("screening.approved.v1", approved.to_json()),
            ("screening.approved.v1", approved.to_json()),  # a re-delivery: stored once
            ("session.session-completed.v1", completed.to_json()),
            ("screening.approved.v1", b'{"type": "org.hearth.screening.approved.v1"}'),  # parked, not skipped
            ("fulfillment.box-shipped.v1", shipped.to_json()),  # not registered: never reaches the subscriber
        ],
    )

    added = hearth("subscribers", "add", name, "--registry", str(registry), prefix=prefix)
    assert added.returncode == 0, added.stderr + added.stdout
    settings = exported(added.stdout)
    assert settings["HEARTH_KAFKA_USERNAME"] == name
    assert settings["HEARTH_GROUP_ID"] == f"{prefix}{name}.main"
    assert settings["HEARTH_KAFKA_PASSWORD"] != os.environ["HEARTH_KAFKA_PASSWORD"]
    try:
        store = tmp_path / "events.db"
        env = {"PATH": os.environ["PATH"], **settings}
        run = subprocess.run(
            [sys.executable, str(EXAMPLE), *READS, "--store", str(store), "--idle-seconds", "3"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        db = sqlite3.connect(store)
        assert sorted(db.execute("SELECT id, type FROM events")) == sorted(
            [(str(approved.id), approved.type), (str(completed.id), completed.type)]
        )
        assert [row[0] for row in db.execute("SELECT topic FROM unreadable")] == [prefix + "screening.approved.v1"]
        assert len(run.stdout.splitlines()) == 2

        subscriber = as_subscriber(settings)
        for topic in ("fulfillment.box-shipped.v1", dlq_topic("session")):
            assert "Authorization" in await refused(infra.kafka_bootstrap, subscriber, prefix + topic)
        other_group = await refused(infra.kafka_bootstrap, subscriber, prefix + READS[0], group=f"{prefix}session")
        assert other_group == "GroupAuthorizationFailedError"

        # Starting again from history: the operator rewinds the (stopped) group; a fresh store gets every event.
        rewound = hearth("subscribers", "rewind", name, "--since", since, "--registry", str(registry), prefix=prefix)
        assert rewound.returncode == 0, rewound.stderr
        assert f"consumer group {prefix}{name}.main: 4 partition(s)" in rewound.stdout
        again_run = subprocess.run(
            [sys.executable, str(EXAMPLE), *READS, "--store", str(tmp_path / "again.db"), "--idle-seconds", "3"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert len(again_run.stdout.splitlines()) == 2, again_run.stderr

        again = hearth("subscribers", "add", name, "--registry", str(registry), prefix=prefix)
        assert again.returncode == 0 and "HEARTH_KAFKA_PASSWORD" not in again.stdout, again.stdout
        registry.write_text(registry_entry(name, READS[:1]))  # the entry narrows
        assert hearth("subscribers", "add", name, "--registry", str(registry), prefix=prefix).returncode == 0
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options())
        await admin.start()
        try:
            topics = {b.name for b in await principal_acls(admin, f"User:{name}") if b.resource == "topic"}
        finally:
            await admin.close()
        assert topics == {prefix + READS[0]}
    finally:
        removed = hearth("subscribers", "remove", name, prefix=prefix)
        await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))
    assert removed.returncode == 0 and "user deleted" in removed.stdout, removed.stdout + removed.stderr
    gone = await refused(infra.kafka_bootstrap, as_subscriber(settings), READS[0])
    assert gone in {"SaslAuthenticationFailed", "KafkaConnectionError"}
