"""Kafka ACLs derived from the topic catalog, so they are never written twice by hand.

Each service principal `User:<service>` may write only its own topics — every topic it owns and its dead-letter
topic are named `<service>.…`, so one prefixed grant covers them — read only the topics it consumes, and use only
consumer groups named `<service>…`.  Everything else is denied (StandardAuthorizer with no ACL denies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from hearth.contracts import CATALOG, SERVICES

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


def catalog_acls(prefix: str = "") -> list[AclBinding]:
    return [binding for service in SERVICES for binding in service_acls(service, prefix)]


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
