"""The topic catalog: which event goes on which topic, who owns it and who consumes it.

A payload class names its event type; everything else here is derived from that string, so the wire names are
written once, explicitly, and never taken from class names.
"""

from __future__ import annotations

import builtins
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, cast

from hearth.contracts import events as ev
from hearth.contracts.base import EventData
from hearth.contracts.envelope import Event
from hearth.contracts.errors import ContractError
from hearth.contracts.events import audit, erasure

Service = Literal["screening", "fulfillment", "session", "followup"]
SERVICES: tuple[Service, ...] = ("screening", "fulfillment", "session", "followup")
SCHEMA_BASE_URI = "https://schemas.hearth.internal/events/"
"""Base of every ``dataschema``; topic ``t`` has its schema in the package's ``schemas/<t>.json``."""

_TYPE = re.compile(r"^org\.hearth\.(?P<owner>[a-z]+)\.(?P<name>[a-z][a-z-]*[a-z])\.v(?P<version>[1-9][0-9]*)$")

# Event → the services that subscribe to it. Systems outside this repository subscribe without being listed.
_CONSUMERS: dict[type[EventData], tuple[Service, ...]] = {
    ev.Screened: ("followup",),
    ev.Approved: ("fulfillment", "session"),
    ev.Declined: (),
    ev.ApprovalRevoked: ("fulfillment", "session"),
    ev.SafetyReviewOverdue: (),
    erasure.PatientErased: ("fulfillment", "session", "followup"),
    audit.ScreeningAuditCheckpoint: (),  # signed audit-trail heads, read by `hearth audit verify`
    ev.BoxShipped: ("session",),
    ev.BoxDelivered: ("session",),
    ev.OrderCancelled: (),
    ev.BoxReturned: (),
    ev.BoxLost: (),
    audit.FulfillmentAuditCheckpoint: (),
    ev.SessionStarted: ("fulfillment", "followup"),
    ev.CheckInMissed: ("followup",),
    ev.SessionCompleted: ("followup",),
    ev.AdverseEventReported: ("followup",),
    audit.SessionAuditCheckpoint: (),
    ev.IntegrationDue: (),
    ev.IntegrationOverdue: (),
    ev.IntegrationCompleted: (),
    ev.DoseReviewDue: (),
    audit.FollowupAuditCheckpoint: (),
}


@dataclass(frozen=True)
class EventSpec:
    """Catalog entry of one event type (one major version)."""

    type: str
    topic: str
    owner: Service
    version: int
    data_model: builtins.type[EventData]  # the field `type` shadows the builtin in this class body
    consumers: tuple[Service, ...]
    key: Literal["subject"]
    description: str

    @property
    def name(self) -> str:
        """Event name without owner and version, e.g. ``box-shipped``."""
        return self.topic.split(".")[1]

    @property
    def dataschema(self) -> str:
        """URI of the JSON Schema of this event type and major version: the schema's ``$id``."""
        return f"{SCHEMA_BASE_URI}{self.topic}.json"

    @property
    def minor(self) -> int:
        """The minor version of this event's schema (``event_minor`` of its payload class)."""
        return self.data_model.event_minor

    @property
    def event_dataschema(self) -> str:
        """What events carry in ``dataschema``: the schema's URI with the minor, ``…/<topic>.json?minor=<n>``."""
        return f"{self.dataschema}?minor={self.minor}"


def schema_minor(dataschema: str) -> int:
    """The minor version a ``dataschema`` names (0 when it names none, as before minors were published)."""
    _, found, minor = dataschema.rpartition("?minor=")
    return int(minor) if found and minor.isdigit() else 0


def _spec(model: type[EventData], consumers: tuple[Service, ...]) -> EventSpec:
    match = _TYPE.match(model.event_type)
    if match is None or match["owner"] not in SERVICES:
        raise ValueError(f"{model.__name__}.event_type {model.event_type!r} is not org.hearth.<owner>.<event>.v<n>")
    owner, name, version = cast(Service, match["owner"]), match["name"], int(match["version"])
    return EventSpec(
        type=model.event_type,
        topic=f"{owner}.{name}.v{version}",
        owner=owner,
        version=version,
        data_model=model,
        consumers=consumers,
        key="subject",
        description=" ".join(inspect.cleandoc(model.__doc__ or "").split()),
    )


# In the order of the care journey: by owner as in SERVICES, then as listed above.
CATALOG: Mapping[str, EventSpec] = MappingProxyType(
    {spec.type: spec for spec in (_spec(model, consumers) for model, consumers in _CONSUMERS.items())}
)
_BY_TOPIC = {spec.topic: spec for spec in CATALOG.values()}
_BY_MODEL = {spec.data_model: spec for spec in CATALOG.values()}


def spec_for(what: EventData | type[EventData] | Event[Any] | str) -> EventSpec:
    """The catalog entry of a payload, a payload class, an event, an event type or a topic name."""
    if isinstance(what, str):
        spec = CATALOG.get(what) or _BY_TOPIC.get(what)
    elif isinstance(what, Event):
        spec = CATALOG.get(what.type)
    else:
        model = what if isinstance(what, type) else type(what)
        spec = _BY_MODEL.get(model)
    if spec is None:
        raise ContractError("type", f"unknown event type {what!r}: not in the hearth.contracts catalog")
    return spec


def topic_for(what: EventData | type[EventData] | Event[Any] | str) -> str:
    """Kafka topic of a payload, payload class, event or event type: ``<owner>.<event>.v<major>``."""
    return spec_for(what).topic


def dlq_topic(service: str) -> str:
    """Dead-letter topic of a consuming service: ``<service>.dlq``."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    return f"{service}.dlq"
