"""The row that remembers an HTTP command's response under its Idempotency-Key (commands.py), written with the
transaction's other held-back writes (at_commit.py): after its events' rows, before its audit rows, in one
statement.  A second request under the same key that committed first makes it fail on the primary key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import at_commit
from .chain import Chain
from .db import Connection

PRIMARY_KEY = "hearth_idempotency_pkey"


@dataclass(frozen=True)
class Remembered:
    principal: str
    key: str
    request_hash: str
    status_code: int
    response: str  # JSON


async def remember(conn: Connection, row: Remembered) -> None:
    pending = at_commit.pending_for(conn)
    if pending is not None:
        pending.remembered.append(row)
        return
    chain = Chain()
    add_to(chain, [row])
    await conn.execute(chain.sql(), *chain.args)


def add_to(chain: Chain, rows: Sequence[Remembered]) -> None:
    values = ", ".join(
        (
            chain.param([r.principal for r in rows], "text[]"),
            chain.param([r.key for r in rows], "text[]"),
            chain.param([r.request_hash for r in rows], "text[]"),
            chain.param([r.status_code for r in rows], "int[]"),
            chain.param([r.response for r in rows], "jsonb[]"),
        )
    )
    chain.add(
        "remembered",
        "INSERT INTO hearth_idempotency (principal, key, request_hash, status_code, response)"
        f" SELECT * FROM unnest({values}){chain.gate()} RETURNING 1",
    )
