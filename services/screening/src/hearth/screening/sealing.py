"""What a person wrote, sealed with the patient's data key before it is stored (`hearth.kit.vault`): the drugs
and medications an intake lists, the prescriber's justification and notes, a safety item's resolution note.

Handlers seal right before saving and put the sealed values in the audit entry; readers open what they load.
After the patient's erasure everything here reads `ERASED`; scores, outcomes and decisions stay.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from hearth.kit.db import Connection
from hearth.kit.vault import Vault

from .decisions import Decision
from .domain import Assessment, Intake
from .safety import SafetyItem


async def seal_intake(conn: Connection, keys: Vault, intake: Intake, now: datetime) -> Intake:
    pid = intake.patient_id
    place = "screening.intake.drug"
    trials = [replace(t, drug=await keys.seal_text(conn, pid, t.drug, place, now)) for t in intake.trials]
    medications = await keys.seal_all(conn, pid, intake.medications, "screening.intake.medication", now)
    return replace(intake, trials=tuple(trials), medications=medications)


async def open_assessment(conn: Connection, keys: Vault, a: Assessment) -> Assessment:
    pid = a.intake.patient_id
    place = "screening.intake.drug"
    trials = [replace(t, drug=await keys.open_text(conn, pid, t.drug, place)) for t in a.intake.trials]
    medications = await keys.open_all(conn, pid, a.intake.medications, "screening.intake.medication")
    return replace(a, intake=replace(a.intake, trials=tuple(trials), medications=medications))


async def seal_decision(conn: Connection, keys: Vault, d: Decision, now: datetime) -> Decision:
    d = await keys.seal_fields(conn, d, d.patient_id, ("justification", "note"), "screening.decisions", now)
    if d.revocation is not None:
        note = await keys.seal(conn, d.patient_id, d.revocation.note, "screening.decisions.revoke_note", now)
        d = replace(d, revocation=replace(d.revocation, note=note))
    return d


async def open_decision(conn: Connection, keys: Vault, d: Decision | None) -> Decision | None:
    if d is None:
        return None
    d = await keys.open_fields(conn, d, d.patient_id, ("justification", "note"), "screening.decisions")
    if d.revocation is not None:
        note = await keys.open(conn, d.patient_id, d.revocation.note, "screening.decisions.revoke_note")
        d = replace(d, revocation=replace(d.revocation, note=note))
    return d


async def seal_item(conn: Connection, keys: Vault, item: SafetyItem, now: datetime) -> SafetyItem:
    return await keys.seal_fields(conn, item, item.patient_id, ("resolution_note",), "screening.safety_items", now)


async def open_item(conn: Connection, keys: Vault, item: SafetyItem | None) -> SafetyItem | None:
    if item is None:
        return None
    return await keys.open_fields(conn, item, item.patient_id, ("resolution_note",), "screening.safety_items")
