"""The files deploy/generate.py writes are committed exactly as it writes them, from the real settings classes."""

from __future__ import annotations

from hearth.contracts import SERVICES
from hearth.kit.settings import KitSettings


def test_committed_files_equal_what_the_generator_writes(gen, helpers):
    stale = [
        str(path.relative_to(helpers.ROOT))
        for path, text in gen.outputs()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"stale generated files, run `uv run python deploy/generate.py`: {stale}"


def test_the_generator_reads_each_services_own_settings_class(gen):
    for service in SERVICES:
        cls = gen.settings_class(service)
        assert cls is not KitSettings and issubclass(cls, KitSettings), service
        assert cls.__module__ == f"hearth.{service}.settings"


def test_env_files_hold_every_non_secret_setting_and_no_secret(gen, helpers):
    for service in SERVICES:
        env = helpers.read_env_file(helpers.DEPLOY / f"compose/env/{service}.env")
        text = (helpers.DEPLOY / f"compose/env/{service}.env").read_text()
        compose_values = gen.deploy_values(service, compose=True)
        for setting in gen.settings_of(service):
            if setting.secret is not None:
                assert setting.env not in text, setting.env
            elif setting.default is None and not setting.required and setting.field not in compose_values:
                assert f"# {setting.env}=" in text, setting.env  # listed, commented out
            else:
                assert setting.env in env, setting.env


def test_secret_settings_become_secret_references(gen):
    refs = {(s.env, s.secret.secret, s.secret.key) for s in gen.settings_of("fulfillment") if s.secret}
    assert ("HEARTH_DATABASE_URL", "hearth-fulfillment-db", "url") in refs
    assert ("HEARTH_MIGRATIONS_DATABASE_URL", "hearth-fulfillment-db", "migrations-url") in refs
    assert ("HEARTH_JWT_SECRET", "hearth-jwt", "secret") in refs
    assert ("HEARTH_KAFKA_PASSWORD", "hearth-fulfillment-kafka", "password") in refs
    assert ("HEARTH_MASTER_KEY", "hearth-fulfillment-secrets", "master-key") in refs


def test_compose_env_files_carry_the_compose_brokers_kafka_security(gen, helpers):
    """compose: SASL_SSL as the service's own principal (the one the catalog-derived ACLs name), the CA of the
    `certs` one-shot; the Kubernetes base keeps its own principal names (Strimzi KafkaUsers)."""
    for service in SERVICES:
        compose = helpers.read_env_file(helpers.DEPLOY / f"compose/env/{service}.env")
        assert compose["HEARTH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert compose["HEARTH_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert compose["HEARTH_KAFKA_USERNAME"] == service
        assert compose["HEARTH_KAFKA_CA_FILE"] == gen.COMPOSE_KAFKA_CA_FILE
        kubernetes = helpers.read_env_file(helpers.DEPLOY / f"k8s/base/{service}/config.env")
        assert kubernetes["HEARTH_KAFKA_USERNAME"] == gen.kafka_principal(service)
        different = {k for k in compose.keys() | kubernetes.keys() if compose.get(k) != kubernetes.get(k)}
        assert different <= {"HEARTH_KAFKA_SECURITY_PROTOCOL", "HEARTH_KAFKA_USERNAME", "HEARTH_KAFKA_CA_FILE"}
