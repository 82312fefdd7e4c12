"""The CloudEvents 1.0 envelope, structured JSON mode: one Kafka record value holds attributes and data."""

from __future__ import annotations

from typing import ClassVar, Generic, Literal, TypeVar

from pydantic import Field, ValidationInfo, field_validator

from hearth.contracts.base import ContractModel, EventData
from hearth.contracts.primitives import EventId, Identifier, PatientId, UtcDatetime

DataT = TypeVar("DataT", bound=EventData)

EVENT_TYPE_PATTERN = r"^[a-z0-9]+(\.[a-z0-9-]+)+\.v[1-9][0-9]*$"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


# Optional attributes are left out of the JSON when unset: CloudEvents has no null attribute values.
_OPTIONAL_ATTRIBUTES = ("causationid", "traceparent")


class Event(ContractModel, Generic[DataT]):
    """A CloudEvent whose ``data`` is the typed payload ``DataT``.

    Build one with :func:`~hearth.contracts.build_event`, read one with :func:`~hearth.contracts.parse_event`,
    put ``to_json()`` in the Kafka record value with the header ``content-type: Event.CONTENT_TYPE`` and the
    key ``partitionkey``.
    """

    CONTENT_TYPE: ClassVar[str] = "application/cloudevents+json"

    specversion: Literal["1.0"] = Field(description="CloudEvents specification version.")
    id: EventId = Field(description="Unique id of this event (UUID); consumers deduplicate on it.")
    source: str = Field(
        min_length=1,
        pattern=r"^\S+$",
        description="URI-reference of the producer, e.g. /hearth/screening.",
    )
    type: str = Field(
        pattern=EVENT_TYPE_PATTERN,
        description="Reverse-DNS event type with its major version, e.g. org.hearth.screening.screened.v1.",
    )
    time: UtcDatetime = Field(description="When the fact happened: RFC 3339, UTC.")
    subject: PatientId = Field(description="Pseudonymous id of the patient the event is about.")
    datacontenttype: Literal["application/json"] = Field(description="Media type of data.")
    dataschema: str = Field(
        pattern=r"^[a-z][a-z0-9+.-]*:\S+$",
        description="URI of the JSON Schema of this event type and major version.",
    )
    partitionkey: PatientId = Field(
        description="Kafka record key: the patient id, so one patient's events stay in order on a topic."
    )
    correlationid: Identifier = Field(description="Id of the care journey this event belongs to.")
    causationid: Identifier | None = Field(
        default=None,
        description="Id of the event or request that caused this event, when there was one.",
    )
    traceparent: str | None = Field(
        default=None,
        pattern=TRACEPARENT_PATTERN,
        description="W3C Trace Context traceparent of the operation that produced the event.",
    )
    data: DataT = Field(description="The event payload.")

    @field_validator("partitionkey")
    @classmethod
    def _key_is_subject(cls, value: str, info: ValidationInfo) -> str:
        subject = info.data.get("subject")
        if subject is not None and value != subject:
            raise ValueError("must equal subject: all of one patient's events share a partition")
        return value

    @field_validator("data")
    @classmethod
    def _data_matches_type(cls, value: DataT, info: ValidationInfo) -> DataT:
        declared = getattr(type(value), "event_type", None)
        if declared is not None and "type" in info.data and declared != info.data["type"]:
            raise ValueError(f"is a {declared} payload but the event type is {info.data['type']}")
        return value

    def to_json(self) -> bytes:
        """The whole structured CloudEvent as compact UTF-8 JSON (optional attributes left out when unset)."""
        unset = {name for name in _OPTIONAL_ATTRIBUTES if getattr(self, name) is None}
        return self.model_dump_json(exclude=unset).encode()
