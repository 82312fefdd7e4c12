"""The HTTP API: integration, mood, follow-up items, outcomes."""

from __future__ import annotations

from fastapi import APIRouter

from hearth.kit.vault import Vault

from ..settings import FollowupSettings
from . import integration, items, mood, outcomes


def routers(settings: FollowupSettings, vault: Vault) -> tuple[APIRouter, ...]:
    return (integration.router(vault), mood.router(), items.router(vault), outcomes.router(settings))
