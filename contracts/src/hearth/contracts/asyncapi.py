"""The AsyncAPI 3.0 document of every event: channels are topics, messages are events, with examples.

Each event schema is hoisted into ``components.schemas`` (its ``$defs`` shared there), so the document is
self-contained and any AsyncAPI tool can render it without fetching the schema files.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from hearth.contracts.catalog import CATALOG, SERVICES, EventSpec
from hearth.contracts.envelope import Event
from hearth.contracts.primitives import PATIENT_ID_PATTERN
from hearth.contracts.retention import retention_of
from hearth.contracts.schema import event_schema
from hearth.contracts.subscribers import SUBSCRIBERS, Subscriber

_KAFKA = "0.5.0"
_SECURITY = [{"$ref": "#/components/securitySchemes/scram"}]
SERVERS: dict[str, Any] = {
    "local": {
        "host": "127.0.0.1:9092",
        "protocol": "kafka-secure",
        "protocolVersion": "4.3.1",
        "title": "Local broker (deploy/local)",
        "description": "`python3 deploy/local/infra.py up`; its CA is .state/local/kafka/tls/ca.pem, its admin's "
        'settings `eval "$(python3 deploy/local/infra.py env)"`. No topic prefix unless one is chosen.',
        "security": _SECURITY,
    },
    "compose": {
        "host": "localhost:29092",
        "protocol": "kafka-secure",
        "title": "docker compose, from the host",
        "description": "kafka:9092 inside the compose network; the CA is in the kafka-ca volume "
        "(/etc/hearth/kafka-ca/ca.pem in the services).",
        "security": _SECURITY,
    },
    "production": {
        "host": "{bootstrap}",
        "protocol": "kafka-secure",
        "title": "Production (deploy/k8s/overlays/prod)",
        "description": "The managed brokers; ask the operators for the bootstrap list, the CA and the topic prefix.",
        "variables": {
            "bootstrap": {
                "default": "kafka-0.kafka.example.internal:9093",
                "description": "One of the brokers (HEARTH_KAFKA_BOOTSTRAP in deploy/k8s/overlays/prod/kafka.env).",
            }
        },
        "security": _SECURITY,
    },
}
SCRAM: dict[str, Any] = {
    "type": "scramSha512",
    "description": "SASL/SCRAM-SHA-512 over TLS (SASL_SSL); verify the broker's certificate with the environment's "
    "CA. Each service and each registered subscriber has its own user; a subscriber gets its password from "
    "`hearth subscribers add|credentials` (docs/subscribing.md).",
}
PREFIX: dict[str, Any] = {
    "description": "The environment's topic prefix (HEARTH_TOPIC_PREFIX), empty by default; environments that "
    "share a cluster are kept apart by it, e.g. `staging.`.",
    "default": "",
    "examples": ["", "staging."],
}


def asyncapi_document(registry: Mapping[str, Subscriber] | None = None) -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document as a JSON-ready dict (subscribers from the packaged registry by default)."""
    subscribers = SUBSCRIBERS if registry is None else registry
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in CATALOG.values():
        schema = _hoist(event_schema(spec), schemas)
        message_name = spec.data_model.__name__
        messages[spec.topic] = _message(spec, schema)
        retention = retention_of(spec.topic)
        channels[spec.topic] = {
            "address": "{prefix}" + spec.topic,
            "title": spec.name,
            "description": f"Owned by {spec.owner}. {spec.description} Kept {retention.days} days: {retention.reason}.",
            "messages": {message_name: {"$ref": f"#/components/messages/{spec.topic}"}},
            "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
            "bindings": {
                "kafka": {
                    "topicConfiguration": {"cleanup.policy": ["delete"], "retention.ms": retention.ms},
                    "bindingVersion": _KAFKA,
                }
            },
        }
        for action, service in [("send", spec.owner), *(("receive", c) for c in spec.consumers)]:
            operations[f"{service}-{action}-{spec.topic.replace('.', '_')}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{spec.topic}"},
                "title": f"{service} {'publishes' if action == 'send' else 'consumes'} {spec.name}",
                "messages": [{"$ref": f"#/channels/{spec.topic}/messages/{message_name}"}],
                "x-service": service,
            }
        for subscriber in (s for s in subscribers.values() if spec.topic in s.topics):
            operations[f"{subscriber.name}-receive-{spec.topic.replace('.', '_')}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{spec.topic}"},
                "title": f"{subscriber.name} ({subscriber.team}) consumes {spec.name}",
                "description": subscriber.description,
                "messages": [{"$ref": f"#/channels/{spec.topic}/messages/{message_name}"}],
                "x-subscriber": subscriber.name,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "hearth events",
            "version": _package_version(),
            "description": (
                f"Events of the at-home treatment workflow (services: {', '.join(SERVICES)}). "
                "One topic per event type and major version, <owner>.<event>.v<major>; "
                "the record key is the pseudonymous patient id; the value is a structured-mode CloudEvent. "
                "Unparseable events go to the consuming service's dead-letter topic <service>.dlq."
            ),
        },
        "defaultContentType": Event.CONTENT_TYPE,
        "servers": SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "parameters": {"prefix": PREFIX},
            "securitySchemes": {"scram": SCRAM},
        },
    }


def _message(spec: EventSpec, schema: dict[str, Any]) -> dict[str, Any]:
    headers = {"content-type": Event.CONTENT_TYPE}
    return {
        "name": spec.name,
        "title": spec.type,
        "summary": spec.description,
        "contentType": Event.CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {"content-type": {"type": "string", "const": Event.CONTENT_TYPE}},
            "required": ["content-type"],
        },
        "payload": {"$ref": f"#/components/schemas/{schema['title']}"},
        "correlationId": {"description": "The care journey.", "location": "$message.payload#/correlationid"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "pattern": PATIENT_ID_PATTERN,
                    "description": "The patient id (subject).",
                },
                "bindingVersion": _KAFKA,
            }
        },
        "examples": [
            {"name": f"{spec.name}-example", "headers": headers, "payload": example} for example in schema["examples"]
        ],
    }


def _hoist(schema: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = _relocate({k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs")})
    for name, definition in {**schema.get("$defs", {}), body["title"]: body}.items():
        definition = _relocate(definition)
        if into.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both named {name}")
    return body


def _relocate(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: value.replace("#/$defs/", "#/components/schemas/") if key == "$ref" else _relocate(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_relocate(item) for item in node]
    return node


def _package_version() -> str:
    try:
        return version("hearth-contracts")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"
