"""SCRAM users on a running broker, through the admin protocol (KIP-554): no Kafka shell tools needed.

aiokafka has no public API for `AlterUserScramCredentials` (key 51) or `DescribeUserScramCredentials` (key 50),
so the two requests are declared here with aiokafka's protocol types. The password never leaves this process:
the broker gets a random salt and the PBKDF2 salted password (RFC 5802), as `kafka-configs --add-config` sends.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, Schema, TaggedFields

MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
ITERATIONS = 8192  # Kafka's minimum is 4096
_RESOURCE_NOT_FOUND = 91  # DescribeUserScramCredentials: no credential for the user


class ScramError(RuntimeError):
    pass


_STR = CompactString("utf-8")


class _AlterResponse(Response):  # type: ignore[misc]
    API_KEY, API_VERSION = 51, 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(("user", _STR), ("error_code", Int16), ("error_message", _STR), ("tags", TaggedFields)),
        ),
        ("tags", TaggedFields),
    )


class _AlterRequest(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION, API_KEY, API_VERSION, RESPONSE_TYPE = True, 51, 0, _AlterResponse
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", _STR), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", _STR),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _Alter(Request[_AlterRequest]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, deletions: list[tuple[Any, ...]], upsertions: list[tuple[Any, ...]]) -> None:
        self.deletions, self.upsertions = deletions, upsertions

    def build(self, request_struct_class: type[_AlterRequest]) -> _AlterRequest:
        return request_struct_class(self.deletions, self.upsertions, {})


class _DescribeResponse(Response):  # type: ignore[misc]
    API_KEY, API_VERSION = 50, 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", _STR),
        (
            "results",
            CompactArray(
                ("user", _STR),
                ("error_code", Int16),
                ("error_message", _STR),
                ("credentials", CompactArray(("mechanism", Int8), ("iterations", Int32), ("tags", TaggedFields))),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _DescribeRequest(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION, API_KEY, API_VERSION, RESPONSE_TYPE = True, 50, 0, _DescribeResponse
    SCHEMA = Schema(("users", CompactArray(("name", _STR), ("tags", TaggedFields))), ("tags", TaggedFields))


class _Describe(Request[_DescribeRequest]):  # type: ignore[misc]
    API_KEY = 50

    def __init__(self, names: list[str] | None) -> None:
        self.names = names

    def build(self, request_struct_class: type[_DescribeRequest]) -> _DescribeRequest:
        users: list[tuple[str, dict[int, bytes]]] | None = None
        if self.names is not None:
            users = [(name, {}) for name in self.names]
        return request_struct_class(users, {})


def new_password() -> str:
    """A random password (32 URL-safe characters: letters, digits, - and _)."""
    return secrets.token_urlsafe(24)


async def set_password(admin: AIOKafkaAdminClient, user: str, password: str, mechanism: str = "SCRAM-SHA-512") -> None:
    """Create the user's SCRAM credential, or replace its password (idempotent for a given password)."""
    code, digest = MECHANISMS[mechanism]
    salt = secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, ITERATIONS)
    await _alter(admin, [], [(user, code, ITERATIONS, salt, salted, {})])


async def delete_user(admin: AIOKafkaAdminClient, user: str, mechanism: str = "SCRAM-SHA-512") -> bool:
    """Remove the user's credential; False when it had none."""
    if mechanism not in (await scram_users(admin, [user])).get(user, ()):
        return False
    await _alter(admin, [(user, MECHANISMS[mechanism][0], {})], [])
    return True


async def scram_users(admin: AIOKafkaAdminClient, names: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """User → the SCRAM mechanisms it has a credential for (every user when ``names`` is None)."""
    response = await admin._send_request(_Describe(names))  # no public API
    if response.error_code:
        raise ScramError(f"describing SCRAM users failed: error {response.error_code} {response.error_message}")
    by_code = {code: name for name, (code, _) in MECHANISMS.items()}
    found: dict[str, tuple[str, ...]] = {}
    for user, error_code, message, credentials, _ in response.results:
        if error_code == _RESOURCE_NOT_FOUND:
            continue
        if error_code:
            raise ScramError(f"describing SCRAM user {user} failed: error {error_code} {message}")
        found[user] = tuple(by_code.get(mechanism, str(mechanism)) for mechanism, _, _ in credentials)
    return found


async def _alter(admin: AIOKafkaAdminClient, deletions: list[tuple[Any, ...]], upserts: list[tuple[Any, ...]]) -> None:
    response = await admin._send_request(_Alter(deletions, upserts))  # no public API
    for user, error_code, message, _ in response.results:
        if error_code:
            raise ScramError(f"changing the SCRAM credential of {user} failed: error {error_code} {message}")
