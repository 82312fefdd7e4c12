"""The simulator's HTTP client: one per run, tokens minted per role and caller, retries that are safe because
every command carries an Idempotency-Key."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from hearth.kit.auth import AuthSettings, Role, mint_token

# httpcore asks for `sniffio` every time it makes a lock or an event (several per request); without the package
# each ask was a failing search of every sys.path entry, a sixth of the simulator's samples in the journey
# profile (bench/PROFILE.md).  A None entry makes that failure immediate; with sniffio installed nothing changes.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


class Refused(Exception):
    """A 4xx the simulator did not expect."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Gates:
    """Holds the simulator's requests to some services (a restore in progress: people come back later), and
    tells when none is in flight any more, so that a backup taken then holds every answer given."""

    def __init__(self) -> None:
        self._open: dict[str, asyncio.Event] = {}
        self._in_flight: dict[str, int] = {}

    def hold(self, service: str) -> None:
        self._open.setdefault(service, asyncio.Event()).clear()

    def release(self, service: str) -> None:
        self._open.setdefault(service, asyncio.Event()).set()

    async def drained(self, service: str) -> None:
        while self._in_flight.get(service, 0):  # noqa: ASYNC110  # a short poll of a counter
            await asyncio.sleep(0.05)

    async def enter(self, service: str) -> None:
        gate = self._open.get(service)
        if gate is not None:
            await gate.wait()
        self._in_flight[service] = self._in_flight.get(service, 0) + 1

    def leave(self, service: str) -> None:
        self._in_flight[service] -= 1


class Api:
    """`urls`: each service's address, or a function giving each service's addresses now (replicas: requests
    take turns, and a retry goes to the next one)."""

    def __init__(
        self,
        urls: Mapping[str, str] | Callable[[str], Sequence[str]],
        jwt_secret: str,
        *,
        timeout: float = 10.0,
        gates: Gates | None = None,
    ) -> None:
        self._urls = urls
        self._turn = 0
        self._gates = gates or Gates()
        self._auth = AuthSettings(jwt_secret=jwt_secret)
        self._tokens: dict[tuple[Role, str], str] = {}
        self._timeout = timeout
        # A connection pool per service: httpcore matches every waiting request against every connection of its
        # pool whenever one frees up, a fifth of the simulator's samples with one pool for all four services.
        self._clients: dict[str, httpx.AsyncClient] = {}

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _headers(self, role: Role, subject: str) -> dict[str, str]:
        token = self._tokens.get((role, subject))
        if token is None:
            token = self._tokens[(role, subject)] = mint_token(self._auth, subject, role, ttl_seconds=86_400)
        return {"Authorization": f"Bearer {token}"}

    async def post(
        self,
        service: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        role: Role,
        subject: str,
        accept: tuple[int, ...] = (200, 201),
    ) -> httpx.Response:
        """POST with an Idempotency-Key, retried on connection errors and 5xx (a service may be restarting)."""
        headers = self._headers(role, subject) | {"Idempotency-Key": str(uuid.uuid4())}
        return await self._send("POST", service, path, body, headers, accept)

    async def delete(
        self, service: str, path: str, *, role: Role, subject: str, accept: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        """DELETE with an Idempotency-Key (an erasure), retried like `post`."""
        headers = self._headers(role, subject) | {"Idempotency-Key": str(uuid.uuid4())}
        return await self._send("DELETE", service, path, None, headers, accept)

    async def get(
        self,
        service: str,
        path: str,
        *,
        role: Role,
        subject: str = "ops-1",
        params: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        return await self._send("GET", service, path, None, self._headers(role, subject), accept, params)

    async def _send(
        self,
        method: str,
        service: str,
        path: str,
        body: dict[str, Any] | None,
        headers: dict[str, str],
        accept: tuple[int, ...],
        params: dict[str, Any] | None = None,
        attempts: int = 60,
    ) -> httpx.Response:
        for attempt in range(attempts):
            await self._gates.enter(service)
            try:
                response = await self._client(service).request(
                    method, self._url(service) + path, json=body, headers=headers, params=params
                )
            except httpx.TransportError:
                await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
                continue
            finally:
                self._gates.leave(service)
            if response.status_code >= 500:
                await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
                continue
            if response.status_code not in accept:
                raise Refused(response.status_code, _json(response))
            return response
        raise RuntimeError(f"{method} {service}{path}: no answer after {attempts} attempts")

    def _client(self, service: str) -> httpx.AsyncClient:
        client = self._clients.get(service)
        if client is None:
            limits = httpx.Limits(max_connections=100)
            client = self._clients[service] = httpx.AsyncClient(timeout=self._timeout, limits=limits)
        return client

    def _url(self, service: str) -> str:
        if isinstance(self._urls, Mapping):
            return self._urls[service]
        urls = self._urls(service)
        self._turn += 1
        return urls[self._turn % len(urls)]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
