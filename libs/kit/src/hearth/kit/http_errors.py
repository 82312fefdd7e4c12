"""One JSON error body for every error a service returns, and the handlers and middleware that produce it.

    {"error": {"code": "validation_error", "message": "...",
               "fields": [{"field": "body.phq9.3", "message": "..."}],
               "request_id": "...", "details": {...}}}

Error bodies never echo what the client sent (it may be personal data) and never carry stack traces:
validation errors keep only the field path and pydantic's message, library messages go through the log
scrubber's `redact_text`, and unexpected exceptions become a generic 500 whose traceback is only logged.
`details` (e.g. `current_state` on a 409, the failed gate conditions) is written by service code and must hold
no personal data.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.kit.logging import bind_context, get_logger, redact_text

_log = get_logger("hearth.kit.http")


class Command(BaseModel):
    """Base of every HTTP command body: an unknown field is refused with 422 naming it, not ignored."""

    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    request_id: str
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """The body of every error response; routes can name it in `responses=` for the OpenAPI document."""

    error: ErrorDetail


class ApiError(Exception):
    """An error a route raises on purpose; rendered as `ErrorBody` with this status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Sequence[FieldError] | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields or ())
        self.details = dict(details) if details is not None else None
        self.headers = dict(headers or {})


def _request_id(scope: Scope) -> str:
    # Bound by TraceContextMiddleware; the scope copy also reaches the 500 handler, which runs outside it.
    bound = structlog.contextvars.get_contextvars().get("request_id")
    stored = scope.get("state", {}).get("request_id")
    return str(bound or stored or uuid.uuid4().hex)


def _render(scope: Scope, error: ApiError) -> JSONResponse:
    request_id = _request_id(scope)
    detail = ErrorDetail(
        code=error.code,
        message=error.message,
        fields=error.fields,
        request_id=request_id,
        details=jsonable_encoder(error.details) if error.details is not None else None,
    )
    body = ErrorBody(error=detail).model_dump(mode="json")
    if error.details is None:
        del body["error"]["details"]
    headers = {**error.headers, "X-Request-ID": request_id}
    return JSONResponse(body, status_code=error.status, headers=headers)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _code_for(status: int) -> str:
    try:
        return _CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def api_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Render an ApiError in the one error shape (also for handlers the app factory adds)."""
    assert isinstance(exc, ApiError)
    return _render(request.scope, exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only `loc` and `msg` are used: pydantic's `input` and `ctx` carry the submitted value.
    fields = [
        FieldError(field=".".join(str(part) for part in e["loc"]), message=redact_text(str(e["msg"])))
        for e in exc.errors()
    ]
    error = ApiError(422, "validation_error", "the request is not valid", fields=fields)
    return _render(request.scope, error)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else _code_for(exc.status_code).replace("_", " ")
    error = ApiError(exc.status_code, _code_for(exc.status_code), redact_text(message), headers=exc.headers)
    return _render(request.scope, error)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    error = ApiError(500, "internal_error", "an unexpected error occurred; it has been logged")
    response = _render(request.scope, error)
    with bind_context(request_id=response.headers["X-Request-ID"]):
        _log.error("unhandled error", method=request.method, path=request.url.path, exc_info=exc)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Makes every error the app returns an `ErrorBody`: raised ApiError (and AuthError), validation errors,
    HTTPException (including Starlette's 404/405) and any other exception (500)."""
    app.add_exception_handler(ApiError, api_error_response)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)


class _BodyTooLarge(HTTPException):
    # An HTTPException, because FastAPI turns any other exception raised while reading the body into a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_body_bytes` with 413: at once from Content-Length, otherwise by
    counting the chunks as they are read, so a chunked upload cannot get around it."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 1_048_576) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if response_started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = _BodyTooLarge(self.max_body_bytes)
        response = _render(scope, ApiError(413, _code_for(413), exc.detail))
        await response(scope, receive, send)
