"""HTTP routes of the clinician's work queue: the review queue, and the safety items to acknowledge and resolve."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.primitives import IDENTIFIER_PATTERN
from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.commands import run_command
from hearth.kit.http_errors import ApiError, Command, ErrorBody
from hearth.kit.vault import Vault

from . import handlers, sealing, store_safety
from .bodies import Text
from .safety import SafetyRefused
from .views import QueueEntry, ReviewQueue, SafetyItemList, SafetyItemView

Id = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="A safety item id")]
Clinician = Annotated[Principal, Depends(require_roles(Role.CLINICIAN))]
Reader = Annotated[Principal, Depends(require_roles(Role.CLINICIAN, Role.OPS))]
Limit = Annotated[int, Query(ge=1, le=500)]
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}


class ResolveBody(Command):
    note: Text | None = Field(default=None, description="What was done; free text stored here only, never emitted")


def router(keys: Vault) -> APIRouter:
    api = APIRouter(tags=["work queue"], responses=_ERRORS)

    @api.get("/review-queue", response_model=ReviewQueue, summary="Assessments waiting for a decision")
    async def review_queue(runtime: RuntimeDep, who: Clinician, limit: Limit = 100) -> ReviewQueue:
        """Eligible and needs_review assessments without a decision: urgent (PHQ-9 item 9 above 0) first, then
        the other reviews, then eligible ones; oldest first within each, with how long each has waited."""
        now = runtime.clock.now()
        async with runtime.pool.acquire() as conn:
            rows = await store_safety.review_queue(conn, limit)
            items = {
                r["safety_item_id"]: await sealing.open_item(
                    conn, keys, await store_safety.load(conn, r["safety_item_id"])
                )
                for r in rows
            }
        entries = [
            QueueEntry(
                assessment_id=r["id"],
                patient_id=r["patient_id"],
                patient_state=r["patient_state"],
                outcome=r["outcome"],
                reasons=[ReasonCode(c) for c in r["reasons"]],
                urgent=r["safety_flag"],
                submitted_at=r["submitted_at"],
                age_seconds=max(0, int((now - r["submitted_at"]).total_seconds())),
                safety_item=None if (item := items.get(r["safety_item_id"])) is None else SafetyItemView.of(item),
            )
            for r in rows
        ]
        return ReviewQueue(items=entries)

    @api.get("/safety-items", response_model=SafetyItemList, summary="Safety items, oldest first")
    async def list_items(
        runtime: RuntimeDep,
        who: Reader,
        status: Annotated[Literal["unresolved", "unacknowledged", "all"], Query()] = "unacknowledged",
        limit: Limit = 100,
    ) -> SafetyItemList:
        async with runtime.pool.acquire() as conn:
            found = [await sealing.open_item(conn, keys, i) for i in await store_safety.listing(conn, status, limit)]
        return SafetyItemList(items=[SafetyItemView.of(i) for i in found if i is not None])

    async def _command(request: Request, runtime: Any, who: Principal, fn: Any) -> JSONResponse:
        try:
            return await run_command(request, runtime.uow, who.subject, fn)
        except SafetyRefused as refused:
            raise ApiError(409, refused.code, refused.message) from None
        except handlers.SafetyItemNotFound:
            raise ApiError(404, "safety_item_not_found", "no safety item with this id") from None

    @api.post("/safety-items/{item_id}/acknowledge", response_model=SafetyItemView, summary="Acknowledge")
    async def acknowledge(item_id: Id, request: Request, runtime: RuntimeDep, who: Clinician) -> JSONResponse:
        """The caller has seen the self-harm answer: the deadline and any further escalation are cancelled."""
        return await _command(
            request, runtime, who, lambda tx: handlers.acknowledge_safety_item(item_id, who.subject, tx)
        )

    @api.post("/safety-items/{item_id}/resolve", response_model=SafetyItemView, summary="Resolve")
    async def resolve(
        item_id: Id, request: Request, runtime: RuntimeDep, who: Clinician, body: ResolveBody | None = None
    ) -> JSONResponse:
        """What was done is recorded (acknowledging the item too, if nobody had)."""
        note = None if body is None else body.note
        return await _command(
            request, runtime, who, lambda tx: handlers.resolve_safety_item(item_id, note, who.subject, keys, tx)
        )

    return api
