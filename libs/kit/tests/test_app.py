"""The service runtime end to end over HTTP: readiness follows Postgres, auth refuses bad tokens with a JSON
body, an Idempotency-Key makes a repeated POST return the first result with one effect, and personal data passed
through a handler never reaches a log line."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, SecretStr

from hearth.contracts import topic_for
from hearth.contracts.events.audit import CHECKPOINTS
from hearth.contracts.events.screening import Screened
from hearth.kit import audit_keys, migrations
from hearth.kit.app import RuntimeDep, create_app
from hearth.kit.auth import AuthSettings, Principal, Role, mint_token, require_roles
from hearth.kit.commands import personal_text, run_command
from hearth.kit.http_errors import Command
from hearth.kit.logging import get_logger
from hearth.kit.service import ServiceDefinition
from hearth.kit.settings import KitSettings
from hearth.kit.testing import postgres
from hearth.kit.testing.helpers import wait_for
from hearth.kit.testing.kafka import create_topics
from hearth.kit.tx import Tx

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
AUTH = AuthSettings(jwt_secret=SECRET)
IDEMPOTENCY_SECRET = "a-test-idempotency-key-that-is-32-bytes-or-more"
AUDIT_SIGNING_KEY = audit_keys.encode_private(audit_keys.generate())
MASTER_KEY = base64.b64encode(b"a-test-master-key-of-32-bytes-ok").decode()
log = get_logger("probe")
TOGETHER = asyncio.Barrier(2)

PLANTED = {
    "name": "Johanna Quixbury",
    "address": "742 Evergreen Terrace",
    "phone": "(555) 867-5309",
    "birth_date": "1984-03-02",
}


class Probe(Command):
    patient_id: str
    note: str


class Accepted(BaseModel):
    event_id: str
    note: str | None = personal_text()


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/probes", status_code=201)
    async def probe(
        cmd: Probe,
        request: Request,
        runtime: RuntimeDep,
        principal: Annotated[Principal, Depends(require_roles(Role.CLINICIAN))],
    ) -> object:
        async def handle(tx: Tx) -> Accepted:
            log.info("probe_received", note=cmd.note, recipient_name=PLANTED["name"], patient_id=cmd.patient_id)
            if cmd.note == "together":  # two requests in their transactions at once (the concurrent test)
                await TOGETHER.wait()
            event = tx.emit(Screened.example(), subject=cmd.patient_id)
            await tx.conn.execute("INSERT INTO probe_effects VALUES ($1)", event.id)
            return Accepted(event_id=str(event.id), note=cmd.note)

        return await run_command(request, runtime.uow, principal.subject, handle, status_code=201)

    return router


@pytest.fixture
async def app_client(private_infra) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    dsn = await postgres.create_database(private_infra.pg_admin_dsn)
    import asyncpg

    conn = await asyncpg.connect(dsn)
    await migrations.migrate(conn, migrations.kit_migrations())
    await conn.execute("CREATE TABLE probe_effects (event_id uuid NOT NULL)")
    await conn.close()
    settings = KitSettings(
        database_url=dsn,
        kafka_bootstrap=private_infra.kafka_bootstrap,
        jwt_secret=SECRET,
        idempotency_secret=IDEMPOTENCY_SECRET,
        audit_signing_key=AUDIT_SIGNING_KEY,
        master_key=MASTER_KEY,
    )
    # The topics the probe's events and the audit checkpoint published at shutdown go to: without them, each
    # publish waits for the topic until it gives up (15 s of every test's teardown).
    topics = [topic_for(Screened.event_type), topic_for(CHECKPOINTS["screening"])]
    await create_topics(private_infra.kafka_bootstrap, topics, exist_ok=True)
    definition = ServiceDefinition(name="screening", title="probe", routers=(_router(),))
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, dsn


def _auth(role: Role = Role.CLINICIAN, **kw) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(AUTH, 'clin-1', role, **kw)}"}


async def test_readyz_follows_postgres(app_client, private_infra):
    client, _ = app_client
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    private_infra.stop_postgres()
    try:
        down = await client.get("/readyz")
        assert down.status_code == 503 and down.json()["checks"]["database"] is False
    finally:
        private_infra.start_postgres()

    async def ready_again() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await wait_for(ready_again, timeout=30, what="/readyz to recover")
    assert "hearth_http_request_seconds" in (await client.get("/metrics")).text


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ("expired", 401),
        ("other-key", 401),
        ("wrong-role", 403),
    ],
)
async def test_auth_refuses_with_a_json_error(app_client, headers, status):
    client, _ = app_client
    if headers == "expired":
        headers = _auth(ttl_seconds=-120)
    elif headers == "other-key":
        other = AuthSettings(jwt_secret="another-secret-that-is-long-enough-for-hs256")
        headers = {"Authorization": f"Bearer {mint_token(other, 'clin-1', Role.CLINICIAN)}"}
    elif headers == "wrong-role":
        headers = _auth(Role.PATIENT)
    response = await client.post("/probes", json={"patient_id": "pt-001", "note": "x"}, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"]


async def test_idempotency_key_replays_the_first_result(app_client):
    client, dsn = app_client
    headers = {**_auth(), "Idempotency-Key": "probe-1"}
    body = {"patient_id": "pt-001", "note": "first"}
    first = await client.post("/probes", json=body, headers=headers)
    second = await client.post("/probes", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    # The replay is the first response without its free text: the stored copy never held it.
    assert first.json()["note"] == "first" and second.json() == {**first.json(), "note": None}
    reused = await client.post("/probes", json={**body, "note": "other"}, headers=headers)
    assert reused.status_code == 422
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM probe_effects") == 1
        assert await conn.fetchval("SELECT count(*) FROM hearth_outbox") == 1
        stored = await conn.fetchval("SELECT request_hash FROM hearth_idempotency WHERE key = 'probe-1'")
        response = await conn.fetchval("SELECT response::text FROM hearth_idempotency WHERE key = 'probe-1'")
    finally:
        await conn.close()
    # The fingerprint is keyed by the service's secret: the body cannot be confirmed by hashing a guess.
    sent = json.dumps(body, separators=(",", ":")).encode()
    assert sent == first.request.content
    plain = hashlib.sha256(b"POST /probes\n" + sent).hexdigest()
    keyed = hmac.new(IDEMPOTENCY_SECRET.encode(), b"POST /probes\n" + sent, hashlib.sha256).hexdigest()
    assert plain not in stored
    assert stored == f"hmac-sha256:{keyed}"
    assert "first" not in response and '"note": null' in response


async def test_two_requests_with_one_key_at_once_have_one_effect_and_one_answer(app_client):
    """Both run their handler at once; the idempotency row, written by each transaction's last statement, lets
    one commit and sends the other back to replay it."""
    client, dsn = app_client
    headers = {**_auth(), "Idempotency-Key": "probe-together"}
    body = {"patient_id": "pt-002", "note": "together"}
    first, second = await asyncio.wait_for(
        asyncio.gather(*(client.post("/probes", json=body, headers=headers) for _ in range(2))), 30
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["event_id"] == second.json()["event_id"]
    assert {r.json()["note"] for r in (first, second)} == {"together", None}  # None: the replay
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM probe_effects") == 1
        assert await conn.fetchval("SELECT count(*) FROM hearth_outbox") == 1
        assert await conn.fetchval("SELECT count(*) FROM hearth_idempotency") == 1
    finally:
        await conn.close()


def test_serving_needs_secrets_that_migrating_does_not():
    definition = ServiceDefinition(name="screening", title="probe", routers=(_router(),))
    migrate_only = KitSettings(database_url="postgresql://x@127.0.0.1/x", jwt_secret=SECRET)
    with pytest.raises(ValueError, match="HEARTH_IDEMPOTENCY_SECRET"):
        create_app(definition, migrate_only)
    serving = migrate_only.model_copy(
        update={
            "idempotency_secret": SecretStr(IDEMPOTENCY_SECRET),
            "audit_signing_key": SecretStr(AUDIT_SIGNING_KEY),
            "master_key": SecretStr(MASTER_KEY),
        }
    )
    assert create_app(definition, serving) is not None
    for field, bad, name in (
        ("idempotency_secret", "short", "HEARTH_IDEMPOTENCY_SECRET"),
        ("audit_signing_key", None, "HEARTH_AUDIT_SIGNING_KEY"),
        ("audit_signing_key", "bm90LTMyLWJ5dGVz", "HEARTH_AUDIT_SIGNING_KEY"),
        ("master_key", None, "HEARTH_MASTER_KEY"),
    ):
        with pytest.raises(ValueError, match=name):
            create_app(definition, serving.model_copy(update={field: None if bad is None else SecretStr(bad)}))


async def test_personal_data_never_reaches_a_log_line(app_client, capsys):
    client, _ = app_client
    note = f"{PLANTED['name']} lives at {PLANTED['address']}, phone {PLANTED['phone']}, born {PLANTED['birth_date']}"
    response = await client.post("/probes", json={"patient_id": "pt-002", "note": note}, headers=_auth())
    assert response.status_code == 201
    bad = await client.post(
        "/probes", json={"patient_id": "pt-002", "note": note, "dob": PLANTED["birth_date"]}, headers=_auth()
    )
    assert bad.status_code == 422 and PLANTED["birth_date"] not in bad.text
    out = capsys.readouterr()
    lines = (out.out + out.err).splitlines()
    assert any("probe_received" in line for line in lines), "the handler's log line was not captured"
    for line in lines:
        for planted in PLANTED.values():
            assert planted not in line, f"{planted!r} leaked into a log line: {line}"
    assert any(
        json.loads(line).get("patient_id") == "pt-002"
        for line in lines
        if line.startswith("{") and "probe_received" in line
    )
