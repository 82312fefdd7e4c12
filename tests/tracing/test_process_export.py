"""A service process with OTEL_EXPORTER_OTLP_ENDPOINT set sends its spans by OTLP/HTTP under its own service name:
the request, the outbox row and the relay's publish, in one trace (the collector here decodes what it receives)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hearth.contracts import Screened, spec_for
from hearth.journey.personas import Persona, intake_body
from hearth.kit.auth import AuthSettings, Role, mint_token
from hearth.kit.testing import postgres
from hearth.kit.testing.helpers import wait_for
from hearth.kit.testing.kafka import delete_topics
from hearth.kit.testing.service_harness import JWT_SECRET, ServiceProcess, prepare, service_env
from hearth.kit.topics import catalog_topics
from hearth.screening.main import define
from hearth.screening.settings import ScreeningSettings

PATIENT = Persona("pt-otlp-0001", "foundation", "CO", None, 1, (), False, 150)


@contextmanager
def collector() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """An OTLP/HTTP endpoint on localhost: (service name, span) for every span received."""
    spans: list[tuple[str, dict[str, Any]]] = []

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = ExportTraceServiceRequest()
            request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        spans.append(
                            (
                                attributes["service.name"],
                                {"name": span.name, "trace_id": span.trace_id, "parent": span.parent_span_id},
                            )
                        )
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", spans
    finally:
        server.shutdown()


async def test_a_service_process_exports_its_spans_by_otlp(infra: Any, unique_name: Any) -> None:
    prefix = unique_name("otlp") + "."
    settings, _, dsn = await prepare(define, ScreeningSettings, infra, prefix, {"served_states": ("CO",)})
    try:
        with collector() as (endpoint, received):
            env = service_env(settings) | {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
            service = await ServiceProcess("hearth.screening.main", env).start()
            try:
                token = mint_token(AuthSettings(jwt_secret=JWT_SECRET), PATIENT.patient_id, Role.PATIENT)
                async with httpx.AsyncClient(base_url=service.url) as client:
                    r = await client.post(
                        "/intakes", json=intake_body(PATIENT), headers={"Authorization": f"Bearer {token}"}
                    )
                assert r.status_code == 201, r.text
                published = f"publish {prefix}{spec_for(Screened).topic}"

                async def exported() -> bool:
                    return any(span["name"] == published for _, span in received)

                await wait_for(exported, timeout=60, what="the publish span at the collector")
            finally:
                service.stop()
    finally:
        await postgres.drop_database(infra.pg_admin_dsn, dsn)
        await delete_topics(infra.kafka_bootstrap, catalog_topics(prefix))
    assert {service for service, _ in received} == {"screening"}
    [request] = [s for _, s in received if s["name"] == "POST /intakes"]
    assert request["parent"] == b""
    in_trace = {s["name"] for _, s in received if s["trace_id"] == request["trace_id"]}
    assert {"outbox stage", published} <= in_trace
    # The request's statements, recorded by the asyncpg instrumentation under the service's tracer.
    assert {"INSERT", "COMMIT"} & in_trace, in_trace
    # The readiness probes and the relay's idle polling leave no trace.
    assert not [s["name"] for _, s in received if "readyz" in s["name"]]
    assert all(s["trace_id"] == request["trace_id"] for _, s in received), {s["name"] for _, s in received}
