"""Hostile Kafka records for the hostile-input suite (`tests/hostile/`), drawn by hypothesis, each with what
every consuming service must make of it.

A record is what an attacker with write access to the broker can put on a topic: any bytes, any headers, any
size up to the broker's limit, a valid event of another type or from another source, an event id again with
other bytes.  Each carries its expectation per consuming service: `applied` (a valid event, first seen),
`duplicate` (the same bytes again: no effect, no letter) or the dead-letter reason.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hearth.contracts import CATALOG, Event, build_event, spec_for

PREFIX_FREE_TOPICS = sorted({spec.topic for spec in CATALOG.values() if spec.consumers})
CONSUMERS = {spec.topic: spec.consumers for spec in CATALOG.values() if spec.consumers}
TYPE_OF_TOPIC = {spec.topic: spec.type for spec in CATALOG.values()}
BROKER_LIMIT = 1_040_000  # value bytes: under the broker's default message.max.bytes (1,048,588) with headers

KINDS = (
    "random_bytes",
    "bad_utf8",
    "truncated",
    "deep_nesting",
    "deep_in_data",
    "huge",
    "hostile_headers",
    "bad_header_key",
    "content_type_lie",
    "wrong_topic",
    "wrong_source",
    "conflicting_duplicate",
    "redelivery",
    "redelivery_with_new_time",
)


class RawKey(str):
    """A header key that encodes to bytes that are not UTF-8 (with the pure-Python batch writer, which calls
    `encode`): what a client writing raw bytes can put on the wire."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"\xff\xfe" + str(self).encode(encoding, errors)


@dataclass
class Planned:
    kind: str
    topic: str  # without the run's prefix
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    expect: str = "applied"  # per consuming service: applied | duplicate | <dead-letter reason>
    event_id: str | None = None  # for applied and duplicate

    @property
    def consumers(self) -> tuple[str, ...]:
        return CONSUMERS[self.topic]


def valid_event(topic: str, subject: str) -> Event[Any]:
    spec = spec_for(TYPE_OF_TOPIC[topic])
    return build_event(spec.data_model.example(), subject=subject)


def _record(event: Event[Any], topic: str | None = None) -> Planned:
    return Planned(
        "valid",
        topic or spec_for(event).topic,
        event.partitionkey.encode(),
        event.to_json(),
        [("content-type", b"application/cloudevents+json")],
        event_id=str(event.id),
    )


@dataclass(frozen=True)
class Draft:
    """What hypothesis draws for one hostile record; `realise` turns it into bytes (outside hypothesis, since
    duplicates and conflicts depend on the valid events before it)."""

    kind: str
    topic: str
    other_topic: str
    key: bytes | None
    seed: int
    blob: bytes
    depth: int
    size: int
    headers: tuple[tuple[str, bytes | None], ...]
    content_type: bytes
    body: bytes


drafts = st.builds(
    Draft,
    kind=st.sampled_from(KINDS),
    topic=st.sampled_from(PREFIX_FREE_TOPICS),
    other_topic=st.sampled_from(sorted(TYPE_OF_TOPIC)),
    key=st.one_of(st.none(), st.binary(max_size=40)),
    seed=st.integers(0, 2**32),
    blob=st.binary(max_size=300),
    depth=st.integers(1_100, 50_000),
    size=st.sampled_from([65_536, 300_000, BROKER_LIMIT]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(["content-type", "ce_id", "x", "traceparent", "hearth-dlq-origin-topic"]),
            st.one_of(st.none(), st.binary(max_size=30), st.just(b"\xff\xfe")),
        ),
        max_size=6,
    ).map(tuple),
    content_type=st.sampled_from([b"application/json", b"text/plain", b"application/cloudevents+json", b""]),
    body=st.sampled_from([b"\xff\xfe\xfd", b"not json at all", b"{", b"[1, 2"]),
)


def realise(d: Draft, valid: list[Planned]) -> Planned:
    """The record a draft stands for; valid events it creates are added to `valid`."""
    topic, key, kind = d.topic, d.key, d.kind
    rng = random.Random(d.seed)
    base = valid_event(topic, f"pt-hostile-{rng.randrange(10**9)}")
    if kind == "random_bytes":
        return Planned(kind, topic, key, d.blob, expect="contract")
    if kind == "bad_utf8":
        spoiled = bytearray(base.to_json())
        spoiled[rng.randrange(len(spoiled))] = rng.choice([0xFF, 0xFE, 0xC0, 0x80])
        return Planned(kind, topic, key, bytes(spoiled), expect="contract")
    if kind == "truncated":
        whole = base.to_json()
        return Planned(kind, topic, key, whole[: rng.randrange(1, len(whole) - 1)], expect="contract")
    if kind == "deep_nesting":
        opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        return Planned(kind, topic, key, opener * d.depth + b"1" + closer * d.depth, expect="contract")
    if kind == "deep_in_data":
        depth = min(d.depth, 20_000)
        doc = base.to_json().decode()
        nested = doc[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
        return Planned(kind, topic, base.partitionkey.encode(), nested.encode(), expect="contract")
    if kind == "huge":
        value = b'{"specversion": "1.0", "type": "' + b"x" * d.size + b'"}'
        return Planned(kind, topic, key, value[:BROKER_LIMIT], expect="contract")
    if kind == "hostile_headers":
        planned = _record(base, topic)
        planned.kind, planned.headers = kind, list(d.headers)
        valid.append(planned)
        return planned
    if kind == "bad_header_key":
        # A header key that is not UTF-8: Kafka's Python client cannot unpack its batch at all.
        return Planned(kind, topic, key, base.to_json(), [(RawKey(f"x-{d.seed % 100}"), b"1")], expect="contract")
    if kind == "content_type_lie":
        return Planned(kind, topic, key, d.body, [("content-type", d.content_type)], expect="contract")
    if kind == "wrong_topic":
        other = d.other_topic if d.other_topic != topic else next(t for t in TYPE_OF_TOPIC if t != topic)
        event = valid_event(other, base.subject)
        return Planned(kind, topic, base.partitionkey.encode(), event.to_json(), expect="wrong_topic")
    if kind == "wrong_source":
        doc = json.loads(base.to_json())
        owner = spec_for(base).owner
        doc["source"] = rng.choice([f"/hearth/{s}" for s in CONSUMERS[topic] if s != owner] + ["/evil"])
        return Planned(kind, topic, base.partitionkey.encode(), json.dumps(doc).encode(), expect="wrong_source")
    # The last two copy an earlier valid event of the same topic and key, so they land behind it.
    earlier = [p for p in valid if p.topic == topic]
    if not earlier:
        planned = _record(base)
        valid.append(planned)
        return planned
    original = earlier[rng.randrange(len(earlier))]
    if kind == "redelivery":
        return Planned(kind, topic, original.key, original.value, expect="duplicate", event_id=original.event_id)
    if kind == "redelivery_with_new_time":
        doc = json.loads(original.value or b"{}")
        doc["time"] = (_parse_time(doc["time"]) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        return Planned(
            kind, topic, original.key, json.dumps(doc).encode(), expect="duplicate", event_id=original.event_id
        )
    # Same id, same key (so the same partition, behind the original), another payload: the subject differs.
    # (A copy whose `time` alone differs is a re-emission, not a conflict: see redelivery_with_new_time.)
    doc = json.loads(original.value or b"{}")
    doc["subject"] = doc["partitionkey"] = doc["subject"] + "-forged"
    return Planned(kind, topic, original.key, json.dumps(doc).encode(), expect="conflicting_duplicate")


def _parse_time(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def plan(hostile_count: int, *, valid_every: int = 5, max_huge: int | None = None) -> list[Planned]:
    """Valid events with hostile records between them, in produce order: `hostile_count` hostile records, of
    which at most `max_huge` (when given) are larger than 64 KiB."""
    drawn: list[Draft] = []
    examples = max(1, -(-hostile_count // 20))

    @settings(
        max_examples=examples * 2,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(drafts, min_size=20, max_size=20))
    def draw(batch: list[Draft]) -> None:
        drawn.extend(batch)

    draw()
    valid: list[Planned] = []
    out: list[Planned] = []
    rng = random.Random(hostile_count)
    huge = 0
    for i, d in enumerate(drawn[:hostile_count]):
        if d.kind == "huge" and d.size > 65_536:
            huge += 1
            if max_huge is not None and huge > max_huge:
                d = dataclasses.replace(d, size=65_536)
        if i % valid_every == 0:
            planned = _record(valid_event(rng.choice(PREFIX_FREE_TOPICS), f"pt-valid-{i}"))
            valid.append(planned)
            out.append(planned)
        out.append(realise(d, valid))
    if len(drawn) < hostile_count:
        raise RuntimeError(f"hypothesis drew {len(drawn)} records, fewer than {hostile_count}")
    return out
