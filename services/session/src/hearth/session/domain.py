"""The patient as this service sees it, and the gate every session start passes.  Pure: no I/O.

The view is folded from events of several topics, which arrive in any order and possibly twice, so each
`with_*` step commutes with the others and is idempotent: approvals and boxes are keyed by their ids, an
approval revoked before its approval arrived stays revoked (a tombstone), and a box delivered before its
approval arrived counts as soon as the approval does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from . import schedule
from .schedule import Escalation, Session

DOSE_MIN_MG, DOSE_MAX_MG = 100, 600

# Every gate condition, in the order a refusal lists them.
GATE_CONDITIONS = (
    "no_active_approval",
    "no_doses_on_hand",
    "blood_pressure_high",
    "blood_pressure_stale",
    "blood_pressure_in_future",
    "no_support_person",
    "too_soon",
    "session_in_progress",
)


@dataclass(frozen=True)
class Rules:
    check_in_offsets: tuple[timedelta, ...]
    check_in_grace: timedelta = timedelta(minutes=5)
    auto_close_after: timedelta = timedelta(minutes=5)
    max_systolic: int = 140
    max_diastolic: int = 90
    bp_max_age: timedelta = timedelta(minutes=30)
    clock_skew: timedelta = timedelta(minutes=5)
    min_interval: timedelta = timedelta(hours=48)
    dose_finding_sessions: int = 2
    escalation: Escalation = field(default_factory=Escalation)


class GateRefused(Exception):
    def __init__(self, failed: list[str]) -> None:
        super().__init__("session start refused: " + ", ".join(failed))
        self.failed = failed


class NoActiveApproval(Exception):
    pass


@dataclass(frozen=True)
class Approval:
    approval_id: str
    plan: str | None = None  # None while only a revocation has arrived
    dose_count: int | None = None
    starting_dose_mg: int | None = None
    approved_at: datetime | None = None
    revoked_at: datetime | None = None
    dose_mg: int | None = None  # set by a clinician for the sessions to come

    @property
    def active(self) -> bool:
        return self.approved_at is not None and self.revoked_at is None

    @property
    def current_dose_mg(self) -> int | None:
        return self.dose_mg if self.dose_mg is not None else self.starting_dose_mg


@dataclass(frozen=True)
class Box:
    approval_id: str
    order_id: str
    box_number: int
    doses_in_box: int
    shipped: bool = False
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class PastSession:
    """What the gate needs to know of a session already started."""

    session_id: str
    approval_id: str
    started_at: datetime
    in_progress: bool


@dataclass(frozen=True)
class StartRequest:
    systolic: int
    diastolic: int
    taken_at: datetime
    support_person_present: bool
    dose_mg: int | None = None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((t for t in (a, b) if t is not None), default=None)


@dataclass(frozen=True)
class Patient:
    patient_id: str
    approvals: tuple[Approval, ...] = ()
    boxes: tuple[Box, ...] = ()
    sessions: tuple[PastSession, ...] = ()

    def _approval(self, approval_id: str) -> Approval:
        return next((a for a in self.approvals if a.approval_id == approval_id), Approval(approval_id))

    def _with_approval(self, approval: Approval) -> Patient:
        others = tuple(a for a in self.approvals if a.approval_id != approval.approval_id)
        return replace(self, approvals=tuple(sorted((*others, approval), key=lambda a: a.approval_id)))

    def _with_box(self, approval_id: str, order_id: str, box_number: int, doses: int) -> tuple[Box, Patient]:
        key = (order_id, box_number)
        box = next((b for b in self.boxes if (b.order_id, b.box_number) == key), None)
        box = box or Box(approval_id, order_id, box_number, doses)
        others = tuple(b for b in self.boxes if (b.order_id, b.box_number) != key)
        return box, replace(self, boxes=others)

    def _put_box(self, box: Box) -> Patient:
        boxes = (*self.boxes, box)
        return replace(self, boxes=tuple(sorted(boxes, key=lambda b: (b.order_id, b.box_number))))

    def with_approved(
        self, approval_id: str, *, plan: str, dose_count: int, starting_dose_mg: int, at: datetime
    ) -> Patient:
        a = self._approval(approval_id)
        approved = replace(
            a,
            plan=plan,
            dose_count=dose_count,
            starting_dose_mg=starting_dose_mg,
            approved_at=_earliest(a.approved_at, at),
        )
        return self._with_approval(approved)

    def with_revoked(self, approval_id: str, *, at: datetime) -> Patient:
        a = self._approval(approval_id)
        return self._with_approval(replace(a, revoked_at=_earliest(a.revoked_at, at)))

    def with_box_shipped(self, approval_id: str, order_id: str, box_number: int, doses: int) -> Patient:
        box, rest = self._with_box(approval_id, order_id, box_number, doses)
        return rest._put_box(replace(box, shipped=True))

    def with_box_delivered(
        self, approval_id: str, order_id: str, box_number: int, doses: int, *, at: datetime
    ) -> Patient:
        box, rest = self._with_box(approval_id, order_id, box_number, doses)
        return rest._put_box(replace(box, shipped=True, delivered_at=_earliest(box.delivered_at, at)))

    def with_dose(self, dose_mg: int) -> Patient:
        """A clinician sets the dose of the sessions to come under the active approval."""
        if not DOSE_MIN_MG <= dose_mg <= DOSE_MAX_MG:
            raise ValueError(f"dose {dose_mg} mg is outside {DOSE_MIN_MG}-{DOSE_MAX_MG} mg")
        approval = self.active_approval
        if approval is None:
            raise NoActiveApproval("the patient has no active approval")
        return self._with_approval(replace(approval, dose_mg=dose_mg))

    @property
    def active_approval(self) -> Approval | None:
        """The most recent approval that is not revoked."""
        active = [a for a in self.approvals if a.active]
        return max(active, key=lambda a: (a.approved_at, a.approval_id), default=None)

    def doses_delivered(self, approval_id: str) -> int:
        return sum(b.doses_in_box for b in self.boxes if b.approval_id == approval_id and b.delivered_at)

    def sessions_under(self, approval_id: str) -> int:
        return sum(1 for s in self.sessions if s.approval_id == approval_id)

    @property
    def doses_on_hand(self) -> int:
        approval = self.active_approval
        if approval is None:
            return 0
        return max(0, self.doses_delivered(approval.approval_id) - self.sessions_under(approval.approval_id))

    @property
    def last_started_at(self) -> datetime | None:
        return max((s.started_at for s in self.sessions), default=None)

    @property
    def session_in_progress(self) -> PastSession | None:
        return next((s for s in self.sessions if s.in_progress), None)


def failed_conditions(patient: Patient, request: StartRequest, rules: Rules, now: datetime) -> list[str]:
    """Every start condition that does not hold, in GATE_CONDITIONS order (empty: the session may start)."""
    last = patient.last_started_at
    failed = {
        "no_active_approval": patient.active_approval is None,
        "no_doses_on_hand": patient.doses_on_hand < 1,
        "blood_pressure_high": request.systolic > rules.max_systolic or request.diastolic > rules.max_diastolic,
        "blood_pressure_stale": now - request.taken_at > rules.bp_max_age,
        "blood_pressure_in_future": request.taken_at - now > rules.clock_skew,
        "no_support_person": not request.support_person_present,
        "too_soon": last is not None and now - last < rules.min_interval,
        "session_in_progress": patient.session_in_progress is not None,
    }
    return [code for code in GATE_CONDITIONS if failed[code]]


def start(
    patient: Patient, request: StartRequest, rules: Rules, *, now: datetime, session_id: str
) -> tuple[Patient, Session]:
    """A new session, or GateRefused listing every failed condition.  A dose in the request is the
    clinician's: it holds for this session and the ones after it, as if set through `with_dose`."""
    failed = failed_conditions(patient, request, rules, now)
    if failed or patient.active_approval is None:
        raise GateRefused(failed)
    if request.dose_mg is not None:
        patient = patient.with_dose(request.dose_mg)
    approval = patient.active_approval
    assert approval is not None
    dose = approval.current_dose_mg
    if dose is None or not DOSE_MIN_MG <= dose <= DOSE_MAX_MG:
        raise ValueError(f"dose {dose} mg is outside {DOSE_MIN_MG}-{DOSE_MAX_MG} mg")
    number = patient.sessions_under(approval.approval_id) + 1
    session = schedule.begin(
        session_id=session_id,
        patient_id=patient.patient_id,
        approval_id=approval.approval_id,
        session_number=number,
        dose_mg=dose,
        dose_finding=number <= rules.dose_finding_sessions,
        now=now,
        offsets=rules.check_in_offsets,
    )
    past = PastSession(session.session_id, approval.approval_id, now, in_progress=True)
    return replace(patient, sessions=(*patient.sessions, past)), session
