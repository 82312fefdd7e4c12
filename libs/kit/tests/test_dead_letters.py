"""Bad records go to `<service>.dlq` with the reason and origin, never block the partition, and can be replayed."""

from __future__ import annotations

import asyncio
import json
import os

from hearth.contracts import dlq_topic, topic_for
from hearth.contracts.events.screening import Screened
from hearth.kit import dead_letters as dl
from hearth.kit.cli import main as hearth
from hearth.kit.testing.helpers import Worker, group_lag, produce, read_raw, screened_event, wait_for
from hearth.kit.topics import ensure_topics


def _malformed(good: bytes) -> dict[str, bytes]:
    event = json.loads(good)
    wrong_type = dict(event, data=dict(event["data"], phq9_total="twelve"))
    missing = dict(event, data={k: v for k, v in event["data"].items() if k != "outcome"})
    unknown = dict(event, type="org.hearth.screening.unheard-of.v1")
    return {
        "not_json": b"{this is not json",
        "wrong_type": json.dumps(wrong_type).encode(),
        "missing_field": json.dumps(missing).encode(),
        "unknown_type": json.dumps(unknown).encode(),
    }


async def test_malformed_records_are_dead_lettered_and_replayable(infra, kit_dsn, pool, unique_name, capsys):
    prefix = unique_name("dl") + "."
    topic, dlq = prefix + topic_for(Screened.event_type), prefix + dlq_topic("followup")
    group = unique_name("followup")
    await ensure_topics(infra.kafka_bootstrap, [topic, dlq], partitions=1)
    before, after = screened_event("pt-dlq-1"), screened_event("pt-dlq-1")
    bad = _malformed(before.to_json())
    records = [(topic, b"pt-dlq-1", before.to_json())]
    records += [(topic, b"pt-dlq-1", value) for value in bad.values()]
    records += [(topic, b"pt-dlq-1", after.to_json())]
    await produce(infra.kafka_bootstrap, records)

    worker = Worker(
        "consumer",
        "--dsn",
        kit_dsn,
        "--bootstrap",
        infra.kafka_bootstrap,
        "--prefix",
        prefix,
        "--group",
        group,
    ).start()
    try:
        await wait_for(lambda: _lag(infra.kafka_bootstrap, group, topic), timeout=60, what="the partition to drain")
        await wait_for(lambda: _published(pool, 4), timeout=30, what="the letters to be published")
    finally:
        worker.stop()

    applied = {r["event_id"] for r in await pool.fetch("SELECT event_id::text FROM test_effects")}
    assert applied == {str(before.id), str(after.id)}, "the records after the poison ones were not processed"
    letters = await read_raw(infra.kafka_bootstrap, dlq, expect=4)
    assert len(letters) == 4
    for letter, (expected_kind, value) in zip(letters, bad.items(), strict=True):
        headers = {k: v.decode() for k, v in letter.headers}
        assert letter.value == value and letter.key == b"pt-dlq-1", "the original record was not preserved"
        assert headers[dl.ORIGIN_TOPIC] == topic and headers[dl.ORIGIN_PARTITION] == "0"
        assert headers[dl.REASON] == "contract", expected_kind
        assert headers[dl.ERROR]
    offsets = [int({k: v.decode() for k, v in r.headers}[dl.ORIGIN_OFFSET]) for r in letters]
    assert offsets == [1, 2, 3, 4]

    ids = [int(dict(letter.headers)[dl.LETTER_ID]) for letter in letters]
    stored = await pool.fetch("SELECT id, origin_offset, published_at FROM hearth_dead_letters ORDER BY id")
    assert [(r["id"], r["origin_offset"]) for r in stored] == list(zip(ids, offsets, strict=True))
    assert all(r["published_at"] is not None for r in stored)

    os.environ["HEARTH_KAFKA_BOOTSTRAP"] = infra.kafka_bootstrap
    os.environ["HEARTH_TOPIC_PREFIX"] = prefix
    try:
        await asyncio.to_thread(_run_cli, ["dlq", "list", "followup"])
        out = capsys.readouterr().out
        assert "4 dead letter(s)" in out and f"letter {ids[0]}" in out
    finally:
        del os.environ["HEARTH_TOPIC_PREFIX"]


def _run_cli(argv: list[str]) -> None:
    try:
        hearth(argv)
    except SystemExit as exit_:
        assert exit_.code in (0, None)


async def _published(pool, n: int) -> bool:
    return await pool.fetchval("SELECT count(*) FROM hearth_dead_letters WHERE published_at IS NOT NULL") == n


async def _lag(bootstrap: str, group: str, topic: str) -> bool:
    return await group_lag(bootstrap, group, [topic]) == 0
