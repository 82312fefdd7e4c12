"""Envelope encryption with AES-256-GCM (the `cryptography` package): personal data is sealed with a data key
of its patient's own, and a data key is only ever stored wrapped by the master key from configuration
(`HEARTH_MASTER_KEY`, one per service). Every service that keeps free text uses it through `vault.py`.

Destroying a patient's wrapped key makes everything sealed with it unreadable wherever copies went (replicas,
backups): crypto-shredding. Every ciphertext is bound by its associated data to where it belongs (patient, key,
order, column), so one cannot be moved to another row or column and still open.

A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12
MASTER_KEY_BYTES = 32


def decode_master_key(value: str) -> bytes:
    """The raw master key from its base64 text; raises ValueError (never echoing the key) when unusable."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64 (standard alphabet, padded)") from None
    if len(raw) != MASTER_KEY_BYTES:
        raise ValueError(f"must decode to exactly {MASTER_KEY_BYTES} bytes (an AES-256 key)")
    return raw


class Unreadable(Exception):
    """A sealed value or a wrapped key does not open: wrong key, wrong context, or altered bytes."""


def _context(*parts: str) -> bytes:
    # The unit separator cannot occur in ids or column names, so distinct contexts give distinct bytes.
    return "\x1f".join(parts).encode()


def _seal(aead: AESGCM, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + aead.encrypt(nonce, plaintext, context)


def _open(aead: AESGCM, sealed: bytes, context: bytes) -> bytes:
    if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
        raise Unreadable("not a sealed value of a known version")
    try:
        return aead.decrypt(sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :], context)
    except InvalidTag:
        raise Unreadable("the value does not open with this key in this context") from None


class MasterKey:
    """Wraps and unwraps data keys; never encrypts personal data itself."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        # Names the key (stored beside each wrapped key) without revealing it, so a mismatch reads clearly. The
        # label dates from when fulfillment alone had a master key; it stays, so stored key ids stay valid.
        self.key_id = hashlib.sha256(b"hearth-fulfillment-master-key\x00" + key).hexdigest()[:16]

    def new_data_key(self, patient_id: str, key_id: uuid.UUID) -> tuple[DataKey, bytes]:
        """A fresh random data key and its wrapped form, bound to the patient and the key id."""
        raw = AESGCM.generate_key(bit_length=256)
        return DataKey(raw), _seal(self._aead, raw, _context("data-key", patient_id, str(key_id)))

    def unwrap(self, wrapped: bytes, patient_id: str, key_id: uuid.UUID) -> DataKey:
        return DataKey(_open(self._aead, wrapped, _context("data-key", patient_id, str(key_id))))


class DataKey:
    """One patient's key: seals and opens their personal values, each bound to its place."""

    def __init__(self, raw: bytes) -> None:
        self._aead = AESGCM(raw)

    def seal(self, value: str, *place: str) -> bytes:
        return _seal(self._aead, value.encode("utf-8"), _context("value", *place))

    def open(self, sealed: bytes, *place: str) -> str:
        return _open(self._aead, sealed, _context("value", *place)).decode("utf-8")

    def __repr__(self) -> str:  # never the key material, should one end up in a log line or a traceback
        return "DataKey(<secret>)"
