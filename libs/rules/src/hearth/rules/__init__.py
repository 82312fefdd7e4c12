"""The dated clinical and prescribing rules: the rules file, its model, and where the services read it from."""

from typing import Protocol

from .model import BloodPressure, Doses, Licensure, Regime, RuleBook, ScheduleIII
from .source import DEFAULT_FILE, FixedRules, RulesFileError, RuleSource, load, parse


class Rules(Protocol):
    """Where a service gets the rule book in force now (re-read when the file changes)."""

    def current(self) -> RuleBook: ...


__all__ = [
    "DEFAULT_FILE",
    "BloodPressure",
    "Doses",
    "FixedRules",
    "Licensure",
    "Regime",
    "RuleBook",
    "RuleSource",
    "Rules",
    "RulesFileError",
    "ScheduleIII",
    "load",
    "parse",
]
