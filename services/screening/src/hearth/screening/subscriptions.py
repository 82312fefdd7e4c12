"""What the screening service reacts to besides HTTP: nothing.

It is the first stage of the journey — its inputs are intakes and clinicians' decisions, over HTTP — so it
subscribes to no topic and sets no timer. The tables stay here so the service reads like the others.
"""

from __future__ import annotations

from hearth.kit.inbox import EventHandler, event_routes
from hearth.kit.timer_poller import TimerRoute, timer_routes

from .settings import ScreeningSettings


def events(settings: ScreeningSettings) -> dict[str, EventHandler]:
    return event_routes()


def timers(settings: ScreeningSettings) -> dict[str, TimerRoute]:
    return timer_routes()
