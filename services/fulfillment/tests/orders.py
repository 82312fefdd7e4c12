"""Building blocks of the fulfillment tests: approvals, orders moved along, and the planted personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hearth.contracts import Approved
from hearth.fulfillment import domain
from hearth.fulfillment.model import Destination, Order, Policy

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
POLICY = Policy()
ON_FILE = Destination("provided", "CO")

# A name, address, phone number, e-mail and birth date that must never leave the vault.
PLANTED = {
    "recipient_name": "Johanna Quixbury-Marsh",
    "address_line1": "742 Evergreen Terrace",
    "address_line2": "Apt 3B johanna.quixbury@example.org",
    "city": "Springfield 1984-03-02",
    "postal_code": "80202",
    "phone": "(303) 555-0187",
}


def approval(plan: str = "foundation", approval_id: str = "apr-1", state: str = "CO") -> Approved:
    return Approved(
        approval_id=approval_id,
        assessment_id="asm-1",
        plan=plan,
        dose_count=8 if plan == "foundation" else 24,
        starting_dose_mg=200,
        prescriber_id="clin-1",
        prescriber_license_state=state,
        patient_state=state,
    )


def opened(
    plan: str = "foundation", *, policy: Policy = POLICY, revoked_for: str | None = None, doses_used: int = 0
) -> Order:
    result = domain.open_order(
        "ord-1", approval(plan), "pt-001", doses_used=doses_used, revoked_for=revoked_for, now=NOW, policy=policy
    )
    return result.order


def shipped(order: Order, number: int = 1) -> Order:
    order = domain.pack(order, number, now=NOW).order
    return domain.ship(
        order,
        number,
        carrier="ups",
        tracking_number=f"1Z{number:04d}",
        destination=ON_FILE,
        now=NOW + timedelta(hours=1),
    ).order


def delivered(order: Order, number: int = 1, *, policy: Policy = POLICY) -> Order:
    return domain.deliver(
        shipped(order, number), number, delivered_at=None, now=NOW + timedelta(days=1), policy=policy
    ).order
