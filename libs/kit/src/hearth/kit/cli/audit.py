"""`hearth audit verify SERVICE`: walk a service's hash-chained audit log and name the first broken link.
`hearth audit bootstrap SERVICE`: create the trail's owner role and schema (database administrator, idempotent)."""

from __future__ import annotations

import argparse
import os
from typing import Any

import asyncpg

from .. import audit
from ..bootstrap import bootstrap_audit


def register(commands: Any) -> None:
    group = commands.add_parser("audit", help="the tamper-evident audit log").add_subparsers(
        dest="action", required=True
    )
    verify = group.add_parser("verify", help="check the hash chain of a service's audit log")
    verify.add_argument("service")
    verify.add_argument("--dsn", help="database URL (default: HEARTH_<SERVICE>_DATABASE_URL, then HEARTH_DATABASE_URL)")
    verify.set_defaults(run=verify_chain)
    bootstrap = group.add_parser(
        "bootstrap", help="as the database administrator: the trail's owner role, schema and append function"
    )
    bootstrap.add_argument("service")
    bootstrap.add_argument("--dsn", help="a superuser's URL of the service's database (default: HEARTH_PG_ADMIN_DSN)")
    bootstrap.set_defaults(run=bootstrap_trail)


async def bootstrap_trail(args: argparse.Namespace) -> int:
    dsn = args.dsn or os.environ.get("HEARTH_PG_ADMIN_DSN")
    if not dsn:
        print("no database URL: pass --dsn or set HEARTH_PG_ADMIN_DSN")
        return 2
    if not args.dsn:  # the admin DSN names the maintenance database: the service's has the service's name
        from urllib.parse import urlsplit, urlunsplit

        dsn = urlunsplit(urlsplit(dsn)._replace(path=f"/{args.service}"))
    conn = await asyncpg.connect(dsn)
    try:
        await bootstrap_audit(conn)
    finally:
        await conn.close()
    print(f"{args.service}: audit trail bootstrapped (schema audit, owned by a role nobody logs in as)")
    return 0


async def verify_chain(args: argparse.Namespace) -> int:
    dsn = (
        args.dsn
        or os.environ.get(f"HEARTH_{args.service.upper()}_DATABASE_URL")
        or os.environ.get("HEARTH_DATABASE_URL")
    )
    if not dsn:
        print(f"no database URL: pass --dsn or set HEARTH_{args.service.upper()}_DATABASE_URL")
        return 2
    conn = await asyncpg.connect(dsn)
    try:
        checked, broken = await audit.verify(conn)
    finally:
        await conn.close()
    if broken is None:
        print(f"{args.service}: audit chain intact ({checked} entries)")
        return 0
    print(f"{args.service}: audit chain BROKEN at seq {broken.seq}: {broken.reason} ({checked} entries read)")
    return 1
