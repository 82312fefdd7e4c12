"""W3C trace context: one trace id from an HTTP request through the events it causes and their handlers.

The trace context lives in OpenTelemetry's context, so a tracer configured later (an SDK with an exporter,
FastStream's telemetry middleware) picks it up; none is needed here. Where no trace exists yet, ids are
generated the way the SDK would. Every line logged inside carries `trace_id` (and `request_id` for HTTP).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.kit import telemetry
from hearth.kit.logging import bind_context

_propagator = TraceContextTextMapPropagator()
# A client's X-Request-ID is kept only if it is short and plain, since it goes into every log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_traceparent() -> str | None:
    """The `traceparent` of the current trace context (to put on an outgoing event), or None outside one."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def _new_trace() -> trace.SpanContext:
    return trace.SpanContext(
        trace_id=random.getrandbits(128) or 1,
        span_id=random.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )


@contextmanager
def _bind_current() -> Iterator[str]:
    """Binds the `trace_id` of the span already current (the HTTP server span of the instrumentation)."""
    span_context = trace.get_current_span().get_span_context()
    with bind_context(trace_id=trace.format_trace_id(span_context.trace_id)):
        yield current_traceparent() or ""


@contextmanager
def extract_traceparent(traceparent: str | None) -> Iterator[str]:
    """Makes the trace of `traceparent` current inside the block (a new trace when it is missing or
    malformed), binds its `trace_id` for logging, and yields the traceparent now current."""
    ctx = _propagator.extract({"traceparent": traceparent} if traceparent else {})
    span_context = trace.get_current_span(ctx).get_span_context()
    if not span_context.is_valid:
        span_context = _new_trace()
        ctx = trace.set_span_in_context(trace.NonRecordingSpan(span_context))
    token = otel_context.attach(ctx)
    try:
        with bind_context(trace_id=trace.format_trace_id(span_context.trace_id)):
            yield current_traceparent() or ""
    finally:
        otel_context.detach(token)


class TraceContextMiddleware:
    """Runs each HTTP request in the trace of its `traceparent` header (or a new one), binds `trace_id` and
    `request_id` for logging, keeps them in `request.state` and returns `X-Request-ID`.  With tracing on, the
    instrumentation's server span (outside this middleware) already continues the header's trace: it is used
    as it is, and the service's tracer is made current for the spans the request causes."""

    def __init__(self, app: ASGIApp, tracing: telemetry.ServiceTracing | None = None) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        offered = headers.get("x-request-id", "")
        request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                if "x-request-id" not in response_headers:
                    response_headers.append("X-Request-ID", request_id)
            await send(message)

        traced = trace.get_current_span().get_span_context().is_valid
        token = self.tracing.activate() if self.tracing is not None else None
        try:
            await self._serve(
                scope,
                receive,
                send_with_request_id,
                _bind_current() if traced else extract_traceparent(headers.get("traceparent")),
                request_id,
            )
        finally:
            if token is not None:
                telemetry.deactivate(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, trace_context: Any, request_id: str) -> None:
        with trace_context as traceparent, bind_context(request_id=request_id):
            # The scope's state outlives this block: the 500 handler (outside all middleware) still sees it.
            state = scope.setdefault("state", {})
            state["request_id"] = request_id
            state["traceparent"] = traceparent
            await self.app(scope, receive, send)
