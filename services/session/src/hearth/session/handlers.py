"""What happens when something arrives: one short function per event, timer and HTTP command.

Each runs in the kit's unit of work `tx` (one transaction: state, outbox, timers, clock): load → domain → save →
emit / schedule.  Timers are keyed `session:<id>:...`, so closing a session cancels all of its timers at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from hearth.contracts import (
    AdverseEventKind,
    AdverseEventReported,
    ApprovalRevoked,
    Approved,
    BoxDelivered,
    BoxShipped,
    Event,
)
from hearth.kit import audit
from hearth.kit.tx import TimerPayload, Tx
from hearth.kit.vault import Vault

from . import domain, schedule, store, titration
from .domain import Patient, Rules, StartRequest
from .schedule import Session, Severity
from .titration import DoseRules


class CheckInDue(TimerPayload):
    """The deadline (due + grace) of one check-in."""

    kind: ClassVar[str] = "check-in-due"
    session_id: str
    check_in_index: int


class SessionCloseDue(TimerPayload):
    """The time a session still open is closed automatically."""

    kind: ClassVar[str] = "session-close-due"
    session_id: str


class SessionNotFound(Exception):
    pass


def timers_of(session_id: str) -> str:
    return f"session:{session_id}:"


def check_in_timer(session_id: str, index: int) -> str:
    return f"{timers_of(session_id)}check-in:{index}"


def close_timer(session_id: str) -> str:
    return f"{timers_of(session_id)}close"


# --- events: the patient view --------------------------------------------------------------------------------


async def on_approved(event: Event[Approved], tx: Tx) -> None:
    a = event.data
    patient = await store.load_patient(tx.conn, event.subject)
    patient = patient.with_approved(
        a.approval_id, plan=a.plan, dose_count=a.dose_count, starting_dose_mg=a.starting_dose_mg, at=event.time
    )
    await store.save_patient(tx.conn, patient)


async def on_approval_revoked(event: Event[ApprovalRevoked], tx: Tx) -> None:
    patient = await store.load_patient(tx.conn, event.subject)
    await store.save_patient(tx.conn, patient.with_revoked(event.data.approval_id, at=event.time))


async def on_box_shipped(event: Event[BoxShipped], tx: Tx) -> None:
    b = event.data
    patient = await store.load_patient(tx.conn, event.subject)
    patient = patient.with_box_shipped(b.approval_id, b.order_id, b.box_number, b.doses_in_box)
    await store.save_patient(tx.conn, patient)


async def on_box_delivered(event: Event[BoxDelivered], tx: Tx) -> None:
    b = event.data
    patient = await store.load_patient(tx.conn, event.subject)
    patient = patient.with_box_delivered(b.approval_id, b.order_id, b.box_number, b.doses_in_box, at=b.delivered_at)
    await store.save_patient(tx.conn, patient)


# --- timers ----------------------------------------------------------------------------------------------------


async def on_check_in_due(timer: CheckInDue, tx: Tx, *, rules: Rules) -> None:
    session = await store.load_session(tx.conn, timer.session_id)
    if session is None:
        return
    session, missed = schedule.miss(session, timer.check_in_index, now=tx.now, escalation=rules.escalation)
    if missed is not None:
        await store.save_session(tx.conn, session)
        tx.emit(missed, subject=session.patient_id, once=f"{missed.session_id}:{missed.check_in_index}")


async def on_session_close_due(timer: SessionCloseDue, tx: Tx, *, rules: Rules) -> None:
    session = await store.load_session(tx.conn, timer.session_id)
    if session is not None and session.in_progress:
        await _close(tx, session, "auto", rules)


# --- HTTP commands ---------------------------------------------------------------------------------------------


async def start_session(
    tx: Tx,
    rules: Rules,
    *,
    patient_id: str,
    request: StartRequest,
    actor: str,
    session_id: str,
    doses: DoseRules,
    keys: Vault,
    dose_justification: str | None = None,
) -> Session:
    patient = await store.load_patient(tx.conn, patient_id)
    gate = domain.failed_conditions(patient, request, rules, tx.now)
    if request.dose_mg is not None and not gate:  # the clinician's dose holds for this session and the next ones
        patient = await _change_dose(tx, patient, request.dose_mg, doses, dose_justification, actor, keys)
    patient, session = domain.start(patient, replace(request, dose_mg=None), rules, now=tx.now, session_id=session_id)
    await store.save_patient(tx.conn, patient)
    await store.insert_session(tx.conn, session, request, actor)
    for check_in in session.check_ins:
        tx.schedule(
            CheckInDue(session_id=session_id, check_in_index=check_in.index),
            at=check_in.due_at + rules.check_in_grace,
            key=check_in_timer(session_id, check_in.index),
        )
    tx.schedule(
        SessionCloseDue(session_id=session_id),
        at=session.auto_close_at(rules.auto_close_after),
        key=close_timer(session_id),
    )
    tx.emit(session.started_event(), subject=patient_id)
    await _audit(tx, actor, "session.started", session_id, patient_id=patient_id, dose_mg=session.dose_mg)
    return session


async def set_next_dose(
    tx: Tx,
    *,
    patient_id: str,
    dose_mg: int,
    actor: str,
    doses: DoseRules,
    keys: Vault,
    justification: str | None = None,
) -> Patient:
    patient = await store.load_patient(tx.conn, patient_id)
    patient = await _change_dose(tx, patient, dose_mg, doses, justification, actor, keys)
    await store.save_patient(tx.conn, patient)
    return patient


async def _change_dose(
    tx: Tx, patient: Patient, dose_mg: int, doses: DoseRules, justification: str | None, actor: str, keys: Vault
) -> Patient:
    patient, change = titration.change_dose(patient, dose_mg, doses, justification=justification, by=actor, at=tx.now)
    if change is not None:  # the justification is stored and audited sealed with the patient's key
        place = "session.dose_changes"
        change = await keys.seal_fields(tx.conn, change, patient.patient_id, ("justification",), place, tx.now)
        await store.insert_dose_change(tx.conn, change)
        await _audit(
            tx, actor, "dose.set", patient.patient_id, approval_id=change.approval_id, from_mg=change.from_mg,
            dose_mg=change.to_mg, above_step=change.above_step, justification=change.justification,
            rules_version=change.rules_version,
        )  # fmt: skip
    return patient


async def record_check_in(
    tx: Tx,
    rules: Rules,
    *,
    session_id: str,
    index: int,
    vitals: dict[str, Any] | None,
    notes: str | None,
    actor: str,
    keys: Vault,
) -> Session:
    await tx.lock_timers(timers_of(session_id))
    session = await _session(tx, session_id)
    session = schedule.record(session, index, now=tx.now, early_window=rules.check_in_grace)
    await store.save_session(tx.conn, session)
    notes = await keys.seal(tx.conn, session.patient_id, notes, "session.check_ins.notes", tx.now)
    await store.save_check_in_record(tx.conn, session_id, index, by=actor, vitals=vitals, notes=notes)
    tx.cancel(check_in_timer(session_id, index))
    return session


async def close_session(tx: Tx, rules: Rules, *, session_id: str, actor: str) -> Session:
    await tx.lock_timers(timers_of(session_id))
    session = await _close(tx, await _session(tx, session_id), "clinician", rules)
    await _audit(tx, actor, "session.closed", session_id)
    return session


async def report_adverse_event(
    tx: Tx,
    rules: Rules,
    *,
    session_id: str,
    adverse_event_id: str,
    kind: AdverseEventKind,
    severity: Severity,
    occurred_at: datetime | None,
    notes: str | None,
    actor: str,
    keys: Vault,
) -> AdverseEventReported:
    session = await _session(tx, session_id)
    reported = schedule.adverse_event(
        session,
        adverse_event_id=adverse_event_id,
        kind=kind,
        severity=severity,
        occurred_at=occurred_at or tx.now,
        now=tx.now,
        clock_skew=rules.clock_skew,
    )
    notes = await keys.seal(tx.conn, session.patient_id, notes, "session.adverse_events.notes", tx.now)
    await store.insert_adverse_event(tx.conn, reported, reported_at=tx.now, reported_by=actor, notes=notes)
    tx.emit(reported, subject=session.patient_id)
    await _audit(tx, actor, "adverse_event.reported", adverse_event_id, session_id=session_id, severity=severity)
    return reported


async def _session(tx: Tx, session_id: str) -> Session:
    session = await store.load_session(tx.conn, session_id)
    if session is None:
        raise SessionNotFound(session_id)
    return session


async def _close(tx: Tx, session: Session, closed_by: schedule.ClosedBy, rules: Rules) -> Session:
    session, misses, completed = schedule.close(
        session, now=tx.now, closed_by=closed_by, grace=rules.check_in_grace, escalation=rules.escalation
    )
    await store.save_session(tx.conn, session)
    for missed in misses:
        tx.emit(missed, subject=session.patient_id, once=f"{missed.session_id}:{missed.check_in_index}")
    tx.emit(completed, subject=session.patient_id, once=completed.session_id)
    tx.cancel_prefix(timers_of(session.session_id))
    return session


async def _audit(tx: Tx, actor: str, action: str, entity: str, **details: object) -> None:
    """A line in the tamper-evident audit log, in this transaction (pseudonymous ids and clinical facts only)."""
    await audit.append(tx.conn, at=tx.now, actor=actor, action=action, entity=entity, details=details)
