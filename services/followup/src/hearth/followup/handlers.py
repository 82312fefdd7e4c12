"""What happens when an event arrives or a timer fires: one short function each (load → domain → save → emit).

HTTP commands are in commands.py; the tables that route to these are in subscriptions.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from hearth.contracts import (
    AdverseEventReported,
    CheckInMissed,
    Event,
    Screened,
    SessionCompleted,
    SessionStarted,
)
from hearth.kit.event_handlers import batched
from hearth.kit.tx import Tx

from . import store, store_items
from .domain import integration, items, patients
from .domain.integration import WindowPolicy
from .domain.mood import Baseline
from .timers import DoseReviewDeadline, IntegrationWindowCloses, IntegrationWindowOpens


async def _on_screened(items: Sequence[tuple[Event[Screened], Tx]]) -> None:
    # A run of screenings (a backlog read at once): every patient locked and saved by one statement each; two
    # screenings of one patient in the run are folded in the order read.
    conn = items[0][1].conn
    found = await store.lock_patients(conn, [event.subject for event, _ in items])
    for event, _ in items:
        d = event.data
        baseline = Baseline(d.assessment_id, d.phq9_total, d.gad7_total, screened_at=event.time)
        found[event.subject] = patients.screened(found[event.subject], baseline)
    await store.save_patients(conn, list(found.values()))


on_screened = batched(_on_screened)


async def on_session_started(event: Event[SessionStarted], tx: Tx, *, review_after: timedelta) -> None:
    d = event.data
    patient = await store.lock_patient(tx.conn, event.subject)
    session = await store.lock_session(tx.conn, d.session_id, event.subject)
    await store.save_session(tx.conn, integration.started(session, d))
    patient, review_at = patients.session_started(patient, d.started_at, review_after)
    await store.save_patient(tx.conn, patient)
    if review_at is not None:
        key = DoseReviewDeadline.key(patient.patient_id)
        tx.schedule(DoseReviewDeadline(patient_id=patient.patient_id), at=review_at, key=key)


async def on_session_completed(event: Event[SessionCompleted], tx: Tx, *, policy: WindowPolicy) -> None:
    d = event.data
    await store.lock_patient(tx.conn, event.subject)
    session = await store.lock_session(tx.conn, d.session_id, event.subject)
    session, timers = integration.completed(session, d.session_number, d.ended_at, policy)
    if timers is None:
        return  # this session's window is already open: a second completion changes nothing
    await store.save_session(tx.conn, session)
    sid = session.session_id
    if timers.opens_at is not None:
        tx.schedule(IntegrationWindowOpens(session_id=sid), at=timers.opens_at, key=IntegrationWindowOpens.key(sid))
    if timers.closes_at is not None:
        tx.schedule(IntegrationWindowCloses(session_id=sid), at=timers.closes_at, key=IntegrationWindowCloses.key(sid))


async def on_check_in_missed(event: Event[CheckInMissed], tx: Tx) -> None:
    item = items.for_missed_check_in(event.subject, event.data, raised_at=event.time)
    if item is not None:
        await store_items.add_item(tx.conn, item)


async def on_adverse_event_reported(event: Event[AdverseEventReported], tx: Tx) -> None:
    await store_items.add_item(tx.conn, items.for_adverse_event(event.subject, event.data, raised_at=event.time))


async def on_integration_window_opens(timer: IntegrationWindowOpens, tx: Tx) -> None:
    session = await store.find_session(tx.conn, timer.session_id, lock=True)
    if session is None:
        return
    session, due = integration.window_opened(session, tx.now)
    if due is not None:
        await store.save_session(tx.conn, session)
        tx.emit(due, subject=session.patient_id, once=due.session_id)


async def on_integration_window_closes(timer: IntegrationWindowCloses, tx: Tx) -> None:
    session = await store.find_session(tx.conn, timer.session_id, lock=True)
    if session is None:
        return
    session, overdue = integration.window_closed(session, tx.now)
    if overdue is not None:
        await store.save_session(tx.conn, session)
        tx.emit(overdue, subject=session.patient_id, once=overdue.session_id)


async def on_dose_review_due(timer: DoseReviewDeadline, tx: Tx) -> None:
    patient = await store.lock_patient(tx.conn, timer.patient_id)
    patient, due = patients.dose_review_due(patient, tx.now)
    if due is not None:
        await store.save_patient(tx.conn, patient)
        tx.emit(due, subject=patient.patient_id)
