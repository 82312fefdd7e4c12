"""A session once started: its check-in schedule, misses and their escalation, closing.  Pure: no I/O.

A check-in is `pending` until a clinician records it (`done`) or its deadline (due + grace) passes (`missed`);
one recorded after its miss fired is `late`; pending ones left at closing are `cancelled`.  The consecutive-miss
count grows with each miss and goes back to 0 with any recorded check-in, on time or late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from hearth.contracts import AdverseEventKind, AdverseEventReported, CheckInMissed, SessionCompleted, SessionStarted

CheckInStatus = Literal["pending", "done", "missed", "late", "cancelled"]
Level = Literal[1, 2, 3]
ClosedBy = Literal["clinician", "auto"]
Severity = Literal["mild", "moderate", "severe", "life_threatening"]


class SessionRefused(Exception):
    """A command that the session's state does not allow; `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Escalation:
    """Consecutive misses → level: 1 retry the patient, 2 contact the support person, 3 emergency protocol."""

    support_person_at: int = 2
    emergency_at: int = 3

    def level(self, consecutive_misses: int) -> Level:
        if consecutive_misses >= self.emergency_at:
            return 3
        if consecutive_misses >= self.support_person_at:
            return 2
        return 1


@dataclass(frozen=True)
class CheckIn:
    index: int
    due_at: datetime
    status: CheckInStatus = "pending"
    recorded_at: datetime | None = None
    missed_at: datetime | None = None


@dataclass(frozen=True)
class Session:
    session_id: str
    patient_id: str
    approval_id: str
    session_number: int
    dose_mg: int
    dose_finding: bool
    started_at: datetime
    check_ins: tuple[CheckIn, ...]
    consecutive_misses: int = 0
    status: Literal["in_progress", "completed"] = "in_progress"
    ended_at: datetime | None = None
    closed_by: ClosedBy | None = None

    @property
    def in_progress(self) -> bool:
        return self.status == "in_progress"

    @property
    def missed_check_ins(self) -> int:
        """Check-ins whose miss fired (late ones included: their miss was published)."""
        return sum(1 for c in self.check_ins if c.status in ("missed", "late"))

    def auto_close_at(self, after: timedelta) -> datetime:
        return self.check_ins[-1].due_at + after

    def started_event(self) -> SessionStarted:
        return SessionStarted(
            session_id=self.session_id,
            approval_id=self.approval_id,
            session_number=self.session_number,
            dose_mg=self.dose_mg,
            dose_finding=self.dose_finding,
            started_at=self.started_at,
            check_ins_due=tuple(c.due_at for c in self.check_ins),
        )

    def _with_check_in(self, check_in: CheckIn, consecutive_misses: int) -> Session:
        check_ins = tuple(check_in if c.index == check_in.index else c for c in self.check_ins)
        return replace(self, check_ins=check_ins, consecutive_misses=consecutive_misses)

    def _check_in(self, index: int) -> CheckIn:
        if not 0 <= index < len(self.check_ins):
            raise SessionRefused("unknown_check_in", f"this session has check-ins 0 to {len(self.check_ins) - 1}")
        return self.check_ins[index]


def begin(
    *,
    session_id: str,
    patient_id: str,
    approval_id: str,
    session_number: int,
    dose_mg: int,
    dose_finding: bool,
    now: datetime,
    offsets: tuple[timedelta, ...],
) -> Session:
    check_ins = tuple(CheckIn(index=i, due_at=now + offset) for i, offset in enumerate(offsets))
    return Session(session_id, patient_id, approval_id, session_number, dose_mg, dose_finding, now, check_ins)


def miss(
    session: Session, index: int, *, now: datetime, escalation: Escalation
) -> tuple[Session, CheckInMissed | None]:
    """The deadline of check-in `index` passed: a miss, unless it was recorded or the session closed meanwhile."""
    if not session.in_progress or not 0 <= index < len(session.check_ins):
        return session, None
    check_in = session.check_ins[index]
    if check_in.status != "pending":
        return session, None
    consecutive = session.consecutive_misses + 1
    missed = CheckInMissed(
        session_id=session.session_id,
        check_in_index=index,
        due_at=check_in.due_at,
        consecutive_misses=consecutive,
        escalation_level=escalation.level(consecutive),
    )
    return session._with_check_in(replace(check_in, status="missed", missed_at=now), consecutive), missed


def record(session: Session, index: int, *, now: datetime, early_window: timedelta) -> Session:
    """A clinician checked in: `done`, or `late` when its miss already fired; either resets the count.
    A check-in can be recorded from `early_window` before its time on."""
    if not session.in_progress:
        raise SessionRefused("session_completed", "the session is already completed")
    check_in = session._check_in(index)
    if check_in.status in ("done", "late"):
        raise SessionRefused("check_in_already_recorded", f"check-in {index} is already recorded")
    if now < check_in.due_at - early_window:
        raise SessionRefused("check_in_not_yet_due", f"check-in {index} is not due until {check_in.due_at}")
    status: CheckInStatus = "late" if check_in.status == "missed" else "done"
    return session._with_check_in(replace(check_in, status=status, recorded_at=now), 0)


def close(
    session: Session, *, now: datetime, closed_by: ClosedBy, grace: timedelta, escalation: Escalation
) -> tuple[Session, list[CheckInMissed], SessionCompleted]:
    """End the session.  Pending check-ins past their deadline are missed first (whatever order the timers
    fire in, each miss is published once); the others are cancelled."""
    if not session.in_progress:
        raise SessionRefused("session_completed", "the session is already completed")
    misses: list[CheckInMissed] = []
    for check_in in session.check_ins:
        if check_in.status == "pending" and check_in.due_at + grace <= now:
            session, missed = miss(session, check_in.index, now=now, escalation=escalation)
            misses.extend([missed] if missed else [])
    check_ins = tuple(replace(c, status="cancelled") if c.status == "pending" else c for c in session.check_ins)
    session = replace(session, check_ins=check_ins, status="completed", ended_at=now, closed_by=closed_by)
    completed = SessionCompleted(
        session_id=session.session_id,
        session_number=session.session_number,
        ended_at=now,
        closed_by=closed_by,
        missed_check_ins=session.missed_check_ins,
    )
    return session, misses, completed


def adverse_event(
    session: Session,
    *,
    adverse_event_id: str,
    kind: AdverseEventKind,
    severity: Severity,
    occurred_at: datetime,
    now: datetime,
    clock_skew: timedelta,
) -> AdverseEventReported:
    """An adverse event during or after the session (never before it started, never in the future)."""
    if occurred_at < session.started_at:
        raise SessionRefused("occurred_before_session", "occurred_at is before the session started")
    if occurred_at > now + clock_skew:
        raise SessionRefused("occurred_in_future", "occurred_at is in the future")
    return AdverseEventReported(
        session_id=session.session_id,
        adverse_event_id=adverse_event_id,
        kind=kind,
        severity=severity,
        occurred_at=occurred_at,
    )
