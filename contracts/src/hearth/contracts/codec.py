"""Building events as a producer and reading them as a consumer."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

from pydantic import ValidationError

from hearth.contracts.base import READING, EventData, reading_codes
from hearth.contracts.catalog import CATALOG, spec_for
from hearth.contracts.envelope import DataT, Event
from hearth.contracts.errors import ContractError


def event_class(model: type[DataT]) -> type[Event[DataT]]:
    """``Event[model]``, the envelope class whose data is ``model``."""
    return cast("type[Event[DataT]]", _event_class(model))


@functools.cache
def _event_class(model: type[EventData]) -> type[Event[Any]]:
    # Pydantic caches parametrised classes too, but finding one there costs more than reading the event's type.
    return Event[model]  # type: ignore[valid-type]


def build_event(
    data: DataT,
    *,
    subject: str,
    source: str | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    traceparent: str | None = None,
    id: str | None = None,
    time: datetime | None = None,
) -> Event[DataT]:
    """Wrap a payload in its envelope: a new UUID id, the current UTC time, the type, source
    (``/hearth/<owner>``) and dataschema from the catalog, and the patient id as subject and partition key.

    Pass ``correlationid`` to continue a care journey (a new one is started otherwise) and ``causationid``
    with the id of the event or request being handled. Raises :class:`ContractError` if anything is invalid.
    """
    spec = spec_for(data)
    # A payload made with model_copy(update=...) skipped validation: check it again before it can leave.
    data = type(data)(**data.model_dump())
    return event_class(type(data))(
        specversion="1.0",
        id=id or str(uuid4()),
        source=source or f"/hearth/{spec.owner}",
        type=spec.type,
        time=time or datetime.now(UTC),
        subject=subject,
        datacontenttype="application/json",
        dataschema=spec.event_dataschema,
        partitionkey=subject,
        correlationid=correlationid or str(uuid4()),
        causationid=causationid,
        traceparent=traceparent,
        data=data,
    )


def parse_event(raw: bytes | bytearray | str | Mapping[str, Any]) -> Event[Any]:
    """Read a structured-mode CloudEvent (a Kafka record value, or its decoded JSON object).

    ``type`` selects the payload model, so ``event.data`` is e.g. a :class:`Screened`. Fields the model does
    not know (added by a newer minor version of the same major) are ignored; every known field is validated. A
    code an open code list does not know yet (``ReasonCode``, ``AdverseEventKind``) is read as an ``UNKNOWN``
    member holding the code (``code.known`` is False). Raises :class:`ContractError` naming the offending field.
    """
    document = _decode(raw)
    event_type = document.get("type")
    if event_type is None:
        raise ContractError("type", "missing: a CloudEvent names its type")
    if not isinstance(event_type, str):
        raise ContractError("type", "must be a string")
    spec = CATALOG.get(event_type)
    if spec is None:
        raise ContractError("type", f"unknown event type {event_type!r} (a newer major version needs a newer package)")
    try:
        with reading_codes():
            return event_class(spec.data_model).model_validate(document, context=READING)
    except ValidationError as error:
        raise ContractError.from_validation(error) from error


def _decode(raw: bytes | bytearray | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        document = json.loads(raw)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
        raise ContractError(None, f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ContractError(None, f"a structured CloudEvent is a JSON object, not {type(document).__name__}")
    return cast("dict[str, Any]", document)
