"""`hearth audit verify SERVICE`: check a service's audit trail, its hash chain and its signed checkpoints, and name
what is wrong (a broken link, truncation, a rewrite, a service that stopped checkpointing, a forged checkpoint).
`hearth audit keygen`: a new Ed25519 key pair for a service's checkpoints.
`hearth audit bootstrap SERVICE`: create the trail's owner role and schema (database administrator, idempotent)."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hearth.contracts import SERVICES, topic_for
from hearth.contracts.events.audit import CHECKPOINTS

from .. import audit, audit_keys
from ..audit_verify import read_checkpoints, verify_anchored
from ..bootstrap import bootstrap_audit
from ..settings import KafkaSettings


def register(commands: Any) -> None:
    group = commands.add_parser("audit", help="the tamper-evident audit trail").add_subparsers(
        dest="action", required=True
    )
    verify = group.add_parser("verify", help="check a service's audit trail against its signed checkpoints")
    verify.add_argument("service", choices=SERVICES)
    verify.add_argument("--dsn", help="database URL (default: HEARTH_<SERVICE>_DATABASE_URL, then HEARTH_DATABASE_URL)")
    verify.add_argument(
        "--public-key", help="the service's checkpoint key (default: HEARTH_<SERVICE>_AUDIT_PUBLIC_KEY)"
    )
    verify.add_argument(
        "--max-lag", type=float, default=600.0, help="seconds a row may wait for a checkpoint (default 600)"
    )
    verify.add_argument(
        "--chain-only", action="store_true", help="the hash chain alone, without checkpoints (misses truncation)"
    )
    verify.set_defaults(run=verify_trail)
    keygen = group.add_parser("keygen", help="a new key pair: HEARTH_AUDIT_SIGNING_KEY and its public key")
    keygen.set_defaults(run=generate_key)
    bootstrap = group.add_parser(
        "bootstrap", help="as the database administrator: the trail's owner role, schema and append function"
    )
    bootstrap.add_argument("service")
    bootstrap.add_argument("--dsn", help="a superuser's URL of the service's database (default: HEARTH_PG_ADMIN_DSN)")
    bootstrap.set_defaults(run=bootstrap_trail)


async def verify_trail(args: argparse.Namespace) -> int:
    upper = args.service.upper()
    dsn = args.dsn or os.environ.get(f"HEARTH_{upper}_DATABASE_URL") or os.environ.get("HEARTH_DATABASE_URL")
    if not dsn:
        print(f"no database URL: pass --dsn or set HEARTH_{upper}_DATABASE_URL")
        return 2
    public = args.public_key or os.environ.get(f"HEARTH_{upper}_AUDIT_PUBLIC_KEY")
    if not public and not args.chain_only:
        print(f"no public key: pass --public-key or set HEARTH_{upper}_AUDIT_PUBLIC_KEY (or --chain-only)")
        return 2
    conn = await asyncpg.connect(dsn)
    try:
        if args.chain_only:
            checked, broken = await audit.verify(conn)
            if broken is None:
                print(f"{args.service}: hash chain intact ({checked} entries; checkpoints not checked)")
                return 0
            print(f"{args.service}: audit chain BROKEN at seq {broken.seq}: {broken.reason} ({checked} entries read)")
            return 1
        kafka = KafkaSettings()
        topic = kafka.topic_prefix + topic_for(CHECKPOINTS[args.service])
        checkpoints = await read_checkpoints(kafka.kafka_bootstrap, topic, kafka.kafka_client_options())
        verdict = await verify_anchored(
            conn,
            checkpoints,
            audit_keys.public_key(public or ""),
            now=datetime.now(UTC),
            max_lag=timedelta(seconds=args.max_lag),
        )
    finally:
        await conn.close()
    summary = f"{verdict.rows} entries, {len(checkpoints)} checkpoints, anchored up to seq {verdict.anchored_to}"
    if verdict.intact:
        print(f"{args.service}: audit trail intact ({summary})")
        return 0
    print(f"{args.service}: audit trail NOT intact ({summary}):")
    for finding in verdict.findings:
        print(f"  {finding.kind}: {finding.detail}")
    return 1


def generate_key(args: argparse.Namespace) -> int:
    key = audit_keys.generate()
    print(f"HEARTH_AUDIT_SIGNING_KEY={audit_keys.encode_private(key)}")
    print(f"public key (HEARTH_<SERVICE>_AUDIT_PUBLIC_KEY for verify)={audit_keys.encode_public(key.public_key())}")
    return 0


async def bootstrap_trail(args: argparse.Namespace) -> int:
    dsn = args.dsn or os.environ.get("HEARTH_PG_ADMIN_DSN")
    if not dsn:
        print("no database URL: pass --dsn or set HEARTH_PG_ADMIN_DSN")
        return 2
    if not args.dsn:  # the admin DSN names the maintenance database: the service's has the service's name
        dsn = urlunsplit(urlsplit(dsn)._replace(path=f"/{args.service}"))
    conn = await asyncpg.connect(dsn)
    try:
        await bootstrap_audit(conn)
    finally:
        await conn.close()
    print(f"{args.service}: audit trail bootstrapped (schema audit, owned by a role nobody logs in as)")
    return 0
