"""Test support: the pytest plugin (`hearth.kit.testing.plugin`) and helpers for real Kafka and Postgres."""

from hearth.kit.testing.endpoints import Infra, Origin, UniqueName
from hearth.kit.testing.kafka import CreateTopics, create_topics, delete_topics
from hearth.kit.testing.launcher import LocalInfra
from hearth.kit.testing.postgres import create_database, drop_database, with_database

__all__ = [
    "CreateTopics",
    "Infra",
    "LocalInfra",
    "Origin",
    "UniqueName",
    "create_database",
    "create_topics",
    "delete_topics",
    "drop_database",
    "with_database",
]
