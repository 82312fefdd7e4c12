"""Kafka readiness: SASL/SCRAM over TLS, then a Metadata request, on a plain socket (no client library needed)."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Mapping

from .kafka_protocol import KafkaConnection, sasl_authenticate


def kafka_brokers(
    host: str, port: int, timeout: float = 2.0, security: Mapping[str, str] | None = None
) -> list[tuple[int, str, int]]:
    """Send Metadata v4 for no topics; return the brokers listed as (node id, host, port).

    `security` holds the client's HEARTH_KAFKA_* settings (SECURITY_PROTOCOL, SASL_MECHANISM, USERNAME,
    PASSWORD, CA_FILE), as `hearth.kit.settings.KafkaSettings` reads them; without it the connection is
    PLAINTEXT. With SSL the broker's certificate is verified against the CA file and the host name; with SASL
    the client authenticates first. A KRaft broker lists itself once it has caught up with the metadata log
    and is unfenced, so a non-empty answer means clients can use it. Raises OSError when nothing answers.
    """
    security = security or {}
    protocol = security.get("HEARTH_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT"
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        sock = raw
        if protocol.endswith("SSL"):
            context = ssl.create_default_context(cafile=security.get("HEARTH_KAFKA_CA_FILE") or None)
            sock = context.wrap_socket(raw, server_hostname=host)
        with sock:
            conn = KafkaConnection(sock)
            if protocol.startswith("SASL"):
                sasl_authenticate(
                    conn,
                    security.get("HEARTH_KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512",
                    security.get("HEARTH_KAFKA_USERNAME", ""),
                    security.get("HEARTH_KAFKA_PASSWORD", ""),
                )
            data = conn.call(3, 4, struct.pack(">ib", 0, 0))  # no topics; allow_auto_topic_creation false
    _throttle_ms, count = struct.unpack_from(">ii", data, 0)
    offset, brokers = 8, []
    for _ in range(count):
        node_id, host_len = struct.unpack_from(">ih", data, offset)
        broker_host = data[offset + 6 : offset + 6 + host_len].decode()
        broker_port, rack_len = struct.unpack_from(">ih", data, offset + 6 + host_len)
        offset += 6 + host_len + 6 + max(rack_len, 0)
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def kafka_answers(bootstrap: str, timeout: float = 2.0, security: Mapping[str, str] | None = None) -> bool:
    """Whether the broker authenticates these settings (see `kafka_brokers`) and lists itself."""
    host, _, port = bootstrap.rpartition(":")
    try:
        return bool(kafka_brokers(host, int(port), timeout, security))
    except (OSError, struct.error, ValueError, KeyError, UnicodeDecodeError):
        return False
