"""The sustained journey's rate counts what finished while patients kept arriving, not the tail after."""

from __future__ import annotations

from hearth.journey.bench import finished_per_minute
from hearth.journey.personas import cast
from hearth.journey.simulator import Record

PERSONA = cast(1, seed=1)[0]


def _record(started: float, finished: float, error: str | None = None) -> Record:
    return Record(PERSONA, started=started, finished=finished, error=error)


def test_a_stack_that_keeps_up_finishes_at_the_arrival_rate() -> None:
    # one arrival a second for 60 s, each journey 0.5 s long
    records = [_record(t, t + 0.5) for t in range(61)]
    assert abs(finished_per_minute(records) - 60.0) <= 1.0


def test_a_queue_that_builds_shows_as_a_lower_rate() -> None:
    # one arrival a second, but journeys finish only every other second: half the rate while patients arrive
    records = [_record(t, 2.0 * t + 1) for t in range(61)]
    assert finished_per_minute(records) < 35.0


def test_failed_journeys_do_not_count() -> None:
    records = [_record(t, t + 0.5, error="TimeoutError" if t % 2 else None) for t in range(61)]
    assert finished_per_minute(records) < 35.0


def test_too_few_records_give_no_rate() -> None:
    assert finished_per_minute([_record(0, 1)]) != finished_per_minute([_record(0, 1)])  # nan
