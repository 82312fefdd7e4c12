"""What the database administrator runs on a service's database, beyond creating it: the audit trail's owner.

`sql/bootstrap/audit.sql` creates the `<db>_audit` role (no login, no password), its schema `audit` with the
append-only table and the `SECURITY DEFINER` append function, and grants the runtime role only reading and
appending. It is idempotent. The local launcher, the compose and dev-cluster init scripts, the test fixtures and
`hearth audit bootstrap` all run this one file.
"""

from __future__ import annotations

from importlib import resources

from .db import Connection


def audit_bootstrap_sql() -> str:
    return resources.files("hearth.kit").joinpath("sql", "bootstrap", "audit.sql").read_text("utf-8")


async def bootstrap_audit(conn: Connection) -> None:
    """Run as a superuser connected to the service's database."""
    await conn.execute(audit_bootstrap_sql())
