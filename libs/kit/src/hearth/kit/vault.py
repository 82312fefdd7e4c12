"""Personal free text at rest, sealed with its patient's data key, so erasing the patient is destroying one key.

A service seals what a person wrote (a prescriber's justification, a clinician's notes, the names of drugs an
intake lists) before it stores it, and opens it when a reader needs it. A sealed value is text, so it fits the
column, the JSON document or the audit entry that held the plain value:

    sealed:v1:<key id>:<base64url of version || nonce || ciphertext || tag>

bound by its associated data to its patient and its place (`screening.decisions.justification`), so it cannot be
moved to another patient or field and still open. The data keys live in `hearth_data_keys`, wrapped by the
service's master key (`crypto.py`). `shred` destroys a patient's keys: their sealed values, wherever copies went
(tables, audit trail, backups), open to `ERASED` from then on, while the audit chain still verifies.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from .crypto import DataKey, MasterKey, Unreadable
from .db import Connection
from .settings import KitSettings

PREFIX = "sealed:v1:"
ERASED = "ERASED"
"""What an opened value reads after its patient's keys were destroyed (it fits every text field's pattern)."""

T = TypeVar("T")


class KeyMismatch(Exception):
    """A data key was wrapped under another master key than the one configured (a configuration error)."""


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class Vault:
    """Seals, opens and shreds one service's personal free text with its master key."""

    def __init__(self, master: MasterKey | Callable[[], MasterKey]) -> None:
        self._master = master

    @classmethod
    def from_settings(cls, settings: KitSettings) -> Vault:
        """The service's vault; the master key is read on first use, so `migrate` (which never holds it) can
        build the same service definition."""
        return cls(lambda: MasterKey(settings.master_key_bytes()))

    @property
    def master(self) -> MasterKey:
        if not isinstance(self._master, MasterKey):
            self._master = self._master()
        return self._master

    async def active_key(self, conn: Connection, patient_id: str, now: datetime) -> tuple[uuid.UUID, DataKey]:
        """The patient's live key, created on first use; locked, so an erasure cannot interleave with a write."""
        for _ in range(2):
            row = await conn.fetchrow(
                "SELECT key_id, wrapped_key, master_key_id FROM hearth_data_keys"
                " WHERE patient_id = $1 AND shredded_at IS NULL FOR UPDATE",
                patient_id,
            )
            if row is not None:
                return row["key_id"], self._unwrap(row["wrapped_key"], row["master_key_id"], patient_id, row["key_id"])
            key_id = uuid.uuid4()
            key, wrapped = self.master.new_data_key(patient_id, key_id)
            inserted = await conn.fetchval(
                "INSERT INTO hearth_data_keys (key_id, patient_id, wrapped_key, master_key_id, created_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (patient_id) WHERE shredded_at IS NULL DO NOTHING"
                " RETURNING true",
                key_id,
                patient_id,
                wrapped,
                self.master.key_id,
                now,
            )
            if inserted:
                return key_id, key
        raise RuntimeError("could not create or find the patient's data key")

    async def key(self, conn: Connection, key_id: uuid.UUID) -> DataKey | None:
        """A key by id; None once it was shredded (or never existed here)."""
        row = await conn.fetchrow(
            "SELECT patient_id, wrapped_key, master_key_id FROM hearth_data_keys WHERE key_id = $1", key_id
        )
        if row is None or row["wrapped_key"] is None:
            return None
        return self._unwrap(row["wrapped_key"], row["master_key_id"], row["patient_id"], key_id)

    async def seal(self, conn: Connection, patient_id: str, value: str | None, place: str, now: datetime) -> str | None:
        if value is None or is_sealed(value):
            return value
        key_id, key = await self.active_key(conn, patient_id, now)
        sealed = key.seal(value, "text", patient_id, place, str(key_id))
        return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(sealed).decode()}"

    async def open(self, conn: Connection, patient_id: str, value: str | None, place: str) -> str | None:
        """The plain text; ERASED after shredding. A value stored before sealing existed comes back as it is."""
        if value is None or not is_sealed(value):
            return value
        key_text, _, body = value.removeprefix(PREFIX).partition(":")
        key = await self.key(conn, uuid.UUID(key_text))
        if key is None:
            return ERASED
        return key.open(base64.urlsafe_b64decode(body), "text", patient_id, place, key_text)

    async def seal_text(self, conn: Connection, patient_id: str, value: str, place: str, now: datetime) -> str:
        return await self.seal(conn, patient_id, value, place, now) or ""

    async def open_text(self, conn: Connection, patient_id: str, value: str, place: str) -> str:
        return await self.open(conn, patient_id, value, place) or ""

    async def seal_fields(
        self, conn: Connection, obj: T, patient_id: str, fields: Iterable[str], place: str, now: datetime
    ) -> T:
        """A copy of a dataclass with the named text fields sealed (place: `<place>.<field>`)."""
        changes = {f: await self.seal(conn, patient_id, getattr(obj, f), f"{place}.{f}", now) for f in fields}
        return replace(obj, **changes)  # type: ignore[type-var]

    async def open_fields(self, conn: Connection, obj: T, patient_id: str, fields: Iterable[str], place: str) -> T:
        changes = {f: await self.open(conn, patient_id, getattr(obj, f), f"{place}.{f}") for f in fields}
        return replace(obj, **changes)  # type: ignore[type-var]

    async def seal_all(
        self, conn: Connection, patient_id: str, values: Iterable[str], place: str, now: datetime
    ) -> tuple[str, ...]:
        return tuple([s for v in values if (s := await self.seal(conn, patient_id, v, place, now)) is not None])

    async def open_all(self, conn: Connection, patient_id: str, values: Iterable[str], place: str) -> tuple[str, ...]:
        return tuple([o for v in values if (o := await self.open(conn, patient_id, v, place)) is not None])

    async def shred(self, conn: Connection, patient_id: str, now: datetime) -> int:
        """Destroys every live data key of the patient; returns how many."""
        rows = await conn.fetch(
            "UPDATE hearth_data_keys SET wrapped_key = NULL, shredded_at = $2"
            " WHERE patient_id = $1 AND shredded_at IS NULL RETURNING key_id",
            patient_id,
            now,
        )
        return len(rows)

    def _unwrap(self, wrapped: bytes, wrapped_by: str, patient_id: str, key_id: uuid.UUID) -> DataKey:
        if wrapped_by != self.master.key_id:
            raise KeyMismatch(f"data key {key_id} was wrapped by master key {wrapped_by}, not {self.master.key_id}")
        try:
            return self.master.unwrap(wrapped, patient_id, key_id)
        except Unreadable:
            raise KeyMismatch(f"data key {key_id} does not unwrap with master key {self.master.key_id}") from None
