"""What tests leave on a shared broker, removed when the test session ends.

A test that makes a service's catalog of topics under its own prefix (and, for the security tests, the
catalog's ACLs) and does not delete them leaves them on the broker for good.  On a developer's broker that
serves many sessions they pile up: thousands of partitions and ACL bindings, which every metadata update,
checkpoint and authorisation then pays for, and which slow every later test and benchmark on it.  Code that
makes such a catalog calls `remember`; the session's `infra` fixture calls `remove_all` at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Mapping

from ..acls import catalog_acls, remove_acls
from ..topics import catalog_topics
from .kafka import delete_topics, kafka_client_options

_made: dict[str, tuple[str, Mapping[str, str] | None, bool]] = {}  # prefix -> (bootstrap, security, ACLs too)
_lock = threading.Lock()


def remember(bootstrap: str, prefix: str, *, security: Mapping[str, str] | None = None, acls: bool = False) -> None:
    """The catalog's topics under `prefix` (and its ACLs when `acls`) are to go at the session's end."""
    with _lock:
        known = _made.get(prefix)
        _made[prefix] = (bootstrap, dict(security) if security else None, acls or bool(known and known[2]))


def forget(prefix: str) -> None:
    """Already removed (a test that tears down its own catalog)."""
    with _lock:
        _made.pop(prefix, None)


def remembered() -> dict[str, bool]:
    with _lock:
        return {prefix: acls for prefix, (_, _, acls) in _made.items()}


async def remove_all() -> tuple[int, int]:
    """Delete every remembered catalog (topics, then ACLs); best effort.  Returns (prefixes, ACL bindings)."""
    return await remove(remembered())


async def remove(prefixes: Iterable[str]) -> tuple[int, int]:
    """Delete these remembered catalogs now, best effort; those of a broker that no longer answers are
    forgotten.  Returns (prefixes removed, ACL bindings removed)."""
    with _lock:
        made = {p: _made.pop(p) for p in list(prefixes) if p in _made}
    removed = bindings = 0
    answering: dict[str, bool] = {}
    for prefix, (bootstrap, security, acls) in made.items():
        if bootstrap not in answering:  # a private broker a module started may be gone: skip it, do not wait on it
            answering[bootstrap] = await _answers(bootstrap)
        if not answering[bootstrap]:
            continue
        removed += 1
        await delete_topics(bootstrap, catalog_topics(prefix), security=security)
        if acls:
            with contextlib.suppress(Exception):
                bindings += await remove_acls(bootstrap, catalog_acls(prefix), kafka_client_options(security))
    return removed, bindings


async def _answers(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), 2.0)
    except (OSError, ValueError, TimeoutError):
        return False
    writer.close()
    return True


def remove_all_now() -> tuple[int, int]:
    """`remove_all` from synchronous code, even when an event loop is running in this thread."""
    result: list[tuple[int, int]] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(remove_all())), daemon=True)
    worker.start()
    worker.join(300)
    return result[0] if result else (0, 0)
