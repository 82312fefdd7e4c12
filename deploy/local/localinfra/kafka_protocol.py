"""Just enough of Kafka's wire protocol for the readiness probe: request framing and a SASL login (SCRAM, PLAIN)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import struct


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return bytes(buf)


def kafka_string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


class KafkaConnection:
    """Request/response framing (request header v1) over a socket that may be wrapped in TLS."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.correlation = sock, 0

    def call(self, api_key: int, version: int, body: bytes) -> bytes:
        self.correlation += 1
        request = struct.pack(">hhi", api_key, version, self.correlation) + kafka_string("hearth-infra") + body
        self.sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(self.sock, 4))
        data = _recv_exact(self.sock, size)
        if struct.unpack_from(">i", data)[0] != self.correlation:
            raise ConnectionError("the broker answered another request")
        return data[4:]


def sasl_authenticate(conn: KafkaConnection, mechanism: str, username: str, password: str) -> None:
    """SaslHandshake v1 + SaslAuthenticate v0 with SCRAM-SHA-256/512 (RFC 5802) or PLAIN; raises on refusal."""
    data = conn.call(17, 1, kafka_string(mechanism))
    if (error := struct.unpack_from(">h", data)[0]) != 0:
        raise PermissionError(f"the broker refused SASL mechanism {mechanism} (error {error})")

    def authenticate(message: bytes) -> bytes:
        data = conn.call(36, 0, struct.pack(">i", len(message)) + message)
        error, text_len = struct.unpack_from(">hh", data)
        text = data[4 : 4 + max(text_len, 0)].decode(errors="replace")
        if error != 0:
            raise PermissionError(f"SASL authentication failed (error {error}): {text}")
        offset = 4 + max(text_len, 0)
        (length,) = struct.unpack_from(">i", data, offset)
        return data[offset + 4 : offset + 4 + max(length, 0)]

    if mechanism == "PLAIN":
        authenticate(f"\0{username}\0{password}".encode())
        return
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    name = username.replace("=", "=3D").replace(",", "=2C")
    client_nonce = secrets.token_urlsafe(24)
    first_bare = f"n={name},r={client_nonce}"
    server_first = authenticate(f"n,,{first_bare}".encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    if not fields["r"].startswith(client_nonce):
        raise PermissionError("the broker answered SCRAM with a foreign nonce")
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    final_bare = f"c={base64.b64encode(b'n,,').decode()},r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(hashlib.new(digest, client_key).digest(), auth_message, digest).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    server_final = authenticate(f"{final_bare},p={proof}".encode()).decode()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    if not hmac.compare_digest(server_final, f"v={expected}"):
        raise PermissionError("the broker's SCRAM signature does not match: not the broker we formatted")
