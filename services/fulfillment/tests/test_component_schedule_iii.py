"""Schedule III over real Kafka and Postgres, with the service's clock set past the fill window: the resupply box
is refused with a clear reason, audited, shown on the order, and stays refused when operations look at it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hearth.contracts import build_event
from hearth.kit import audit
from hearth.kit.auth import Role
from hearth.rules import DEFAULT_FILE, load

from .orders import PLANTED, approval
from .services import auth, caught_up, order_of, session_started

ZONE = ZoneInfo(load(DEFAULT_FILE).time_zone)
ISSUED = datetime(2026, 6, 15, 10, 0, tzinfo=ZONE)


async def test_a_resupply_six_months_and_a_day_after_issue_is_refused_with_the_reason(svc, clock):
    clock.set(ISSUED)
    await svc.publish(build_event(approval("extended", "apr-6m"), subject="pt-6m", time=ISSUED))
    order_id = (await order_of(svc, "apr-6m"))["order_id"]
    pharmacy, carrier, ops = auth(svc, Role.PHARMACY), auth(svc, Role.SYSTEM), auth(svc, Role.OPS)
    box = f"/orders/{order_id}/boxes/1"
    given = await svc.client.post(
        f"/orders/{order_id}/shipping-details", json={**PLANTED, "state": "CO"}, headers=carrier
    )
    assert given.status_code == 200, given.text
    assert (await svc.client.post(f"{box}/pack", headers=pharmacy)).status_code == 200
    ship = {"carrier": "ups", "tracking_number": "1Z999AA10123456784"}
    assert (await svc.client.post(f"{box}/ship", json=ship, headers=pharmacy)).status_code == 200
    assert (await svc.client.post(f"{box}/delivered", json={}, headers=carrier)).status_code == 200

    clock.set(datetime(2026, 12, 16, 9, 0, tzinfo=ZONE))  # six months and one day after issue
    await svc.publish(*[session_started("apr-6m", "pt-6m", n) for n in range(1, 8)])  # 1 dose left: box 2 due
    await caught_up(svc)

    order = (await svc.client.get(f"/orders/{order_id}", headers=ops)).json()
    assert [b["box_number"] for b in order["boxes"]] == [1]
    assert "resupply_refused" in order["flags"]
    assert "2026-06-15" in order["resupply_refused"] and "after 2026-12-15" in order["resupply_refused"]
    assert order["issued_at"].startswith("2026-06-15T14:00:00")

    resolved = await svc.client.post(f"/orders/{order_id}/flags/resupply_refused/resolve", headers=ops)
    assert resolved.status_code == 200, resolved.text
    assert [b["box_number"] for b in resolved.json()["boxes"]] == [1]  # the law is not resolved away
    assert "resupply_refused" in resolved.json()["flags"]

    conn = await svc.db()
    try:
        refused = [e for e in await audit.entries(conn, f"order:{order_id}") if e["action"] == "resupply_refused"]
        assert [(e["details"]["reason"], e["details"]["box_number"]) for e in refused] == [
            ("prescription_expired", 2), ("prescription_expired", 2),
        ]  # fmt: skip
        assert refused[0]["details"]["rules_version"] == load(DEFAULT_FILE).version
    finally:
        await conn.close()
