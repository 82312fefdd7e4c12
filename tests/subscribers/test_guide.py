"""docs/subscribing.md stays true to the code: every `hearth` command it shows is one the CLI takes, every file it
names exists, every client version it states is the one the examples pin, and the retention it states is the
catalog's."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from hearth.contracts.retention import SIGNAL, STATE
from hearth.kit.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs/subscribing.md").read_text()


def commands() -> list[list[str]]:
    """The arguments of every `hearth` command the guide shows, in shell blocks and inline."""
    lines = [line for block in re.findall(r"```sh\n(.*?)```", GUIDE, flags=re.DOTALL) for line in block.splitlines()]
    found = []
    for line in lines:
        command = line.split("  #")[0].split(" > ")[0]  # no comment, no redirection
        if match := re.search(r"(?:^|run |--entrypoint )hearth (.*)", command):
            words = shlex.split(match[1])
            found.append(words[1:] if "--entrypoint hearth" in command else words)  # compose: the service name
    inline = re.findall(r"`hearth ([^`]+)`", GUIDE)
    found += [shlex.split(c) for c in inline if not any(mark in c for mark in "…<|")]
    return found


@pytest.mark.parametrize("argv", commands(), ids=" ".join)
def test_every_hearth_command_of_the_guide_is_accepted(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.run)


def test_the_guide_shows_the_commands_a_team_needs() -> None:
    shown = {" ".join(argv[:2]) for argv in commands()}
    assert {"subscribers add", "subscribers credentials", "subscribers rewind", "subscribers remove"} <= shown


def test_every_file_the_guide_names_exists() -> None:
    named = set(re.findall(r"(?:examples|contracts|deploy|docs)/[A-Za-z0-9_./-]+[A-Za-z0-9_]", GUIDE))
    assert named
    assert [path for path in sorted(named) if not (ROOT / path).exists()] == []


def test_client_versions_are_the_ones_the_examples_pin() -> None:
    node = json.loads((ROOT / "examples/subscribers/node/package.json").read_text())["dependencies"]
    java = (ROOT / "examples/subscribers/java/pom.xml").read_text()
    assert f"| kafkajs (Node) | {node['kafkajs']} |" in GUIDE and f"`cloudevents` {node['cloudevents']}" in GUIDE
    kafka_clients = re.search(r"<artifactId>kafka-clients</artifactId>\s*<version>([^<]+)", java)
    assert kafka_clients and f"| {kafka_clients[1]} with CloudEvents Java SDK" in GUIDE
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    aiokafka = next(p["version"] for p in lock["package"] if p["name"] == "aiokafka")
    assert f"| {aiokafka}, `examples/subscribers/python` |" in GUIDE
    assert "librdkafka" in GUIDE and "2.6.1" in GUIDE


def test_the_retention_the_guide_states_is_the_catalogs() -> None:
    assert f"**{STATE.days} days** for the facts" in GUIDE and f"**{SIGNAL.days} days** for deadline signals" in GUIDE
