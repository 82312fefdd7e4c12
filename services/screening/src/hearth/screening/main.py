"""The composition root: `hearth-screening serve` runs the service, `hearth-screening migrate` its migrations."""

from __future__ import annotations

from hearth.kit.erasure import erasure_router
from hearth.kit.runner import run_service
from hearth.kit.service import ServiceDefinition
from hearth.kit.vault import Vault
from hearth.rules import RuleSource

from . import api, api_safety, subscriptions
from .settings import ScreeningSettings


def define(settings: ScreeningSettings) -> ServiceDefinition:
    rules = RuleSource(settings.rules_file)  # refuses to start on a bad file; re-read when it changes
    keys = Vault.from_settings(settings)  # free text sealed with each patient's key (sealing.py)
    return ServiceDefinition(
        name="screening",
        package="hearth.screening",
        title="Screening service",
        description="Intake, scoring and eligibility of the at-home treatment workflow, and the prescriber's"
        " decision, the clinician's review queue and the safety items of self-harm answers. Emits screened, approved,"
        " declined, approval-revoked, safety-review-overdue and patient-erased (a privacy officer's erasure).",
        events=subscriptions.events(settings),
        timers=subscriptions.timers(settings),
        routers=(api.router(settings, rules, keys), api_safety.router(keys), erasure_router(keys, announce=True)),
    )


def main() -> None:
    run_service(define, ScreeningSettings)


if __name__ == "__main__":
    main()
