"""The generated passwords, kept in `<state>/credentials.json` (mode 0600), and their salted form for the broker."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from .common import KAFKA_LAYOUT, POSTGRES_LAYOUT, SERVICES, InfraError
from .files import read_json, write_private


class Credentials:
    """credentials.json: `kafka` (admin, per service, key stores) and the Postgres parts, each with its layout."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def postgres(self) -> dict[str, Any]:
        """Everything, once Postgres was provisioned: `postgres` (admin), `services` and `owners` passwords."""
        creds = read_json(self.path)
        if creds.get("postgres_layout") != POSTGRES_LAYOUT:
            raise InfraError(f"no PostgreSQL credentials in {self.path}: run `up` first")
        return creds

    def kafka(self) -> dict[str, Any]:
        """The broker's: `admin`, `services` (SCRAM passwords) and `store` (the key stores' password)."""
        kafka = read_json(self.path).get("kafka")
        if not isinstance(kafka, dict) or kafka.get("layout") != KAFKA_LAYOUT:
            raise InfraError(f"no Kafka credentials in {self.path}: run `up` first")
        return kafka

    def has_kafka(self) -> bool:
        kafka = read_json(self.path).get("kafka")
        return isinstance(kafka, dict) and kafka.get("layout") == KAFKA_LAYOUT

    def has_postgres(self) -> bool:
        return read_json(self.path).get("postgres_layout") == POSTGRES_LAYOUT

    def save(self, **parts: object) -> None:
        """Merge into credentials.json (mode 0600); a part set to None is removed."""
        creds = read_json(self.path)
        for key, value in parts.items():
            if value is None:
                creds.pop(key, None)
            else:
                creds[key] = value
        write_private(self.path, json.dumps(creds, indent=2) + "\n")

    def new_kafka(self) -> None:
        """New SCRAM passwords (admin and one per service) and a password for the broker's key stores."""
        kafka = {
            "layout": KAFKA_LAYOUT,
            "admin": secrets.token_urlsafe(24),
            "services": {service: secrets.token_urlsafe(24) for service in SERVICES},
            "store": secrets.token_urlsafe(24),
        }
        self.save(kafka=kafka)


def scram_credential(mechanism: str, name: str, password: str, iterations: int = 4096) -> str:
    """A `StorageTool format --add-scram` argument with the salted password, so no password is on a command line."""
    salt = secrets.token_bytes(16)
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
    encode = base64.b64encode
    return (
        f'{mechanism}=[name={name},iterations={iterations},salt="{encode(salt).decode()}",'
        f'saltedpassword="{encode(salted).decode()}"]'
    )
