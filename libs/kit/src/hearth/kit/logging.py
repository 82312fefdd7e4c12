"""Structured JSON logs: one line per event, with personal data removed from every line.

structlog and the standard library (uvicorn, aiokafka, faststream) go through one formatter, so both get
the same fields and the same scrubbing. `scrub_personal_data` is the last step before rendering and runs after
exceptions have been turned into text, so a traceback cannot carry personal data past it.
The scrubber itself, and `redact_values` for code that holds a patient's personal data, are in
`personal_data.py` (re-exported here).

Uvicorn must be started with `log_config=None` (its own config installs unscrubbed handlers), and the
FastStream broker with `logger=logging.getLogger("faststream.access.kafka")` (else it adds its own handler).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from .log_repeats import RepeatFilter
from .personal_data import (
    REDACTED,
    is_personal_key,
    redact_text,
    redact_values,
    scrub_personal_data,
)

__all__ = [
    "REDACTED",
    "bind_context",
    "configure_logging",
    "get_logger",
    "is_personal_key",
    "redact_text",
    "redact_values",
    "scrub_personal_data",
]


@contextlib.contextmanager
def bind_context(**kv: Any) -> Iterator[None]:
    """Binds `event_id`, `correlation_id`, ... to every line logged inside the block, then restores them."""
    tokens = structlog.contextvars.bind_contextvars(**kv)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name) if name is not None else structlog.stdlib.get_logger()


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is when the line is emitted, so a swapped stdout (a test runner's
    capture, a redirect set up after startup) gets the lines rather than a stale stream."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _drop_formatted_copies(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    # ExtraAdder also copies what another formatter may have cached on the record (`message`, `asctime`).
    event_dict.pop("message", None)
    event_dict.pop("asctime", None)
    return event_dict


_HANDLER_NAME = "hearth-json"
# Libraries that install their own handlers; they are made to propagate to the root handler instead.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "aiokafka", "faststream")


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Sends every log line, structlog's and the standard library's, to stdout through the scrubber."""

    def add_service(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        event_dict["service"] = service
        return event_dict

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    renderer: Processor = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_formatted_copies],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            add_service,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            scrub_personal_data,
            renderer,
        ],
    )
    handler = _StdoutHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    # A lost broker makes aiokafka log each retry (thousands of lines a minute): one line per kind per 30 s.
    handler.addFilter(RepeatFilter(("aiokafka",), window=30.0))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.propagate = True

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
