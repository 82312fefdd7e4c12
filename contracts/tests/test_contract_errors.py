"""Invalid input is refused with a ContractError that names the field."""

from __future__ import annotations

import json
import pickle
from datetime import datetime
from typing import Any

import pytest

from hearth.contracts import ContractError, Screened, build_event, parse_event, spec_for
from hearth.contracts.schema import example_event

_MISSING = object()


def _broken(path: str, value: Any) -> dict[str, Any]:
    """The Screened example with the field at the dotted ``path`` replaced by ``value`` (or removed)."""
    document: dict[str, Any] = json.loads(example_event(spec_for(Screened)).to_json())
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[part]
    if value is _MISSING:
        del node[last]
    else:
        node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("data.phq9_total", "12", "valid integer"),  # wrong type, even if it looks like a number
        ("data.phq9_total", 12.0, "valid integer"),
        ("data.safety_flag", 1, "valid boolean"),
        ("data.phq9_total", 30, "less than or equal to 27"),  # out-of-range score
        ("data.phq9_total", _MISSING, "required"),  # missing field
        ("data.outcome", "maybe", "eligible"),
        ("time", "yesterday", "RFC 3339"),  # bad time
        ("time", "2026-11-20T15:00:00", "RFC 3339"),  # naive time
        ("time", 1_790_000_000, "RFC 3339"),  # a Unix timestamp is not RFC 3339
        ("time", "2026-11-20", "RFC 3339"),
        ("id", "not-a-uuid", "UUID"),
        ("subject", "jane@example.com", "pattern"),
        ("specversion", "0.3", "1.0"),
        ("source", "", "at least 1"),
        ("traceparent", "nonsense", "pattern"),
        ("datacontenttype", "text/plain", "application/json"),
        ("correlationid", _MISSING, "required"),
        ("data", _MISSING, "required"),
    ],
)
def test_invalid_field_is_named(path: str, value: Any, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(_broken(path, value))

    assert caught.value.field == path
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}: ")


def test_an_unknown_event_type_is_named() -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(_broken("type", "org.hearth.screening.screened.v9"))

    assert caught.value.field == "type"
    assert "unknown event type" in str(caught.value)


@pytest.mark.parametrize("value", [_MISSING, 42])
def test_a_missing_or_malformed_type_is_named(value: Any) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(_broken("type", value))

    assert caught.value.field == "type"


@pytest.mark.parametrize("raw", [b"\x00\xff not json", b"", "{", b'{"type": '])
def test_non_json_input_is_a_contract_error(raw: bytes | str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(raw)

    assert caught.value.field is None
    assert "not JSON" in caught.value.reason


@pytest.mark.parametrize("raw", [b"[]", b'"screened"', b"null", b"3"])
def test_json_that_is_not_an_object_is_a_contract_error(raw: bytes) -> None:
    with pytest.raises(ContractError, match="JSON object"):
        parse_event(raw)


def test_every_problem_is_listed_and_the_error_is_a_value_error() -> None:
    document = _broken("data.phq9_total", 99)
    document["data"]["gad7_total"] = -3

    with pytest.raises(ValueError, match=r"data\.phq9_total") as caught:
        parse_event(document)

    error = caught.value
    assert isinstance(error, ContractError)
    assert [line.split(":")[0] for line in error.problems] == ["data.phq9_total", "data.gad7_total"]
    assert "and 1 more" in str(error)


def test_producers_get_the_same_error() -> None:
    with pytest.raises(ContractError) as caught:
        Screened(**{**Screened.example().model_dump(), "phq9_total": 28})
    assert caught.value.field == "phq9_total"

    with pytest.raises(ContractError) as caught:
        build_event(Screened.example(), subject="pt-123", time=datetime(2026, 11, 20, 15, 0))  # naive
    assert caught.value.field == "time"


def test_the_error_survives_pickling() -> None:
    error = ContractError("data.phq9_total", "too high", problems=("data.phq9_total: too high", "time: naive"))

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.field, copy.reason, copy.problems, str(copy)) == (
        error.field,
        error.reason,
        error.problems,
        str(error),
    )
