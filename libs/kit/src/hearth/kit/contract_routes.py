"""Every service serves the contracts it was built with: `/asyncapi.json` and `/schemas/<topic or type>.json`.

They are the documents shipped in hearth-contracts (`hearth.contracts.published`), the same in every service of a
release; they hold no data, so no token is needed. A gateway can route the canonical `dataschema` host
(`schemas.hearth.internal/events/<topic>.json`) to any service's `/schemas/`.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from hearth.contracts import ContractError
from hearth.contracts.published import asyncapi_text, schema_text

from .http_errors import ApiError


def contracts_router() -> APIRouter:
    router = APIRouter(tags=["contracts"])

    @router.get("/asyncapi.json", summary="The AsyncAPI 3.0 document of every event")
    async def asyncapi_document() -> Response:
        return Response(asyncapi_text(), media_type="application/json")

    @router.get(
        "/schemas/{name}.json", summary="The JSON Schema of one event (topic or type, e.g. screening.approved.v1)"
    )
    async def event_schema(name: str) -> Response:
        try:
            text = schema_text(name)
        except ContractError as unknown:
            raise ApiError(404, "not_found", f"no event {name!r} in this release's catalog") from unknown
        return Response(text, media_type="application/schema+json")

    return router
