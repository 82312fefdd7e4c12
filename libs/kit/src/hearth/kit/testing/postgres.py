"""Throwaway databases for tests, created and dropped through the admin DSN.

Each is provisioned like a service's database in production: an owner role `<db>_owner` (migrations), a
runtime role `<db>` (serve: reads and writes the owner's tables, no DDL), and the audit trail owned by
`<db>_audit`, a role nobody logs in as (`hearth.kit.bootstrap`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from ..bootstrap import bootstrap_audit

_THROWAWAY = re.compile(r"^[a-z][a-z0-9]*_[0-9a-f]{12}$")


def with_database(dsn: str, database: str) -> str:
    """The same DSN pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_user(dsn: str, user: str, password: str) -> str:
    """The same DSN with other credentials."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


@dataclass(frozen=True)
class Database:
    """A provisioned throwaway database and a DSN for each of its roles."""

    name: str
    admin: str = field(repr=False)  # the superuser, for test set-up and inspection only
    owner: str = field(repr=False)  # `<db>_owner`: what `migrate` connects as
    runtime: str = field(repr=False)  # `<db>`: what `serve` connects as


async def provision_database(admin_dsn: str, prefix: str = "t") -> Database:
    """Create `<prefix>_<random>` with its owner, runtime and audit roles; returns the DSN of each."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    owner, owner_password, runtime_password = f"{name}_owner", secrets.token_hex(16), secrets.token_hex(16)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{owner_password}'")
        await conn.execute(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{runtime_password}'")
        await conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        await conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
        await conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{name}"')
    finally:
        await conn.close()
    admin = with_database(admin_dsn, name)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(
            f"""
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT USAGE ON SCHEMA public TO "{name}";
            ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public
                GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{name}";
            ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public
                GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{name}";
            """
        )
        await bootstrap_audit(conn)
    finally:
        await conn.close()
    return Database(
        name,
        admin,
        with_user(admin, owner, owner_password),
        with_user(admin, name, runtime_password),
    )


async def create_database(admin_dsn: str, prefix: str = "t") -> str:
    """A provisioned database `<prefix>_<random>`; returns a DSN for it with the admin's credentials."""
    return (await provision_database(admin_dsn, prefix)).admin


async def drop_database(admin_dsn: str, dsn: str) -> None:
    """Drop the database `dsn` points at (disconnecting whoever is still connected) and its roles."""
    name = urlsplit(dsn).path.lstrip("/")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if _THROWAWAY.match(name):  # never the roles of a database this module did not make
            for role in (name, f"{name}_owner", f"{name}_audit"):
                await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()
