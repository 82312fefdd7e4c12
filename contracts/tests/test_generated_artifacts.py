"""The committed schemas, AsyncAPI document and EVENTS.md are exactly what the generator produces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hearth.contracts import CATALOG, Event
from hearth.contracts.generate import ASYNCAPI, SCHEMA_DIR, artifacts, main
from hearth.contracts.subscribers import readers_of

CONTRACTS = Path(__file__).resolve().parents[1]


def test_committed_artifacts_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--check", "--out", str(CONTRACTS)])

    assert status == 0, f"run `uv run python -m hearth.contracts.generate`:\n{capsys.readouterr().err}"


def test_check_fails_on_an_edited_missing_or_stale_file(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0

    (tmp_path / "EVENTS.md").write_text("hand-written")
    assert main(["--check", "--out", str(tmp_path)]) == 1
    main(["--out", str(tmp_path)])
    (tmp_path / ASYNCAPI).unlink()
    assert main(["--check", "--out", str(tmp_path)]) == 1
    main(["--out", str(tmp_path)])
    (tmp_path / SCHEMA_DIR / "screening.gone.v1.json").write_text("{}")
    assert main(["--check", "--out", str(tmp_path)]) == 1


def test_generation_refuses_a_breaking_change_unless_allowed(tmp_path: Path) -> None:
    shutil.copytree(CONTRACTS / SCHEMA_DIR, tmp_path / SCHEMA_DIR)
    snapshot = tmp_path / SCHEMA_DIR / "screening.approved.v1.json"
    old = json.loads(snapshot.read_text())
    old["$defs"]["Approved"]["properties"]["retired_field"] = {"type": "string", "description": "gone"}
    snapshot.write_text(json.dumps(old))

    assert main(["--out", str(tmp_path)]) == 2
    assert json.loads(snapshot.read_text()) == old  # nothing written
    assert main(["--out", str(tmp_path), "--allow-breaking"]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0


def test_asyncapi_has_a_channel_message_and_example_per_topic() -> None:
    document: dict[str, Any] = json.loads(artifacts()[ASYNCAPI])

    assert document["asyncapi"] == "3.0.0"
    assert document["defaultContentType"] == Event.CONTENT_TYPE
    assert list(document["channels"]) == [spec.topic for spec in CATALOG.values()]
    for spec in CATALOG.values():
        channel = document["channels"][spec.topic]
        assert channel["address"] == "{prefix}" + spec.topic
        assert channel["parameters"]["prefix"] == {"$ref": "#/components/parameters/prefix"}
        message = document["components"]["messages"][spec.topic]
        assert message["examples"][0]["payload"]["type"] == spec.type
        payload = _resolve(document, message["payload"])
        assert payload["properties"]["type"]["const"] == spec.type
    for operation in document["operations"].values():
        assert operation["action"] in ("send", "receive")
        channel = _resolve(document, operation["channel"])
        for reference in operation["messages"]:
            assert _resolve(document, reference) in channel["messages"].values()
    assert _all_refs_resolve(document, document)


def test_asyncapi_names_the_owner_and_every_consumer() -> None:
    operations = json.loads(artifacts()[ASYNCAPI])["operations"].values()
    for spec in CATALOG.values():
        mine = [o for o in operations if o["channel"]["$ref"] == f"#/channels/{spec.topic}"]
        assert sorted((o["action"], o.get("x-service") or o["x-subscriber"]) for o in mine) == sorted(
            [("send", spec.owner), *(("receive", reader) for reader in readers_of(spec.topic))]
        )


def test_events_md_lists_every_topic_and_field() -> None:
    text = artifacts()["EVENTS.md"]

    for spec in CATALOG.values():
        assert f"## {spec.topic}" in text
        for name, field in spec.data_model.model_fields.items():
            assert f"| `{name}` |" in text
            assert str(field.description) in text


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> Any:
    target: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


def _all_refs_resolve(document: dict[str, Any], node: Any) -> bool:
    if isinstance(node, dict):
        if "$ref" in node:
            _resolve(document, node)
        return all(_all_refs_resolve(document, value) for value in node.values())
    if isinstance(node, list):
        return all(_all_refs_resolve(document, item) for item in node)
    return True


def test_asyncapi_names_the_servers_and_their_scram_security() -> None:
    document = json.loads(artifacts()[ASYNCAPI])

    assert set(document["servers"]) == {"local", "compose", "production"}
    for server in document["servers"].values():
        assert server["protocol"] == "kafka-secure"
        assert [_resolve(document, ref)["type"] for ref in server["security"]] == ["scramSha512"]
    assert document["components"]["parameters"]["prefix"]["default"] == ""
