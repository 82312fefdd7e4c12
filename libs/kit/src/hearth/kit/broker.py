"""The FastStream Kafka broker of a service process: its connection answers `/readyz`'s Kafka check.

Consuming does not go through it: FastStream decodes header values and bodies before any handler runs, and a
failure there skips the whole batch (see `consumer.py`, which reads raw records with aiokafka instead).
"""

from __future__ import annotations

import logging
from typing import Any

from faststream.kafka import KafkaBroker

from .settings import kafka_client_options


def make_broker(bootstrap: str, client: dict[str, Any] | None = None, **options: Any) -> KafkaBroker:
    """FastStream's logger is a plain stdlib one, so its lines — tracebacks included — pass our personal-data
    scrubber. A comma-separated bootstrap (a cluster) goes as a list: FastStream takes a string for one host."""
    return KafkaBroker(
        [address.strip() for address in bootstrap.split(",") if address.strip()],
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
