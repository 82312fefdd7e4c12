"""FastStream glue: one subscriber per service over every topic it consumes, acknowledged manually.

FastStream's default policy commits in the background before the handler has finished (at-most-once); here the
offset is committed only after the inbox transaction committed, and a transient fault seeks back to the first
record of the batch (nack) after a backoff instead of moving on.  Batches are handled one after another, so
`ack()` — which commits the position of every assigned partition — never covers a record still in flight.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from .dead_letters import ConsumedRecord
from .inbox import Inbox, Outcome
from .settings import kafka_client_options


def make_broker(bootstrap: str, client: dict[str, Any] | None = None, **options: Any) -> KafkaBroker:
    """FastStream's per-message "Received"/"Processed" lines go to DEBUG (the inbox logs what matters), and its
    logger is a plain stdlib one, so its lines — tracebacks included — pass our personal-data scrubber."""
    return KafkaBroker(
        bootstrap,
        logger=logging.getLogger("faststream.access.kafka"),
        log_level=logging.DEBUG,
        **_security(kafka_client_options() if client is None else client),
        **options,
    )


def _security(client: dict[str, Any]) -> dict[str, Any]:
    """FastStream takes the same security as aiokafka through its own `security=` object."""
    if client.get("security_protocol", "PLAINTEXT") == "PLAINTEXT":
        return {}
    from faststream.security import SASLScram256, SASLScram512

    scram = SASLScram512 if client.get("sasl_mechanism") == "SCRAM-SHA-512" else SASLScram256
    return {
        "security": scram(
            username=str(client["sasl_plain_username"]),
            password=str(client["sasl_plain_password"]),
            ssl_context=client.get("ssl_context"),
        )
    }


def attach_inbox(broker: KafkaBroker, inbox: Inbox, *, group_id: str, batch_size: int = 100, **options: Any) -> None:
    if not inbox.topics:
        return

    @broker.subscriber(  # type: ignore[untyped-decorator]  # FastStream's decorator is untyped
        *inbox.topics,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=100,
        title=f"{group_id}.inbox",
        **options,
    )
    async def consume(msg: KafkaMessage) -> None:
        records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        outcome = await inbox.handle_batch(cast(tuple[ConsumedRecord, ...], records))
        if outcome is Outcome.RETRY:
            await msg.nack()
        else:
            await msg.ack()
