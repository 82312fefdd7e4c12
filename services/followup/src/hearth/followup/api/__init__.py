"""The HTTP API: integration, mood, follow-up items, outcomes."""

from __future__ import annotations

from fastapi import APIRouter

from ..settings import FollowupSettings
from . import integration, items, mood, outcomes


def routers(settings: FollowupSettings) -> tuple[APIRouter, ...]:
    return (integration.router(), mood.router(), items.router(), outcomes.router(settings))
