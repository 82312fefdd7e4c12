"""What happens when an HTTP command arrives: one short function each, run by the API in a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hearth.kit import audit
from hearth.kit.tx import Tx
from hearth.kit.vault import Vault

from . import store, store_items
from .domain import integration, items, mood
from .domain.integration import IntegrationCommand
from .timers import IntegrationWindowCloses, IntegrationWindowOpens
from .views import IntegrationView, ItemView, MeasurementView


class NotFound(Exception):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident} is not known")
        self.what = what


async def record_integration(session_id: str, command: IntegrationCommand, vault: Vault, tx: Tx) -> IntegrationView:
    """Booking cancels the reminder at the window's opening; a done integration also the overdue check."""
    keys = [IntegrationWindowOpens.key(session_id), IntegrationWindowCloses.key(session_id)]
    await tx.lock_timers(*keys)
    session = await store.find_session(tx.conn, session_id, lock=True)
    if session is None:
        raise NotFound("session", session_id)
    session, completed = integration.record(session, command, tx.now, new_id=str(uuid.uuid4()))
    notes = await vault.seal(
        tx.conn, session.patient_id, session.integration.notes, "followup.integration.notes", tx.now
    )
    session = replace(session, integration=replace(session.integration, notes=notes))
    await store.save_session(tx.conn, session)
    tx.cancel(keys[0])
    if command.status == "done":
        tx.cancel(keys[1])
    tx.emit(completed, subject=session.patient_id)
    await audit.append(
        tx.conn,
        at=tx.now,
        actor=command.actor,
        action=f"integration.{command.status}",
        entity=f"session:{session_id}",
        details={"integration_id": completed.integration_id},
    )
    return IntegrationView.of(session)


async def submit_mood(
    patient_id: str, phq9: tuple[int, ...] | None, gad7: tuple[int, ...] | None, actor: str, tx: Tx
) -> MeasurementView:
    """Store the answers; a PHQ-9 self-harm answer above 0 raises an urgent follow-up item in the same step."""
    patient = await store.lock_patient(tx.conn, patient_id)
    measurement = mood.measure(str(uuid.uuid4()), patient_id, tx.now, phq9, gad7)
    await store.add_measurement(tx.conn, measurement, submitted_by=actor)
    urgent = items.for_measurement(measurement)
    if urgent is not None:
        await store_items.add_item(tx.conn, urgent)
    return MeasurementView.of(measurement, patient.baseline)


async def resolve_item(item_id: str, note: str | None, actor: str, vault: Vault, tx: Tx) -> ItemView:
    item = await store_items.find_item(tx.conn, item_id, lock=True)
    if item is None:
        raise NotFound("follow-up item", item_id)
    item = items.resolve(item, actor, note, tx.now)
    place = "followup.items"
    await store_items.save_resolution(
        tx.conn, await vault.seal_fields(tx.conn, item, item.patient_id, ("resolution_note",), place, tx.now)
    )
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="follow_up_item.resolved", entity=f"follow-up-item:{item_id}"
    )
    return ItemView.of(item)
