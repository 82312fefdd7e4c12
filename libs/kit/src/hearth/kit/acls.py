"""Kafka ACLs derived from the topic catalog and the subscriber registry, so they are never written twice by hand.

Each service principal `User:<service>` may write only its own topics — every topic it owns and its dead-letter
topic are named `<service>.…`, so one prefixed grant covers them — read only the topics it consumes, and use only
consumer groups named `<service>…`.  Each registered subscriber `User:<name>` may read (and describe) the topics
of the events its registry entry lists, and use only consumer groups named `<name>.…`; it never writes, and never
sees a dead-letter topic.  Everything else is denied (StandardAuthorizer with no ACL denies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from hearth.contracts import CATALOG, SERVICES
from hearth.contracts.subscribers import SUBSCRIBERS, Subscriber

Operation = Literal["read", "write", "describe"]
Resource = Literal["topic", "group"]

# The Kafka protocol's codes (org.apache.kafka.common.acl / resource enums).
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {"literal": 3, "prefixed": 4}
_OPERATION = {"read": 3, "write": 4, "describe": 8}
_ALLOW = 3


@dataclass(frozen=True, order=True)
class AclBinding:
    principal: str
    resource: Resource
    name: str
    pattern: Literal["literal", "prefixed"]
    operation: Operation

    def describe(self) -> str:
        return f"{self.principal} {self.operation} {self.resource} {self.pattern}:{self.name}"


def service_acls(service: str, prefix: str = "") -> list[AclBinding]:
    principal = f"User:{service}"
    own = prefix + service + "."
    bindings = [
        AclBinding(principal, "topic", own, "prefixed", "write"),
        AclBinding(principal, "topic", own, "prefixed", "describe"),
        AclBinding(principal, "group", prefix + service, "prefixed", "read"),
    ]
    for spec in CATALOG.values():
        if service in spec.consumers:
            bindings.append(AclBinding(principal, "topic", prefix + spec.topic, "literal", "read"))
            bindings.append(AclBinding(principal, "topic", prefix + spec.topic, "literal", "describe"))
    return sorted(set(bindings))


def subscriber_acls(subscriber: Subscriber, prefix: str = "") -> list[AclBinding]:
    principal = subscriber.principal
    bindings = [AclBinding(principal, "group", subscriber.group_prefix(prefix), "prefixed", "read")]
    for topic in subscriber.topics:
        bindings.append(AclBinding(principal, "topic", prefix + topic, "literal", "read"))
        bindings.append(AclBinding(principal, "topic", prefix + topic, "literal", "describe"))
    return sorted(set(bindings))


def catalog_acls(prefix: str = "", registry: Mapping[str, Subscriber] | None = None) -> list[AclBinding]:
    """Every service's bindings, then every registered subscriber's (the packaged registry by default)."""
    subscribers = SUBSCRIBERS if registry is None else registry
    services = [binding for service in SERVICES for binding in service_acls(service, prefix)]
    return services + [binding for s in subscribers.values() for binding in subscriber_acls(s, prefix)]


class AclError(RuntimeError):
    pass


async def apply_acls(bootstrap: str, bindings: Sequence[AclBinding], client: dict[str, object]) -> int:
    """Create the bindings (creating an existing one is a no-op, so this is idempotent); returns the count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client)
    await admin.start()
    try:
        for b in bindings:
            request = CreateAclsRequest(
                _RESOURCE[b.resource],
                b.name,
                _PATTERN[b.pattern],
                b.principal,
                "*",
                _OPERATION[b.operation],
                _ALLOW,
            )
            response = await admin._send_request(request)  # aiokafka has no public ACL API
            for error_code, message in response.creation_responses:
                if error_code:
                    raise AclError(f"{b.describe()}: error {error_code} {message}")
        return len(bindings)
    finally:
        await admin.close()
