"""The composition root: the session service built from its settings.

`hearth-session migrate` applies the migrations; `hearth-session serve` runs the HTTP API, the Kafka
subscriber, the outbox relay and the timer poller in one process.
"""

from __future__ import annotations

from hearth.kit.erasure import erasure_router
from hearth.kit.runner import run_service
from hearth.kit.service import ServiceDefinition
from hearth.kit.vault import Vault
from hearth.rules import RuleSource

from . import api, subscriptions
from .settings import SessionSettings


def define(settings: SessionSettings) -> ServiceDefinition:
    source = RuleSource(settings.rules_file)  # refuses to start on a bad file; re-read when it changes
    rules = settings.rules(source.current())
    keys = Vault.from_settings(settings)  # notes and justifications sealed with each patient's key
    return ServiceDefinition(
        name="session",
        package="hearth.session",
        title="Session service",
        description="Gated start of at-home dosing sessions, scheduled clinician check-ins, misses and "
        "their escalation, closing, adverse events, dose changes within the titration rules.",
        events=subscriptions.events() | subscriptions.erasure(keys),
        timers=subscriptions.timers(rules),
        routers=(api.router(settings, source, keys), erasure_router(keys)),
    )


def main() -> None:
    run_service(define, SessionSettings)


if __name__ == "__main__":
    main()
