"""What the service listens to: topic → event type → handler, and timer kind → handler, as tables."""

from __future__ import annotations

from functools import partial

from hearth.contracts import ApprovalRevoked, Approved, BoxDelivered, BoxShipped
from hearth.contracts.events.erasure import PatientErased
from hearth.kit.erasure import on_patient_erased
from hearth.kit.event_handlers import EventHandler, event_routes
from hearth.kit.timer_poller import TimerRoute, timer_routes
from hearth.kit.vault import Vault

from . import handlers
from .domain import Rules


def events() -> dict[str, EventHandler]:
    return event_routes(
        (Approved, handlers.on_approved),
        (ApprovalRevoked, handlers.on_approval_revoked),
        (BoxShipped, handlers.on_box_shipped),
        (BoxDelivered, handlers.on_box_delivered),
    )


def erasure(keys: Vault) -> dict[str, EventHandler]:
    """A privacy officer's erasure, announced by screening: this service destroys the patient's keys too."""
    return event_routes((PatientErased, on_patient_erased(keys)))


def timers(rules: Rules) -> dict[str, TimerRoute]:
    return timer_routes(
        (handlers.CheckInDue, partial(handlers.on_check_in_due, rules=rules)),
        (handlers.SessionCloseDue, partial(handlers.on_session_close_due, rules=rules)),
    )
