"""The composition root: the service built from its settings (`hearth-fulfillment serve|migrate`)."""

from __future__ import annotations

from datetime import timedelta

from hearth.kit.erasure import erasure_router
from hearth.kit.runner import run_service
from hearth.kit.service import ServiceDefinition
from hearth.kit.vault import Vault
from hearth.rules import RuleSource

from . import api, api_personal, subscriptions
from .model import Policies
from .settings import FulfillmentSettings


def define(settings: FulfillmentSettings) -> ServiceDefinition:
    policies = Policies(
        RuleSource(settings.rules_file),  # refuses to start on a bad file; re-read when it changes
        box_size=settings.box_size,
        next_box_threshold=settings.next_box_threshold,
        clock_skew=timedelta(seconds=settings.carrier_clock_skew_seconds),
    )
    vault = Vault.from_settings(settings)
    return ServiceDefinition(
        name="fulfillment",
        package="hearth.fulfillment",
        title="Fulfillment service",
        description="Pharmacy orders from approvals, the treatment boxes and their shipping (Schedule III).",
        events=subscriptions.events(policies, vault),
        routers=(api.router(policies), api_personal.router(vault), erasure_router(vault)),
    )


def main() -> None:
    run_service(define, FulfillmentSettings)


if __name__ == "__main__":
    main()
