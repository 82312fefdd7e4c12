from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from hearth.kit import audit


async def test_audit_chain_verifies_and_refuses_edits(pool):
    async with pool.acquire() as conn:
        for i in range(5):
            async with conn.transaction():
                await audit.append(
                    conn,
                    at=datetime.now(UTC),
                    actor=f"clin-{i}",
                    action="approved",
                    entity=f"assessment:{i}",
                    details={"dose_mg": 100 + i},
                )
        assert await audit.verify(conn) == (5, None)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit.trail SET actor = 'someone-else' WHERE seq = 3")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit.trail WHERE seq = 3")
        # Only a superuser can disable the trigger (test_audit_roles.py); the chain still names the altered row.
        await conn.execute("ALTER TABLE audit.trail DISABLE TRIGGER trail_no_update")
        await conn.execute("UPDATE audit.trail SET details = '{\"dose_mg\": 600}' WHERE seq = 3")
        _, broken = await audit.verify(conn)
        assert broken is not None and broken.seq == 3 and "altered" in broken.reason
        await conn.execute("DELETE FROM audit.trail WHERE seq IN (3)")
        _, broken = await audit.verify(conn)
        assert broken is not None and broken.seq == 4 and "removed" in broken.reason
