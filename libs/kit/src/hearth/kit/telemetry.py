"""Spans: where a service's work shows in a trace — HTTP requests, outbox staging, relay publishing, Kafka
consuming and each handler, timers firing, database calls — exported by OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT`
(or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set.

Without an exporter no tracer exists and none of this creates a span: the kit keeps only the W3C context of
`tracing.py` (trace ids in logs and on events), at the cost of one context-variable read per call.

Each service has its own tracer provider (resource `service.name` = the service), so several services can run
in one process (tests) and still appear as themselves.  Kit code finds the tracer of the service it works for
in a context variable, set where work enters a service: the lifespan that starts its background tasks (consumer,
relay, poller inherit it) and each HTTP request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util import types

from hearth.contracts import Event

_TRACER: ContextVar[Tracer | None] = ContextVar("hearth_tracer", default=None)
_propagator = TraceContextTextMapPropagator()
_NOTHING: AbstractContextManager[None] = nullcontext()
_TRACEPARENT_FIELD = b'"traceparent":"'
_TRACEPARENT_LENGTH = 55  # 00-<32 hex>-<16 hex>-<2 hex>
INSTRUMENTATION = "hearth.kit"


def exporter_from_environment() -> SpanExporter | None:
    """The OTLP/HTTP exporter when an endpoint is configured (the exporter reads the OTEL_EXPORTER_OTLP_*
    variables itself: endpoint, headers, timeout), else None: nothing is exported."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class ServiceTracing:
    """One service's tracer provider.  `batch`: spans leave in the background (OTLP); otherwise each span is
    handed to the exporter as it ends (an in-memory exporter in tests)."""

    def __init__(self, service: str, exporter: SpanExporter, *, batch: bool) -> None:
        self.service = service
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        scrubbed = WithoutErrorText(exporter)
        processor = BatchSpanProcessor(scrubbed) if batch else SimpleSpanProcessor(scrubbed)
        self.provider.add_span_processor(processor)
        self._owns_exporter = batch
        self.tracer: Tracer = self.provider.get_tracer(INSTRUMENTATION)
        from .database_spans import instrument_asyncpg  # it reads the tracer this module sets

        instrument_asyncpg()

    def activate(self) -> Token[Tracer | None]:
        """Make this service's tracer the one kit code uses in the current context (and tasks created in it)."""
        return _TRACER.set(self.tracer)

    def close(self) -> None:
        """Send what is buffered; an exporter handed in by the caller (tests) stays open for its other users."""
        if self._owns_exporter:
            self.provider.shutdown()
        else:
            self.provider.force_flush()


_ERROR_TEXT = frozenset({"exception.message", "exception.stacktrace"})
# Who called, as the HTTP instrumentation records it: an IP address is an identifier of the person behind a
# request (the kit writes no access log for the same reason).
_CALLER = frozenset(
    {
        "client.address",
        "client.port",
        "net.peer.ip",
        "net.peer.port",
        "network.peer.address",
        "network.peer.port",
        "http.client_ip",
        "user_agent.original",
        "http.user_agent",
    }
)


class WithoutErrorText(SpanExporter):
    """Hands spans on without the text of an error — an exception's message or traceback, or a status
    description, may quote the data that failed (a database constraint quotes the row) — and without the
    caller's address and user agent: spans leave the service for a collector that is not a store of health
    data.  The exception's type stays."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([_scrubbed(s) for s in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _scrubbed(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    caller = not _CALLER.isdisjoint(attributes)
    if not caller and span.status.description is None and not any(e.name == "exception" for e in span.events):
        return span
    events = [
        SpanEvent(e.name, {k: v for k, v in (e.attributes or {}).items() if k not in _ERROR_TEXT}, e.timestamp)
        for e in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in attributes.items() if k not in _CALLER} if caller else attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=trace.Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def service_tracing(service: str, exporter: SpanExporter | None = None) -> ServiceTracing | None:
    """The service's tracing: to `exporter` when given, else by OTLP when configured, else None (no spans)."""
    if exporter is not None:
        return ServiceTracing(service, exporter, batch=False)
    configured = exporter_from_environment()
    return None if configured is None else ServiceTracing(service, configured, batch=True)


def deactivate(token: Token[Tracer | None]) -> None:
    _TRACER.reset(token)


def current_tracer() -> Tracer | None:
    return _TRACER.get()


def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL, attributes: types.Attributes = None) -> Any:
    """A span of the current service, child of the current span; nothing when tracing is off."""
    tracer = _TRACER.get()
    if tracer is None:
        return _NOTHING
    return tracer.start_as_current_span(name, kind=kind, attributes=attributes)


def child_span(name: str, attributes: Callable[[], types.Attributes]) -> Any:
    """A span only inside a recording one (the outbox's rows, written at the end of a transaction that may hold
    many timers' work and no span of its own, make no trace of their own); `attributes` is called only then."""
    tracer = _TRACER.get()
    if tracer is None or not trace.get_current_span().is_recording():
        return _NOTHING
    return tracer.start_as_current_span(name, attributes=attributes())


def event_attributes(event: Event[Any]) -> dict[str, str]:
    """What finds an event's spans again: its id, type, subject (the patient's pseudonymous id, never personal
    data) and correlation id."""
    return {
        "messaging.message.id": str(event.id),
        "hearth.event_type": event.type,
        "hearth.subject": event.subject,
        "hearth.correlation_id": event.correlationid,
    }


class _Yields:
    """A context manager that only hands out a value: the per-event cost when tracing is off."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __enter__(self) -> str | None:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None


def handling(event: Event[Any], topic: str) -> AbstractContextManager[str | None]:
    """The span of one handler run: a child of the event's `traceparent` (so it is in the trace of what caused
    the event), linked to the consume span it ran in.  Yields the traceparent events emitted by the handler
    carry: this span's, or the event's own when tracing is off."""
    tracer = _TRACER.get()
    if tracer is None:
        return _Yields(event.traceparent)
    return _handling(tracer, event, topic)


@contextmanager
def _handling(tracer: Tracer, event: Event[Any], topic: str) -> Iterator[str | None]:
    batch = trace.get_current_span()
    links = [Link(batch.get_span_context())] if batch.is_recording() else None
    parent = _context_of(event.traceparent)
    attributes = {"messaging.system": "kafka", "messaging.destination.name": topic, **event_attributes(event)}
    with tracer.start_as_current_span(
        f"handle {event.type}", context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ):
        yield _current_traceparent()


def consuming(group: str, records: Sequence[Any]) -> Any:
    """The span of one consumed batch (a root: a batch mixes records of many traces; each handler span links
    to it)."""
    tracer = _TRACER.get()
    if tracer is None:
        return _NOTHING
    attributes: types.Attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.batch.message_count": len(records),
        "messaging.destination.name": sorted({r.topic for r in records}),
        "messaging.consumer.group.name": group,
    }
    return tracer.start_as_current_span(
        "consume", context=otel_context.Context(), kind=SpanKind.CONSUMER, attributes=attributes
    )


@contextmanager
def publishing(records: Sequence[Any]) -> Iterator[None]:
    """One PRODUCER span per record the relay sends, a child of the traceparent its event was staged with, from
    the start of the batch's send to its acknowledgement.  Records are `publisher.Record`s."""
    tracer = _TRACER.get()
    if tracer is None:
        yield
        return
    spans = [
        tracer.start_span(
            f"publish {r.topic}",
            context=_context_of(_traceparent_in(r.value)),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": r.topic},
        )
        for r in records
    ]
    try:
        yield
    except BaseException as exc:
        for s in spans:
            s.record_exception(exc)
            s.set_status(trace.Status(trace.StatusCode.ERROR))
        raise
    finally:
        for s in spans:
            s.end()


def _traceparent_in(value: bytes | None) -> str | None:
    """The `traceparent` attribute of a serialised event, found without parsing the whole document."""
    if not value:
        return None
    at = value.find(_TRACEPARENT_FIELD)
    if at < 0:
        return None
    start = at + len(_TRACEPARENT_FIELD)
    return value[start : start + _TRACEPARENT_LENGTH].decode("ascii", errors="replace")


def _context_of(traceparent: str | None) -> otel_context.Context:
    """The context whose parent is `traceparent`; an empty one (a new trace) when it is missing or invalid."""
    if not traceparent:
        return otel_context.Context()
    return _propagator.extract({"traceparent": traceparent}, context=otel_context.Context())


def _current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def link_to(traceparent: str | None) -> None:
    """Link the current span to the trace of `traceparent` (the cause a later step acts on, e.g. an approval
    request and the intake it decides); nothing when tracing is off or there is no such trace."""
    if _TRACER.get() is None or not traceparent:
        return
    target = trace.get_current_span(_context_of(traceparent)).get_span_context()
    current = trace.get_current_span()
    if target.is_valid and current.is_recording():
        current.add_link(target)
