"""The compatibility check: every current schema against its committed snapshot, and the checker itself."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field

from hearth.contracts import CATALOG, EventData, EventSpec
from hearth.contracts.compat import breaking_changes, minor_problem
from hearth.contracts.generate import SCHEMA_DIR
from hearth.contracts.schema import event_schema

SCHEMAS = Path(__file__).resolve().parents[1] / SCHEMA_DIR
Schema = dict[str, Any]


def test_current_schema_is_compatible_with_the_committed_snapshot(spec: EventSpec) -> None:
    snapshot = json.loads((SCHEMAS / f"{spec.topic}.json").read_text())

    assert [str(change) for change in breaking_changes(snapshot, event_schema(spec))] == []
    assert minor_problem(snapshot, event_schema(spec)) is None


def test_every_snapshot_still_has_its_event() -> None:
    assert sorted(path.stem for path in SCHEMAS.glob("*.json")) == sorted(s.topic for s in CATALOG.values())


def _screened() -> Schema:
    return event_schema(CATALOG["org.hearth.screening.screened.v1"])


def _data(schema: Schema) -> Schema:
    return schema["$defs"]["Screened"]  # type: ignore[no-any-return]


def _remove_field(s: Schema) -> None:
    del _data(s)["properties"]["gad7_band"]
    _data(s)["required"].remove("gad7_band")


def _rename_field(s: Schema) -> None:
    _data(s)["properties"]["phq9_score"] = _data(s)["properties"].pop("phq9_total")
    _data(s)["required"] = [("phq9_score" if n == "phq9_total" else n) for n in _data(s)["required"]]


def _widen_literal(s: Schema) -> None:
    _data(s)["properties"]["phq9_band"]["enum"].append("extreme")


def _change_type(s: Schema) -> None:
    _data(s)["properties"]["phq9_total"]["type"] = "string"


def _make_nullable(s: Schema) -> None:
    prop = _data(s)["properties"]["phq9_total"]
    _data(s)["properties"]["phq9_total"] = {"anyOf": [prop, {"type": "null"}], "description": "x"}


def _new_required(s: Schema) -> None:
    _data(s)["properties"]["clinic_id"] = {"type": "string", "description": "new"}
    _data(s)["required"].append("clinic_id")


def _now_optional(s: Schema) -> None:
    _data(s)["required"].remove("safety_flag")


def _remove_enum_value(s: Schema) -> None:
    s["$defs"]["ReasonCode"]["anyOf"][0]["enum"].remove("mania_history")  # an open code list loses a known code


def _narrow_literal(s: Schema) -> None:
    _data(s)["properties"]["outcome"]["enum"].remove("needs_review")


def _tighten_maximum(s: Schema) -> None:
    _data(s)["properties"]["phq9_total"]["maximum"] = 20


def _tighten_minimum(s: Schema) -> None:
    _data(s)["properties"]["gad7_total"]["minimum"] = 1


def _add_max_items(s: Schema) -> None:
    _data(s)["properties"]["reasons"]["maxItems"] = 3


def _change_pattern(s: Schema) -> None:
    s["properties"]["subject"]["pattern"] = "^pt-[0-9]+$"


def _close_object(s: Schema) -> None:
    _data(s)["additionalProperties"] = False


def _remove_envelope_attribute(s: Schema) -> None:
    del s["properties"]["correlationid"]


def _change_const(s: Schema) -> None:
    s["properties"]["type"]["const"] = "org.hearth.screening.screened.v2"


BREAKING: list[tuple[Callable[[Schema], None], str, str]] = [
    (_remove_field, "data.gad7_band", "removed"),
    (_rename_field, "data.phq9_total", "removed"),
    (_change_type, "data.phq9_total", "type changed"),
    (_make_nullable, "data.phq9_total", "now also null"),
    (_new_required, "data.clinic_id", "new required field"),
    (_now_optional, "data.safety_flag", "no longer required"),
    (_remove_enum_value, "data.reasons[]", "mania_history"),
    (_narrow_literal, "data.outcome", "needs_review"),
    (_tighten_maximum, "data.phq9_total", "maximum tightened"),
    (_tighten_minimum, "data.gad7_total", "minimum tightened"),
    (_add_max_items, "data.reasons", "maxItems tightened"),
    (_change_pattern, "subject", "pattern changed"),
    (_close_object, "data", "closed"),
    (_remove_envelope_attribute, "correlationid", "removed"),
    (_change_const, "type", "removed"),
    (_widen_literal, "data.phq9_band", "added"),  # a closed list: a reader holding the old schema refuses it
]


@pytest.mark.parametrize(("change", "path", "words"), BREAKING, ids=[c.__name__[1:] for c, _, _ in BREAKING])
def test_a_breaking_change_is_reported(change: Callable[[Schema], None], path: str, words: str) -> None:
    old = _screened()
    new = copy.deepcopy(old)
    change(new)

    changes = breaking_changes(old, new)

    assert [c.path for c in changes if words in c.problem] == [path], [str(c) for c in changes]


def _new_optional(s: Schema) -> None:
    _data(s)["properties"]["clinic_id"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}


def _widen_enum(s: Schema) -> None:
    s["$defs"]["ReasonCode"]["anyOf"][0]["enum"].append("new_exclusion")  # an open code list


def _loosen_bounds(s: Schema) -> None:
    _data(s)["properties"]["phq9_total"]["maximum"] = 30
    del s["properties"]["source"]["minLength"]


def _reword(s: Schema) -> None:
    _data(s)["properties"]["phq9_total"]["description"] = "Reworded."
    s["examples"] = []
    s["title"] = "Renamed"


def _drop_pattern(s: Schema) -> None:
    del s["properties"]["subject"]["pattern"]


ADDITIVE = [_new_optional, _widen_enum, _loosen_bounds, _reword, _drop_pattern]


@pytest.mark.parametrize("change", ADDITIVE, ids=[c.__name__[1:] for c in ADDITIVE])
def test_an_additive_change_is_not_reported(change: Callable[[Schema], None]) -> None:
    old = _screened()
    new = copy.deepcopy(old)
    change(new)

    assert breaking_changes(old, new) == []


class _Old(EventData):
    event_type: ClassVar[str] = "org.hearth.screening.sample.v1"
    score: int = Field(ge=0, le=27, description="A score.")
    band: str = Field(description="A band.")


class _Added(_Old):
    note_code: str | None = Field(default=None, description="Added later, optional.")


class _Narrowed(EventData):
    event_type: ClassVar[str] = "org.hearth.screening.sample.v1"
    score: int = Field(ge=0, le=20, description="A score.")


def test_the_checker_reads_pydantic_models_both_ways() -> None:
    old, added, narrowed = (m.model_json_schema() for m in (_Old, _Added, _Narrowed))

    assert breaking_changes(old, added) == []
    assert sorted(str(c) for c in breaking_changes(old, narrowed)) == [
        "band: field removed (or renamed)",
        "score: maximum tightened from 27 to 20",
    ]
    assert [str(c) for c in breaking_changes(added, old)] == ["note_code: field removed (or renamed)"]
