"""Trace context from an HTTP request or an event into log lines and the traceparent of events emitted."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from structlog.contextvars import get_contextvars

from hearth.kit.logging import configure_logging, get_logger
from hearth.kit.tracing import TraceContextMiddleware, current_traceparent, extract_traceparent

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]")


def test_outside_any_trace_there_is_no_traceparent() -> None:
    assert current_traceparent() is None


def test_an_event_traceparent_becomes_current_and_is_bound_for_logging() -> None:
    with extract_traceparent(INCOMING) as current:
        assert current == INCOMING
        assert current_traceparent() == INCOMING
        assert get_contextvars()["trace_id"] == TRACE_ID

    assert current_traceparent() is None
    assert "trace_id" not in get_contextvars()


@pytest.mark.parametrize("traceparent", [None, "", "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01"])
def test_a_missing_or_invalid_traceparent_starts_a_new_trace(traceparent: str | None) -> None:
    with extract_traceparent(traceparent) as current:
        assert TRACEPARENT.fullmatch(current)
        assert current_traceparent() == current
        assert get_contextvars()["trace_id"] == current.split("-")[1]

    with extract_traceparent(traceparent) as another:
        assert another.split("-")[1] != current.split("-")[1]


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(TraceContextMiddleware)

    @app.get("/work")
    async def work(delay: float = 0) -> dict[str, str | None]:
        await asyncio.sleep(delay)
        get_logger("hearth.test").info("working")
        bound = get_contextvars()
        return {
            "traceparent": current_traceparent(),
            "trace_id": bound["trace_id"],
            "request_id": bound["request_id"],
        }

    return app


async def get(path: str, headers: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    async with AsyncClient(transport=ASGITransport(make_app()), base_url="http://test") as client:
        response = await client.get(path, headers=headers or {})
    assert response.status_code == 200
    return response.json(), dict(response.headers)


async def test_a_request_runs_in_its_trace_and_logs_carry_trace_and_request_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("session")
    body, headers = await get("/work", {"traceparent": INCOMING, "X-Request-ID": "req-7"})

    assert body == {"traceparent": INCOMING, "trace_id": TRACE_ID, "request_id": "req-7"}
    assert headers["x-request-id"] == "req-7"
    logged = [json.loads(out) for out in capsys.readouterr().out.splitlines()]
    (line,) = [entry for entry in logged if entry["event"] == "working"]
    assert (line["trace_id"], line["request_id"], line["service"]) == (TRACE_ID, "req-7", "session")


async def test_without_headers_a_request_gets_a_new_trace_and_request_id() -> None:
    first, first_headers = await get("/work")
    second, _ = await get("/work")

    assert TRACEPARENT.fullmatch(first["traceparent"])
    assert first["trace_id"] != second["trace_id"]
    assert first_headers["x-request-id"] == first["request_id"]


@pytest.mark.parametrize("offered", ["has spaces", "x" * 65, "line\tbreak", "<script>"])
async def test_an_unusable_request_id_is_replaced(offered: str) -> None:
    body, headers = await get("/work", {"X-Request-ID": offered})

    assert body["request_id"] != offered
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


async def test_concurrent_requests_keep_their_own_trace() -> None:
    async with AsyncClient(transport=ASGITransport(make_app()), base_url="http://test") as client:
        traces = [f"00-{i:032x}-{i:016x}-01" for i in range(1, 6)]
        responses = await asyncio.gather(
            *(
                client.get("/work", params={"delay": 0.01 * (5 - i)}, headers={"traceparent": t})
                for i, t in enumerate(traces)
            )
        )

    assert [r.json()["traceparent"] for r in responses] == traces
    assert current_traceparent() is None
