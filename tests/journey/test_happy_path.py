"""One patient's whole happy path, through the four services as processes, produces exactly the expected
events, each once, in the order the journey takes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from unittest import mock

from hearth.contracts import CATALOG
from hearth.journey.personas import Persona
from hearth.journey.run import drive, settle
from hearth.journey.timings import Timings
from hearth.kit.cli import main as hearth

TIMINGS = Timings(dose_review_after=3600)  # the dose review is weeks away: not part of this path

EXPECTED = [
    "screened",
    "approved",
    "box-shipped",
    "box-delivered",
    "session-started",
    "session-completed",
    "integration-completed",
]


async def test_one_patient_happy_path_emits_exactly_the_journey(journey):
    patient = Persona(
        patient_id="pt-happy-0001",
        kind="foundation",
        state="CO",
        exclusion=None,
        sessions=1,
        skipped_check_ins=(),
        skips_integration=False,
        starting_dose_mg=150,
    )
    async with journey(TIMINGS) as run:
        await drive(run, [patient], TIMINGS, arrival_seconds=0)
        await settle(run, TIMINGS)
        # What operations see of the same patient: `hearth patient timeline` reads every topic of the run (before
        # the run ends: it deletes its topics).
        timeline = await asyncio.to_thread(_timeline, run.stack.prefix, patient.patient_id)
    [record] = run.records
    assert record.error is None, record.error
    events = sorted(run.counter.by_patient[patient.patient_id], key=lambda e: e.time)
    assert [CATALOG[e.type].name for e in events] == EXPECTED
    assert len({e.correlationid for e in events[1:]}) >= 1
    approved = events[1].data
    assert approved.plan == "foundation" and approved.starting_dose_mg == 150
    shipped = events[2].data
    assert shipped.approval_id == approved.approval_id and shipped.signature_required is True
    started = events[4].data
    assert started.approval_id == approved.approval_id and started.session_number == 1 and started.dose_finding
    assert events[5].data.session_id == started.session_id == events[6].data.session_id
    assert run.counter.duplicates == 0 and run.counter.unreadable == 0
    assert [line.split()[2] for line in timeline[:-1]] == [e.type for e in events]
    assert timeline[-1] == f"{len(EXPECTED)} event(s) for {patient.patient_id}"


def _timeline(prefix: str, patient_id: str) -> list[str]:
    out = io.StringIO()
    with mock.patch.dict(os.environ, {"HEARTH_TOPIC_PREFIX": prefix}), contextlib.redirect_stdout(out):
        try:
            hearth(["patient", "timeline", patient_id])
        except SystemExit as exit_:
            assert exit_.code in (0, None)
    return out.getvalue().strip().splitlines()
