"""One short function per trigger. Screening consumes no events: its triggers are the HTTP commands.

Each runs in the kit's unit of work (`tx`): the rows, the audit entry and the staged events commit together.
"""

from __future__ import annotations

import uuid
from typing import Any

from hearth.kit import audit
from hearth.kit.http_errors import ApiError
from hearth.kit.tx import Tx
from hearth.rules import RuleBook

from . import decisions, domain, store
from .views import AssessmentSummary, DecisionView


def entity(assessment_id: str) -> str:
    return f"assessment:{assessment_id}"


def rules_stamp(d: decisions.Decision) -> dict[str, str | None]:
    return {"rules_version": d.rules_version, "rules_digest": d.rules_digest, "regime": d.regime}


async def submit_intake(
    intake: domain.Intake, criteria: domain.Criteria, rules: RuleBook, actor: str, tx: Tx
) -> AssessmentSummary:
    assessment = domain.assess(intake, criteria, assessment_id=str(uuid.uuid4()), submitted_by=actor, now=tx.now)
    await store.insert_assessment(tx.conn, assessment)
    s = assessment.screening
    details: dict[str, Any] = {"outcome": s.outcome, "reasons": [str(r) for r in s.reasons]}
    details |= {"safety_flag": s.safety_flag, **rules.stamp(None)}
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="screened", entity=entity(assessment.id), details=details
    )
    tx.emit(assessment.screened_event(), subject=intake.patient_id)
    return AssessmentSummary.of(assessment)


async def _undecided_assessment(tx: Tx, assessment_id: str) -> tuple[domain.Assessment, decisions.Decision | None]:
    assessment = await store.load_assessment(tx.conn, assessment_id, lock=True)
    if assessment is None:
        raise ApiError(404, "assessment_not_found", "no assessment with this id")
    return assessment, await store.load_decision(tx.conn, assessment_id)


async def approve(
    assessment_id: str, request: decisions.ApproveRequest, rules: RuleBook, actor: str, tx: Tx
) -> DecisionView:
    assessment, current = await _undecided_assessment(tx, assessment_id)
    approval = decisions.approve(assessment, current, request, decision_id=str(uuid.uuid4()), now=tx.now, rules=rules)
    await store.insert_decision(tx.conn, approval)
    details = {
        "approval_id": approval.id,
        "outcome": assessment.screening.outcome,
        "plan": approval.plan,
        "starting_dose_mg": approval.starting_dose_mg,
        "prescriber_license_state": approval.prescriber_license_state,
        "justification": approval.justification,
        "in_person_evaluation_on": approval.in_person_evaluation_on and approval.in_person_evaluation_on.isoformat(),
        "special_registration": approval.special_registration,
        **rules_stamp(approval),
    }
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="approved", entity=entity(assessment_id), details=details
    )
    tx.emit(approval.approved_event(), subject=approval.patient_id)
    return DecisionView.of(approval)


async def decline(
    assessment_id: str, request: decisions.DeclineRequest, rules: RuleBook, actor: str, tx: Tx
) -> DecisionView:
    assessment, current = await _undecided_assessment(tx, assessment_id)
    declined = decisions.decline(assessment, current, request, decision_id=str(uuid.uuid4()), now=tx.now, rules=rules)
    await store.insert_decision(tx.conn, declined)
    details = {"decision_id": declined.id, "reason": str(declined.reason), "note": declined.note}
    details |= rules_stamp(declined)
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="declined", entity=entity(assessment_id), details=details
    )
    tx.emit(declined.declined_event(), subject=declined.patient_id)
    return DecisionView.of(declined)


async def revoke(approval_id: str, request: decisions.RevokeRequest, actor: str, tx: Tx) -> DecisionView:
    approval = await store.load_approval(tx.conn, approval_id, lock=True)
    if approval is None:
        raise ApiError(404, "approval_not_found", "no approval with this id")
    revoked = decisions.revoke(approval, request, now=tx.now)
    await store.save_revocation(tx.conn, revoked)
    details = {"approval_id": approval_id, "reason": str(request.reason), "note": request.note}
    await audit.append(
        tx.conn,
        at=tx.now,
        actor=actor,
        action="approval_revoked",
        entity=entity(revoked.assessment_id),
        details=details,
    )
    tx.emit(revoked.revoked_event(), subject=revoked.patient_id)
    return DecisionView.of(revoked)
