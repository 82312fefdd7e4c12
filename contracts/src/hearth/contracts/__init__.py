"""Event contracts of the at-home treatment workflow.

Producers write ``build_event(Screened(...), subject=patient_id)``; consumers write
``parse_event(record.value)`` and get ``event.data`` as the typed payload chosen by the event ``type``.
``CATALOG`` maps each event type to its topic, owner and consumers. See README.md for the versioning rules and
where the schemas live.
"""

from hearth.contracts.base import EventData
from hearth.contracts.catalog import (
    CATALOG,
    SERVICES,
    EventSpec,
    Service,
    dlq_topic,
    schema_minor,
    spec_for,
    topic_for,
)
from hearth.contracts.codec import build_event, parse_event
from hearth.contracts.envelope import Event
from hearth.contracts.errors import ContractError
from hearth.contracts.events import (
    AdverseEventKind,
    AdverseEventReported,
    ApprovalRevoked,
    Approved,
    BoxDelivered,
    BoxLost,
    BoxReturned,
    BoxShipped,
    CheckInMissed,
    Declined,
    DoseReviewDue,
    IntegrationCompleted,
    IntegrationDue,
    IntegrationOverdue,
    OrderCancelled,
    ReasonCode,
    SafetyReviewOverdue,
    Screened,
    SessionCompleted,
    SessionStarted,
)

__all__ = [
    "CATALOG",
    "SERVICES",
    "AdverseEventKind",
    "AdverseEventReported",
    "ApprovalRevoked",
    "Approved",
    "BoxDelivered",
    "BoxLost",
    "BoxReturned",
    "BoxShipped",
    "CheckInMissed",
    "ContractError",
    "Declined",
    "DoseReviewDue",
    "Event",
    "EventData",
    "EventSpec",
    "IntegrationCompleted",
    "IntegrationDue",
    "IntegrationOverdue",
    "OrderCancelled",
    "ReasonCode",
    "SafetyReviewOverdue",
    "Screened",
    "Service",
    "SessionCompleted",
    "SessionStarted",
    "build_event",
    "dlq_topic",
    "parse_event",
    "schema_minor",
    "spec_for",
    "topic_for",
]
