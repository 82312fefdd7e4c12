"""What the service consumes, as a table: event type → handler (the catalog names fulfillment as consumer of
each). It owns no timers."""

from __future__ import annotations

from functools import partial

from hearth.contracts import ApprovalRevoked, Approved, SessionStarted
from hearth.contracts.events.erasure import PatientErased
from hearth.kit.erasure import on_patient_erased
from hearth.kit.event_handlers import EventHandler, event_routes
from hearth.kit.vault import Vault

from . import handlers
from .model import Policies


def events(policies: Policies, vault: Vault) -> dict[str, EventHandler]:
    return event_routes(
        (Approved, partial(handlers.on_approved, policies=policies)),
        (ApprovalRevoked, handlers.on_approval_revoked),
        (SessionStarted, partial(handlers.on_session_started, policies=policies)),
        (PatientErased, on_patient_erased(vault)),
    )
