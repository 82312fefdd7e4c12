"""A simulator run of many patients through the four services balances exactly: one order per approval, one
box-shipped per shipped box, one check-in-missed per skipped check-in, integration due or done per session."""

from __future__ import annotations

from hearth.journey.personas import cast
from hearth.journey.reconcile import reconcile
from hearth.journey.run import drive, settle
from hearth.journey.timings import Timings

TIMINGS = Timings()


async def test_simulator_run_reconciles(journey):
    people = cast(40, seed=11, check_ins=len(TIMINGS.check_in_offsets))
    async with journey(TIMINGS) as run:
        await drive(run, people, TIMINGS, arrival_seconds=10)
        await settle(run, TIMINGS)
    books = reconcile(run.records, run.counter)
    assert books.balanced, "\n".join(books.problems)
    assert books.figures["approved"] > 20 and books.figures["check-ins skipped"] > 0
    assert books.figures["integration-overdue events"] > 0
