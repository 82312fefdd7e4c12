"""Schedule III: a box is a fill (the first) or a refill (each later one). None more than six months after the
prescription was issued, none past the fifth refill; a refused resupply says why, is audited, and flags the order
until a new prescription (a new approval) replaces it. The clock is the caller's: no waiting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hearth.fulfillment import domain
from hearth.fulfillment.model import Policy, Refused
from hearth.rules import DEFAULT_FILE, load

from .orders import ON_FILE, approval

BOOK = load(DEFAULT_FILE)
ZONE = ZoneInfo(BOOK.time_zone)
ISSUED = datetime(2026, 6, 15, 10, 0, tzinfo=ZONE)
POLICY = Policy.of_rules(BOOK, box_size=8, next_box_threshold=2)


def opened(policy: Policy = POLICY):
    return domain.open_order(
        "ord-1", approval("extended"), "pt-1", doses_used=0, revoked_for=None, now=ISSUED, issued_at=ISSUED,
        policy=policy,
    ).order  # fmt: skip


def through(order, number: int, at: datetime, policy: Policy = POLICY):
    order = domain.pack(order, number, now=at).order
    order = domain.ship(
        order, number, carrier="ups", tracking_number=f"1Z{number:04d}", destination=ON_FILE, now=at
    ).order
    return domain.deliver(order, number, delivered_at=at, now=at, policy=policy).order


def test_the_policy_takes_the_limits_and_zone_from_the_rules_file():
    assert (POLICY.fill_window_months, POLICY.max_refills, POLICY.time_zone) == (6, 5, "America/New_York")
    assert POLICY.rules_version == BOOK.version


def test_a_resupply_on_the_last_day_of_the_six_months_is_created():
    order = through(opened(), 1, ISSUED + timedelta(days=1))
    last_day = datetime(2026, 12, 15, 23, 59, tzinfo=ZONE)
    result = domain.use_doses(order, 7, now=last_day, policy=POLICY)
    assert [(b.number, b.state) for b in result.order.boxes] == [(1, "delivered"), (2, "created")]


def test_a_resupply_six_months_and_one_day_after_issue_is_refused_with_the_reason():
    order = through(opened(), 1, ISSUED + timedelta(days=1))
    day_after = datetime(2026, 12, 16, 0, 1, tzinfo=ZONE)
    result = domain.use_doses(order, 7, now=day_after, policy=POLICY)
    assert [b.number for b in result.order.boxes] == [1]
    assert [c.action for c in result.changes] == ["doses_used", "resupply_refused", "order_flagged"]
    refused = result.changes[1]
    assert (refused.details["reason"], refused.details["box_number"]) == ("prescription_expired", 2)
    assert "2026-06-15" in refused.details["message"] and "2026-12-15" in refused.details["message"]
    assert refused.details["rules_version"] == BOOK.version
    assert "resupply_refused" in result.order.flags
    assert result.order.resupply_refusal == refused.details["message"]
    # Nothing more happens until a new prescription: more sessions do not refuse again.
    again = domain.use_doses(result.order, 8, now=day_after, policy=POLICY)
    assert again.changes[-1].action == "doses_used" and len(again.changes) == 1


def test_the_sixth_refill_is_refused():
    policy = replace(POLICY, box_size=3)  # 24 doses in boxes of 3: box 7 would be the sixth refill
    order, at, changes = opened(policy), ISSUED + timedelta(days=1), []
    for number in range(1, 7):
        order = through(order, number, at, policy)
        result = domain.use_doses(order, 3 * number, now=at, policy=policy)
        order, changes = result.order, changes + list(result.changes)
        at += timedelta(days=3)
    assert [b.number for b in order.boxes] == [1, 2, 3, 4, 5, 6]  # the fill and five refills
    refused = [c for c in changes if c.action == "resupply_refused"]
    assert [(c.details["reason"], c.details["box_number"]) for c in refused] == [("refill_limit_reached", 7)]
    assert "at most 5 refills" in refused[0].details["message"]


def test_a_box_created_in_time_is_not_shipped_after_the_six_months():
    order = through(opened(), 1, ISSUED + timedelta(days=1))
    order = domain.use_doses(order, 7, now=datetime(2026, 12, 14, tzinfo=ZONE), policy=POLICY).order
    order = domain.pack(order, 2, now=datetime(2026, 12, 15, tzinfo=ZONE)).order
    with pytest.raises(Refused) as refused:
        domain.ship(order, 2, carrier="ups", tracking_number="1Z0002", destination=ON_FILE,
                    now=datetime(2026, 12, 16, 9, tzinfo=ZONE), policy=POLICY)  # fmt: skip
    assert refused.value.code == "ship_refused"
    assert any("2026-12-15" in r for r in refused.value.reasons)


def test_the_day_is_counted_in_the_rules_files_zone():
    order = through(opened(), 1, ISSUED + timedelta(days=1))
    still_15th_in_new_york = datetime(2026, 12, 16, 4, 59, tzinfo=UTC)
    assert len(domain.use_doses(order, 7, now=still_15th_in_new_york, policy=POLICY).order.boxes) == 2
