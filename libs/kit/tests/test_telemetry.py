"""Spans: none at all without an exporter; exported by OTLP/HTTP when an endpoint is set; the relay's publish
span is a child of the staged event's trace; no error text leaves in a span."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hearth.contracts import build_event
from hearth.contracts.events.screening import Screened
from hearth.kit import telemetry
from hearth.kit.publisher import Record

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    tracing = telemetry.ServiceTracing("followup", spans, batch=False)
    token = tracing.activate()
    try:
        yield spans
    finally:
        telemetry.deactivate(token)
        tracing.close()


def test_without_an_endpoint_there_is_no_tracer_and_handlers_keep_the_event_trace(monkeypatch):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert telemetry.service_tracing("followup") is None
    assert telemetry.current_tracer() is None
    event = build_event(Screened.example(), subject="pt-1", traceparent=TRACEPARENT)
    with telemetry.handling(event, "screening.screened.v1") as traceparent:
        assert traceparent == TRACEPARENT
    with telemetry.span("outbox stage") as span:
        assert span is None


def test_an_endpoint_exports_spans_by_otlp_http_with_the_service_name(monkeypatch):
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        tracing = telemetry.service_tracing("fulfillment")
        assert tracing is not None
        token = tracing.activate()
        try:
            with telemetry.span("outbox stage"):
                pass
        finally:
            telemetry.deactivate(token)
        tracing.close()  # flushes the batch
    finally:
        server.shutdown()
    [(path, body)] = received
    assert path == "/v1/traces"
    assert b"fulfillment" in body and b"outbox stage" in body


def test_publish_spans_are_children_of_the_staged_events_traces(exporter):
    traced = build_event(Screened.example(), subject="pt-1", traceparent=TRACEPARENT)
    untraced = build_event(Screened.example(), subject="pt-2")
    records = [Record("screening.screened.v1", b"pt", e.to_json(), []) for e in (traced, untraced)]
    with telemetry.publishing(records):
        pass
    first, second = exporter.get_finished_spans()
    assert first.name == "publish screening.screened.v1" and first.kind is SpanKind.PRODUCER
    assert first.parent is not None and f"{first.parent.trace_id:032x}" == TRACE_ID
    assert first.parent.span_id == 0x00F067AA0BA902B7
    assert second.parent is None and f"{second.context.trace_id:032x}" != TRACE_ID


def test_a_handler_span_is_a_child_of_the_event_and_its_events_are_children_of_it(exporter):
    event = build_event(Screened.example(), subject="pt-1", traceparent=TRACEPARENT)
    with telemetry.handling(event, "screening.screened.v1") as traceparent:
        pass
    [span] = exporter.get_finished_spans()
    assert span.parent is not None and span.parent.span_id == 0x00F067AA0BA902B7
    assert traceparent is not None and traceparent.startswith(f"00-{TRACE_ID}-{span.context.span_id:016x}-")
    assert span.attributes["hearth.subject"] == "pt-1"


def test_no_error_text_leaves_in_a_span(exporter):
    event = build_event(Screened.example(), subject="pt-1", traceparent=TRACEPARENT)
    with pytest.raises(ValueError, match="Jane Doe"), telemetry.handling(event, "screening.screened.v1"):
        raise ValueError('duplicate key: Key (recipient)=("Jane Doe, 1 Example Way")')
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    [error] = span.events
    assert error.attributes["exception.type"] == "ValueError"
    exported = repr((span.attributes, [dict(e.attributes or {}) for e in span.events], span.status.description))
    assert "Jane Doe" not in exported


def test_a_timeline_line_ends_with_the_events_trace_id():
    from hearth.kit.cli.events import _line

    assert _line(build_event(Screened.example(), subject="pt-1", traceparent=TRACEPARENT)).endswith(
        f" trace={TRACE_ID}"
    )
    assert "trace=" not in _line(build_event(Screened.example(), subject="pt-1"))
