"""The composition of one service process: HTTP API, Kafka subscriber, outbox relay and timer poller.

Built from settings in `create_app`, never at import time.  Start-up order: pool → relay and poller → broker
(consumers).  Shutdown (SIGTERM via uvicorn) reverses it: consumers stop and finish the record in hand, then the
poller stops, then the relay flushes what was committed and stops, then the pool closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import asyncpg
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace.export import SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.contracts import dlq_topic

from . import audit, metrics, migrations, telemetry
from .auth import AuthSettings
from .broker import make_broker
from .checkpoints import checkpoint_publisher
from .clock import Clock, SystemClock
from .consumer import InboxConsumer
from .contract_routes import contracts_router
from .db import TRANSIENT_DB_ERRORS, create_pool
from .dead_letter_routes import dead_letter_router
from .dead_letters import DeadLetterPublisher
from .http_errors import ApiError, BodySizeLimitMiddleware, api_error_response, install_error_handlers
from .inbox import Inbox
from .logging import configure_logging, get_logger
from .positions import PositionGapError
from .publisher import KafkaPublisher
from .relay import OutboxRelay
from .service import ServiceDefinition
from .settings import KitSettings
from .timer_poller import TimerPoller
from .tracing import TraceContextMiddleware
from .uow import UnitOfWork

log = get_logger(__name__)


@dataclass
class Runtime:
    """What HTTP routes need at request time; reached through the `RuntimeDep` dependency."""

    settings: KitSettings
    pool: asyncpg.Pool
    uow: UnitOfWork
    broker: KafkaBroker
    relay: OutboxRelay
    clock: Clock
    inbox: Inbox
    consumer: InboxConsumer


async def get_runtime(request: Request) -> Runtime:
    # A coroutine, so FastAPI calls it on the loop: a plain function would go through the thread pool, a thread
    # handoff on every request for one attribute read.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def all_migrations(definition: ServiceDefinition) -> list[migrations.Migration]:
    own = [] if definition.package is None else migrations.package_migrations(definition.name, definition.package)
    return migrations.kit_migrations() + own


def create_app(
    definition: ServiceDefinition,
    settings: KitSettings,
    clock: Clock | None = None,
    *,
    span_exporter: SpanExporter | None = None,
) -> FastAPI:
    """`span_exporter`: where spans go (tests); by default OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else
    no spans at all (telemetry.py)."""
    clock = clock or SystemClock()
    configure_logging(definition.name, settings.log_level, json=settings.log_json)
    if missing := settings.missing_for_serve():  # secrets only `serve` holds, never `migrate`
        raise ValueError(f"{definition.name}: cannot serve without {', '.join(missing)}")
    tracing = telemetry.service_tracing(definition.name, span_exporter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The background tasks created below inherit the service's tracer; the caller's context does not keep it.
        token = tracing.activate() if tracing is not None else None
        try:
            async with _serving(app):
                if token is not None:
                    telemetry.deactivate(token)
                    token = None
                yield
        finally:
            if token is not None:
                telemetry.deactivate(token)
            if tracing is not None:
                tracing.close()

    @asynccontextmanager
    async def _serving(app: FastAPI) -> AsyncIterator[None]:
        dsn = settings.database_url.get_secret_value()
        pool = await create_pool(dsn)
        async with pool.acquire() as conn:
            outdated = await audit.missing_bootstrap(conn)
        if outdated is not None:  # every change would fail at its audit row: say so once, at start
            log.error("refusing_to_start", reason="audit_bootstrap_outdated", detail=outdated)
            await pool.close()
            raise RuntimeError(outdated)
        kafka = settings.kafka_client_options()
        uow = UnitOfWork(pool, definition.name, clock, topic_prefix=settings.topic_prefix)
        relay_publisher = KafkaPublisher(settings.kafka_bootstrap, **kafka)
        dlq_publisher = KafkaPublisher(settings.kafka_bootstrap, **kafka)
        letters = DeadLetterPublisher(
            dlq_publisher,
            definition.name,
            topic=settings.topic_prefix + dlq_topic(definition.name),
            max_bytes=settings.dlq_max_letter_bytes,
        )
        relay = OutboxRelay(
            dsn,
            relay_publisher,
            service=definition.name,
            batch_size=settings.outbox_batch_size,
            sweep_interval=settings.outbox_sweep_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
            dead_letters=letters,
            inbox_retention=timedelta(hours=settings.inbox_retention_hours),
            idempotency_retention=timedelta(hours=settings.idempotency_retention_hours),
        )
        poller = TimerPoller(
            uow, definition.timers, interval=settings.timer_poll_seconds, batch_size=settings.timer_batch_size
        )
        broker = make_broker(settings.kafka_bootstrap, kafka, graceful_timeout=settings.shutdown_grace_seconds)
        inbox = Inbox(uow, definition.events, max_attempts=settings.consumer_max_attempts)
        # The group carries the topic prefix too: environments sharing a cluster never rebalance each other.
        consumer = InboxConsumer(
            inbox,
            settings.kafka_bootstrap,
            group_id=settings.topic_prefix + definition.name,
            client=kafka,
            batch_size=settings.consumer_batch_size,
        )
        try:
            await consumer.start()
        except PositionGapError as gap:  # the database position is older than the records Kafka still holds
            log.error("refusing_to_start", reason="consumer_position_gap", detail=str(gap))
            raise
        app.state.runtime = Runtime(settings, pool, uow, broker, relay, clock, inbox, consumer)
        app.state.migrations = all_migrations(definition)
        stop, stop_consuming = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(poller.run(stop))]
        # Signed heads of the audit trail, published periodically and once more on stop (checkpoints.py).
        tasks.append(asyncio.create_task(checkpoint_publisher(pool, definition.name, settings, clock).run(stop)))
        consuming = asyncio.create_task(consumer.run(stop_consuming))
        await broker.start()
        log.info("service_started", port=settings.http_port)
        try:
            yield
        finally:
            log.info("service_stopping")
            stop_consuming.set()
            await asyncio.wait([consuming], timeout=settings.shutdown_grace_seconds)
            await consumer.stop()
            await broker.stop()
            stop.set()
            await asyncio.wait(tasks, timeout=settings.shutdown_grace_seconds)
            await relay_publisher.stop()
            await dlq_publisher.stop()
            await pool.close()
            log.info("service_stopped")

    app = FastAPI(title=definition.title, description=definition.description, lifespan=lifespan)
    app.state.auth_settings = AuthSettings(
        jwt_secret=settings.jwt_secret,
        jwt_public_key=settings.jwt_public_key,
        jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience,
    )
    install_error_handlers(app)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database_unavailable", error=type(exc).__name__)
        error = ApiError(503, "unavailable", "the database is unavailable; retry later", headers={"Retry-After": "2"})
        return await api_error_response(request, error)

    for exc_type in TRANSIENT_DB_ERRORS:
        app.add_exception_handler(exc_type, unavailable)
    _add_operational_routes(app)
    app.include_router(dead_letter_router())
    app.include_router(contracts_router())
    for router in definition.routers:
        app.include_router(router)
    # Added innermost first: the trace context wraps everything, so even an early 413 carries the request id.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(_MetricsMiddleware, service=definition.name)
    app.add_middleware(TraceContextMiddleware, tracing=tracing)
    if tracing is not None:  # its server span wraps every middleware, error handlers included
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracing.provider,
            excluded_urls="/healthz,/readyz,/metrics",
            exclude_spans=["receive", "send"],  # a span per ASGI message says nothing the server span does not
        )
    return app


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Database, Kafka and migrations are ready")
    async def readyz(runtime: RuntimeDep, request: Request) -> JSONResponse:
        checks = {"database": False, "migrations": False, "kafka": False}
        try:
            async with runtime.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1", timeout=2)
                checks["database"] = True
                checks["migrations"] = await migrations.is_current(conn, request.app.state.migrations)
        except Exception as exc:
            log.warning("readyz_database_failed", error=type(exc).__name__)
        checks["kafka"] = await runtime.broker.ping(timeout=2)
        checks["consumer_positions"] = runtime.consumer.healthy
        # The broker may answer while writes fail (brokers lost: fewer in-sync replicas than required).
        problem = runtime.relay.publishing_problem()
        checks["outbox_publishing"] = problem is None
        ready = all(checks.values())
        body: dict[str, object] = {"ready": ready, "checks": checks}
        if problem is not None:
            body["reasons"] = {"outbox_publishing": problem}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class _MetricsMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # Each (method, route, status)'s histogram, looked up once: `labels()` takes a lock and builds a key on
        # every call.  Only matched routes are kept (templates, so few); anything else is looked up each time.
        self._histograms: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            key = (scope["method"], path, status["code"])
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = metrics.HTTP_REQUESTS.labels(self.service, key[0], path, str(key[2]))
                if route is not None:
                    self._histograms[key] = histogram
            histogram.observe(time.perf_counter() - started)
