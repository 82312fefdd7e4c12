"""Every event payload, grouped by the service that owns it."""

from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.events.decisions import PLAN_DOSES, ApprovalRevoked, Approved, Declined
from hearth.contracts.events.followup import (
    DoseReviewDue,
    IntegrationCompleted,
    IntegrationDue,
    IntegrationOverdue,
)
from hearth.contracts.events.fulfillment import BoxDelivered, BoxLost, BoxReturned, BoxShipped, OrderCancelled
from hearth.contracts.events.safety import SafetyReviewOverdue
from hearth.contracts.events.screening import Screened, gad7_band, phq9_band
from hearth.contracts.events.session import (
    AdverseEventKind,
    AdverseEventReported,
    CheckInMissed,
    SessionCompleted,
    SessionStarted,
)

__all__ = [
    "PLAN_DOSES",
    "AdverseEventKind",
    "AdverseEventReported",
    "ApprovalRevoked",
    "Approved",
    "BoxDelivered",
    "BoxLost",
    "BoxReturned",
    "BoxShipped",
    "CheckInMissed",
    "Declined",
    "DoseReviewDue",
    "IntegrationCompleted",
    "IntegrationDue",
    "IntegrationOverdue",
    "OrderCancelled",
    "ReasonCode",
    "SafetyReviewOverdue",
    "Screened",
    "SessionCompleted",
    "SessionStarted",
    "gad7_band",
    "phq9_band",
]
