"""A patient's journey as traces: four services in this process, each with its own tracer provider, one
in-memory exporter, the real Kafka and Postgres.

What one trace is (docs/decisions/tracing.md): everything one cause sets off — a request, or a timer firing —
across every service its events reach.  A person's later step (the clinician's decision, the pharmacy's
shipment) is a cause of its own and starts a trace of its own, linked to the trace of what it acts on (the
decision to the intake's, the shipment to the approval's, in which the order was opened).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hearth.contracts import Approved, BoxShipped, Screened, spec_for
from hearth.followup.main import define as define_followup
from hearth.followup.settings import FollowupSettings
from hearth.fulfillment.main import define as define_fulfillment
from hearth.fulfillment.settings import FulfillmentSettings
from hearth.journey.personas import Persona, intake_body
from hearth.kit.auth import Role
from hearth.kit.testing.service_harness import ServiceUnderTest, running_service
from hearth.screening.main import define as define_screening
from hearth.screening.settings import ScreeningSettings
from hearth.session.main import define as define_session
from hearth.session.settings import SessionSettings

PATIENT = Persona(
    patient_id="pt-trace-0001",
    kind="foundation",
    state="CO",
    exclusion=None,
    sessions=1,
    skipped_check_ins=(),
    skips_integration=False,
    starting_dose_mg=150,
)
SCREENED, APPROVED, SHIPPED = (spec_for(model).type for model in (Screened, Approved, BoxShipped))


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


class Spans:
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    @property
    def all(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def find(
        self, service: str, name: str, where: Callable[[ReadableSpan], bool] = lambda s: True
    ) -> list[ReadableSpan]:
        return [s for s in self.all if service_of(s) == service and s.name == name and where(s)]

    async def one(
        self, service: str, name: str, where: Callable[[ReadableSpan], bool] = lambda s: True, timeout: float = 60.0
    ) -> ReadableSpan:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.find(service, name, where)
            if found:
                assert len(found) == 1, [(service_of(s), s.name) for s in found]
                return found[0]
            await asyncio.sleep(0.2)
        names = sorted({(service_of(s), s.name) for s in self.all})
        raise AssertionError(f"no span {name!r} of {service} within {timeout}s; spans seen: {names}")

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        for s in self.all:
            if s.context.span_id == span.parent.span_id and s.context.trace_id == span.parent.trace_id:
                return s
        return None

    def ancestors(self, span: ReadableSpan) -> list[ReadableSpan]:
        chain, parent = [], self.parent_of(span)
        while parent is not None:
            chain.append(parent)
            parent = self.parent_of(parent)
        return chain


def of_patient(span: ReadableSpan) -> bool:
    return (span.attributes or {}).get("hearth.subject") == PATIENT.patient_id


async def test_a_journey_is_a_chain_of_linked_traces_across_services(infra: Any, unique_name: Any) -> None:
    exporter = InMemorySpanExporter()
    spans = Spans(exporter)
    prefix = unique_name("trace") + "."
    async with AsyncExitStack() as stack:
        started: dict[str, ServiceUnderTest] = {}
        for name, define, settings_type, overrides in (
            ("screening", define_screening, ScreeningSettings, {"served_states": ("CO",)}),
            ("fulfillment", define_fulfillment, FulfillmentSettings, {}),
            ("session", define_session, SessionSettings, {}),
            ("followup", define_followup, FollowupSettings, {}),
        ):
            started[name] = await stack.enter_async_context(
                running_service(
                    define,
                    settings_type,
                    infra,
                    prefix,
                    overrides=overrides,
                    keep_topics=bool(started),  # the first one in, the last one out, deletes the shared topics
                    span_exporter=exporter,
                )
            )
        screening, fulfillment = started["screening"], started["fulfillment"]

        # 1. The intake: one trace from the patient's request to followup's handler of `screened`.
        r = await screening.client.post(
            "/intakes", json=intake_body(PATIENT), headers=screening.auth(Role.PATIENT, PATIENT.patient_id)
        )
        assert r.status_code == 201, r.text
        assessment_id = r.json()["assessment_id"]
        intake = await spans.one("screening", "POST /intakes")
        assert intake.kind is SpanKind.SERVER and intake.parent is None
        assert intake.attributes["http.route"] == "/intakes"
        # Who called stays out of the trace, as it stays out of the logs.
        caller = {"client.address", "net.peer.ip", "network.peer.address", "http.user_agent", "user_agent.original"}
        assert not caller & set(intake.attributes), intake.attributes
        assert not [s.name for s in spans.all if s.name.endswith((" http send", " http receive"))]
        staged = await spans.one("screening", "outbox stage", lambda s: s.context.trace_id == intake.context.trace_id)
        assert staged.parent is not None and staged.parent.span_id == intake.context.span_id
        published = await spans.one(
            "screening",
            f"publish {prefix}{spec_for(Screened).topic}",
            lambda s: s.context.trace_id == intake.context.trace_id,
        )
        assert published.kind is SpanKind.PRODUCER and spans.parent_of(published) is intake
        handled = await spans.one("followup", f"handle {SCREENED}", of_patient)
        assert handled.kind is SpanKind.CONSUMER and spans.parent_of(handled) is intake
        # The handler ran inside a consume span of its batch (a root of its own), linked from the handler.
        [batch_link] = handled.links
        batch = next(s for s in spans.all if s.context.span_id == batch_link.context.span_id)
        assert service_of(batch) == "followup" and batch.name == "consume" and batch.parent is None
        # Database calls are spans of the handler that made them.
        assert any(spans.parent_of(s) is handled and s.kind is SpanKind.CLIENT for s in spans.all)

        # 2. The clinician's decision: its own trace, linked to the intake's, reaching fulfillment and session.
        prescriber = "clin-co"
        decision_body = {
            "decision": "approve",
            "plan": "foundation",
            "starting_dose_mg": PATIENT.starting_dose_mg,
            "prescriber_id": prescriber,
            "prescriber_license_state": "CO",
            "in_person_evaluation_on": (datetime.now(UTC) - timedelta(days=7)).date().isoformat(),
        }
        path = f"/assessments/{assessment_id}/decision"
        r = await screening.client.post(path, json=decision_body, headers=screening.auth(Role.CLINICIAN, prescriber))
        assert r.status_code == 201, r.text
        decision = await spans.one("screening", "POST /assessments/{assessment_id}/decision")
        assert decision.parent is None and decision.context.trace_id != intake.context.trace_id
        assert [link.context.span_id for link in decision.links] == [intake.context.span_id]
        ordered = await spans.one("fulfillment", f"handle {APPROVED}", of_patient)
        scheduled = await spans.one("session", f"handle {APPROVED}", of_patient)
        assert spans.parent_of(ordered) is decision and spans.parent_of(scheduled) is decision
        assert {service_of(s) for s in spans.all if s.context.trace_id == decision.context.trace_id} >= {
            "screening",
            "fulfillment",
            "session",
        }

        # 3. The pharmacy ships the box: a trace from fulfillment's request to session's handler of `box-shipped`.
        order = await _order_of(fulfillment)
        base = f"/orders/{order['order_id']}"
        details = {
            "recipient_name": "Test Recipient",
            "address_line1": "1 Example Way",
            "city": "Springfield",
            "state": "CO",
            "postal_code": "80202",
        }
        r = await fulfillment.client.post(
            f"{base}/shipping-details", json=details, headers=fulfillment.auth(Role.SYSTEM, "patient-app")
        )
        assert r.status_code in (200, 201), r.text
        pharmacy = fulfillment.auth(Role.PHARMACY, "pharm-1")
        box = f"{base}/boxes/{order['boxes'][0]['box_number']}"
        assert (await fulfillment.client.post(f"{box}/pack", json={}, headers=pharmacy)).status_code == 200
        r = await fulfillment.client.post(
            f"{box}/ship", json={"carrier": "ups", "tracking_number": "1Z01TRACE0001"}, headers=pharmacy
        )
        assert r.status_code == 200, r.text
        ship = await spans.one("fulfillment", "POST /orders/{order_id}/boxes/{box_number}/ship")
        received = await spans.one("session", f"handle {SHIPPED}", of_patient)
        assert spans.ancestors(received) == [ship]
        # ... linked to the trace the order was opened in: the decision's.
        assert [link.context.span_id for link in ship.links] == [ordered.context.span_id]
        assert spans.find(
            "fulfillment", f"publish {prefix}{spec_for(BoxShipped).topic}", lambda s: spans.parent_of(s) is ship
        )


async def _order_of(fulfillment: ServiceUnderTest, timeout: float = 60.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        r = await fulfillment.client.get(
            "/orders", params={"patient_id": PATIENT.patient_id}, headers=fulfillment.auth(Role.OPS)
        )
        assert r.status_code == 200, r.text
        if orders := r.json()["orders"]:
            return dict(orders[0])
        await asyncio.sleep(0.3)
    raise AssertionError("no order for the approval")
