"""Shipping details, each personal column sealed with the patient's data key; the keys are the kit's
(`hearth.kit.vault`, table `hearth_data_keys`, wrapped by the master key). Plain values exist only in memory,
inside the request that gives or reads them; they are never emitted, logged, or stored as an idempotent response.

Erasing a patient (crypto-shredding, the kit's erasure) destroys their wrapped keys: the sealed columns stay
where they are and can no longer be opened. Details given afterwards are sealed with a new key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from hearth.kit.crypto import DataKey
from hearth.kit.db import Connection
from hearth.kit.vault import KeyMismatch, Vault

from .model import Destination

__all__ = ["SEALED", "Erased", "KeyMismatch", "ShippingDetails", "destination", "get", "put"]

SEALED = ("recipient_name", "address_line1", "address_line2", "city", "postal_code", "phone")


@dataclass(frozen=True)
class ShippingDetails:
    """Where a box goes and who signs for it (an adult). Personal data: handle only inside `redact_values`."""

    recipient_name: str
    address_line1: str
    address_line2: str | None
    city: str
    state: str
    postal_code: str
    phone: str | None

    def values(self) -> tuple[str, ...]:
        return tuple(v for f in fields(self) if f.name != "state" and (v := getattr(self, f.name)))

    def __repr__(self) -> str:
        return f"ShippingDetails(state={self.state!r}, <personal data withheld>)"


class Erased(Exception):
    """The patient's key was destroyed: the details exist only as ciphertext nobody can open."""


async def put(
    conn: Connection,
    vault: Vault,
    order_id: str,
    patient_id: str,
    details: ShippingDetails,
    now: datetime,
) -> uuid.UUID:
    """Seals and stores (or replaces) an order's shipping details; returns the id of the key used."""
    key_id, key = await vault.active_key(conn, patient_id, now)
    sealed = {c: _seal(key, getattr(details, c), order_id, c, key_id) for c in SEALED}
    await conn.execute(
        f"INSERT INTO shipping_details (order_id, patient_id, key_id, ship_to_state, {', '.join(SEALED)}, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (order_id) DO UPDATE SET key_id = EXCLUDED.key_id, ship_to_state = EXCLUDED.ship_to_state, "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in SEALED)
        + ", updated_at = EXCLUDED.updated_at",
        order_id,
        patient_id,
        key_id,
        details.state,
        *sealed.values(),
        now,
    )
    return key_id


async def destination(conn: Connection, order_id: str) -> Destination:
    """Whether an order's details are on file and in which state, without opening anything."""
    return (await destinations(conn, [order_id]))[order_id]


async def destinations(conn: Connection, order_ids: Sequence[str]) -> dict[str, Destination]:
    """`destination` of each order, in one statement (a list of orders is one round trip, not one per order)."""
    rows = await conn.fetch(
        f"SELECT o, {DESTINATION.format('o')} AS destination FROM unnest($1::text[]) AS o", list(order_ids)
    )
    return {r["o"]: destination_of(r["destination"]) for r in rows}


# Where the order `{}` (a column or parameter) ships, as one composite value for a statement that reads more:
# NULL when no details were given, else the approved state and when the patient's key was destroyed (if it was).
DESTINATION = (
    "(SELECT ROW(d.ship_to_state, k.shredded_at) FROM shipping_details d JOIN hearth_data_keys k USING (key_id)"
    " WHERE d.order_id = {})"
)


def destination_of(value: Any) -> Destination:
    """The Destination of a `DESTINATION` value."""
    if value is None:
        return Destination("missing")
    state, shredded_at = value
    return Destination("erased") if shredded_at is not None else Destination("provided", state)


async def get(conn: Connection, vault: Vault, order_id: str) -> ShippingDetails | None:
    """The opened details, None when none were given; raises Erased after crypto-shredding."""
    row = await conn.fetchrow("SELECT * FROM shipping_details WHERE order_id = $1", order_id)
    if row is None:
        return None
    key = await vault.key(conn, row["key_id"])
    if key is None:
        raise Erased(order_id)
    opened = {c: None if row[c] is None else key.open(row[c], order_id, c, str(row["key_id"])) for c in SEALED}
    return ShippingDetails(state=row["ship_to_state"], **opened)  # type: ignore[arg-type]


def _seal(key: DataKey, value: str | None, order_id: str, column: str, key_id: uuid.UUID) -> bytes | None:
    return None if value is None else key.seal(value, order_id, column, str(key_id))
