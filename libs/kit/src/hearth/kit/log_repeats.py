"""Repeated library log lines, thinned: a client library retrying a lost broker logs the same line on every
attempt (aiokafka: several per 100 ms per connection), thousands a minute that say nothing the first did not.

`RepeatFilter` lets the first line of each kind (logger, level, message template) through, drops the same kind
for `window` seconds, and adds `repeated=<n>` to the next one let through, so the count is never lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RepeatFilter(logging.Filter):
    def __init__(
        self, prefixes: tuple[str, ...], window: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._window = window
        self._clock = clock
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}  # kind -> (let through at, dropped since)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        shown, dropped = self._kinds.get(kind, (float("-inf"), 0))
        if now - shown < self._window:
            self._kinds[kind] = (shown, dropped + 1)
            return False
        if dropped:
            record.repeated = dropped
        self._kinds[kind] = (now, 0)
        if len(self._kinds) > 10_000:  # messages with values in their template: forget the oldest
            self._kinds.pop(next(iter(self._kinds)))
        return True
