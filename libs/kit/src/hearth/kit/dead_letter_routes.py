"""Operators' HTTP view of a service's dead letters, and replay.

Replay re-processes the record this service stored when it dead-lettered it — read from its origin topic by
this service, checked again for topic, source and contract — here and nowhere else: no other consumer of the
origin topic sees it again, and a letter written to the DLQ topic by anyone else cannot be replayed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator

from .auth import Principal, Role, require_roles
from .http_errors import ApiError
from .logging import get_logger

if TYPE_CHECKING:
    from .app import Runtime

log = get_logger(__name__)

Ops = Annotated[Principal, Depends(require_roles(Role.OPS))]


class DeadLetterView(BaseModel):
    id: int
    reason: str
    error: str
    origin_topic: str
    origin_partition: int
    origin_offset: int
    value_bytes: int
    created_at: datetime
    published_at: datetime | None
    publish_error: str | None
    replayed_at: datetime | None
    replay_outcome: str | None


class ReplayRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=1000, description="Letters to replay"
    )
    all: bool = Field(default=False, description="Replay every letter not yet replayed")

    @model_validator(mode="after")
    def _one_of(self) -> ReplayRequest:
        if bool(self.ids) == self.all:
            raise ValueError("give either ids or all=true")
        return self


class ReplayedLetter(BaseModel):
    id: int
    outcome: str


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def dead_letter_router() -> APIRouter:
    router = APIRouter(prefix="/dead-letters", tags=["operations"])

    @router.get("", summary="This service's dead letters, newest first")
    async def list_letters(
        request: Request, _: Ops, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[DeadLetterView]:
        runtime = _runtime(request)
        async with runtime.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, reason, error, origin_topic, origin_partition, origin_offset,"
                " coalesce(length(record_value), 0) AS value_bytes, created_at, published_at, publish_error,"
                " replayed_at, replay_outcome FROM hearth_dead_letters WHERE consumer = $1 ORDER BY id DESC LIMIT $2",
                runtime.inbox.consumer,
                limit,
            )
        return [DeadLetterView(**dict(row)) for row in rows]

    @router.post("/replay", summary="Process dead letters again, in this service only")
    async def replay(request: Request, body: ReplayRequest, principal: Ops) -> list[ReplayedLetter]:
        runtime = _runtime(request)
        if body.all:
            async with runtime.pool.acquire() as conn:
                ids = [
                    int(r[0])
                    for r in await conn.fetch(
                        "SELECT id FROM hearth_dead_letters WHERE consumer = $1 AND replayed_at IS NULL ORDER BY id",
                        runtime.inbox.consumer,
                    )
                ]
        else:
            ids = sorted(set(body.ids))
            async with runtime.pool.acquire() as conn:
                found = {
                    int(r[0])
                    for r in await conn.fetch(
                        "SELECT id FROM hearth_dead_letters WHERE consumer = $1 AND id = ANY($2::bigint[])",
                        runtime.inbox.consumer,
                        ids,
                    )
                }
            if missing := sorted(set(ids) - found):
                raise ApiError(404, "not_found", f"no dead letter with id {missing[:20]} in this service")
        log.info("dead_letters_replay", actor=principal.subject, letters=len(ids))
        results = await runtime.inbox.replay(ids)
        return [ReplayedLetter(id=r.letter_id, outcome=r.outcome) for r in results]

    return router
