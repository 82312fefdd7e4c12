"""Every error is the same JSON body, never echoes the request, never leaks a stack trace."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from pydantic import ValidationError, field_validator
from starlette.types import Receive, Scope, Send

from hearth.kit.http_errors import ApiError, BodySizeLimitMiddleware, Command, install_error_handlers
from hearth.kit.logging import configure_logging
from hearth.kit.tracing import TraceContextMiddleware

PHONE = "555-867-5309"
LIMIT = 1024


class SubmitScreening(Command):
    patient_id: str
    phq9: list[int]
    notes: str = ""

    @field_validator("notes")
    @classmethod
    def _no_digits(cls, notes: str) -> str:
        # A validator that (carelessly) repeats the value in its message.
        if any(c.isdigit() for c in notes):
            raise ValueError(f"notes may not contain digits: {notes!r}")
        return notes


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=LIMIT)
    app.add_middleware(TraceContextMiddleware)

    @app.post("/screenings")
    async def submit(command: SubmitScreening) -> dict[str, int]:
        return {"score": sum(command.phq9)}

    @app.post("/screenings/{screening_id}/approve")
    async def approve(screening_id: str) -> None:
        raise ApiError(
            409,
            "invalid_state",
            "the screening is not awaiting review",
            details={"current_state": "approved", "failed": ["phq9_complete", "bp_recorded"]},
        )

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"db said: {{'recipient_name': 'Jane Doe', 'phone': '{PHONE}'}}")

    return app


async def send(method: str, path: str, **kwargs: object) -> Response:
    transport = ASGITransport(make_app(), raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


def found_in(text: str, *needles: str) -> list[str]:
    """The needles that occur in the text."""
    return [needle for needle in needles if needle in text]


def error_of(response: Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, object] = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


async def test_an_unknown_field_is_refused_naming_it_without_echoing_its_value() -> None:
    body = {"patient_id": "p-1", "phq9": [0, 1, 2], "callback_phone": PHONE}
    response = await send("POST", "/screenings", json=body)

    error = error_of(response, 422, "validation_error")
    assert error["fields"] == [{"field": "body.callback_phone", "message": "Extra inputs are not permitted"}]
    assert PHONE not in response.text


async def test_field_paths_name_the_nested_item_and_values_are_not_echoed() -> None:
    body = {"patient_id": "p-1", "phq9": [0, 1, PHONE], "notes": f"call me {PHONE}"}
    response = await send("POST", "/screenings", json=body)

    error = error_of(response, 422, "validation_error")
    assert [f["field"] for f in error["fields"]] == ["body.phq9.2", "body.notes"]  # type: ignore[attr-defined]
    assert not found_in(response.text, "867", "5309", "input", "ctx")


async def test_malformed_json_is_a_422_without_the_document() -> None:
    raw = '{"patient_id": "p-1", "phone": "' + PHONE + '", '
    response = await send("POST", "/screenings", content=raw, headers={"content-type": "application/json"})

    error_of(response, 422, "validation_error")
    assert PHONE not in response.text


async def test_a_body_over_the_limit_is_413_from_content_length() -> None:
    body = {"patient_id": "p-1", "phq9": [0] * LIMIT}
    response = await send("POST", "/screenings", json=body)

    error = error_of(response, 413, "body_too_large")
    assert str(LIMIT) in str(error["message"])


async def chunks(count: int, size: int) -> AsyncIterator[bytes]:
    yield b'{"patient_id": "p-1", "notes": "'
    for _ in range(count):
        yield b"x" * size
    yield b'", "phq9": []}'


async def test_a_streamed_body_over_the_limit_is_413_by_counting() -> None:
    response = await send("POST", "/screenings", content=chunks(8, 256), headers={"content-type": "application/json"})

    assert "content-length" not in response.request.headers
    error_of(response, 413, "body_too_large")


async def test_a_content_length_that_lies_does_not_get_around_the_limit() -> None:
    headers = {"content-type": "application/json", "content-length": "10"}
    response = await send("POST", "/screenings", content=chunks(8, 256), headers=headers)

    error_of(response, 413, "body_too_large")


async def test_a_body_within_the_limit_passes() -> None:
    response = await send("POST", "/screenings", content=chunks(2, 256), headers={"content-type": "application/json"})

    assert response.status_code == 200
    assert response.json() == {"score": 0}


async def test_the_limit_also_holds_for_an_app_without_error_handlers() -> None:
    async def echo(scope: Scope, receive: Receive, send_: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send_({"type": "http.response.start", "status": 200, "headers": []})
        await send_({"type": "http.response.body", "body": b"ok"})

    transport = ASGITransport(BodySizeLimitMiddleware(echo, max_body_bytes=LIMIT))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/", content=chunks(8, 256))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_an_api_error_carries_its_details() -> None:
    response = await send("POST", "/screenings/s-1/approve")

    error = error_of(response, 409, "invalid_state")
    assert error["details"] == {"current_state": "approved", "failed": ["phq9_complete", "bp_recorded"]}
    assert error["fields"] == []


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/nowhere", 404, "not_found"), ("DELETE", "/screenings", 405, "method_not_allowed")],
)
async def test_routing_errors_use_the_same_body(method: str, path: str, status: int, code: str) -> None:
    response = await send(method, path)

    error = error_of(response, status, code)
    assert "details" not in error


async def test_an_unexpected_error_is_a_generic_500_logged_without_personal_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("screening")
    response = await send("GET", "/boom", headers={"X-Request-ID": "req-42"})

    error = error_of(response, 500, "internal_error")
    assert error["request_id"] == "req-42"
    assert not found_in(response.text, "db said", "RuntimeError", "Traceback", PHONE)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (line,) = [entry for entry in logged if entry["event"] == "unhandled error"]
    assert (line["request_id"], line["path"]) == ("req-42", "/boom")
    assert "RuntimeError: db said" in line["exception"]
    assert not found_in(line["exception"], "Jane Doe", PHONE)


def test_commands_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        SubmitScreening.model_validate({"patient_id": "p-1", "phq9": [], "nickname": "x"})
