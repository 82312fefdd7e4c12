"""Signed checkpoints of each service's audit trail: its head, published outside its database.

Every service publishes one on its own topic `<service>.audit-checkpoints.v1`, periodically and when it stops.
A checkpoint names the head of the hash chain (sequence number and hash) and is signed with the service's
Ed25519 key, which the database never holds; `hearth audit verify` checks the chain against them with the public
key alone. The subject (and record key) is `audit-trail:<service>`: these events are about a service's trail,
not about a patient, and all of one service's checkpoints share a partition, in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Self

from pydantic import Field

from hearth.contracts.base import EventData
from hearth.contracts.primitives import EXAMPLE_AT, StrictInt, UtcDatetime

SIGNATURE_CONTEXT = "hearth-audit-checkpoint/v1"


class AuditCheckpoint(EventData):
    """Base of the four services' checkpoint payloads (the same fields; each service has its own type)."""

    service: ClassVar[str] = ""

    seq: StrictInt = Field(ge=0, description="Sequence number of the head row of the audit trail (0: empty trail).")
    head_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 chain hash of the head row (64 zeros for an empty trail)."
    )
    checkpointed_at: UtcDatetime = Field(description="When the head was read and signed (UTC).")
    key_id: str = Field(
        pattern=r"^[0-9a-f]{16}$", description="First 16 hex digits of the SHA-256 of the raw Ed25519 public key."
    )
    signature: str = Field(
        pattern=r"^[A-Za-z0-9_-]{86}$",
        description="Ed25519 signature (base64url, unpadded) of signed_message(): context, service, seq, "
        "head_hash and checkpointed_at.",
    )

    def signed_message(self) -> bytes:
        return checkpoint_message(self.service, self.seq, self.head_hash, self.checkpointed_at)

    @classmethod
    def example(cls) -> Self:
        return cls(
            seq=42,
            head_hash="3f" * 32,
            checkpointed_at=EXAMPLE_AT,
            key_id="9c1d2e3f4a5b6c7d",
            signature="A" * 86,
        )


def checkpoint_message(service: str, seq: int, head_hash: str, at: datetime) -> bytes:
    """The bytes a checkpoint's signature covers: one line per field, the time as RFC 3339 UTC."""
    return "\n".join([SIGNATURE_CONTEXT, service, str(seq), head_hash, at.isoformat()]).encode()


class ScreeningAuditCheckpoint(AuditCheckpoint):
    """Signed head of the screening service's audit trail."""

    event_type: ClassVar[str] = "org.hearth.screening.audit-checkpoints.v1"
    service: ClassVar[str] = "screening"


class FulfillmentAuditCheckpoint(AuditCheckpoint):
    """Signed head of the fulfillment service's audit trail."""

    event_type: ClassVar[str] = "org.hearth.fulfillment.audit-checkpoints.v1"
    service: ClassVar[str] = "fulfillment"


class SessionAuditCheckpoint(AuditCheckpoint):
    """Signed head of the session service's audit trail."""

    event_type: ClassVar[str] = "org.hearth.session.audit-checkpoints.v1"
    service: ClassVar[str] = "session"


class FollowupAuditCheckpoint(AuditCheckpoint):
    """Signed head of the follow-up service's audit trail."""

    event_type: ClassVar[str] = "org.hearth.followup.audit-checkpoints.v1"
    service: ClassVar[str] = "followup"


CHECKPOINTS: dict[str, type[AuditCheckpoint]] = {
    model.service: model
    for model in (ScreeningAuditCheckpoint, FulfillmentAuditCheckpoint, SessionAuditCheckpoint, FollowupAuditCheckpoint)
}
"""The checkpoint payload class of each service."""
