"""Care-team follow-up items: listed for operations and clinicians, resolved by a clinician."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from hearth.contracts.primitives import PATIENT_ID_PATTERN
from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.http_errors import Command
from hearth.kit.vault import Vault

from .. import commands, store_items
from ..views import ItemList, ItemView
from .common import ERRORS, run


class ResolveItem(Command):
    note: str | None = Field(
        default=None, max_length=4000, description="What was done; free text stored here only, never emitted"
    )


def router(vault: Vault) -> APIRouter:
    r = APIRouter(tags=["follow-up items"])

    @r.get(
        "/follow-up-items",
        response_model=ItemList,
        responses=ERRORS,
        summary="Follow-up items for the care team, urgent first then oldest first",
    )
    async def list_items(
        runtime: RuntimeDep,
        _: Annotated[Principal, Depends(require_roles(Role.OPS, Role.CLINICIAN))],
        status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
        patient_id: Annotated[str | None, Query(pattern=PATIENT_ID_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> ItemList:
        async with runtime.pool.acquire() as conn:
            found = await store_items.list_items(conn, status=status, patient_id=patient_id, limit=limit)
            place = "followup.items"
            opened = [await vault.open_fields(conn, i, i.patient_id, ("resolution_note",), place) for i in found]
        return ItemList(items=[ItemView.of(i) for i in opened])

    @r.post(
        "/follow-up-items/{item_id}/resolve",
        response_model=ItemView,
        responses=ERRORS,
        summary="Resolve a follow-up item",
    )
    async def resolve(
        item_id: uuid.UUID,
        request: Request,
        runtime: RuntimeDep,
        principal: Annotated[Principal, Depends(require_roles(Role.CLINICIAN))],
        body: ResolveItem | None = None,
    ) -> JSONResponse:
        note = body.note if body is not None else None
        return await run(
            request,
            runtime,
            principal,
            lambda tx: commands.resolve_item(str(item_id), note, principal.subject, vault, tx),
        )

    return r
