"""Orders over real Kafka and Postgres: approvals in, pharmacy and carrier steps over HTTP, box events out."""

from __future__ import annotations

from hearth.contracts import BoxDelivered, BoxShipped, OrderCancelled
from hearth.kit import audit
from hearth.kit.auth import Role

from .orders import PLANTED
from .services import approved, auth, caught_up, order_of, outbox_count, revoked, session_started

DETAILS = {**PLANTED, "state": "CO"}


async def test_pack_then_ship_emits_one_box_shipped_and_illegal_steps_are_refused(svc):
    await svc.publish(approved("apr-ship", "pt-ship"))
    order_id = (await order_of(svc, "apr-ship"))["order_id"]
    box = f"/orders/{order_id}/boxes/1"
    pharmacy, carrier = auth(svc, Role.PHARMACY), auth(svc, Role.SYSTEM)
    ship = {"carrier": "ups", "tracking_number": "1Z999AA10123456784"}

    early = await svc.client.post(f"{box}/ship", json=ship, headers=pharmacy)
    assert early.status_code == 409, early.text
    assert early.json()["error"]["code"] == "illegal_transition"
    assert early.json()["error"]["details"]["current_state"] == "created"

    given = await svc.client.post(f"/orders/{order_id}/shipping-details", json=DETAILS, headers=carrier)
    assert given.status_code == 200, given.text
    packed = await svc.client.post(f"{box}/pack", headers={**pharmacy, "Idempotency-Key": "pack-1"})
    again = await svc.client.post(f"{box}/pack", headers={**pharmacy, "Idempotency-Key": "pack-1"})
    assert packed.status_code == again.status_code == 200 and packed.json() == again.json()
    assert packed.json()["boxes"][0]["state"] == "packed"
    shipped = await svc.client.post(f"{box}/ship", json=ship, headers=pharmacy)
    assert shipped.status_code == 200, shipped.text
    repeated = await svc.client.post(f"{box}/ship", json=ship, headers=pharmacy)
    assert repeated.status_code == 200  # the same shipment reported twice: no second event
    other = await svc.client.post(f"{box}/ship", json={**ship, "tracking_number": "OTHER-1"}, headers=pharmacy)
    assert other.status_code == 409 and other.json()["error"]["details"]["current_state"] == "shipped"

    [event] = await svc.wait_for_events(BoxShipped, count=1, settle=2)
    assert await outbox_count(svc, BoxShipped) == 1
    assert event.subject == "pt-ship"
    assert event.data.model_dump() == {
        "order_id": order_id,
        "approval_id": "apr-ship",
        "box_number": 1,
        "doses_in_box": 8,
        "carrier": "ups",
        "tracking_number": "1Z999AA10123456784",
        "signature_required": True,
        "ship_to_state": "CO",
    }

    refused = await svc.client.post(f"{box}/delivered", json={}, headers=pharmacy)
    assert refused.status_code == 403
    delivered = await svc.client.post(f"{box}/delivered", json={}, headers=carrier)
    assert delivered.status_code == 200 and delivered.json()["status"] == "completed"
    [arrived] = await svc.wait_for_events(BoxDelivered, count=1)
    assert (arrived.data.order_id, arrived.data.doses_in_box) == (order_id, 8)

    trail = await svc.client.get(f"/orders/{order_id}/audit", headers=auth(svc, Role.OPS))
    steps = [(e["action"], e["actor"]) for e in trail.json()["entries"]]
    assert steps == [
        ("order_created", "event:org.hearth.screening.approved.v1"),
        ("box_created", "event:org.hearth.screening.approved.v1"),
        ("shipping_details_recorded", "system:tester-1"),
        ("box_packed", "pharmacy:tester-1"),
        ("box_shipped", "pharmacy:tester-1"),
        ("box_delivered", "system:tester-1"),
    ]
    conn = await svc.db()
    try:
        checked, broken = await audit.verify(conn)
    finally:
        await conn.close()
    assert checked == 6 and broken is None


async def test_revocation_cancels_before_shipping_even_when_it_arrives_first(svc):
    await svc.publish(approved("apr-early", "pt-rev"), revoked("apr-late", "pt-rev"))
    early = (await order_of(svc, "apr-early"))["order_id"]
    await svc.publish(revoked("apr-early", "pt-rev"))
    await caught_up(svc)
    await svc.publish(approved("apr-late", "pt-rev"))
    late = (await order_of(svc, "apr-late"))["order_id"]

    cancelled = await svc.wait_for_events(OrderCancelled, count=2)
    assert sorted((e.data.order_id, e.data.reason) for e in cancelled) == sorted(
        [(early, "approval_revoked"), (late, "approval_revoked")]
    )
    pharmacy = auth(svc, Role.PHARMACY)
    for order_id in (early, late):
        view = (await svc.client.get(f"/orders/{order_id}", headers=pharmacy)).json()
        assert view["status"] == "cancelled" and view["boxes"][0]["state"] == "cancelled"
        for step, body in (("pack", None), ("ship", {"carrier": "ups", "tracking_number": "1Z999"})):
            refused = await svc.client.post(f"/orders/{order_id}/boxes/1/{step}", json=body, headers=pharmacy)
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["details"]["current_state"] == "cancelled"


async def test_revocation_after_shipping_is_flagged_for_operations_without_an_event(svc):
    await svc.publish(approved("apr-flag", "pt-flag"))
    order_id = (await order_of(svc, "apr-flag"))["order_id"]
    await _ship(svc, order_id, 1)
    await svc.publish(revoked("apr-flag", "pt-flag"))
    await caught_up(svc)
    ops = auth(svc, Role.OPS)
    flagged = (await svc.client.get("/orders", params={"flagged": "true"}, headers=ops)).json()["orders"]
    assert [(o["order_id"], o["status"], o["flags"]) for o in flagged] == [
        (order_id, "revoked", ["revoked_after_shipping"])
    ]
    assert (await svc.client.get("/orders", params={"flagged": "false"}, headers=ops)).json()["orders"] == []
    assert await outbox_count(svc, OrderCancelled) == 0
    resolved = await svc.client.post(f"/orders/{order_id}/flags/revoked_after_shipping/resolve", headers=ops)
    assert resolved.status_code == 200 and resolved.json()["flagged"] is False


async def test_sessions_consume_doses_and_the_next_box_is_created_at_the_threshold(svc):
    await svc.publish(approved("apr-ext", "pt-ext", plan="extended"))
    order_id = (await order_of(svc, "apr-ext"))["order_id"]
    await _ship(svc, order_id, 1)
    carrier, ops = auth(svc, Role.SYSTEM), auth(svc, Role.OPS)
    assert (await svc.client.post(f"/orders/{order_id}/boxes/1/delivered", headers=carrier)).status_code == 200

    first_six = [session_started("apr-ext", "pt-ext", n) for n in range(1, 7)]
    await svc.publish(*first_six, first_six[-1].model_copy(update={"id": "6f1e0c2a-54c3-4b0e-9d55-08a1f3d3c001"}))
    await caught_up(svc)
    view = (await svc.client.get(f"/orders/{order_id}", headers=ops)).json()
    assert (view["doses_used"], view["doses_on_hand"], len(view["boxes"])) == (6, 2, 1)

    await svc.publish(session_started("apr-ext", "pt-ext", 7))
    await caught_up(svc)
    view = (await svc.client.get(f"/orders/{order_id}", headers=ops)).json()
    assert (view["doses_used"], view["doses_on_hand"]) == (7, 1)
    assert [(b["box_number"], b["doses"], b["state"]) for b in view["boxes"]] == [
        (1, 8, "delivered"),
        (2, 8, "created"),
    ]
    await _ship(svc, order_id, 2, details=False)
    [second] = await svc.wait_for_events(BoxShipped, count=2, where=lambda e: e.data.box_number == 2)
    assert second.data.doses_in_box == 8


async def _ship(svc, order_id: str, number: int, *, details: bool = True) -> None:
    pharmacy = auth(svc, Role.PHARMACY)
    if details:
        given = await svc.client.post(
            f"/orders/{order_id}/shipping-details", json=DETAILS, headers=auth(svc, Role.SYSTEM)
        )
        assert given.status_code == 200, given.text
    assert (await svc.client.post(f"/orders/{order_id}/boxes/{number}/pack", headers=pharmacy)).status_code == 200
    shipped = await svc.client.post(
        f"/orders/{order_id}/boxes/{number}/ship",
        headers=pharmacy,
        json={"carrier": "fedex", "tracking_number": f"FX-{number}-0001"},
    )
    assert shipped.status_code == 200, shipped.text
