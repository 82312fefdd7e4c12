"""The simulator's HTTP client: one per run, tokens minted per role and caller, retries that are safe because
every command carries an Idempotency-Key.

It runs on aiohttp (a C HTTP parser, one write per request): with httpx the simulator was the largest CPU user of
the whole journey bench, on the same two cores as the services it measures (bench/PROFILE.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from hearth.kit.auth import AuthSettings, Role, mint_token


@dataclass(frozen=True)
class Answer:
    """A service's answer, read in full."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


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
        self._clients: dict[str, aiohttp.ClientSession] = {}  # a connection pool per service

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()

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
    ) -> Answer:
        """POST with an Idempotency-Key, retried on connection errors and 5xx (a service may be restarting)."""
        headers = self._headers(role, subject) | {"Idempotency-Key": str(uuid.uuid4())}
        return await self._send("POST", service, path, body, headers, accept)

    async def delete(
        self, service: str, path: str, *, role: Role, subject: str, accept: tuple[int, ...] = (200,)
    ) -> Answer:
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
    ) -> Answer:
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
    ) -> Answer:
        data = None if body is None else orjson.dumps(body)
        if data is not None:
            headers = headers | {"Content-Type": "application/json"}
        for attempt in range(attempts):
            await self._gates.enter(service)
            try:
                async with self._client(service).request(
                    method, self._url(service) + path, data=data, headers=headers, params=params
                ) as answer:
                    response = Answer(answer.status, await answer.read())
            except (aiohttp.ClientError, TimeoutError):  # refused, reset, timed out: the service may be restarting
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

    def _client(self, service: str) -> aiohttp.ClientSession:
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                skip_auto_headers=("User-Agent",),
            )
        return client

    def _url(self, service: str) -> str:
        if isinstance(self._urls, Mapping):
            return self._urls[service]
        urls = self._urls(service)
        self._turn += 1
        return urls[self._turn % len(urls)]


def _json(response: Answer) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
