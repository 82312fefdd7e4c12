"""What happens when something arrives — an event, or a command over HTTP: load → domain → save, audit, emit.

Every change the domain reports is appended to the hash-chained audit log in the same transaction, with its
actor: `event:<event type>` for events, `<role>:<subject>` for HTTP callers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from hearth.contracts import ApprovalRevoked, Approved, Event, SessionStarted
from hearth.kit import audit, telemetry
from hearth.kit.logging import redact_values
from hearth.kit.tx import Tx
from hearth.kit.vault import Vault

from . import domain, store, vault
from .model import Destination, Order, Policies, Policy, Result
from .views import OrderView, ShippingDetailsReceipt


class OrderNotFound(LookupError):
    pass


async def on_approved(event: Event[Approved], tx: Tx, *, policies: Policies) -> None:
    approval, policy = event.data, policies.current()
    await store.lock_approval(tx.conn, approval.approval_id)
    if await store.load_by_approval(tx.conn, approval.approval_id) is not None:
        return  # one order per approval, however often the approval arrives
    result = domain.open_order(
        f"ord-{uuid.uuid4().hex}",
        approval,
        event.subject,
        now=tx.now,
        policy=policy,
        doses_used=await store.doses_used(tx.conn, approval.approval_id),
        revoked_for=await store.revocation_reason(tx.conn, approval.approval_id),
        issued_at=event.time,  # the prescription's issue: Schedule III counts its fill window from it
    )
    await _commit(tx, result, _by(event), event_id=str(event.id))
    if telemetry.current_tracer() is not None:  # later requests on the order link to the approval's trace
        await store.keep_traceparent(tx.conn, result.order.order_id, tx.context.traceparent)


async def on_approval_revoked(event: Event[ApprovalRevoked], tx: Tx) -> None:
    revoked = event.data
    await store.lock_approval(tx.conn, revoked.approval_id)
    await store.record_revocation(
        tx.conn, revoked.approval_id, revoked.prescriber_id, revoked.reason.value, event.time, str(event.id)
    )
    order = await store.load_by_approval(tx.conn, revoked.approval_id)
    if order is not None:  # otherwise the tombstone cancels the order when its approval arrives
        await _commit(tx, domain.revoke(order, revoked.reason.value, tx.now), _by(event), event_id=str(event.id))


async def on_session_started(event: Event[SessionStarted], tx: Tx, *, policies: Policies) -> None:
    session, policy = event.data, policies.current()
    await store.lock_approval(tx.conn, session.approval_id)
    await store.record_dose_use(tx.conn, session.session_id, session.approval_id, event.subject, session.started_at)
    order = await store.load_by_approval(tx.conn, session.approval_id)
    if order is not None:  # otherwise counted when the approval arrives
        used = await store.doses_used(tx.conn, session.approval_id)
        result = domain.use_doses(order, used, now=tx.now, policy=policy)
        await _commit(tx, result, _by(event), event_id=str(event.id))


async def move_box(tx: Tx, order_id: str, actor: str, step: Callable[..., Result], **kwargs: Any) -> OrderView:
    """A pharmacy or carrier step on one box (`step` is domain.pack, deliver, mark_returned or mark_lost)."""
    order, destination = await _load(tx, order_id)
    result = step(order, now=tx.now, **kwargs)
    await _commit(tx, result, actor)
    return OrderView.of(result.order, destination)


async def ship_box(
    tx: Tx, order_id: str, box_number: int, carrier: str, tracking_number: str, actor: str, policy: Policy
) -> OrderView:
    order, destination = await _load(tx, order_id)
    result = domain.ship(
        order,
        box_number,
        carrier=carrier,
        tracking_number=tracking_number,
        destination=destination,
        now=tx.now,
        policy=policy,
    )
    await _commit(tx, result, actor)
    return OrderView.of(result.order, destination)


async def resolve_flag(tx: Tx, order_id: str, flag: str, actor: str, policy: Policy) -> OrderView:
    order, destination = await _load(tx, order_id)
    result = domain.resolve_flag(order, flag, now=tx.now, policy=policy)
    await _commit(tx, result, actor)
    return OrderView.of(result.order, destination)


async def give_shipping_details(
    tx: Tx, order_id: str, details: vault.ShippingDetails, actor: str, keys: Vault, patient: str | None
) -> ShippingDetailsReceipt:
    """`patient`: when a patient gives them, only for an order of their own."""
    with redact_values(*details.values()):
        order, _ = await _load(tx, order_id)
        if patient is not None and patient != order.patient_id:
            raise OrderNotFound(order_id)
        domain.accept_destination(order, details.state)
        key_id = await vault.put(tx.conn, keys, order_id, order.patient_id, details, tx.now)
        await audit.append(
            tx.conn,
            at=tx.now,
            actor=actor,
            action="shipping_details_recorded",
            entity=f"order:{order_id}",
            details={"ship_to_state": details.state, "key_id": str(key_id)},
        )
    return ShippingDetailsReceipt(order_id=order_id, status="provided", ship_to_state=details.state, updated_at=tx.now)


async def _load(tx: Tx, order_id: str) -> tuple[Order, Destination]:
    """The order to change, locked, and where it ships (which no step of it changes)."""
    found = await store.load_for_change(tx.conn, order_id)
    if found is None:
        raise OrderNotFound(order_id)
    if telemetry.current_tracer() is not None:  # a pharmacy or carrier step: a trace of its own, linked
        telemetry.link_to(await store.order_traceparent(tx.conn, order_id))
    return found


async def _commit(tx: Tx, result: Result, actor: str, **context: Any) -> None:
    order = result.order
    if result.changes:
        await store.save(tx.conn, order, tx.now)
    for change in result.changes:
        await audit.append(
            tx.conn,
            at=tx.now,
            actor=actor,
            action=change.action,
            entity=f"order:{order.order_id}",
            details={**change.details, **context},
        )
        if change.event is not None:
            tx.emit(change.event, subject=order.patient_id)


def _by(event: Event[Any]) -> str:
    return f"event:{event.type}"
