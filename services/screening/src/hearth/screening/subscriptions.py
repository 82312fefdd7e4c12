"""What the screening service reacts to besides HTTP: the acknowledgement deadlines of safety items.

It is the first stage of the journey — its inputs are intakes and clinicians' decisions, over HTTP — so it
subscribes to no topic. Its one timer is a safety item's deadline (then each escalation interval).
"""

from __future__ import annotations

from functools import partial

from hearth.kit.event_handlers import EventHandler, event_routes
from hearth.kit.timer_poller import TimerRoute, timer_routes

from . import handlers
from .settings import ScreeningSettings


def events(settings: ScreeningSettings) -> dict[str, EventHandler]:
    return event_routes()


def timers(settings: ScreeningSettings) -> dict[str, TimerRoute]:
    policy = settings.safety_policy()
    return timer_routes(
        (handlers.SafetyAcknowledgementDue, partial(handlers.on_safety_acknowledgement_due, policy=policy))
    )
