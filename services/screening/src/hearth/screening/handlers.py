"""One short function per trigger. Screening consumes no events: its triggers are the HTTP commands and the
acknowledgement deadlines of safety items (a durable kit timer, `SafetyAcknowledgementDue`).

Each runs in the kit's unit of work (`tx`): the rows, the audit entry, the staged events and timers commit together.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, ClassVar

from hearth.kit import audit
from hearth.kit.http_errors import ApiError
from hearth.kit.tx import TimerPayload, Tx
from hearth.kit.vault import Vault
from hearth.rules import RuleBook

from . import decisions, domain, safety, sealing, store, store_safety
from .views import AssessmentSummary, DecisionView, SafetyItemView

TIMER_ACTOR = "timer"


class SafetyAcknowledgementDue(TimerPayload):
    """The deadline of a safety item: its acknowledgement deadline, then each escalation interval."""

    kind: ClassVar[str] = "safety-acknowledgement-due"
    safety_item_id: str


class SafetyItemNotFound(LookupError):
    pass


def safety_timer(item_id: str) -> str:
    return f"safety-item:{item_id}"


def entity(assessment_id: str) -> str:
    return f"assessment:{assessment_id}"


def rules_stamp(d: decisions.Decision) -> dict[str, str | None]:
    return {"rules_version": d.rules_version, "rules_digest": d.rules_digest, "regime": d.regime}


async def submit_intake(
    intake: domain.Intake,
    criteria: domain.Criteria,
    rules: RuleBook,
    policy: safety.SafetyPolicy,
    actor: str,
    keys: Vault,
    tx: Tx,
) -> AssessmentSummary:
    assessment = domain.assess(intake, criteria, assessment_id=str(uuid.uuid4()), submitted_by=actor, now=tx.now)
    sealed = replace(assessment, intake=await sealing.seal_intake(tx.conn, keys, intake, tx.now))
    await store.insert_assessment(tx.conn, sealed, traceparent=tx.context.traceparent)
    s = assessment.screening
    details: dict[str, Any] = {"outcome": s.outcome, "reasons": [str(r) for r in s.reasons]}
    details |= {"safety_flag": s.safety_flag, **rules.stamp(None)}
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="screened", entity=entity(assessment.id), details=details
    )
    tx.emit(assessment.screened_event(), subject=intake.patient_id)
    item = safety.raise_for(assessment, policy, item_id=f"saf-{uuid.uuid4()}")
    if item is not None:
        await store_safety.insert(tx.conn, item)
        tx.schedule(SafetyAcknowledgementDue(safety_item_id=item.id), at=item.acknowledge_by, key=safety_timer(item.id))
        raised = {"safety_item_id": item.id, "phq9_item9": item.phq9_item9, "acknowledge_by": item.acknowledge_by}
        await _audit(tx, actor, "safety_item_raised", assessment.id, raised)
    return AssessmentSummary.of(assessment)


async def _undecided_assessment(tx: Tx, assessment_id: str) -> tuple[domain.Assessment, decisions.Decision | None]:
    item = await store_safety.of_assessment(tx.conn, assessment_id)
    if item is not None:  # timer before rows: the order the poller takes them in
        await tx.lock_timers(safety_timer(item.id))
    assessment = await store.load_assessment(tx.conn, assessment_id, lock=True)
    if assessment is None:
        raise ApiError(404, "assessment_not_found", "no assessment with this id")
    return assessment, await store.load_decision(tx.conn, assessment_id)


async def approve(
    assessment_id: str, request: decisions.ApproveRequest, rules: RuleBook, actor: str, keys: Vault, tx: Tx
) -> DecisionView:
    assessment, current = await _undecided_assessment(tx, assessment_id)
    approval = decisions.approve(assessment, current, request, decision_id=str(uuid.uuid4()), now=tx.now, rules=rules)
    sealed = await sealing.seal_decision(tx.conn, keys, approval, tx.now)
    await store.insert_decision(tx.conn, sealed)
    details = {
        "approval_id": approval.id,
        "outcome": assessment.screening.outcome,
        "plan": approval.plan,
        "starting_dose_mg": approval.starting_dose_mg,
        "prescriber_license_state": approval.prescriber_license_state,
        "justification": sealed.justification,  # sealed: the chain still verifies after the patient's erasure
        "in_person_evaluation_on": approval.in_person_evaluation_on and approval.in_person_evaluation_on.isoformat(),
        "special_registration": approval.special_registration,
        **rules_stamp(approval),
    }
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="approved", entity=entity(assessment_id), details=details
    )
    tx.emit(approval.approved_event(), subject=approval.patient_id)
    await _acknowledged_by_decision(tx, assessment_id, actor)
    return DecisionView.of(approval)


async def decline(
    assessment_id: str, request: decisions.DeclineRequest, rules: RuleBook, actor: str, keys: Vault, tx: Tx
) -> DecisionView:
    assessment, current = await _undecided_assessment(tx, assessment_id)
    declined = decisions.decline(assessment, current, request, decision_id=str(uuid.uuid4()), now=tx.now, rules=rules)
    sealed = await sealing.seal_decision(tx.conn, keys, declined, tx.now)
    await store.insert_decision(tx.conn, sealed)
    details = {"decision_id": declined.id, "reason": str(declined.reason), "note": sealed.note}
    details |= rules_stamp(declined)
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="declined", entity=entity(assessment_id), details=details
    )
    tx.emit(declined.declined_event(), subject=declined.patient_id)
    await _acknowledged_by_decision(tx, assessment_id, actor)
    return DecisionView.of(declined)


async def revoke(approval_id: str, request: decisions.RevokeRequest, actor: str, keys: Vault, tx: Tx) -> DecisionView:
    approval = await store.load_approval(tx.conn, approval_id, lock=True)
    if approval is None:
        raise ApiError(404, "approval_not_found", "no approval with this id")
    revoked = decisions.revoke(approval, request, now=tx.now)
    sealed = await sealing.seal_decision(tx.conn, keys, revoked, tx.now)
    await store.save_revocation(tx.conn, sealed)
    assert sealed.revocation is not None
    details = {"approval_id": approval_id, "reason": str(request.reason), "note": sealed.revocation.note}
    await audit.append(
        tx.conn,
        at=tx.now,
        actor=actor,
        action="approval_revoked",
        entity=entity(revoked.assessment_id),
        details=details,
    )
    tx.emit(revoked.revoked_event(), subject=revoked.patient_id)
    opened = await sealing.open_decision(tx.conn, keys, revoked)
    assert opened is not None
    return DecisionView.of(opened)


# --- safety items ------------------------------------------------------------------------------------------------


async def on_safety_acknowledgement_due(
    timer: SafetyAcknowledgementDue, tx: Tx, *, policy: safety.SafetyPolicy
) -> None:
    item = await store_safety.load(tx.conn, timer.safety_item_id, lock=True)
    if item is None:
        return
    item, overdue, next_due = safety.escalate(item, now=tx.now, policy=policy)
    if overdue is None:
        return
    await store_safety.save(tx.conn, item)
    tx.emit(overdue, subject=item.patient_id, once=f"{item.id}:{item.escalation_level}")  # one fact per level
    if next_due is not None:
        tx.schedule(SafetyAcknowledgementDue(safety_item_id=item.id), at=next_due, key=safety_timer(item.id))
    details = {
        "safety_item_id": item.id,
        "escalation_level": item.escalation_level,
        "acknowledge_by": item.acknowledge_by,
    }
    await _audit(tx, TIMER_ACTOR, "safety_review_overdue", item.assessment_id, details)


async def acknowledge_safety_item(item_id: str, actor: str, tx: Tx) -> SafetyItemView:
    item = safety.acknowledge(await _safety_item(tx, item_id), by=actor, now=tx.now)
    await _settle(tx, item, actor, "safety_item_acknowledged")
    return SafetyItemView.of(item)


async def resolve_safety_item(item_id: str, note: str | None, actor: str, keys: Vault, tx: Tx) -> SafetyItemView:
    item = safety.resolve(await _safety_item(tx, item_id), by=actor, note=note, now=tx.now)
    sealed = await sealing.seal_item(tx.conn, keys, item, tx.now)
    await _settle(tx, sealed, actor, "safety_item_resolved", note=sealed.resolution_note)
    return SafetyItemView.of(item)


async def _safety_item(tx: Tx, item_id: str) -> safety.SafetyItem:
    await tx.lock_timers(safety_timer(item_id))
    item = await store_safety.load(tx.conn, item_id, lock=True)
    if item is None:
        raise SafetyItemNotFound(item_id)
    return item


async def _settle(tx: Tx, item: safety.SafetyItem, actor: str, action: str, **extra: Any) -> None:
    await store_safety.save(tx.conn, item)
    tx.cancel(safety_timer(item.id))
    details = {"safety_item_id": item.id, "escalation_level": item.escalation_level, **extra}
    await _audit(tx, actor, action, item.assessment_id, details)


async def _acknowledged_by_decision(tx: Tx, assessment_id: str, actor: str) -> None:
    """A prescriber who decides on the assessment has reviewed its safety item: acknowledged, if nobody had."""
    found = await store_safety.of_assessment(tx.conn, assessment_id)
    item = None if found is None else await store_safety.load(tx.conn, found.id, lock=True)
    if item is not None and item.acknowledged_at is None:
        item = safety.acknowledge(item, by=actor, now=tx.now)
        await _settle(tx, item, actor, "safety_item_acknowledged", by_decision=True)


async def _audit(tx: Tx, actor: str, action: str, assessment_id: str, details: dict[str, Any]) -> None:
    details = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in details.items()}
    await audit.append(tx.conn, at=tx.now, actor=actor, action=action, entity=entity(assessment_id), details=details)
