"""The Ed25519 keys of the audit checkpoints, as configuration carries them: base64 of their 32 raw bytes.

The private key (`HEARTH_AUDIT_SIGNING_KEY`) is held by the service process only, never by its database or its
migrations; the public key is all `hearth audit verify` needs. `hearth audit keygen` makes a pair.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def signing_key(text: str) -> Ed25519PrivateKey:
    """The private key from configuration: base64 (standard or url-safe) of the 32-byte Ed25519 seed."""
    try:
        raw = b64decode(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise ValueError("the audit signing key is not base64") from None
    if len(raw) != 32:
        raise ValueError("the audit signing key must be base64 of 32 bytes (an Ed25519 seed)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key(text: str) -> Ed25519PublicKey:
    """A public key as `hearth audit keygen` prints it: base64 of its 32 raw bytes."""
    try:
        raw = b64decode(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise ValueError("the audit public key is not base64") from None
    if len(raw) != 32:
        raise ValueError("an audit public key is base64 of 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def encode_public(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(key)).decode()


def encode_private(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()
