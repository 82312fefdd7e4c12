"""Whatever arrives on a topic, parse_event returns a valid event or raises a ContractError saying why."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth.contracts import CATALOG, ContractError, Event, parse_event
from hearth.contracts.schema import example_event

SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
EXAMPLES = [json.loads(example_event(spec).to_json()) for spec in CATALOG.values()]


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_escape_as_another_error(raw: bytes) -> None:
    with contextlib.suppress(ContractError):
        parse_event(raw)


@SETTINGS
@given(st.sampled_from(EXAMPLES), st.booleans(), st.data())
def test_one_corrupted_field_is_refused_by_name_or_accepted_whole(
    example: dict[str, Any], in_data: bool, data: st.DataObject
) -> None:
    document = json.loads(json.dumps(example))
    node = document["data"] if in_data else document
    key = data.draw(st.sampled_from(sorted(node)))
    node[key] = data.draw(JSON)

    outcome: Event[Any] | ContractError
    try:
        outcome = parse_event(document)
    except ContractError as error:
        outcome = error

    if isinstance(outcome, ContractError):
        assert outcome.field is not None
        assert outcome.field.split(".")[0] in (*document, key)
    else:
        assert parse_event(outcome.to_json()) == outcome
