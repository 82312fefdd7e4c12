"""What went wrong talking to Kafka, in one line an outside team can act on.

aiokafka reports every failed login or connection as "Unable to bootstrap"; `explain` opens one connection
itself to find the real cause (nothing listening, TLS expected, certificate not trusted, credentials refused).
"""

from __future__ import annotations

import os
import ssl

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed

from ..settings import KafkaSettings

LOCAL_HINT = 'locally: eval "$(python3 deploy/local/infra.py env)"'


class CliError(Exception):
    """A failure the command explains in one line; `code` is the exit status (1: runtime, 2: usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def where(config: KafkaSettings) -> str:
    unset = "" if os.environ.get("HEARTH_KAFKA_BOOTSTRAP") else " (HEARTH_KAFKA_BOOTSTRAP is not set: the default)"
    return f"{config.kafka_bootstrap}{unset}"


async def explain(config: KafkaSettings) -> str:
    """Why a client with these settings cannot use the broker (one line)."""
    options = config.kafka_client_options()
    host, _, port = config.kafka_bootstrap.split(",")[0].strip().rpartition(":")
    user = config.kafka_username or "(HEARTH_KAFKA_USERNAME is not set)"
    try:
        conn = await create_conn(
            host,
            int(port),
            security_protocol=options["security_protocol"],
            ssl_context=options.get("ssl_context"),
            sasl_mechanism=options.get("sasl_mechanism", "PLAIN"),
            sasl_plain_username=options.get("sasl_plain_username"),
            sasl_plain_password=options.get("sasl_plain_password"),
            request_timeout_ms=10_000,
        )
    except SaslAuthenticationFailed:
        return (
            f"authentication failed for Kafka user {user} at {where(config)}: check HEARTH_KAFKA_USERNAME and "
            "HEARTH_KAFKA_PASSWORD (a subscriber's password comes from `hearth subscribers add|credentials`)"
        )
    except ssl.SSLCertVerificationError as error:
        return (
            f"the broker's TLS certificate at {where(config)} is not trusted ({error.verify_message}): set "
            f"HEARTH_KAFKA_CA_FILE to its CA ({LOCAL_HINT})"
        )
    except OSError as error:
        return f"nothing answers at {where(config)} ({error.strerror or error}): is the broker up, the address right?"
    except KafkaConnectionError:
        return _closed(config)
    except ValueError:
        return f"HEARTH_KAFKA_BOOTSTRAP {config.kafka_bootstrap!r} is not host:port[,host:port...]"
    conn.close()
    return f"the broker at {where(config)} accepted a connection but no request succeeded (try again; see its logs)"


def _closed(config: KafkaSettings) -> str:
    if config.kafka_security_protocol == "PLAINTEXT":
        return (
            f"the broker at {where(config)} closed the connection: it expects TLS and SASL. Set "
            "HEARTH_KAFKA_SECURITY_PROTOCOL=SASL_SSL, HEARTH_KAFKA_SASL_MECHANISM, HEARTH_KAFKA_USERNAME, "
            f"HEARTH_KAFKA_PASSWORD and HEARTH_KAFKA_CA_FILE ({LOCAL_HINT})"
        )
    return (
        f"the broker at {where(config)} closed the connection as {config.kafka_security_protocol}: check "
        "HEARTH_KAFKA_SECURITY_PROTOCOL and HEARTH_KAFKA_SASL_MECHANISM against the broker's listener"
    )
