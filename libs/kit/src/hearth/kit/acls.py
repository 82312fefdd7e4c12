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
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from hearth.contracts import CATALOG, SERVICES
from hearth.contracts.subscribers import SUBSCRIBERS, Subscriber

Operation = Literal["read", "write", "describe"]
Resource = Literal["topic", "group"]

# The Kafka protocol's codes (org.apache.kafka.common.acl / resource enums).
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {"literal": 3, "prefixed": 4}
_OPERATION = {"read": 3, "write": 4, "describe": 8}
_ALLOW = 3
_ANY = 1  # in a filter: any resource type, pattern type, operation or permission
_NAMES: dict[int, Resource] = {2: "topic", 3: "group"}
_NAMES_PATTERN: dict[int, Literal["literal", "prefixed"]] = {3: "literal", 4: "prefixed"}
_NAMES_OPERATION: dict[int, Operation] = {3: "read", 4: "write", 8: "describe"}


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
        return await create_acls(admin, bindings)
    finally:
        await admin.close()


async def create_acls(admin: AIOKafkaAdminClient, bindings: Sequence[AclBinding]) -> int:
    """Create the bindings through a started admin client (idempotent); returns the count."""
    for b in bindings:
        request = CreateAclsRequest(
            _RESOURCE[b.resource], b.name, _PATTERN[b.pattern], b.principal, "*", _OPERATION[b.operation], _ALLOW
        )
        response = await admin._send_request(request)  # aiokafka has no public ACL API
        for error_code, message in response.creation_responses:
            if error_code:
                raise AclError(f"{b.describe()}: error {error_code} {message}")
    return len(bindings)


async def principal_acls(admin: AIOKafkaAdminClient, principal: str) -> list[AclBinding]:
    """The allow bindings on the broker that name `principal` (those this module can express)."""
    request = DescribeAclsRequest(_ANY, None, _ANY, principal, None, _ANY, _ANY)
    response = await admin._send_request(request)
    if response.error_code:
        raise AclError(f"describing the ACLs of {principal}: error {response.error_code} {response.error_message}")
    found = []
    for resource_type, name, pattern, acls in response.resources:
        for who, _, operation, permission in acls:
            kind, how, what = _NAMES.get(resource_type), _NAMES_PATTERN.get(pattern), _NAMES_OPERATION.get(operation)
            if who == principal and permission == _ALLOW and kind and how and what:
                found.append(AclBinding(principal, kind, name, how, what))
    return sorted(found)


async def delete_principal_acls(admin: AIOKafkaAdminClient, principal: str) -> int:
    """Delete every binding that names `principal`; returns how many there were."""
    return await _delete(admin, DeleteAclsRequest(_ANY, None, _ANY, principal, None, _ANY, _ANY), principal)


async def delete_acls(admin: AIOKafkaAdminClient, bindings: Sequence[AclBinding]) -> int:
    """Delete exactly these bindings; returns how many existed."""
    deleted = 0
    for b in bindings:
        request = DeleteAclsRequest(
            _RESOURCE[b.resource], b.name, _PATTERN[b.pattern], b.principal, "*", _OPERATION[b.operation], _ALLOW
        )
        deleted += await _delete(admin, request, b.describe())
    return deleted


async def remove_acls(bootstrap: str, bindings: Sequence[AclBinding], client: dict[str, object]) -> int:
    """Delete every binding on the resources of `bindings` (one request per resource, whoever it names);
    returns how many there were.  For an environment's teardown: `remove_acls(b, catalog_acls(prefix), c)`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client)
    await admin.start()
    try:
        deleted = 0
        for resource, name, pattern in sorted({(b.resource, b.name, b.pattern) for b in bindings}):
            request = DeleteAclsRequest(_RESOURCE[resource], name, _PATTERN[pattern], None, None, _ANY, _ANY)
            deleted += await _delete(admin, request, f"{resource} {pattern}:{name}")
        return deleted
    finally:
        await admin.close()


async def _delete(admin: AIOKafkaAdminClient, request: DeleteAclsRequest, what: str) -> int:
    response = await admin._send_request(request)
    deleted = 0
    for error_code, message, matching in response.filter_responses:
        if error_code:
            raise AclError(f"deleting ACLs ({what}): error {error_code} {message}")
        deleted += len(matching)
    return deleted
