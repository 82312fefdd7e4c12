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

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator

from hearth.contracts.errors import ContractError

_READING_KEY = "hearth.contracts.reading"
READING: Mapping[str, Any] = MappingProxyType({_READING_KEY: True})
"""Validation context under which models ignore unknown keys (used by ``parse_event``)."""


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
        known = {field.alias or name for name, field in cls.model_fields.items()}
        return {key: item for key, item in value.items() if key in known}


class EventData(ContractModel):
    """Base class of every event payload (the CloudEvents ``data``).

    A subclass names its catalog identity in ``event_type`` (``org.hearth.<owner>.<event>.v<major>``); the
    owner, the topic and the schema URI are derived from it by the catalog. Its docstring is the event's
    description in the generated catalog, and ``example()`` returns a valid instance used in the AsyncAPI
    document and the tests.
    """

    event_type: ClassVar[str]

    @classmethod
    def example(cls) -> Self:
        """A valid, representative instance of this payload."""
        raise NotImplementedError(f"{cls.__name__} has no example")
