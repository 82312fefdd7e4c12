"""Removing personal data from log lines: the scrubber every line passes through (see `logging.py`).

Scrubbing has three layers, because no single one is enough:
- by key: values under keys that name personal data or secrets are replaced whole, however deeply nested;
- by value: strings found under such keys on the same line, and strings registered with `redact_values`, are
  masked wherever else they appear (a name repeated in the message or in an exception text);
- by pattern: e-mail addresses, phone numbers, bare dates, street and IP addresses, tokens in free text.
A name in free text that is under no key and was never registered cannot be recognised by any pattern, so code
that holds a patient's personal data runs inside `with redact_values(...)`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from structlog.typing import EventDict, WrappedLogger

REDACTED = "[redacted]"

# Matched against whole snake_case segments of a key (camelCase and kebab-case are normalised first), so
# `recipient_name`, `shippingAddress` and `patient_emails` match while `capacity` or `renamed` do not.
_PERSONAL_TERMS = (
    "name", "firstname", "lastname", "fullname", "surname", "recipient", "address", "addr", "street", "city",
    "zip", "zipcode", "postal", "postcode", "line1", "line2", "phone", "phonenumber", "mobile", "telephone",
    "fax", "email", "e_mail", "birth", "birthdate", "birthday", "born", "dob", "ssn", "input",
    "password", "passwd", "secret", "token", "authorization", "cookie", "api_key", "apikey", "private_key",
    "credential", "jwt",
)  # fmt: skip
# Operational keys that contain a term but hold no personal data (their strings are still pattern-scrubbed).
_SAFE_KEYS = frozenset({
    "logger_name", "service_name", "topic_name", "event_name", "type_name", "func_name", "module_name",
    "table_name", "queue_name", "group_name", "consumer_name", "timer_name", "role_name", "token_id",
})  # fmt: skip
# Our own timestamps (RFC 3339 `time`, `due_at`, ...) must survive the bare-date pattern.
_TIMESTAMP_KEYS = frozenset({"timestamp", "time", "date", "ts"})
_TIMESTAMP_SUFFIXES = ("_at", "_time", "_date", "_until", "_since")
# Written by configure_logging itself, never from input: not worth scanning on every line.
_OWN_KEYS = frozenset({"timestamp", "level", "logger", "service"})
# Event ids, trace ids and traceparents are on every line and cannot hold personal data: skip the patterns.
_IDENTIFIER = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUID
    r"|[0-9a-f]{32}"  # trace id
    r"|00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"  # traceparent
)

_KEY_TERMS = "|".join(t.replace("_", "[_-]?") for t in _PERSONAL_TERMS)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_STREET = (
    r"(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|ct|court|way|pl|place|ter|terrace"
    r"|pkwy|parkway|hwy|highway|cir|circle|sq|square|trl|trail)"
)


def _each_of(*patterns: str) -> tuple[re.Pattern[str], ...]:
    # Separate patterns, not one alternation: each keeps the regex engine's literal-prefix search (faster).
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_TOKENS = _each_of(r"\bbearer\s+[\w.~+/=-]+", r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")  # a JWT even without "Bearer"
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_NUMBERED = _each_of(
    rf"\b\d{{1,6}}(?:\s+[\w.'-]+){{1,4}}?\s+{_STREET}\b\.?",
    r"\bp\.?\s*o\.?\s*box\s+\d+",
    r"\b(?:apt|apartment|suite|ste|unit)\.?\s*#?\s*\d[\w-]*",
    r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])",
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)",
    r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?!\w)",
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])",
    # City, ST 12345: case-sensitive, the state is two capitals
    r"(?-i:(?:\b[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2},\s*)?\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b)",
)
_DATES = _each_of(
    # a bare ISO date, not the date part of a timestamp
    r"(?<![\w:.-])(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\w:]|\s\d{1,2}:)",
    r"(?<![\w/])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:19|20)?\d{2}(?![\w/])",
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b",
    rf"\b\d{{1,2}}\s+{_MONTH},?\s+(?:19|20)\d{{2}}\b",
)
# key=value or "key": "value" in text (reprs, pydantic errors, JSON in exception messages); keeps the key.
# Runs after the patterns above, so a value with a delimiter in it (a phone in parentheses) is already masked.
_KEY_VALUE = re.compile(
    rf"(?P<key>\b[\w-]{{0,40}}?(?:{_KEY_TERMS})[\w-]{{0,40}})(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?:\[redacted\]|\"[^\"]*\"|'[^']*'|[^\s,;)}\]&][^,;)}\]&\n]*)",
    re.IGNORECASE,
)
_NAMES = _each_of(
    r"(?-i:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2})",
    r"\b(?:named|name\s+is)\s+(?-i:[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2})",
)

_registered: ContextVar[tuple[str, ...]] = ContextVar("hearth_redacted_values", default=())


def _segments(key: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("-", "_")
    return f"_{snake}_"


@lru_cache(maxsize=4096)
def is_personal_key(key: str) -> bool:
    """True when a key names personal data or a secret, so its whole value is masked."""
    if key in _SAFE_KEYS:
        return False
    segments = _segments(key)
    return any(f"_{t}_" in segments or f"_{t}s_" in segments for t in _PERSONAL_TERMS)


def _is_timestamp_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _TIMESTAMP_KEYS or lowered.endswith(_TIMESTAMP_SUFFIXES)


def _keep_key(match: re.Match[str]) -> str:
    return match.group("key") + match.group("sep") + REDACTED


def redact_text(text: str, known: tuple[str, ...] = (), *, dates: bool = True) -> str:
    """Masks known personal values and personal-data patterns in free text (also used in HTTP errors)."""
    known = known + _registered.get()
    if known:
        values = sorted({v for v in known if len(v.strip()) >= 2}, key=len, reverse=True)
        alternation = "|".join(re.escape(v) for v in values)
        text = re.sub(rf"(?<!\w)(?:{alternation})(?!\w)", REDACTED, text, flags=re.IGNORECASE)
    # Each group runs only when the text has what its patterns need: most log text has no digits, no "@".
    for pattern in _TOKENS:
        text = pattern.sub(REDACTED, text)
    if "@" in text:
        text = _EMAIL.sub(REDACTED, text)
    if _DIGIT.search(text):
        for pattern in (*_NUMBERED, *(_DATES if dates else ())):
            text = pattern.sub(REDACTED, text)
    if ":" in text or "=" in text:
        text = _KEY_VALUE.sub(_keep_key, text)
    for pattern in _NAMES:
        text = pattern.sub(REDACTED, text)
    return text


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Turns objects into JSON-like data before scrubbing, so no unscrubbed repr is rendered later."""
    if type(value) in _SCALARS or isinstance(value, Mapping | list | tuple | set | frozenset):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return value
    return str(value)


def _harvest(value: Any, personal: bool, found: list[str]) -> None:
    """Collects the strings held under personal keys, to mask them wherever else they appear on the line."""
    if not personal and type(value) in _SCALARS:
        return
    value = _plain(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _harvest(v, personal or is_personal_key(str(k)), found)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _harvest(v, personal, found)
    elif personal and isinstance(value, str):
        found.append(value)
    elif personal and isinstance(value, int) and not isinstance(value, bool) and value >= 10_000:
        found.append(str(value))  # a ZIP code or phone number given as a number; small counts are left alone


def _scrub(value: Any, key: str, known: tuple[str, ...]) -> Any:
    if key in _OWN_KEYS and isinstance(value, str):
        return value
    value = _plain(value)
    if value is None or isinstance(value, bool):
        return value
    if is_personal_key(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _scrub(v, str(k), known) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v, key, known) for v in value]
    if isinstance(value, str):
        if not known and _IDENTIFIER.fullmatch(value):
            return value
        return redact_text(value, known, dates=not _is_timestamp_key(key))
    return value


def scrub_personal_data(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: removes personal data and secrets from every value (see the module docstring)."""
    try:
        found: list[str] = []
        _harvest(dict(event_dict), False, found)
        return {key: _scrub(value, key, tuple(found)) for key, value in event_dict.items()}
    except Exception:
        # Fail closed: a line that cannot be scrubbed is replaced rather than written as it is.
        return {"event": "log line withheld: scrubbing failed", "level": event_dict.get("level", "error")}


@contextlib.contextmanager
def redact_values(*values: str | None) -> Iterator[None]:
    """Masks these values (a patient's name, street, ...) in every log line written inside the block."""
    added = tuple(v for v in values if v)
    token = _registered.set(_registered.get() + added)
    try:
        yield
    finally:
        _registered.reset(token)
