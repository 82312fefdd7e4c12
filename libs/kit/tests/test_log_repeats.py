"""A retrying client library's identical lines are thinned to one per kind per window, with the count kept."""

from __future__ import annotations

import io
import json
import logging

from hearth.kit.log_repeats import RepeatFilter
from hearth.kit.logging import configure_logging


def _record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_one_line_per_kind_per_window_and_the_count_of_the_rest():
    now = [0.0]
    repeats = RepeatFilter(("aiokafka",), window=30.0, clock=lambda: now[0])
    template = "Unable connect to node with id %s: %s"
    passed = []
    for i in range(1000):  # 100 s of a retry every 100 ms, two nodes alternating
        now[0] = i * 0.1
        record = _record("aiokafka", template, 2 + i % 2, "refused")
        if repeats.filter(record):
            passed.append((now[0], getattr(record, "repeated", 0)))
    assert [t for t, _ in passed] == [0.0, 30.0, 60.0, 90.0]
    assert [n for _, n in passed] == [0, 299, 299, 299]
    assert repeats.filter(_record("aiokafka", "another message")), "another kind has its own window"
    assert repeats.filter(_record("aiokafka", template, 2, "x", level=logging.WARNING)), "another level too"
    assert all(repeats.filter(_record("hearth.kit.relay", "outbox_relay_retry")) for _ in range(5)), "ours pass"


def test_the_service_log_carries_the_count(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    root = logging.getLogger()
    level = root.level
    configure_logging("screening")
    try:
        for _ in range(50):
            logging.getLogger("aiokafka").error("Unable connect to node with id %s", 3)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "hearth-json"]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert [line["event"] for line in lines] == ["Unable connect to node with id 3"]
