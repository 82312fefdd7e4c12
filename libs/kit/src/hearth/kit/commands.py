"""HTTP commands: run in a unit of work, at most once per Idempotency-Key.

The key is checked and the first response stored in the command's own transaction.  Two concurrent requests
with one key both run; the second's insert of the key conflicts, its transaction (effects included) rolls back,
and its retry finds and replays the first response.

The stored fingerprint of a request is an HMAC-SHA256 under the service's own `idempotency_secret`, never a plain
hash of the body: a plain hash lets anyone who can guess a body (a person's shipping details) confirm it from a
copy of the table. The stored response holds no free text either: fields declared with `personal_text()` are
kept as null, so a replay answers without them (the caller sent that text itself) and erasing a patient leaves
no plain copy behind in `hearth_idempotency`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from . import idempotency_rows
from .context import EventContext
from .http_errors import ApiError
from .idempotency_rows import Remembered
from .tracing import current_traceparent
from .tx import Tx
from .uow import UnitOfWork

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


_PERSONAL = "personal_text"


def personal_text(description: str = "Free text a person wrote") -> Any:
    """A view field holding what a person wrote: answered once, never stored with an Idempotency-Key's response."""
    return Field(default=None, description=description, json_schema_extra={_PERSONAL: True})


def without_personal_text(model: BaseModel) -> Any:
    """The JSON of `model` with every `personal_text()` field, at any depth, set to null."""
    dumped = model.model_dump(mode="json")
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = info.alias or name
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(_PERSONAL):
            dumped[key] = None
        elif isinstance(value, BaseModel):
            dumped[key] = without_personal_text(value)
        elif isinstance(value, list | tuple) and value and all(isinstance(v, BaseModel) for v in value):
            dumped[key] = [without_personal_text(v) for v in value]
    return dumped


async def run_command(
    request: Request,
    uow: UnitOfWork,
    principal: str,
    fn: Callable[[Tx], Awaitable[BaseModel]],
    *,
    status_code: int = 200,
) -> JSONResponse:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 1 <= len(key) <= 200:
        raise ApiError(400, "bad_idempotency_key", f"{IDEMPOTENCY_HEADER} must be 1 to 200 characters")
    fingerprint = request_fingerprint(
        _idempotency_secret(request), request.method, request.url.path, await request.body()
    )
    context = EventContext(
        correlation_id=_identifier(request.headers.get("X-Correlation-ID")) or str(uuid.uuid4()),
        causation_id=_identifier(request.headers.get("X-Request-ID")),
        traceparent=current_traceparent(),
    )

    async def attempt(tx: Tx) -> tuple[int, Any]:
        if key is not None:
            stored = await tx.conn.fetchrow(
                "SELECT request_hash, status_code, response FROM hearth_idempotency WHERE principal = $1 AND key = $2",
                principal,
                key,
            )
            if stored is not None:
                if stored["request_hash"] != fingerprint:
                    raise ApiError(
                        422,
                        "idempotency_key_reused",
                        f"{IDEMPOTENCY_HEADER} was already used for a different request",
                    )
                return int(stored["status_code"]), orjson.loads(stored["response"])
        result = await fn(tx)
        body = result.model_dump(mode="json")
        if key is not None:  # written with the transaction's last statement (at_commit.py)
            response = orjson.dumps(without_personal_text(result)).decode()
            await idempotency_rows.remember(tx.conn, Remembered(principal, key, fingerprint, status_code, response))
        return status_code, body

    for _ in range(3):
        try:
            code, body = await uow.run(attempt, context, give_up_after=10.0)
            return JSONResponse(body, status_code=code)
        except asyncpg.UniqueViolationError as exc:
            if key is None or exc.constraint_name != idempotency_rows.PRIMARY_KEY:
                raise
    raise ApiError(409, "idempotency_conflict", "a concurrent request with the same Idempotency-Key is in progress")


FINGERPRINT_SCHEME = "hmac-sha256:"


def request_fingerprint(secret: bytes, method: str, path: str, body: bytes) -> str:
    """What tells a repeat of a request from another request under the same key, keyed by the service's secret."""
    message = method.encode() + b" " + path.encode() + b"\n" + body
    return FINGERPRINT_SCHEME + hmac.new(secret, message, hashlib.sha256).hexdigest()


def _idempotency_secret(request: Request) -> bytes:
    secret = request.app.state.runtime.settings.idempotency_secret
    if secret is None:  # create_app refuses to start without it; this guards apps assembled otherwise
        raise RuntimeError("HEARTH_IDEMPOTENCY_SECRET is not set")
    return bytes(secret.get_secret_value().encode())


def _identifier(value: str | None) -> str | None:
    """A caller-supplied id is used only when it fits the contract's identifier form; otherwise a new one is made."""
    return value if value is not None and _IDENTIFIER.match(value) else None
