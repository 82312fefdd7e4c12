"""Verifying a service's audit trail against its signed checkpoints (`hearth audit verify`).

Three things are checked, and each problem is named:
- the chain itself (`audit.verify`): a row edited without recomputing what follows, a row removed in between;
- every checkpoint signed with the service's public key: a checkpointed sequence number beyond the head of the
  chain means rows were removed from its end (**truncation**); a checkpointed row whose hash is no longer the
  one signed means the chain was rewritten, even when every later hash was recomputed (**rewrite**);
- rows after the last checkpoint older than `max_lag`: the service **stopped checkpointing** (or its checkpoints
  were removed), so the end of the chain is anchored nowhere.
A checkpoint whose signature does not verify is named too, and never trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hearth.contracts import ContractError, parse_event
from hearth.contracts.events.audit import AuditCheckpoint

from . import audit
from .checkpoints import signed_by
from .db import Connection
from .topics import partitions_of


@dataclass(frozen=True)
class Finding:
    kind: str  # broken_link | truncation | rewrite | stopped_checkpointing | forged_checkpoint
    detail: str


@dataclass(frozen=True)
class Verdict:
    rows: int
    anchored_to: int  # the highest sequence number a valid checkpoint vouches for (0: none)
    findings: tuple[Finding, ...]

    @property
    def intact(self) -> bool:
        return not self.findings


async def read_checkpoints(bootstrap: str, topic: str, client: dict[str, Any]) -> list[AuditCheckpoint]:
    """Every checkpoint on the topic, from the beginning to its current end."""
    found: list[AuditCheckpoint] = []
    partitions = await partitions_of(bootstrap, [topic], client)
    if not partitions:
        return found
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]) and loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    try:
                        event = parse_event(record.value or b"")
                    except ContractError:
                        continue  # not a checkpoint at all: nothing to trust
                    if isinstance(event.data, AuditCheckpoint):
                        found.append(event.data)
    finally:
        await consumer.stop()
    return found


async def verify_anchored(
    conn: Connection,
    checkpoints: Sequence[AuditCheckpoint],
    key: Ed25519PublicKey,
    *,
    now: datetime,
    max_lag: timedelta,
) -> Verdict:
    findings: list[Finding] = []
    rows, broken = await audit.verify(conn)
    if broken is not None:
        findings.append(Finding("broken_link", f"seq {broken.seq}: {broken.reason}"))
    valid = [cp for cp in checkpoints if signed_by(cp, key)]
    for cp in checkpoints:
        if cp not in valid:
            detail = (
                f"checkpoint of seq {cp.seq} at {cp.checkpointed_at} (key id {cp.key_id}) is not signed by this key"
            )
            findings.append(Finding("forged_checkpoint", detail + "; ignored"))
    head_seq = int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM audit.trail"))
    rows_hashes = await conn.fetch(
        "SELECT seq, hash FROM audit.trail WHERE seq = ANY($1::bigint[])", sorted({cp.seq for cp in valid})
    )
    hashes = {int(r["seq"]): str(r["hash"]) for r in rows_hashes} | {0: audit.GENESIS}
    findings += _truncation(valid, head_seq) + _rewrite(valid, head_seq, hashes)
    holds = [cp.seq for cp in valid if hashes.get(cp.seq) == cp.head_hash]
    covered = min(max((cp.seq for cp in valid), default=0), head_seq)
    late = await conn.fetchrow(
        "SELECT count(*) AS n, min(seq) AS first, min(at) AS since FROM audit.trail WHERE seq > $1 AND at < $2",
        covered,
        now - max_lag,
    )
    assert late is not None  # an aggregate always returns its row
    if late["n"]:
        last = f"the last checkpoint covers seq {covered}" if valid else "no checkpoint was ever published"
        findings.append(
            Finding(
                "stopped_checkpointing",
                f"{late['n']} row(s) from seq {late['first']} (the oldest of {late['since']}) are older than "
                f"{max_lag} and no checkpoint covers them ({last}): the service stopped checkpointing, or its "
                "checkpoints were removed",
            )
        )
    return Verdict(rows, max(holds, default=0), tuple(findings))


def _truncation(valid: Sequence[AuditCheckpoint], head_seq: int) -> list[Finding]:
    beyond = [cp for cp in valid if cp.seq > head_seq]
    if not beyond:
        return []
    last = max(beyond, key=lambda cp: cp.seq)
    return [
        Finding(
            "truncation",
            f"the chain ends at seq {head_seq} but the checkpoint of {last.checkpointed_at} vouches for seq "
            f"{last.seq}: rows {head_seq + 1} to {last.seq} were removed",
        )
    ]


def _rewrite(valid: Sequence[AuditCheckpoint], head_seq: int, hashes: dict[int, str]) -> list[Finding]:
    wrong = sorted((cp for cp in valid if cp.seq <= head_seq and hashes.get(cp.seq) != cp.head_hash), key=_seq)
    if not wrong:
        return []
    first = wrong[0]
    since = max((cp.seq for cp in valid if cp.seq < first.seq and hashes.get(cp.seq) == cp.head_hash), default=0)
    return [
        Finding(
            "rewrite",
            f"seq {first.seq} no longer has the hash signed in the checkpoint of {first.checkpointed_at}: the chain "
            f"was rewritten between seq {since + 1} and {first.seq} ({len(wrong)} checkpoint(s) disagree)",
        )
    ]


def _seq(cp: AuditCheckpoint) -> int:
    return cp.seq
