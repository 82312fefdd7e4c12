"""The vault on real Postgres: sealed text opens only for its patient and place, reads ERASED once the patient's
keys are destroyed (while an audit entry holding it still verifies), and text stored before sealing existed
comes back as it was."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import asyncpg
import pytest

from hearth.kit import audit
from hearth.kit.crypto import MasterKey, Unreadable
from hearth.kit.vault import ERASED, KeyMismatch, Vault, is_sealed

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NOTE = "Johanna Quixbury, 742 Evergreen Terrace, (555) 867-5309"


@pytest.fixture
async def conn(kit_dsn: str):
    c = await asyncpg.connect(kit_dsn)
    yield c
    await c.close()


async def test_sealed_text_opens_for_its_patient_and_place_only(conn) -> None:
    vault = Vault(MasterKey(os.urandom(32)))
    sealed = await vault.seal(conn, "pt-1", NOTE, "svc.table.note", NOW)

    assert is_sealed(sealed) and NOTE not in (sealed or "")
    assert await vault.open(conn, "pt-1", sealed, "svc.table.note") == NOTE
    with pytest.raises(Unreadable):
        await vault.open(conn, "pt-2", sealed, "svc.table.note")  # moved to another patient
    with pytest.raises(Unreadable):
        await vault.open(conn, "pt-1", sealed, "svc.table.other")  # moved to another field
    assert await vault.seal(conn, "pt-1", sealed, "svc.table.note", NOW) == sealed  # never sealed twice
    assert await vault.open(conn, "pt-1", "written before sealing", "svc.table.note") == "written before sealing"
    assert await vault.seal(conn, "pt-1", None, "svc.table.note", NOW) is None


async def test_shredding_makes_every_sealed_value_read_erased_and_the_audit_chain_still_verifies(conn) -> None:
    vault = Vault(MasterKey(os.urandom(32)))
    async with conn.transaction():
        note = await vault.seal(conn, "pt-1", NOTE, "svc.note", NOW)
        other = await vault.seal(conn, "pt-2", NOTE, "svc.note", NOW)
        await audit.append(conn, at=NOW, actor="clin-1", action="noted", entity="pt-1", details={"note": note})

    async with conn.transaction():
        assert await vault.shred(conn, "pt-1", NOW) == 1
    assert await vault.shred(conn, "pt-1", NOW) == 0  # idempotent

    assert await vault.open(conn, "pt-1", note, "svc.note") == ERASED
    assert await vault.open(conn, "pt-2", other, "svc.note") == NOTE  # another patient's key is untouched
    assert await audit.verify(conn) == (1, None)
    [entry] = await audit.entries(conn, "pt-1")
    assert entry["details"]["note"] == note  # the ciphertext stays, and can never be opened again
    wrapped = await conn.fetchval("SELECT wrapped_key FROM hearth_data_keys WHERE patient_id = 'pt-1'")
    assert wrapped is None
    fresh = await vault.seal(conn, "pt-1", "after the erasure", "svc.note", NOW)  # a new key for new text
    assert await vault.open(conn, "pt-1", fresh, "svc.note") == "after the erasure"


async def test_another_master_key_is_a_configuration_error_not_an_erasure(conn) -> None:
    sealed = await Vault(MasterKey(os.urandom(32))).seal(conn, "pt-1", NOTE, "svc.note", NOW)
    with pytest.raises(KeyMismatch):
        await Vault(MasterKey(os.urandom(32))).open(conn, "pt-1", sealed, "svc.note")


def test_the_master_key_comes_from_the_settings_on_first_use() -> None:
    from hearth.kit.settings import KitSettings

    key = base64.b64encode(os.urandom(32)).decode()
    migrate_only = Vault.from_settings(KitSettings(database_url="postgresql://x@127.0.0.1/x"))  # builds; no key
    with pytest.raises(ValueError, match="HEARTH_MASTER_KEY"):
        _ = migrate_only.master
    serving = Vault.from_settings(KitSettings(database_url="postgresql://x@127.0.0.1/x", master_key=key))
    assert serving.master.key_id == MasterKey(base64.b64decode(key)).key_id
    with pytest.raises(ValueError, match="base64"):
        KitSettings(database_url="postgresql://x@127.0.0.1/x", master_key="not a key")
