"""Personal data stays in the vault: never on Kafka, in a log line or in a plain database column; erasing a
patient's key (crypto-shredding) makes their stored details unreadable while orders and events stay valid."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from hearth.contracts import BoxDelivered, BoxShipped, parse_event
from hearth.fulfillment.settings import FulfillmentSettings
from hearth.kit import audit
from hearth.kit.auth import Role
from hearth.kit.crypto import DataKey, MasterKey, Unreadable

from .orders import PLANTED
from .services import MASTER_KEY, approved, auth, caught_up, every_record, order_of, revoked, serving

DETAILS = {**PLANTED, "state": "CO"}
BIRTH_DATE = "1984-03-02"
# Every planted value, and recognisable pieces of them (a log line could carry a fragment).
NEEDLES = [v.lower() for v in PLANTED.values()] + [
    "quixbury", "evergreen", "johanna.quixbury@example.org", "555-0187", BIRTH_DATE, "springfield",
]  # fmt: skip


def _hits(text: str) -> list[str]:
    lowered = text.lower()
    return [n for n in NEEDLES if n in lowered]


async def _database_text(dsn: str) -> str:
    """Every row of every table, as text: what a database dump or backup would hold."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        assert {t["schemaname"] for t in tables} == {"public", "audit"}
        rows = [await conn.fetch(f'SELECT t::text AS row FROM "{t[0]}"."{t[1]}" t') for t in tables]
    finally:
        await conn.close()
    return "\n".join(r["row"] for table in rows for r in table)


async def test_planted_personal_data_never_reaches_kafka_logs_or_a_plain_column(infra, unique_name, capfd):
    prefix = unique_name("fulfillment") + "."
    async with serving(infra, prefix, log_level="DEBUG") as svc:
        await svc.publish(approved("apr-phi", "pt-phi"))
        order_id = (await order_of(svc, "apr-phi"))["order_id"]
        patient = auth(
            svc,
            Role.PATIENT,
            "pt-phi",
            **{"X-Correlation-ID": PLANTED["recipient_name"], "Idempotency-Key": "details-1"},
        )
        url = f"/orders/{order_id}/shipping-details"

        given = await svc.client.post(url, json=DETAILS, headers=patient)
        assert given.status_code == 200, given.text
        assert given.json()["ship_to_state"] == "CO" and not _hits(given.text)
        for body, status in (
            ({**DETAILS, "state": "TX"}, 409),  # not the approved state
            ({**DETAILS, "notes": f"born {BIRTH_DATE}, {PLANTED['recipient_name']}"}, 422),  # unknown field
            ({**DETAILS, "postal_code": PLANTED["address_line1"]}, 422),
            ({**DETAILS, "recipient_name": PLANTED["recipient_name"] + "\x00"}, 422),
        ):
            refused = await svc.client.post(url, json=body, headers=auth(svc, Role.SYSTEM))
            assert refused.status_code == status, refused.text
            assert not _hits(refused.text), refused.text
        stranger = await svc.client.post(url, json=DETAILS, headers=auth(svc, Role.PATIENT, "pt-other"))
        assert stranger.status_code == 404
        label = await svc.client.get(url, headers=auth(svc, Role.PHARMACY))
        assert label.status_code == 200 and label.json()["recipient_name"] == PLANTED["recipient_name"]

        pharmacy = auth(svc, Role.PHARMACY)
        assert (await svc.client.post(f"/orders/{order_id}/boxes/1/pack", headers=pharmacy)).status_code == 200
        shipped = await svc.client.post(
            f"/orders/{order_id}/boxes/1/ship",
            headers=pharmacy,
            json={"carrier": "usps", "tracking_number": "9400-1000-0000"},
        )
        assert shipped.status_code == 200 and not _hits(shipped.text)
        delivered = await svc.client.post(f"/orders/{order_id}/boxes/1/delivered", headers=auth(svc, Role.SYSTEM))
        assert delivered.status_code == 200
        await svc.publish(revoked("apr-phi", "pt-phi"))
        await caught_up(svc)
        await svc.wait_for_events(BoxDelivered, count=1)
        records = await every_record(svc.bootstrap, prefix)
        dump = await _database_text(svc.dsn)

    assert {r.topic for r in records} >= {svc.topic(BoxShipped), svc.topic(BoxDelivered)}
    for r in records:
        raw = b" ".join([r.key or b"", r.value or b"", *(v for _, v in r.headers)]).decode("utf-8", "replace")
        assert not _hits(raw), (r.topic, raw)
    captured = capfd.readouterr()
    logs = captured.out + captured.err
    assert "service_started" in logs and '"level": "debug"' in logs  # the capture did see the service's lines
    assert not _hits(logs), _hits(logs)
    assert "shipping_details" in dump and not _hits(dump), _hits(dump)


async def test_erasing_a_patient_destroys_their_key_and_leaves_orders_and_events_valid(svc):
    await svc.publish(approved("apr-a", "pt-erase"), approved("apr-b", "pt-erase"), approved("apr-c", "pt-erase"))
    first, second = (await order_of(svc, "apr-a"))["order_id"], (await order_of(svc, "apr-b"))["order_id"]
    third = (await order_of(svc, "apr-c"))["order_id"]  # never given details
    system, pharmacy, ops = auth(svc, Role.SYSTEM), auth(svc, Role.PHARMACY), auth(svc, Role.OPS)
    officer = auth(svc, Role.PRIVACY_OFFICER)
    for order_id in (first, second):
        given = await svc.client.post(f"/orders/{order_id}/shipping-details", json=DETAILS, headers=system)
        assert given.status_code == 200, given.text
        assert (await svc.client.post(f"/orders/{order_id}/boxes/1/pack", headers=pharmacy)).status_code == 200
    shipped = await svc.client.post(
        f"/orders/{first}/boxes/1/ship", headers=pharmacy, json={"carrier": "ups", "tracking_number": "1Z-ERASE-1"}
    )
    assert shipped.status_code == 200
    sealed, key_id = await _sealed_address(svc, first)
    assert _open(sealed, key_id, first, await _wrapped_key(svc, key_id)) == PLANTED["address_line1"]

    for other in (pharmacy, ops):
        assert (await svc.client.delete("/patients/pt-erase/personal-data", headers=other)).status_code == 403
    erased = await svc.client.delete("/patients/pt-erase/personal-data", headers={**officer, "Idempotency-Key": "e-1"})
    assert erased.status_code == 200 and erased.json()["keys_destroyed"] == 1
    again = await svc.client.delete("/patients/pt-erase/personal-data", headers=officer)
    assert again.json()["keys_destroyed"] == 0

    gone = await svc.client.get(f"/orders/{first}/shipping-details", headers=pharmacy)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "personal_data_erased"
    assert await _wrapped_key(svc, key_id) is None
    assert (await _sealed_address(svc, first))[0] == sealed  # the ciphertext is still there, and useless:
    with pytest.raises(Unreadable):
        DataKey(uuid.UUID(int=0).bytes * 2).open(sealed, first, "address_line1", str(key_id))

    view = (await svc.client.get(f"/orders/{first}", headers=ops)).json()
    assert view["shipping_details"] == {"status": "erased", "ship_to_state": None}
    assert view["boxes"][0]["state"] == "shipped" and view["status"] == "open"
    refused = await svc.client.post(
        f"/orders/{second}/boxes/1/ship", headers=pharmacy, json={"carrier": "ups", "tracking_number": "1Z-ERASE-2"}
    )
    assert refused.status_code == 409 and "erased" in refused.json()["error"]["message"]
    delivered = await svc.client.post(f"/orders/{first}/boxes/1/delivered", headers=system)
    assert delivered.status_code == 200  # the carrier's steps need no personal data
    events = await svc.wait_for_events(BoxShipped, count=1) + await svc.wait_for_events(BoxDelivered, count=1)
    assert [parse_event(e.to_json()).data.order_id for e in events] == [first, first]

    renewed = await svc.client.post(f"/orders/{second}/shipping-details", json=DETAILS, headers=system)
    assert renewed.status_code == 200
    readable = await svc.client.get(f"/orders/{second}/shipping-details", headers=pharmacy)
    assert readable.status_code == 200 and readable.json()["city"] == PLANTED["city"]
    listed = (await svc.client.get("/orders", params={"patient_id": "pt-erase"}, headers=ops)).json()["orders"]
    assert {o["order_id"]: o["shipping_details"] for o in listed} == {  # each order's own, in one listing
        first: {"status": "erased", "ship_to_state": None},
        second: {"status": "provided", "ship_to_state": "CO"},
        third: {"status": "missing", "ship_to_state": None},
    }
    conn = await svc.db()
    try:
        assert (await audit.verify(conn))[1] is None
        entries = await audit.entries(conn, "patient:pt-erase")
    finally:
        await conn.close()
    assert [(e["action"], e["actor"], e["details"]) for e in entries] == [
        ("personal_data_erased", "privacy_officer:tester-1", {"keys_destroyed": 1}),
        ("personal_data_erased", "privacy_officer:tester-1", {"keys_destroyed": 0}),  # every request is recorded
    ]


async def _sealed_address(svc, order_id: str) -> tuple[bytes, uuid.UUID]:
    conn = await svc.db()
    try:
        row = await conn.fetchrow("SELECT address_line1, key_id FROM shipping_details WHERE order_id = $1", order_id)
    finally:
        await conn.close()
    return row["address_line1"], row["key_id"]


async def _wrapped_key(svc, key_id: uuid.UUID) -> bytes | None:
    conn = await svc.db()
    try:
        return await conn.fetchval("SELECT wrapped_key FROM hearth_data_keys WHERE key_id = $1", key_id)
    finally:
        await conn.close()


def _open(sealed: bytes, key_id: uuid.UUID, order_id: str, wrapped: bytes) -> str:
    master = MasterKey(FulfillmentSettings(database_url="postgresql://x/y", master_key=MASTER_KEY).master_key_bytes())
    return master.unwrap(wrapped, "pt-erase", key_id).open(sealed, order_id, "address_line1", str(key_id))
