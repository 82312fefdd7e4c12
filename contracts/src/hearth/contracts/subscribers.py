"""The subscriber registry: systems outside this repository that read hearth events, as data.

``subscribers.toml`` (beside this module, shipped in the package) lists each one: its name, owner team, a team
contact, what it does and the events it reads. Everything about its access is derived from the entry: the Kafka
principal ``User:<name>``, ACLs to read the listed topics only (never a dead-letter topic) and to use consumer
groups named ``<prefix><name>.…`` only (``hearth.kit.acls``), its Strimzi ``KafkaUser`` (``deploy/generate.py``)
and its user on a running broker (``hearth subscribers add``). A registered subscriber is a consumer like the
services: the generator refuses to retire an event it still reads.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from hearth.contracts.catalog import CATALOG, SERVICES

REGISTRY_FILE = "subscribers.toml"
NAME_PATTERN = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
"""A subscriber's name: its Kafka user, its consumer-group prefix and its Strimzi resource name."""
RESERVED = frozenset({*SERVICES, "admin"})
"""Names a subscriber cannot take (besides ``hearth…``, the deployments' own principals)."""
_FIELDS = ("name", "team", "contact", "description", "events")


class RegistryError(ValueError):
    """The registry is not valid; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("subscriber registry: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Subscriber:
    """One registered subscriber; ``topics`` are catalog topic names (without an environment prefix)."""

    name: str
    team: str
    contact: str
    description: str
    topics: tuple[str, ...]

    @property
    def principal(self) -> str:
        """Its Kafka principal, as ACLs name it."""
        return f"User:{self.name}"

    def group_prefix(self, topic_prefix: str = "") -> str:
        """Every consumer group it uses starts with this, e.g. ``analytics.`` (``staging.analytics.``)."""
        return f"{topic_prefix}{self.name}."


def parse_subscribers(text: str) -> tuple[dict[str, Subscriber], list[str]]:
    """Every entry with a usable name, and every problem found (empty when the registry is valid)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return {}, [f"not valid TOML: {error}"]
    entries, problems, found = document.get("subscriber", []), [], {}
    if not isinstance(entries, list) or set(document) - {"subscriber"}:
        return {}, ["expected only [[subscriber]] tables"]
    for index, entry in enumerate(entries, 1):
        subscriber, wrong = _entry(entry if isinstance(entry, dict) else {})
        label = f"subscriber {subscriber.name if subscriber else f'#{index}'}"
        problems += [f"{label}: {problem}" for problem in wrong]
        if subscriber is not None and subscriber.name in found:
            problems.append(f"{label}: registered twice")
        elif subscriber is not None:
            found[subscriber.name] = subscriber
    return found, problems


def load_subscribers(text: str) -> Mapping[str, Subscriber]:
    """The registry in ``text``; :class:`RegistryError` unless every entry is valid."""
    subscribers, problems = parse_subscribers(text)
    if problems:
        raise RegistryError(problems)
    return MappingProxyType(subscribers)


def packaged_registry() -> str:
    """The text of the registry shipped with this package."""
    return files("hearth.contracts").joinpath(REGISTRY_FILE).read_text(encoding="utf-8")


def registry_problems(text: str | None = None) -> list[str]:
    """What is wrong with a registry (the packaged one by default); the tests and the generator require none."""
    return parse_subscribers(packaged_registry() if text is None else text)[1]


def readers_of(topic: str, registry: Mapping[str, Subscriber] | None = None) -> tuple[str, ...]:
    """Who reads ``topic``: the consuming services, then the registered subscribers."""
    services = next((spec.consumers for spec in CATALOG.values() if spec.topic == topic), ())
    subscribers = SUBSCRIBERS if registry is None else registry
    return (*services, *(s.name for s in subscribers.values() if topic in s.topics))


def _entry(entry: Mapping[str, Any]) -> tuple[Subscriber | None, list[str]]:
    problems = [f"unknown field {key!r}" for key in entry if key not in _FIELDS]
    texts = {key: entry.get(key) for key in _FIELDS if key != "events"}
    problems += [f"{key} is missing or empty" for key, value in texts.items() if not (isinstance(value, str) and value)]
    name = entry.get("name")
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        return None, [*problems, f"name {name!r} must match {NAME_PATTERN}"]
    if name in RESERVED or name.startswith("hearth"):
        problems.append(f"name {name!r} is reserved (a service, the broker's admin, or hearth…)")
    events = entry.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        problems.append("events must be a non-empty list of event types or topics")
        events = []
    topics = []
    for event in events:
        topic, problem = _topic(event)
        topics.append(topic)
        if problem:
            problems.append(problem)
    if len(set(topics)) != len(topics):
        problems.append("an event is listed twice")
    strings = {key: value if isinstance(value, str) else "" for key, value in texts.items()}
    return Subscriber(name, strings["team"], strings["contact"], strings["description"], tuple(topics)), problems


def _topic(event: str) -> tuple[str, str | None]:
    if event.endswith(".dlq"):
        return event, f"{event} is a dead-letter topic: subscribers read events only"
    by_topic = {spec.topic: spec for spec in CATALOG.values()}
    spec = CATALOG.get(event) or by_topic.get(event)
    if spec is not None:
        return spec.topic, None
    match = re.match(r"^org\.hearth\.([a-z]+)\.([a-z-]+)\.(v[0-9]+)$", event)
    topic = ".".join(match.groups()) if match else event
    return topic, f"{event} is not in the catalog (an event retired or never published)"


SUBSCRIBERS: Mapping[str, Subscriber] = MappingProxyType(parse_subscribers(packaged_registry())[0])
"""The packaged registry by name (entries with problems included where usable; see :func:`registry_problems`)."""
