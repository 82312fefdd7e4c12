"""Example journeys as contract events, one per kind of patient, for the tests and the documentation.

Every event type that has a mapping appears in at least one journey, and most statuses of each resource:
ineligible; safety flag with escalating overdue reviews then declined; approved for review, box returned and the
approval revoked; foundation with missed check-ins, an adverse event, integration due, overdue and done, a dose
review and a re-screening in remission; extended with a lost box, a life-threatening adverse event and an
integration booked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hearth.contracts import (
    AdverseEventKind,
    AdverseEventReported,
    ApprovalRevoked,
    Approved,
    BoxDelivered,
    BoxLost,
    BoxReturned,
    BoxShipped,
    CheckInMissed,
    Declined,
    DoseReviewDue,
    Event,
    EventData,
    IntegrationCompleted,
    IntegrationDue,
    IntegrationOverdue,
    OrderCancelled,
    ReasonCode,
    SafetyReviewOverdue,
    Screened,
    SessionCompleted,
    SessionStarted,
    build_event,
)
from hearth.contracts.events import gad7_band, phq9_band
from hearth.contracts.events.screening import BloodPressure

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CHECK_INS = (0, 20, 40, 60, 90, 120)  # minutes after the start


class _Journey:
    """Events of one patient, each with a stable id and a time `hours` after START."""

    def __init__(self, patient_id: str) -> None:
        self.patient_id, self.events = patient_id, list[Event[Any]]()

    def add(self, hours: float, data: EventData) -> None:
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"hearth-fhir-example/{self.patient_id}/{len(self.events)}")
        at = START + timedelta(hours=hours)
        self.events.append(
            build_event(data, subject=self.patient_id, id=str(event_id), time=at, correlationid=self.patient_id)
        )

    def screened(
        self, hours: float, n: str, phq9: int, gad7: int, item9: bool = False, bp: str | None = "124/80", **outcome: Any
    ) -> None:
        fields = outcome or {"outcome": "eligible", "reasons": ()}
        reading = None
        if bp is not None:
            systolic, diastolic = bp.split("/")
            reading = BloodPressure(systolic_mmhg=int(systolic), diastolic_mmhg=int(diastolic))
        if item9:
            fields = {"outcome": "needs_review", "reasons": (ReasonCode.SAFETY_FLAG_ITEM9,)}
        self.add(
            hours,
            Screened(
                assessment_id=f"asm-{n}",
                patient_state="CO",
                phq9_total=phq9,
                phq9_band=phq9_band(phq9),
                gad7_total=gad7,
                gad7_band=gad7_band(gad7),
                safety_flag=item9,
                blood_pressure=reading,
                **fields,
            ),
        )

    def approved(self, hours: float, n: str, plan: str = "foundation", dose: int = 200) -> None:
        self.add(
            hours,
            Approved(
                approval_id=f"apr-{n}",
                assessment_id=f"asm-{n}",
                plan=plan,
                dose_count=8 if plan == "foundation" else 24,
                starting_dose_mg=dose,
                prescriber_id="clin-0042",
                prescriber_license_state="CO",
                patient_state="CO",
                rules_version="2026.12.03-1",
                regime="telemedicine_flexibility",
            ),
        )

    def shipped(self, hours: float, n: str, box: int, doses: int, tracking: str, carrier: str = "ups") -> None:
        self.add(
            hours,
            BoxShipped(
                order_id=f"ord-{n}",
                approval_id=f"apr-{n}",
                box_number=box,
                doses_in_box=doses,
                carrier=carrier,
                tracking_number=tracking,
                signature_required=True,
                ship_to_state="CO",
            ),
        )

    def delivered(self, hours: float, n: str, box: int, doses: int) -> None:
        at = START + timedelta(hours=hours)
        ids = {"order_id": f"ord-{n}", "approval_id": f"apr-{n}", "box_number": box}
        self.add(hours, BoxDelivered(**ids, doses_in_box=doses, delivered_at=at))

    def session(self, hours: float, n: str, number: int, dose: int, missed: tuple[int, ...] = ()) -> str:
        """A session started `hours` after START, its missed check-ins, and its completion 125 minutes later."""
        sid, at = f"ses-{n}-{number}", START + timedelta(hours=hours)
        due = tuple(at + timedelta(minutes=m) for m in CHECK_INS)
        self.add(
            hours,
            SessionStarted(
                session_id=sid,
                approval_id=f"apr-{n}",
                session_number=number,
                dose_mg=dose,
                dose_finding=number <= 2,
                started_at=at,
                check_ins_due=due,
            ),
        )
        for row, index in enumerate(missed, start=1):
            level = min(row, 3)
            self.add(
                hours + (CHECK_INS[index] + 5) / 60,
                CheckInMissed(
                    session_id=sid,
                    check_in_index=index,
                    due_at=due[index],
                    consecutive_misses=row,
                    escalation_level=level,
                ),
            )
        ended = at + timedelta(minutes=125)
        self.add(
            hours + 125 / 60,
            SessionCompleted(
                session_id=sid,
                session_number=number,
                ended_at=ended,
                closed_by="clinician",
                missed_check_ins=len(missed),
            ),
        )
        return sid

    def integration_due(self, hours: float, sid: str) -> None:
        opens = START + timedelta(hours=hours)
        self.add(hours, IntegrationDue(session_id=sid, window_opens_at=opens, window_closes_at=opens + timedelta(2)))


def ineligible() -> list[Event[Any]]:
    j = _Journey("pt-ex-ineligible")
    j.screened(0, "in-1", 16, 9, outcome="ineligible", reasons=(ReasonCode.UNDER_18, ReasonCode.MANIA_HISTORY))
    return j.events


def safety_flag_declined() -> list[Event[Any]]:
    j = _Journey("pt-ex-safety")
    j.screened(0, "sf-1", 24, 17, item9=True)
    for level in (1, 2, 3):
        j.add(
            level,
            SafetyReviewOverdue(
                safety_item_id="saf-sf-1",
                assessment_id="asm-sf-1",
                phq9_item9=2,
                raised_at=START,
                acknowledge_by=START + timedelta(hours=1),
                escalation_level=level,
            ),
        )
    j.add(5, Declined(assessment_id="asm-sf-1", prescriber_id="clin-0042", reason=ReasonCode.CLINICAL_JUDGEMENT))
    return j.events


def revoked() -> list[Event[Any]]:
    j = _Journey("pt-ex-revoked")
    j.screened(0, "rv-1", 19, 12, bp="138/88", outcome="needs_review", reasons=(ReasonCode.BORDERLINE_VITALS,))
    j.approved(20, "rv-1", dose=100)
    j.shipped(26, "rv-1", 1, 8, "1Z999AA10123456700")
    j.add(80, BoxReturned(order_id="ord-rv-1", approval_id="apr-rv-1", box_number=1))
    j.add(90, ApprovalRevoked(approval_id="apr-rv-1", prescriber_id="clin-0042", reason=ReasonCode.PATIENT_REQUEST))
    j.add(90.5, OrderCancelled(order_id="ord-rv-1", approval_id="apr-rv-1", reason="approval_revoked"))
    return j.events


def foundation() -> list[Event[Any]]:
    j = _Journey("pt-ex-foundation")
    j.screened(0, "fd-1", 18, 11)
    j.approved(4, "fd-1")
    j.shipped(24, "fd-1", 1, 8, "1Z999AA10123456784")
    j.delivered(48, "fd-1", 1, 8)
    first = j.session(72, "fd-1", 1, 200, missed=(2, 3))
    j.add(
        72.75,
        AdverseEventReported(
            session_id=first,
            adverse_event_id="ae-fd-1",
            kind=AdverseEventKind.HYPERTENSION,
            severity="moderate",
            occurred_at=START + timedelta(hours=72.7),
        ),
    )
    j.integration_due(98, first)
    j.add(146, IntegrationOverdue(session_id=first, window_closes_at=START + timedelta(hours=146)))
    j.add(
        150,
        IntegrationCompleted(
            session_id=first,
            integration_id="int-fd-1",
            completed_at=START + timedelta(hours=150),
            booked_or_done="done",
        ),
    )
    j.session(120, "fd-1", 2, 250)
    j.add(73, DoseReviewDue(first_session_at=START + timedelta(hours=72), due_at=START + timedelta(weeks=4, hours=72)))
    j.screened(24 * 30, "fd-2", 8, 6)
    j.screened(24 * 60, "fd-3", 4, 3)
    return j.events


def extended() -> list[Event[Any]]:
    j = _Journey("pt-ex-extended")
    j.screened(0, "ex-1", 22, 15, bp=None, outcome="needs_review", reasons=(ReasonCode.MISSING_VITALS,))
    j.approved(3, "ex-1", plan="extended", dose=150)
    j.shipped(20, "ex-1", 1, 12, "9400111899223100000000", carrier="usps")
    j.add(70, BoxLost(order_id="ord-ex-1", approval_id="apr-ex-1", box_number=1))
    j.shipped(72, "ex-1", 2, 12, "782146570000")
    j.delivered(96, "ex-1", 2, 12)
    sid = j.session(100, "ex-1", 1, 150, missed=(1, 2, 3))
    j.add(
        101,
        AdverseEventReported(
            session_id=sid,
            adverse_event_id="ae-ex-1",
            kind=AdverseEventKind.RESPIRATORY_DEPRESSION,
            severity="life_threatening",
            occurred_at=START + timedelta(hours=100.9),
        ),
    )
    j.add(
        110,
        IntegrationCompleted(
            session_id=sid,
            integration_id="int-ex-1",
            completed_at=START + timedelta(hours=110),
            booked_or_done="booked",
        ),
    )
    return j.events


JOURNEYS: dict[str, Callable[[], list[Event[Any]]]] = {
    "ineligible": ineligible,
    "safety_flag_declined": safety_flag_declined,
    "revoked": revoked,
    "foundation": foundation,
    "extended": extended,
}


def all_events() -> list[Event[Any]]:
    """Every example journey's events, patient after patient."""
    return [event for make in JOURNEYS.values() for event in make()]
