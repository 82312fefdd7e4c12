"""What a service hands the kit: its name, its migrations, its subscription and timer tables, its HTTP routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter

from .event_handlers import EventHandler
from .timer_poller import TimerRoute


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    package: str | None = None  # where its `migrations/` folder lives, e.g. "hearth.screening"
    description: str = ""
    events: dict[str, EventHandler] = field(default_factory=dict)
    timers: dict[str, TimerRoute] = field(default_factory=dict)
    routers: tuple[APIRouter, ...] = ()
