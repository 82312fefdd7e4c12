"""Signed checkpoints of the audit trail's head, published outside the database.

A hash chain alone proves nothing about its end: delete the last rows, or edit a row and recompute every later
hash, and the chain still verifies. So every service signs the head of its chain (sequence number and hash)
with an Ed25519 key from its configuration, which the database never holds, and publishes it on
`<service>.audit-checkpoints.v1` every `audit_checkpoint_seconds` when the head moved (at least every
`audit_checkpoint_heartbeat_seconds` when it did not) and once more when it stops. `hearth audit verify` needs
only the public key to check the chain against them (`audit_verify.py`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from datetime import datetime

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hearth.contracts import build_event, topic_for
from hearth.contracts.events.audit import CHECKPOINTS, AuditCheckpoint, checkpoint_message

from .audit import GENESIS
from .audit_keys import b64decode, key_id, signing_key
from .clock import Clock
from .db import Connection
from .logging import get_logger
from .publisher import KafkaPublisher, Record
from .settings import KitSettings

log = get_logger(__name__)


def sign(service: str, seq: int, head_hash: str, at: datetime, key: Ed25519PrivateKey) -> AuditCheckpoint:
    signature = key.sign(checkpoint_message(service, seq, head_hash, at))
    model = CHECKPOINTS[service]
    return model(
        seq=seq,
        head_hash=head_hash,
        checkpointed_at=at,
        key_id=key_id(key.public_key()),
        signature=base64.urlsafe_b64encode(signature).decode().rstrip("="),
    )


def signed_by(checkpoint: AuditCheckpoint, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(b64decode(checkpoint.signature), checkpoint.signed_message())
    except (InvalidSignature, ValueError):
        return False
    return True


async def head(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the last row of the trail; (0, GENESIS) when it is empty."""
    row = await conn.fetchrow("SELECT seq, hash FROM audit.trail ORDER BY seq DESC LIMIT 1")
    return (0, GENESIS) if row is None else (int(row["seq"]), str(row["hash"]))


def subject_of(service: str) -> str:
    return f"audit-trail:{service}"


class CheckpointPublisher:
    """Signs and publishes the head of one service's trail: when it moved (checked every `interval`), after
    `heartbeat` even when it did not, and once more on stop."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: KafkaPublisher,
        service: str,
        key: Ed25519PrivateKey,
        clock: Clock,
        *,
        topic_prefix: str = "",
        interval: float = 60.0,
        heartbeat: float = 3600.0,
    ) -> None:
        self.pool, self.publisher, self.service, self.key, self.clock = pool, publisher, service, key, clock
        self.topic = topic_prefix + topic_for(CHECKPOINTS[service])
        self.interval, self.heartbeat = interval, heartbeat
        self.last: tuple[int, str] | None = None
        self._last_sent = 0.0

    async def publish(self) -> AuditCheckpoint:
        """Read the head, sign it, send it (raises when it could not be sent)."""
        async with self.pool.acquire() as conn:
            seq, digest = await head(conn)
        checkpoint = sign(self.service, seq, digest, self.clock.now(), self.key)
        event = build_event(checkpoint, subject=subject_of(self.service), source=f"/hearth/{self.service}")
        headers: list[tuple[str, bytes | None]] = [("content-type", event.CONTENT_TYPE.encode())]
        await self.publisher.send_all([Record(self.topic, event.partitionkey.encode(), event.to_json(), headers)])
        self.last, self._last_sent = (seq, digest), asyncio.get_running_loop().time()
        return checkpoint

    async def publish_if_due(self) -> AuditCheckpoint | None:
        async with self.pool.acquire() as conn:
            current = await head(conn)
        stale = asyncio.get_running_loop().time() - self._last_sent >= self.heartbeat
        return await self.publish() if current != self.last or stale else None

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`; then a last checkpoint of the final head, and the producer closed."""
        try:
            while not stop.is_set():
                try:
                    await self.publish_if_due()
                except Exception as exc:  # the next round tries again; verify names a gap that lasts
                    log.warning("audit_checkpoint_failed", error=type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
            try:
                checkpoint = await self.publish()
                log.info("audit_checkpoint_on_stop", seq=checkpoint.seq)
            except Exception as exc:
                log.warning("audit_checkpoint_failed", error=type(exc).__name__, on_stop=True)
        finally:
            await self.publisher.stop()


def checkpoint_publisher(pool: asyncpg.Pool, service: str, settings: KitSettings, clock: Clock) -> CheckpointPublisher:
    """The publisher `create_app` runs: its own producer, the key and the intervals from the settings."""
    key = settings.audit_signing_key.get_secret_value() if settings.audit_signing_key else ""
    return CheckpointPublisher(
        pool,
        KafkaPublisher(settings.kafka_bootstrap, **settings.kafka_client_options()),
        service,
        signing_key(key),
        clock,
        topic_prefix=settings.topic_prefix,
        interval=settings.audit_checkpoint_seconds,
        heartbeat=settings.audit_checkpoint_heartbeat_seconds,
    )
