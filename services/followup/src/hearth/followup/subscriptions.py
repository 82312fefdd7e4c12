"""Which handler runs for which event type and which timer: the service's routing tables."""

from __future__ import annotations

from functools import partial

from hearth.contracts import AdverseEventReported, CheckInMissed, Screened, SessionCompleted, SessionStarted
from hearth.contracts.events.erasure import PatientErased
from hearth.kit.erasure import on_patient_erased
from hearth.kit.event_handlers import EventHandler, event_routes
from hearth.kit.timer_poller import TimerRoute, timer_routes
from hearth.kit.vault import Vault

from . import handlers
from .settings import FollowupSettings
from .timers import DoseReviewDeadline, IntegrationWindowCloses, IntegrationWindowOpens


def events(settings: FollowupSettings) -> dict[str, EventHandler]:
    return event_routes(
        (Screened, handlers.on_screened),
        (SessionStarted, partial(handlers.on_session_started, review_after=settings.dose_review_after())),
        (SessionCompleted, partial(handlers.on_session_completed, policy=settings.window_policy())),
        (CheckInMissed, handlers.on_check_in_missed),
        (AdverseEventReported, handlers.on_adverse_event_reported),
    )


def erasure(vault: Vault) -> dict[str, EventHandler]:
    """A privacy officer's erasure, announced by screening: this service destroys the patient's keys too."""
    return event_routes((PatientErased, on_patient_erased(vault)))


def timers(settings: FollowupSettings) -> dict[str, TimerRoute]:
    return timer_routes(
        (IntegrationWindowOpens, handlers.on_integration_window_opens),
        (IntegrationWindowCloses, handlers.on_integration_window_closes),
        (DoseReviewDeadline, handlers.on_dose_review_due),
    )
