"""`hearth events tail` and `hearth patient timeline` as an outside team meets them, on the real broker: a wrong
password, no environment, a wrong prefix or a missing ACL is one clear line on stderr and a non-zero exit (never a
traceback); `--json` prints each CloudEvent with every attribute it was published with; `--help` names the
variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from hearth.contracts import Approved, Event, build_event, topic_for
from hearth.contracts.subscribers import load_subscribers
from hearth.kit import scram
from hearth.kit.acls import create_acls, delete_principal_acls, subscriber_acls
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing import leftovers
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.topics import catalog_topics, ensure_topics

HEARTH = str(Path(sys.executable).parent / "hearth")
SECURITY = ("SECURITY_PROTOCOL", "SASL_MECHANISM", "USERNAME", "PASSWORD", "CA_FILE")


def hearth(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run([HEARTH, *args], env=environment, capture_output=True, text=True, timeout=90, check=False)


def one_clear_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode != 0, run.stdout
    assert "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture(scope="module")
async def published(infra):
    """A prefix with the catalog's topics and one approved event carrying an extension attribute nobody knows."""
    prefix = f"cli-{os.getpid()}."
    leftovers.remember(infra.kafka_bootstrap, prefix)
    await ensure_topics(infra.kafka_bootstrap, catalog_topics(prefix), partitions=1)
    event = json.loads(build_event(Approved.example(), subject="pt-cli-json").to_json())
    event["xnewattribute"] = "kept"  # added on the way: --json still shows it
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options())
    await producer.start()
    try:
        await producer.send_and_wait(
            prefix + topic_for(Approved),
            json.dumps(event).encode(),
            key=b"pt-cli-json",
            headers=[("content-type", Event.CONTENT_TYPE.encode())],
        )
    finally:
        await producer.stop()
    yield prefix, event
    await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))


def test_help_names_the_environment_variables():
    for command in (["events", "tail"], ["patient", "timeline"]):
        text = hearth(*command, "--help").stdout
        for variable in (
            "HEARTH_KAFKA_BOOTSTRAP",
            "HEARTH_KAFKA_USERNAME",
            "HEARTH_KAFKA_CA_FILE",
            "HEARTH_TOPIC_PREFIX",
        ):
            assert variable in text, (command, variable)


def test_json_prints_every_attribute_of_each_cloudevent(published):
    prefix, event = published

    run = hearth("patient", "timeline", "pt-cli-json", "--json", HEARTH_TOPIC_PREFIX=prefix)

    assert run.returncode == 0, run.stderr
    assert [json.loads(line) for line in run.stdout.splitlines()] == [event]


def test_a_wrong_password_is_named(published):
    line = one_clear_line(
        hearth("patient", "timeline", "pt-x", HEARTH_TOPIC_PREFIX=published[0], HEARTH_KAFKA_PASSWORD="wrong")
    )
    assert "authentication failed" in line and os.environ["HEARTH_KAFKA_USERNAME"] in line


def test_no_security_settings_against_a_secured_broker_says_what_to_set(published):
    unset = {f"HEARTH_KAFKA_{name}": None for name in SECURITY}
    line = one_clear_line(hearth("patient", "timeline", "pt-x", HEARTH_TOPIC_PREFIX=published[0], **unset))
    assert "HEARTH_KAFKA_SECURITY_PROTOCOL" in line


def test_no_environment_at_all_names_the_default_address(published):
    unset = {f"HEARTH_KAFKA_{name}": None for name in (*SECURITY, "BOOTSTRAP")}
    run = hearth("events", "tail", HEARTH_TOPIC_PREFIX=None, **unset)
    line = one_clear_line(run)
    assert "HEARTH_KAFKA_BOOTSTRAP is not set" in line


def test_a_wrong_prefix_is_named(published):
    line = one_clear_line(hearth("patient", "timeline", "pt-x", HEARTH_TOPIC_PREFIX="no-such-env."))
    assert "no-such-env." in line and "no hearth topics" in line


async def test_a_missing_acl_names_the_topics_and_the_user(infra, published, unique_name, tmp_path):
    prefix, _ = published
    name = unique_name("t-cli")
    registry = load_subscribers(
        f'[[subscriber]]\nname = "{name}"\nteam = "t"\ncontact = "t@hearth.internal"\ndescription = "d"\n'
        'events = ["screening.approved.v1"]\n'
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, **kafka_client_options())
    await admin.start()
    try:
        await scram.set_password(admin, name, "subscriber-password-1")
        await create_acls(admin, subscriber_acls(registry[name], prefix))
        as_subscriber = {"HEARTH_KAFKA_USERNAME": name, "HEARTH_KAFKA_PASSWORD": "subscriber-password-1"}

        line = one_clear_line(hearth("patient", "timeline", "pt-cli-json", HEARTH_TOPIC_PREFIX=prefix, **as_subscriber))
        assert "not authorized" in line and name in line and f"{prefix}session.session-started.v1" in line

        mine = hearth(
            "patient", "timeline", "pt-cli-json", "--type", "approved", HEARTH_TOPIC_PREFIX=prefix, **as_subscriber
        )
        assert mine.returncode == 0, mine.stderr
        assert mine.stdout.splitlines()[-1] == "1 event(s) for pt-cli-json"
    finally:
        await delete_principal_acls(admin, f"User:{name}")
        await scram.delete_user(admin, name)
        await admin.close()
