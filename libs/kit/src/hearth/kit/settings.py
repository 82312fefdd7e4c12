"""Settings every service shares, from `HEARTH_*` environment variables; a service subclasses it for its own."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import audit_keys
from .crypto import decode_master_key


class KafkaSettings(BaseSettings):
    """How to reach Kafka: shared by the services and the operations CLI."""

    # A refused value is never repeated in an error: it may be (part of) a secret.
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore", frozen=True, hide_input_in_errors=True)

    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated")
    topic_prefix: str = Field(
        default="", description="Prefix of every topic name, to keep environments sharing a cluster apart"
    )
    kafka_security_protocol: str = Field(default="PLAINTEXT", description="PLAINTEXT, SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_mechanism: str = Field(default="SCRAM-SHA-512", description="SASL mechanism when SASL is on")
    kafka_username: str | None = Field(
        default=None, description="Kafka user (SCRAM): the service's name, or a registered subscriber's"
    )
    kafka_password: SecretStr | None = Field(default=None, description="Its password")
    kafka_ca_file: str | None = Field(default=None, description="CA bundle to verify the broker's certificate")
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        description="Replicas of each topic created (`hearth topics create`, test stacks); 3 on a cluster",
    )
    kafka_min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of each topic created (2 with 3 replicas: acks=all then means two copies);"
        " unset: the broker's default",
    )

    def kafka_client_options(self) -> dict[str, Any]:
        """aiokafka client options for the configured security (shared by consumer, relay and DLQ producer)."""
        options: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_username
            options["sasl_plain_password"] = self.kafka_password.get_secret_value() if self.kafka_password else None
        if self.kafka_security_protocol.endswith("SSL"):
            import ssl

            options["ssl_context"] = ssl.create_default_context(cafile=self.kafka_ca_file)
        return options


class KitSettings(KafkaSettings):
    database_url: SecretStr = Field(description="asyncpg DSN of this service's own database (runtime role)")
    migrations_database_url: SecretStr | None = Field(
        default=None, description="DSN of the schema-owner role used by `migrate`; defaults to database_url"
    )
    http_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a container listens on all its interfaces
        description="Address the HTTP API listens on",
    )
    http_port: int = Field(default=8080, description="Port the HTTP API listens on")
    log_level: str = Field(default="INFO", description="Log level")
    log_json: bool = Field(default=True, description="JSON log lines (false: console rendering for a terminal)")
    outbox_batch_size: int = Field(default=500, ge=1, description="Events the relay sends per round trip")
    outbox_sweep_seconds: float = Field(default=1.0, gt=0, description="Relay sweep interval (backstop to NOTIFY)")
    outbox_retention_hours: float = Field(default=168, gt=0, description="How long sent outbox rows are kept")
    timer_poll_seconds: float = Field(default=0.5, gt=0, description="How often due timers are looked for")
    timer_batch_size: int = Field(default=100, ge=1, description="Timers fired per transaction")
    consumer_batch_size: int = Field(
        default=100, ge=1, description="Records settled per transaction and offset commit (1: one at a time)"
    )
    consumer_max_attempts: int = Field(
        default=5, ge=1, description="Attempts of a failing handler before its record goes to the DLQ"
    )
    dlq_max_letter_bytes: int = Field(
        default=1_000_000,
        ge=16_384,
        description="Largest DLQ record (the value is cut to fit, with its size and SHA-256 in headers); keep it"
        " under the producer's max_request_size and the DLQ topic's max.message.bytes (1 MiB by default)",
    )
    inbox_retention_hours: float = Field(
        default=9840,
        gt=0,
        description="How long consumed event ids are kept against redelivery; must exceed the topics' retention"
        " (the longest is 400 days: hearth.contracts.retention)",
    )
    idempotency_retention_hours: float = Field(
        default=168, gt=0, description="How long an Idempotency-Key's first response is replayed"
    )
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 secret for bearer tokens (development)")
    jwt_public_key: str | None = Field(default=None, description="PEM public key for bearer tokens (production)")
    jwt_issuer: str = Field(default="hearth", description="Expected token issuer")
    jwt_audience: str = Field(default="hearth-api", description="Expected token audience")
    idempotency_secret: SecretStr | None = Field(
        default=None,
        description="This service's own HMAC key (32+ bytes) for Idempotency-Key request fingerprints; "
        "required to serve",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes: the key that wraps every patient's data key (envelope encryption "
        "of personal free text, crypto-shredding). Required to serve; keep it in a secret store: losing it makes "
        "every sealed value unreadable",
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 key signing this service's audit checkpoints (base64 of the 32-byte seed; "
        "`hearth audit keygen`); required to serve, never in the database",
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="How often the audit trail's head is checked and, when it moved, signed"
    )
    audit_checkpoint_heartbeat_seconds: float = Field(
        default=3600.0, gt=0, description="Longest time between two checkpoints even when the head did not move"
    )
    max_body_bytes: int = Field(default=65536, ge=1024, description="Larger request bodies get 413")
    shutdown_grace_seconds: float = Field(default=15.0, gt=0, description="Time to finish in-flight work on SIGTERM")

    @field_validator("master_key")
    @classmethod
    def _usable_master_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            decode_master_key(key.get_secret_value())
        return key

    def master_key_bytes(self) -> bytes:
        if self.master_key is None:
            raise ValueError("HEARTH_MASTER_KEY is not set")
        return decode_master_key(self.master_key.get_secret_value())

    def missing_for_serve(self) -> list[str]:
        """The settings `serve` needs that `migrate` does not (so a migration Job never holds them)."""
        missing = []
        if self.idempotency_secret is None or len(self.idempotency_secret.get_secret_value().encode()) < 32:
            missing.append("HEARTH_IDEMPOTENCY_SECRET (32 bytes or more)")
        if self.master_key is None:
            missing.append("HEARTH_MASTER_KEY (base64 of 32 random bytes)")
        try:
            audit_keys.signing_key(self.audit_signing_key.get_secret_value() if self.audit_signing_key else "")
        except ValueError:
            missing.append("HEARTH_AUDIT_SIGNING_KEY (base64 of a 32-byte Ed25519 seed)")
        return missing


def kafka_client_options() -> dict[str, Any]:
    """Security options of a Kafka client from the `HEARTH_KAFKA_*` environment (tools, tests, workers)."""
    return KafkaSettings().kafka_client_options()
