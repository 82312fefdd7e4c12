"""The JSON log lines: fields on every line, and no planted personal data on any line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from pydantic import BaseModel

from hearth.kit.logging import (
    REDACTED,
    bind_context,
    configure_logging,
    get_logger,
    redact_text,
    redact_values,
)

NAME = "Jane Q. Doe"
STREET = "1234 Elm Street"
ADDRESS = f"{STREET}, Springfield, IL 62704"
PHONE = "(555) 867-5309"
EMAIL = "jane.doe@example.org"
BIRTH_DATE = "1984-03-02"
PLANTED = (NAME, "Jane", "Elm Street", "Springfield", "62704", "867-5309", "5309", EMAIL, "1984", "03/02")
EVENT_ID = "6f1c1c1e-4c4f-4d7e-9d55-0c6f0b7f5a10"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """These tests reconfigure logging (some at DEBUG); later tests in the session get it back as it was."""
    root = logging.getLogger()
    level, handlers, config = root.level, list(root.handlers), structlog.get_config()
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    structlog.configure(**config)


@pytest.fixture
def lines(capsys: pytest.CaptureFixture[str]) -> Lines:
    configure_logging("fulfillment", level="DEBUG")
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    return read


def assert_clean(output: list[dict[str, Any]]) -> None:
    # The clock's digits are not planted data (a timestamp like 12:00:00.562704 once matched "62704").
    text = json.dumps([{k: v for k, v in line.items() if k != "timestamp"} for line in output])
    leaked = [planted for planted in PLANTED if planted in text]
    assert not leaked, f"{leaked} leaked into {text}"


def test_planted_personal_data_never_reaches_a_line(lines: Lines) -> None:
    log = get_logger("hearth.fulfillment.handlers")
    with bind_context(event_id=EVENT_ID, correlation_id="journey-7", trace_id=TRACE_ID):
        log.info(f"label printed for {NAME}", recipient_name=NAME, box_number=2)
        log.info(
            "shipping details received",
            shipping_address={"line1": STREET, "city": "Springfield", "postal_code": "62704"},
            phone=PHONE,
            email=EMAIL,
            date_of_birth=BIRTH_DATE,
        )
        log.warning(f"patient wrote: call me at {PHONE} or {EMAIL}, I was born {BIRTH_DATE}, I live at {ADDRESS}")
        try:
            raise ValueError(f"carrier refused {{'recipient_name': '{NAME}', 'phone': '{PHONE}'}} at {ADDRESS}")
        except ValueError:
            log.exception("shipment failed")
        with redact_values(NAME, STREET):
            try:
                raise RuntimeError(f"no courier for {NAME} on 03/02/1984 at {STREET}")
            except RuntimeError:
                log.exception("courier lookup failed")

    output = lines()
    assert len(output) == 5
    assert_clean(output)
    assert output[0]["event"] == f"label printed for {REDACTED}"
    assert output[0]["box_number"] == 2
    assert output[3]["exception"].startswith("Traceback")
    assert "ValueError" in output[3]["exception"]
    for line in output:
        assert line["service"] == "fulfillment"
        assert line["event_id"] == EVENT_ID
        assert line["correlation_id"] == "journey-7"
        assert line["trace_id"] == TRACE_ID
        assert line["timestamp"].endswith("Z")


def test_standard_library_records_get_the_same_fields_and_scrubbing(lines: Lines) -> None:
    with bind_context(event_id=EVENT_ID):
        logging.getLogger("uvicorn.error").warning("client %s sent %s", "203.0.113.7:5123", EMAIL)
        try:
            raise KeyError(f"phone={PHONE}")
        except KeyError:
            logging.getLogger("aiokafka").error("handler crashed", exc_info=True)

    first, second = lines()
    assert (first["logger"], first["level"]) == ("uvicorn.error", "warning")
    assert first["event"] == f"client {REDACTED}:5123 sent {REDACTED}"
    assert (second["event_id"], second["service"]) == (EVENT_ID, "fulfillment")
    assert "KeyError" in second["exception"]
    assert_clean([first, second])


def test_our_own_timestamps_and_ids_survive(lines: Lines) -> None:
    traceparent = f"00-{TRACE_ID}-b7ad6b7169203331-01"
    get_logger("t").info(
        "timer scheduled",
        due_at="2026-12-01T10:00:00+00:00",
        time="2026-11-28T09:00:00Z",
        scheduled_date="2026-12-01",
        timer_id=EVENT_ID,
        traceparent=traceparent,
        topic="fulfillment.box_shipped.v1",
        attempts=3,
    )
    get_logger("t").info("report for 2026-12-01, due 2026-12-01 10:00:00+00:00")

    line, free_text = lines()
    assert line["due_at"] == "2026-12-01T10:00:00+00:00"
    assert line["time"] == "2026-11-28T09:00:00Z"
    assert line["scheduled_date"] == "2026-12-01"
    assert (line["timer_id"], line["traceparent"]) == (EVENT_ID, traceparent)
    assert (line["topic"], line["attempts"]) == ("fulfillment.box_shipped.v1", 3)
    assert free_text["event"] == f"report for {REDACTED}, due 2026-12-01 10:00:00+00:00"


class ShippingAddress(BaseModel):
    recipient: str
    line1: str


def test_nested_values_and_objects_are_scrubbed_by_key(lines: Lines) -> None:
    get_logger("t").info(
        "batch",
        boxes=[{"box_number": 1, "shipTo": {"fullName": NAME}}, {"box_number": 2, "Phone_Number": PHONE}],
        address=ShippingAddress(recipient=NAME, line1=STREET),
        auth_header="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        jwt_secret="s3cret-value",
    )

    (line,) = lines()
    assert line["boxes"] == [
        {"box_number": 1, "shipTo": {"fullName": REDACTED}},
        {"box_number": 2, "Phone_Number": REDACTED},
    ]
    assert line["address"] == REDACTED
    assert line["auth_header"] == REDACTED
    assert line["jwt_secret"] == REDACTED
    assert_clean([line])


def test_bind_context_restores_what_was_bound(lines: Lines) -> None:
    log = get_logger("t")
    with bind_context(event_id="outer"):
        with bind_context(event_id="inner", request_id="r-1"):
            log.info("inside")
        log.info("after")
    log.info("outside")

    inside, after, outside = lines()
    assert (inside["event_id"], inside["request_id"]) == ("inner", "r-1")
    assert after["event_id"] == "outer"
    assert "request_id" not in after
    assert "event_id" not in outside


def test_each_event_is_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("session")
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        get_logger("t").exception("failed")

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out)["level"] == "error"


def test_level_filters_structlog_and_stdlib(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("session", level="warning")
    get_logger("t").info("quiet")
    logging.getLogger("aiokafka").info("quiet")
    get_logger("t").warning("loud")

    assert [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()] == ["loud"]


def test_console_rendering_is_scrubbed_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("session", json=False)
    get_logger("t").info(f"call {PHONE}", email=EMAIL)

    out = capsys.readouterr().out
    assert "call" in out
    assert "867-5309" not in out
    assert EMAIL not in out


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError(NAME)


def test_a_line_that_cannot_be_scrubbed_is_withheld(lines: Lines) -> None:
    get_logger("t").info(f"about {NAME}", recipient_name=NAME, thing=Unprintable())

    (line,) = lines()
    assert line == {"event": "log line withheld: scrubbing failed", "level": "info"}


@pytest.mark.parametrize(
    "text",
    [
        "555-867-5309",
        "+1 555 867 5309",
        "5558675309",
        "+44 20 7946 0958",
        "jane_doe+tag@mail.example.co.uk",
        "1984-03-02",
        "3/2/1984",
        "March 2, 1984",
        "2 Mar 1984",
        "42 Wallaby Way",
        "PO Box 1234",
        "Suite 210",
        "123-45-6789",
        "Mrs. Jane Doe",
        "198.51.100.23",
    ],
)
def test_patterns_in_free_text_are_redacted(text: str) -> None:
    redacted = redact_text(f"before {text}, after")
    assert redacted == f"before {REDACTED}, after" or redacted.endswith(f": {REDACTED}, after")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token=abc.def.ghi, next", f"token={REDACTED}, next"),
        ("password: hunter2 and more; next", f"password: {REDACTED}; next"),
        (
            "[type=int_parsing, input_value='555 867 5309', input_type=str]",
            f"[type=int_parsing, input_value={REDACTED}, input_type={REDACTED}]",
        ),
        (
            """{"recipient_name": "Jane Q. Doe", "box": 2}""",
            f"""{{"recipient_name": {REDACTED}, "box": 2}}""",
        ),
        ("Address(line1='1 Elm St', zip=62704)", f"Address(line1={REDACTED}, zip={REDACTED})"),
    ],
)
def test_key_value_pairs_in_free_text_keep_the_key(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "retrying in 5 s, 3 attempts left",
        "processed 100 records in 2 ms",
        "offset 1234 on partition 7 of screening.approved.v1",
        "6f1c1c1e-4c4f-4d7e-9d55-0c6f0b7f5a10",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "due at 2026-12-01T10:00:00Z",
        "faststream 0.7.8",
        "HTTP/1.1 409 Conflict",
    ],
)
def test_operational_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text
