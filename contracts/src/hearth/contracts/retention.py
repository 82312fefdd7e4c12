"""How long each topic keeps its events, and why: configuration written once, here, for every deployment.

`hearth topics create` (local broker, compose) and the generated Strimzi `KafkaTopic`s set `retention.ms` from
it; the AsyncAPI document and EVENTS.md show it. A subscriber that joins later reads the history it needs from
the topics themselves (docs/subscribing.md, "Starting from history"), so facts that make up a patient's state
are kept long; signals that are acted on when they happen are kept long enough to recover from an outage.
A consuming service keeps event ids in its inbox for longer than the longest retention
(`HEARTH_INBOX_RETENTION_HOURS`), so no event still on a topic can be applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.contracts.catalog import CATALOG, SERVICES, dlq_topic

_DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Retention:
    days: int
    reason: str

    @property
    def ms(self) -> int:
        return self.days * _DAY_MS


STATE = Retention(
    400,
    "a fact that makes up a patient's current state (screening, decision, boxes, sessions, integration): a "
    "subscriber that joins later rebuilds its view from it; a course with maintenance runs for months, so "
    "a year and a month of history is kept",
)
SIGNAL = Retention(
    30,
    "a deadline signal acted on when it happens (a missed check-in, an overdue review or integration): kept "
    "long enough to recover from an outage; the owner's database holds the history",
)
DEAD_LETTERS = Retention(
    30,
    "records a service could not accept: kept for inspection; the service stores its own copy to replay",
)

SIGNALS = frozenset(
    {
        "screening.safety-review-overdue.v1",
        "session.check-in-missed.v1",
        "followup.integration-due.v1",
        "followup.integration-overdue.v1",
        "followup.dose-review-due.v1",
    }
)
"""Topics of signals; every other catalog topic holds state (a new event is state unless listed here)."""


def retention_of(topic: str) -> Retention:
    """The retention of a catalog topic or dead-letter topic (without an environment prefix)."""
    if topic in {dlq_topic(service) for service in SERVICES}:
        return DEAD_LETTERS
    if topic not in {spec.topic for spec in CATALOG.values()}:
        raise ValueError(f"{topic} is neither a catalog topic nor a dead-letter topic")
    return SIGNAL if topic in SIGNALS else STATE


def longest_retention() -> Retention:
    """The longest retention of any topic: what a consumer's inbox must outlast."""
    topics = [spec.topic for spec in CATALOG.values()] + [dlq_topic(service) for service in SERVICES]
    return max((retention_of(topic) for topic in topics), key=lambda retention: retention.days)
