"""The composition root: the follow-up service built from its settings."""

from __future__ import annotations

from hearth.kit.erasure import erasure_router
from hearth.kit.runner import run_service
from hearth.kit.service import ServiceDefinition
from hearth.kit.vault import Vault

from . import api, subscriptions
from .settings import FollowupSettings


def define(settings: FollowupSettings) -> ServiceDefinition:
    vault = Vault.from_settings(settings)  # integration and resolution notes sealed with each patient's key
    return ServiceDefinition(
        name="followup",
        package="hearth.followup",
        title="Follow-up service",
        description="Integration after each dosing session, mood tracking against the screening baseline, "
        "care-team follow-up items and the program's outcome figures.",
        events=subscriptions.events(settings) | subscriptions.erasure(vault),
        timers=subscriptions.timers(settings),
        routers=(*api.routers(settings, vault), erasure_router(vault)),
    )


def main() -> None:
    run_service(define, FollowupSettings)  # `hearth-followup serve` / `hearth-followup migrate`


if __name__ == "__main__":
    main()
