"""A prescriber's decision on an assessment, as pure rules: approve, decline, revoke an approval.

One decision per assessment. Approving needs a screening without exclusions (an `ineligible` outcome, or a
`needs_review` one that also carries an exclusion because the safety flag overrode it, is refused), a
prescriber licensed in the patient's state, a starting dose in the rules file's starting range (100-400 mg), for a
`needs_review` screening a written justification, and whatever the prescribing regime in force that day asks
for (from 2027: an in-person medical evaluation on record, or a telemedicine special registration). Every failed
condition is reported at once; every decision records the rules version and the regime it was taken under.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.events.decisions import PLAN_DOSES, ApprovalRevoked, Approved, Declined, Plan
from hearth.rules import Regime, RuleBook
from hearth.rules.model import CONTRACT_STARTING_MG

from .domain import Assessment

STARTING_DOSE_MG = CONTRACT_STARTING_MG  # what a request may say at all; the rules file may narrow it


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    field: str | None = None  # the request field at fault, when there is one


class DecisionRefused(Exception):
    """Raised with every failed condition. `conflict`: the assessment's state forbids it (HTTP 409), as
    opposed to a request that could succeed with other values (HTTP 422)."""

    def __init__(self, failures: list[Failure], *, conflict: bool, current: Decision | None = None) -> None:
        super().__init__("; ".join(f.message for f in failures))
        self.failures = failures
        self.conflict = conflict
        self.current = current


@dataclass(frozen=True)
class ApproveRequest:
    plan: Plan
    starting_dose_mg: int
    prescriber_id: str
    prescriber_license_state: str
    justification: str | None = None
    in_person_evaluation_on: date | None = None  # the day the prescriber evaluated the patient in person
    special_registration: str | None = None  # the prescriber's telemedicine special registration number


@dataclass(frozen=True)
class DeclineRequest:
    reason: ReasonCode
    prescriber_id: str
    note: str | None = None


@dataclass(frozen=True)
class RevokeRequest:
    reason: ReasonCode
    prescriber_id: str
    note: str | None = None


@dataclass(frozen=True)
class Revocation:
    by: str
    at: datetime
    reason: ReasonCode
    note: str | None = None


@dataclass(frozen=True)
class Decision:
    id: str  # of an approval: the approval id
    assessment_id: str
    patient_id: str
    patient_state: str
    kind: Literal["approved", "declined"]
    prescriber_id: str
    decided_at: datetime
    plan: Plan | None = None
    starting_dose_mg: int | None = None
    prescriber_license_state: str | None = None
    justification: str | None = None  # free text: stored and audited, never emitted
    reason: ReasonCode | None = None  # of a decline
    note: str | None = None  # free text of a decline
    revocation: Revocation | None = None
    rules_version: str | None = None  # the rules the decision was taken under (none: before rules were recorded)
    rules_digest: str | None = None
    regime: str | None = None
    in_person_evaluation_on: date | None = None
    special_registration: str | None = None

    @property
    def dose_count(self) -> int | None:
        return None if self.plan is None else PLAN_DOSES[self.plan]

    @property
    def active(self) -> bool:
        """An approval that has not been revoked."""
        return self.kind == "approved" and self.revocation is None

    def approved_event(self) -> Approved:
        assert self.plan is not None
        assert self.starting_dose_mg is not None
        return Approved(
            approval_id=self.id,
            assessment_id=self.assessment_id,
            plan=self.plan,
            dose_count=PLAN_DOSES[self.plan],
            starting_dose_mg=self.starting_dose_mg,
            prescriber_id=self.prescriber_id,
            prescriber_license_state=self.prescriber_license_state,
            patient_state=self.patient_state,
            rules_version=self.rules_version,
            regime=self.regime,
        )

    def declined_event(self) -> Declined:
        assert self.reason is not None
        return Declined(assessment_id=self.assessment_id, prescriber_id=self.prescriber_id, reason=self.reason)

    def revoked_event(self) -> ApprovalRevoked:
        assert self.revocation is not None
        return ApprovalRevoked(approval_id=self.id, prescriber_id=self.revocation.by, reason=self.revocation.reason)


def _undecided(current: Decision | None) -> None:
    if current is not None:
        failure = Failure("already_decided", f"the assessment was already {current.kind}; one decision per assessment")
        raise DecisionRefused([failure], conflict=True, current=current)


def _regime_failures(regime: Regime, request: ApproveRequest, today: date) -> list[Failure]:
    if request.in_person_evaluation_on is not None and request.in_person_evaluation_on > today:
        message = "the in-person evaluation cannot be dated after today"
        return [Failure("in_person_evaluation_in_future", message, "in_person_evaluation_on")]
    if not regime.in_person_evaluation_required or request.in_person_evaluation_on is not None:
        return []
    if regime.special_registration_accepted and (request.special_registration or "").strip():
        return []
    alternative = " or a telemedicine special registration" if regime.special_registration_accepted else ""
    message = (
        f"since {regime.effective_from} ({regime.id}) an approval needs the date of an in-person medical"
        f" evaluation{alternative}"
    )
    return [Failure("in_person_evaluation_required", message, "in_person_evaluation_on")]


def approve(
    assessment: Assessment,
    current: Decision | None,
    request: ApproveRequest,
    *,
    decision_id: str,
    now: datetime,
    rules: RuleBook,
) -> Decision:
    _undecided(current)
    screening, state = assessment.screening, assessment.intake.state
    conflicts, invalid = [], []
    if screening.outcome == "ineligible" or screening.exclusions:
        excluded = ", ".join(screening.exclusions)
        conflicts.append(
            Failure("not_eligible", f"the screening excludes the patient ({excluded}): it cannot be approved")
        )
    regime = rules.regime_at(now)
    if regime is None:
        message = f"no prescribing regime of the rules file (version {rules.version}) covers {rules.local_day(now)}"
        conflicts.append(Failure("no_regime_in_force", message))
    else:
        invalid += _regime_failures(regime, request, rules.local_day(now))
    if request.prescriber_license_state != state:
        invalid.append(
            Failure(
                "license_state_mismatch",
                f"the prescriber must be licensed in the patient's state ({state})",
                "prescriber_license_state",
            )
        )
    low, high = rules.dose.starting_min_mg, rules.dose.starting_max_mg
    if not low <= request.starting_dose_mg <= high:
        invalid.append(
            Failure("starting_dose_out_of_range", f"the starting dose must be {low}-{high} mg", "starting_dose_mg")
        )
    if screening.outcome == "needs_review" and not (request.justification or "").strip():
        invalid.append(
            Failure(
                "justification_required",
                "approving a screening that needs review requires a written justification",
                "justification",
            )
        )
    if conflicts or invalid:
        raise DecisionRefused(conflicts + invalid, conflict=bool(conflicts))
    return Decision(
        id=decision_id,
        assessment_id=assessment.id,
        patient_id=assessment.intake.patient_id,
        patient_state=state,
        kind="approved",
        prescriber_id=request.prescriber_id,
        decided_at=now,
        plan=request.plan,
        starting_dose_mg=request.starting_dose_mg,
        prescriber_license_state=request.prescriber_license_state,
        justification=request.justification,
        in_person_evaluation_on=request.in_person_evaluation_on,
        special_registration=request.special_registration,
        rules_version=rules.version,
        rules_digest=rules.digest,
        regime=None if regime is None else regime.id,
    )


def decline(
    assessment: Assessment,
    current: Decision | None,
    request: DeclineRequest,
    *,
    decision_id: str,
    now: datetime,
    rules: RuleBook,
) -> Decision:
    _undecided(current)
    return Decision(
        id=decision_id,
        assessment_id=assessment.id,
        patient_id=assessment.intake.patient_id,
        patient_state=assessment.intake.state,
        kind="declined",
        prescriber_id=request.prescriber_id,
        decided_at=now,
        reason=request.reason,
        note=request.note,
        rules_version=rules.version,
        rules_digest=rules.digest,
        regime=regime.id if (regime := rules.regime_at(now)) else None,
    )


def revoke(approval: Decision, request: RevokeRequest, *, now: datetime) -> Decision:
    """Any clinician may withdraw an active approval, at any time: screening does not know about shipping;
    fulfillment cancels an order not yet shipped, and sessions refuse to start under a revoked approval."""
    if approval.kind != "approved":
        raise DecisionRefused([Failure("not_an_approval", "only an approval can be revoked")], conflict=True)
    if approval.revocation is not None:
        failure = Failure("already_revoked", "the approval was already revoked")
        raise DecisionRefused([failure], conflict=True, current=approval)
    return replace(approval, revocation=Revocation(request.prescriber_id, now, request.reason, request.note))
