"""Base classes of the envelope and of every payload, and the strictness rule they share.

Strictness, decided once for all models:

* **Building is strict.** ``extra="forbid"``: a producer that passes a field the contract does not know gets a
  :class:`~hearth.contracts.ContractError`, so a typo never reaches Kafka.
* **Reading is tolerant of additions.** Within a major version a producer may add optional fields (and
  extension attributes). :func:`~hearth.contracts.parse_event` validates with the :data:`READING` context,
  under which each model drops the keys it does not know *before* validation; everything it does know is
  checked as strictly as when building. A consumer on an older minor version therefore keeps working, and
  never sees the new fields.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator

from hearth.contracts.errors import ContractError

_READING_KEY = "hearth.contracts.reading"
READING: Mapping[str, Any] = MappingProxyType({_READING_KEY: True})
"""Validation context under which models ignore unknown keys (used by ``parse_event``)."""


_READING_CODES: ContextVar[bool] = ContextVar("hearth.contracts.reading_codes", default=False)
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
"""What any code of an open code list looks like, known or not."""


@contextmanager
def reading_codes() -> Iterator[None]:
    """While reading events (``parse_event``): a code an open code list does not know yet is let through."""
    token = _READING_CODES.set(True)
    try:
        yield
    finally:
        _READING_CODES.reset(token)


class OpenCodes(StrEnum):
    """A code list that grows within a major version (a new reason, a new kind of adverse event).

    Its published schema accepts any code shaped like :data:`CODE_PATTERN` besides the known ones. Reading an
    event, a code this version does not know becomes a member named ``UNKNOWN`` whose value is the code as
    published (``code.known`` is False); building one, or ``Codes("x")`` anywhere else, is refused as usual.
    """

    @property
    def known(self) -> bool:
        return self._name_ != "UNKNOWN"

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not (_READING_CODES.get() and isinstance(value, str) and re.match(CODE_PATTERN, value)):
            return None
        unknown = str.__new__(cls, value)
        unknown._name_, unknown._value_ = "UNKNOWN", value
        return unknown


class ContractModel(BaseModel):
    """A frozen model that forbids unknown fields, except when read with the :data:`READING` context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, /, **data: Any) -> None:
        # Producers call constructors; they get the same documented error as consumers.
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise ContractError.from_validation(error) from error

    # Pydantic calls a custom __init__ for every nested and model_validate() validation, which would lose the
    # validation context and the error paths; this marker (the one BaseModel.__init__ carries) keeps the usual
    # path for those, so only direct construction goes through the wrapper above.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="before")
    @classmethod
    def _drop_unknown_when_reading(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context is None or not info.context.get(_READING_KEY) or not isinstance(value, dict):
            return value
        known = _known_fields(cls)
        if known.issuperset(value):  # the usual case: nothing to drop, no copy
            return value
        return {key: item for key, item in value.items() if key in known}


@functools.cache
def _known_fields(model: type[BaseModel]) -> frozenset[str]:
    """The keys a model reads (aliases where set): fixed once the class exists, and asked for every record."""
    return frozenset(field.alias or name for name, field in model.model_fields.items())


class EventData(ContractModel):
    """Base class of every event payload (the CloudEvents ``data``).

    A subclass names its catalog identity in ``event_type`` (``org.hearth.<owner>.<event>.v<major>``); the
    owner, the topic and the schema URI are derived from it by the catalog. Its docstring is the event's
    description in the generated catalog, and ``example()`` returns a valid instance used in the AsyncAPI
    document and the tests.
    """

    event_type: ClassVar[str]
    event_minor: ClassVar[int] = 0
    """Raised by one with every additive change of this event's schema; events carry it in ``dataschema``
    (``…/<topic>.json?minor=<n>``). The tests refuse a changed schema whose minor did not go up."""

    @classmethod
    def example(cls) -> Self:
        """A valid, representative instance of this payload."""
        raise NotImplementedError(f"{cls.__name__} has no example")
