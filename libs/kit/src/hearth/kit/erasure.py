"""Erasing a patient's personal data, in every service that keeps free text about them.

`DELETE /patients/{patient_id}/personal-data` (role `privacy_officer`) destroys the patient's data keys in this
service's vault (`vault.py`): every value sealed with them, in its tables, its audit trail and its backups, reads
`ERASED` from then on, while clinical facts, the audit chain and the events stay valid. The screening service,
where a patient's care begins, also announces it (`patient-erased`), and every other service erases in step when
that event arrives (`on_patient_erased`). Erasing is idempotent: a repeat destroys nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hearth.contracts import Event
from hearth.contracts.events.erasure import PatientErased
from hearth.contracts.primitives import PATIENT_ID_PATTERN

from . import audit
from .app import RuntimeDep
from .auth import Principal, Role, require_roles
from .commands import run_command
from .event_handlers import EventHandler
from .http_errors import ErrorBody
from .tx import Tx
from .vault import Vault

PrivacyOfficer = Annotated[Principal, Depends(require_roles(Role.PRIVACY_OFFICER))]


class ErasureView(BaseModel):
    patient_id: str
    keys_destroyed: int = Field(description="Data keys destroyed now (0 when none was live)")
    erased_at: datetime


async def erase(tx: Tx, vault: Vault, patient_id: str, actor: str, *, announce: bool) -> ErasureView:
    destroyed = await vault.shred(tx.conn, patient_id, tx.now)
    details = {"keys_destroyed": destroyed}
    await audit.append(
        tx.conn, at=tx.now, actor=actor, action="personal_data_erased", entity=f"patient:{patient_id}", details=details
    )
    if announce:
        tx.emit(PatientErased(erased_at=tx.now), subject=patient_id)
    return ErasureView(patient_id=patient_id, keys_destroyed=destroyed, erased_at=tx.now)


def erasure_router(vault: Vault, *, announce: bool = False) -> APIRouter:
    """The erasure endpoint of a service; `announce`: emit `patient-erased` (the screening service)."""
    api = APIRouter(tags=["personal data"])
    errors: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 422)}

    @api.delete(
        "/patients/{patient_id}/personal-data",
        response_model=ErasureView,
        responses=errors,
        summary="Erase a patient's personal data by destroying their data keys (privacy officer)",
        description="Crypto-shredding: free text sealed with the patient's keys stays stored but reads `ERASED` "
        "from now on; clinical facts, the audit trail and the events are unchanged. Idempotent."
        + (" Announced as patient-erased, so every service erases in step." if announce else ""),
    )
    async def erase_personal_data(
        patient_id: Annotated[str, Path(pattern=PATIENT_ID_PATTERN)],
        request: Request,
        runtime: RuntimeDep,
        who: PrivacyOfficer,
    ) -> JSONResponse:
        async def handle(tx: Tx) -> ErasureView:
            return await erase(tx, vault, patient_id, f"{who.role}:{who.subject}", announce=announce)

        return await run_command(request, runtime.uow, who.subject, handle)

    return api


def on_patient_erased(vault: Vault) -> EventHandler:
    """The handler of `patient-erased` for a service's subscription table."""

    async def handle(event: Event[PatientErased], tx: Tx) -> None:
        await erase(tx, vault, event.subject, f"event:{event.id}", announce=False)

    return handle
