"""The settings a subscriber's Kafka client needs, written for the client it uses.

`hearth subscribers add|credentials` print them. Every format carries the same facts: where the broker is, TLS
with the broker's CA, SCRAM-SHA-512 as the subscriber's own user, the environment's topic prefix and a consumer
group inside the subscriber's group prefix.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass

FORMATS = ("env", "java", "librdkafka", "json")


@dataclass(frozen=True)
class ClientSettings:
    bootstrap: str
    security_protocol: str
    sasl_mechanism: str
    username: str
    password: str | None  # None: not shown (unchanged; only the broker's salted form exists)
    ca_file: str | None
    topic_prefix: str
    group_id: str
    topics: tuple[str, ...]  # with the prefix

    def render(self, style: str) -> str:
        return {"env": self._env, "java": self._java, "librdkafka": self._librdkafka, "json": self._json}[style]()

    def _header(self, comment: str) -> list[str]:
        lines = [f"{comment} Kafka client settings of subscriber {self.username}: reads {', '.join(self.topics)}"]
        if self.password is None:
            lines.append(f"{comment} password: unchanged and not shown (`hearth subscribers credentials --rotate`)")
        return lines

    def _env(self) -> str:
        values = {
            "HEARTH_KAFKA_BOOTSTRAP": self.bootstrap,
            "HEARTH_KAFKA_SECURITY_PROTOCOL": self.security_protocol,
            "HEARTH_KAFKA_SASL_MECHANISM": self.sasl_mechanism,
            "HEARTH_KAFKA_USERNAME": self.username,
            "HEARTH_KAFKA_PASSWORD": self.password,
            "HEARTH_KAFKA_CA_FILE": self.ca_file,
            "HEARTH_TOPIC_PREFIX": self.topic_prefix,
            "HEARTH_GROUP_ID": self.group_id,
        }
        lines = self._header("#")
        lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items() if value is not None]
        return "\n".join(lines)

    def _java(self) -> str:
        lines = [
            *self._header("#"),
            f"bootstrap.servers={self.bootstrap}",
            f"security.protocol={self.security_protocol}",
            f"sasl.mechanism={self.sasl_mechanism}",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{self.username}" password="{self.password or "<password>"}";',
            f"group.id={self.group_id}",
        ]
        if self.ca_file:
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={self.ca_file}"]
        return "\n".join(lines)

    def _librdkafka(self) -> str:
        lines = [
            *self._header("#"),
            f"bootstrap.servers={self.bootstrap}",
            f"security.protocol={self.security_protocol.lower()}",
            f"sasl.mechanisms={self.sasl_mechanism}",
            f"sasl.username={self.username}",
            f"sasl.password={self.password or '<password>'}",
            f"group.id={self.group_id}",
        ]
        if self.ca_file:
            lines.append(f"ssl.ca.location={self.ca_file}")
        return "\n".join(lines)

    def _json(self) -> str:
        return json.dumps(asdict(self), indent=2)
