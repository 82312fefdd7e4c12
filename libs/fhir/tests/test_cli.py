"""`hearth fhir bundle` and `hearth fhir export` on real Kafka: the events of the example journeys on their topics
(under a prefix of their own), plus records a consuming service would refuse, which are left out."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from hearth.contracts import Approved, build_event, spec_for
from hearth.fhir import journey
from hearth.fhir.examples import JOURNEYS, START, all_events
from hearth.fhir.source import topics
from hearth.kit.cli import main as hearth
from hearth.kit.testing.helpers import produce

pytestmark = pytest.mark.infra


def _cli(prefix: str, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, {"HEARTH_TOPIC_PREFIX": prefix}),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            hearth(argv)
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def _by_key(resources: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["resourceType"], r["id"]): r for r in resources}


async def test_bundle_and_export_from_the_events_on_kafka(kafka_topics, unique_name, tmp_path: Path):
    prefix = unique_name("fhir") + "."
    events = all_events()
    await kafka_topics(*sorted({*topics(prefix), *(prefix + spec_for(e.type).topic for e in events)}), partitions=2)
    records = [(prefix + spec_for(e.type).topic, e.subject.encode(), e.to_json()) for e in events]
    records.append(records[3])  # a copy the relay re-sent
    forged = build_event(Approved.example(), subject="pt-ex-foundation", source="/hearth/session", time=START)
    records.append((prefix + spec_for(forged.type).topic, b"pt-ex-foundation", forged.to_json()))
    records.append((prefix + spec_for(forged.type).topic, b"pt-ex-foundation", b"{not json"))
    await produce(os.environ["HEARTH_KAFKA_BOOTSTRAP"], records)

    code, out, err = await asyncio.to_thread(_cli, prefix, ["fhir", "bundle", "pt-ex-foundation"])
    assert code == 0, err
    found = json.loads(out)
    assert found["resourceType"] == "Bundle" and found["type"] == "collection"
    expected = _by_key(journey(JOURNEYS["foundation"]()))
    assert _by_key([entry["resource"] for entry in found["entry"]]) == expected
    assert "left out 1 record(s): unreadable" in err and "left out 1 record(s): wrong_source" in err

    code, _, err = await asyncio.to_thread(_cli, prefix, ["fhir", "bundle", "pt-nobody"])
    assert code == 1 and "no events for pt-nobody" in err
    code, _, err = await asyncio.to_thread(_cli, unique_name("none") + ".", ["fhir", "bundle", "pt-ex-foundation"])
    assert code == 1 and "no hearth topics with prefix" in err, "reading no topics is not an empty journey"

    since = START + timedelta(days=29)
    out_dir = tmp_path / "export"
    argv = ["fhir", "export", "--since", since.isoformat(), "--out", str(out_dir)]
    code, out, err = await asyncio.to_thread(_cli, prefix, argv)
    assert code == 0, err
    manifest = json.loads((out_dir / "manifest.json").read_text())
    exported = [
        json.loads(line) for item in manifest["output"] for line in (out_dir / item["url"]).read_text().splitlines()
    ]
    assert sum(item["count"] for item in manifest["output"]) == len(exported)
    recent = [r for r in journey(events) if r["meta"]["lastUpdated"] >= since.isoformat().replace("+00:00", "Z")]
    assert _by_key(exported) == _by_key(recent) and recent, "export --since is not the resources changed since"
    assert {item["type"] for item in manifest["output"]} == {r["resourceType"] for r in recent}
    assert f"{len(exported)} resource(s)" in out
