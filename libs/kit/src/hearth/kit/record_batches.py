"""Record batches that cannot be read must not stall their partition.

aiokafka decodes every record header key as UTF-8 while it unpacks a fetched batch.  A record whose header key
is not UTF-8 (the broker accepts it; any client that writes raw bytes can send it) makes that decode raise
inside `getmany`, on every call, before any record of the partition reaches the caller: the partition is stuck
for good, and the records behind it are never applied.

`install()` puts a thin wrapper around aiokafka's fetch parser: a batch whose records cannot be unpacked is
handed on as one placeholder record per offset of the batch, each carrying the `UNREADABLE` header with the
cause, which the inbox dead-letters (`contract`).  A batch is written by one producer in one request, so no
other producer's records are ever in it: nothing legitimate is lost with it.  Readable batches go through the
fast parser untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiokafka.consumer.fetcher as _fetcher

UNREADABLE = "hearth-unreadable-batch"

_original = _fetcher.MemoryRecords


@dataclass(frozen=True)
class _Placeholder:
    offset: int
    error: str
    timestamp: int = -1
    timestamp_type: int = 0
    key: bytes | None = None
    value: bytes | None = None
    checksum: int | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class _Batch:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __iter__(self) -> Iterator[Any]:
        try:
            records = list(self._inner)
        except (UnicodeDecodeError, ValueError) as exc:  # ValueError: a length or varint that makes no sense
            cause = f"unreadable record batch (offsets {self._inner.base_offset}..{self._inner.next_offset - 1}): "
            error = (cause + f"{type(exc).__name__}: {exc}")[:500]
            records = [
                _Placeholder(offset, error, headers=[(UNREADABLE, error.encode())])
                for offset in range(self._inner.base_offset, self._inner.next_offset)
            ]
        return iter(records)


class _Records:
    def __init__(self, data: bytes) -> None:
        self._inner = _original(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def has_next(self) -> bool:
        return bool(self._inner.has_next())

    def next_batch(self) -> Any:
        batch = self._inner.next_batch()
        return None if batch is None else _Batch(batch)


def install() -> None:
    """Idempotent; called by the kit's consumer when it is imported."""
    _fetcher.MemoryRecords = _Records
