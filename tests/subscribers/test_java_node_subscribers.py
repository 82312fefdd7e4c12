"""The Java (kafka-clients + CloudEvents Java SDK) and Node (kafkajs + cloudevents) examples of docs/subscribing.md
consume, as a registered subscriber on the real local broker, one event of every type and check each of them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hearth.contracts import CATALOG
from hearth.kit.testing import leftovers
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.subscribers import exported, hearth, publish_every_example, registry_entry
from hearth.kit.topics import catalog_topics, ensure_topics

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples/subscribers"
TOPICS = [spec.topic for spec in CATALOG.values()]


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed for the subscriber examples (.ci/run installs it)", pytrace=False)
    return found


@pytest.fixture(scope="module")
async def stream(infra, tmp_path_factory):
    """A subscriber registered for every event type, and one example of each type published on its topic."""
    prefix, name = f"subx-{os.getpid()}.", f"t-examples-{os.getpid()}"
    registry = tmp_path_factory.mktemp("registry") / "subscribers.toml"
    registry.write_text(registry_entry(name, TOPICS))
    leftovers.remember(infra.kafka_bootstrap, prefix)
    await ensure_topics(infra.kafka_bootstrap, catalog_topics(prefix), partitions=2)
    events = await publish_every_example(infra.kafka_bootstrap, prefix, "pt-examples-1")
    added = hearth("subscribers", "add", name, "--registry", str(registry), prefix=prefix)
    assert added.returncode == 0, added.stderr
    try:
        yield exported(added.stdout), {(str(e.id), e.type) for e in events}
    finally:
        hearth("subscribers", "remove", name, prefix=prefix)
        await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))


def run_example(command: list[str], settings: dict[str, str], group: str, cwd: Path) -> set[tuple[str, str]]:
    group_id = settings["HEARTH_GROUP_ID"].rpartition(".")[0] + "." + group  # inside the prefix
    env = {"PATH": os.environ["PATH"], **settings, "HEARTH_GROUP_ID": group_id}
    run = subprocess.run(
        [*command, *TOPICS], env={**env, "HEARTH_IDLE_SECONDS": "3"}, cwd=cwd,
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == len({line["id"] for line in lines}), "an event was handled twice"
    assert all(line["minor"] == CATALOG[line["type"]].minor for line in lines)
    return {(line["id"], line["type"]) for line in lines}


def test_the_java_example_reads_and_checks_every_event(stream, tmp_path):
    settings, expected = stream
    lib = tmp_path / "lib"
    mvn = subprocess.run(
        [tool("mvn"), "-q", "-B", f"-Dmaven.repo.local={ROOT / '.state/kafka-lib/m2'}",
         "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
        cwd=EXAMPLES / "java", capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert mvn.returncode == 0, mvn.stdout[-2000:] + mvn.stderr[-2000:]

    seen = run_example([tool("java"), "-cp", f"{lib}/*", "Subscriber.java"], settings, "java", EXAMPLES / "java")

    assert seen == expected


def test_the_node_example_reads_and_checks_every_event(stream):
    settings, expected = stream
    npm = subprocess.run(
        [tool("npm"), "ci", "--no-audit", "--no-fund", "--silent"],
        cwd=EXAMPLES / "node", capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert npm.returncode == 0, npm.stderr[-2000:]

    seen = run_example([tool("node"), "subscriber.js"], settings, "node", EXAMPLES / "node")

    assert seen == expected
