"""Every service serves the contracts it was built with: the AsyncAPI document and each event's JSON Schema,
without a token (they hold no data); an unknown event is a 404 with the usual error body."""

from __future__ import annotations

import base64
import os

import httpx
from pydantic import SecretStr

from hearth.contracts import CATALOG
from hearth.contracts.published import asyncapi, schema
from hearth.kit import audit_keys
from hearth.kit.app import create_app
from hearth.kit.service import ServiceDefinition
from hearth.kit.settings import KitSettings


async def test_a_service_serves_the_asyncapi_document_and_every_schema() -> None:
    settings = KitSettings(
        database_url="postgresql://x@127.0.0.1/x",
        jwt_secret="a-test-secret-that-is-long-enough-for-hs256",
        idempotency_secret=SecretStr("a-test-idempotency-key-that-is-32-bytes-or-more"),
        audit_signing_key=SecretStr(audit_keys.encode_private(audit_keys.generate())),
        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
    )
    app = create_app(ServiceDefinition(name="session", title="probe"), settings)  # no lifespan: no database needed
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        document = await client.get("/asyncapi.json")
        assert document.status_code == 200 and document.json() == asyncapi()
        for spec in CATALOG.values():
            by_topic, by_type = (
                await client.get(f"/schemas/{spec.topic}.json"),
                await client.get(f"/schemas/{spec.type}.json"),
            )
            assert by_topic.status_code == by_type.status_code == 200
            assert by_topic.json() == by_type.json() == schema(spec.topic)
            assert by_topic.headers["content-type"].startswith("application/schema+json")
        unknown = await client.get("/schemas/screening.nothing.v1.json")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
