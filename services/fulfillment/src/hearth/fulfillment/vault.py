"""The only place personal data lives: shipping details, each personal column sealed with the patient's data key
(`crypto.py`), and the keys themselves, wrapped by the master key. Plain values exist only in memory, inside
the request that gives or reads them; they are never emitted, logged, or stored as an idempotent response.

Erasing a patient (crypto-shredding) destroys their wrapped keys: the sealed columns stay where they are and
can no longer be opened. Details given afterwards are sealed with a new key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from hearth.kit.db import Connection

from .crypto import DataKey, MasterKey, Unreadable
from .model import Destination

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


class KeyMismatch(Exception):
    """A data key was wrapped under another master key than the one configured (a configuration error)."""


async def put(
    conn: Connection,
    master: MasterKey,
    order_id: str,
    patient_id: str,
    details: ShippingDetails,
    now: datetime,
) -> uuid.UUID:
    """Seals and stores (or replaces) an order's shipping details; returns the id of the key used."""
    key_id, key = await _active_key(conn, master, patient_id, now)
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
    row = await conn.fetchrow(
        "SELECT d.ship_to_state, k.shredded_at FROM shipping_details d JOIN patient_data_keys k USING (key_id)"
        " WHERE d.order_id = $1",
        order_id,
    )
    if row is None:
        return Destination("missing")
    return Destination("erased") if row["shredded_at"] is not None else Destination("provided", row["ship_to_state"])


async def get(conn: Connection, master: MasterKey, order_id: str) -> ShippingDetails | None:
    """The opened details, None when none were given; raises Erased after crypto-shredding."""
    row = await conn.fetchrow(
        "SELECT d.*, k.wrapped_key, k.master_key_id FROM shipping_details d JOIN patient_data_keys k USING (key_id)"
        " WHERE d.order_id = $1",
        order_id,
    )
    if row is None:
        return None
    if row["wrapped_key"] is None:
        raise Erased(order_id)
    key = _unwrap(master, row["wrapped_key"], row["master_key_id"], row["patient_id"], row["key_id"])
    opened = {c: None if row[c] is None else key.open(row[c], order_id, c, str(row["key_id"])) for c in SEALED}
    return ShippingDetails(state=row["ship_to_state"], **opened)  # type: ignore[arg-type]


async def shred(conn: Connection, patient_id: str, now: datetime) -> int:
    """Destroys every live data key of the patient; returns how many."""
    rows = await conn.fetch(
        "UPDATE patient_data_keys SET wrapped_key = NULL, shredded_at = $2"
        " WHERE patient_id = $1 AND shredded_at IS NULL RETURNING key_id",
        patient_id,
        now,
    )
    return len(rows)


async def _active_key(conn: Connection, master: MasterKey, patient_id: str, now: datetime) -> tuple[uuid.UUID, DataKey]:
    """The patient's live key, created on first use; locked, so an erasure cannot interleave with a write."""
    for _ in range(2):
        row = await conn.fetchrow(
            "SELECT key_id, wrapped_key, master_key_id FROM patient_data_keys"
            " WHERE patient_id = $1 AND shredded_at IS NULL FOR UPDATE",
            patient_id,
        )
        if row is not None:
            return row["key_id"], _unwrap(master, row["wrapped_key"], row["master_key_id"], patient_id, row["key_id"])
        key_id = uuid.uuid4()
        key, wrapped = master.new_data_key(patient_id, key_id)
        inserted = await conn.fetchval(
            "INSERT INTO patient_data_keys (key_id, patient_id, wrapped_key, master_key_id, created_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (patient_id) WHERE shredded_at IS NULL DO NOTHING"
            " RETURNING true",
            key_id,
            patient_id,
            wrapped,
            master.key_id,
            now,
        )
        if inserted:
            return key_id, key
    raise RuntimeError("could not create or find the patient's data key")


def _unwrap(master: MasterKey, wrapped: bytes, wrapped_by: str, patient_id: str, key_id: uuid.UUID) -> DataKey:
    if wrapped_by != master.key_id:
        raise KeyMismatch(f"data key {key_id} was wrapped by master key {wrapped_by}, not {master.key_id}")
    try:
        return master.unwrap(wrapped, patient_id, key_id)
    except Unreadable:
        raise KeyMismatch(f"data key {key_id} does not unwrap with master key {master.key_id}") from None


def _seal(key: DataKey, value: str | None, order_id: str, column: str, key_id: uuid.UUID) -> bytes | None:
    return None if value is None else key.seal(value, order_id, column, str(key_id))
