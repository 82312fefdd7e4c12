"""What every route shares: running a command with the domain's refusals mapped to HTTP errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hearth.kit.app import Runtime
from hearth.kit.auth import Principal, Role
from hearth.kit.commands import run_command
from hearth.kit.http_errors import ApiError, ErrorBody
from hearth.kit.tx import Tx

from ..commands import NotFound
from ..domain import Refused

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}


async def run(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    fn: Callable[[Tx], Awaitable[BaseModel]],
    *,
    status_code: int = 200,
) -> JSONResponse:
    async def guarded(tx: Tx) -> BaseModel:
        try:
            return await fn(tx)
        except Refused as refused:
            raise ApiError(409, refused.code, refused.message, details=refused.details) from None
        except NotFound as missing:
            raise ApiError(404, "not_found", str(missing)) from None

    return await run_command(request, runtime.uow, principal.subject, guarded, status_code=status_code)


def require_own_record(principal: Principal, patient_id: str) -> None:
    """A patient sees and writes only their own record (their token's subject is their pseudonymous id)."""
    if principal.role == Role.PATIENT and principal.subject != patient_id:
        raise ApiError(403, "forbidden", "a patient may only use their own record")
