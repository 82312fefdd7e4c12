"""The compose broker is secured like the local launcher's: SASL_SSL with SCRAM-SHA-512 on every client listener, the
controller listener internal, StandardAuthorizer with one super user, a principal per service, ACLs applied by the
`topics` one-shot. Its scripts (deploy/compose/kafka/) run here against stand-ins for the Kafka tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from hearth.contracts import SERVICES
from hearth.contracts.subscribers import SUBSCRIBERS
from hearth.kit.acls import catalog_acls

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy/compose/kafka"
CA_FILE = "/etc/hearth/kafka-ca/ca.pem"


def properties(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip()
    return result


def listeners(value: str) -> dict[str, str]:
    """`NAME://host:port,...` as {NAME: host:port}."""
    return dict(item.split("://", 1) for item in value.split(","))


@pytest.fixture(scope="module")
def server() -> dict[str, str]:
    return properties((KAFKA_DIR / "server.properties").read_text())


def test_every_client_listener_is_sasl_ssl_with_scram(server, compose):
    protocols = dict(item.split(":") for item in server["listener.security.protocol.map"].split(","))
    bound = listeners(server["listeners"])
    assert set(protocols) == set(bound)
    controller = server["controller.listener.names"]
    clients = {name for name in bound if name != controller}
    assert clients and all(protocols[name] == "SASL_SSL" for name in clients)
    assert "PLAINTEXT" not in protocols.values()  # no unauthenticated, unencrypted listener at all
    for name in clients:
        assert server[f"listener.name.{name.lower()}.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert server["inter.broker.listener.name"] in clients
    assert server["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert server["ssl.keystore.location"].startswith("/etc/hearth/kafka-tls/")
    # the published port is a SASL_SSL listener, on the host's loopback only
    (published,) = compose["services"]["kafka"]["ports"]
    host, host_port, container_port = published.rsplit(":", 2)
    assert host == "127.0.0.1" and host_port.isdigit()
    assert [n for n, address in bound.items() if address.endswith(f":{container_port}")] == ["HOST"]
    assert protocols["HOST"] == "SASL_SSL"


def test_the_controller_listener_is_internal(server):
    controller = server["controller.listener.names"]
    protocols = dict(item.split(":") for item in server["listener.security.protocol.map"].split(","))
    address = listeners(server["listeners"])[controller]
    assert address.startswith("127.0.0.1:")  # the container's loopback: nothing outside reaches it
    assert server["controller.quorum.voters"] == f"1@{address}"
    assert protocols[controller] == "SASL_PLAINTEXT"  # authenticated (PLAIN, admin only), never anonymous
    assert server["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert server[f"listener.name.{controller.lower()}.sasl.enabled.mechanisms"] == "PLAIN"
    assert server["process.roles"] == "broker,controller"  # KRaft, no ZooKeeper


def test_nothing_is_allowed_without_an_acl_but_to_the_admin(server):
    assert server["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert server["super.users"] == "User:admin"
    assert server["allow.everyone.if.no.acl.found"] == "false"
    assert server["auto.create.topics.enable"] == "false"


def test_the_broker_runs_the_start_script_not_the_images_env_configuration(compose, helpers):
    kafka = compose["services"]["kafka"]
    assert kafka["entrypoint"] == ["/bin/bash", "/etc/hearth/kafka/start.sh"]
    assert "./deploy/compose/kafka:/etc/hearth/kafka:ro" in kafka["volumes"]
    # KAFKA_* variables would configure nothing (the image's env-to-properties script does not run): only the
    # JVM's heap, read by kafka-server-start.sh, may be set that way
    assert [name for name in kafka["environment"] if name.startswith("KAFKA_")] == ["KAFKA_HEAP_OPTS"]
    assert kafka["depends_on"] == {"certs": {"condition": "service_completed_successfully"}}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_logs_in_as_its_own_principal(compose, helpers, service):
    kafka_env = compose["services"]["kafka"]["environment"]
    spec = compose["services"][service]
    env = helpers.compose_environment(spec)
    assert env["HEARTH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["HEARTH_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["HEARTH_KAFKA_USERNAME"] == service
    # the password the broker formatted the service's SCRAM credential with
    assert env["HEARTH_KAFKA_PASSWORD"] == kafka_env[f"HEARTH_{service.upper()}_KAFKA_PASSWORD"]
    assert env["HEARTH_KAFKA_CA_FILE"] == CA_FILE
    assert "kafka-ca:/etc/hearth/kafka-ca:ro" in spec["volumes"]
    # the migration one-shot has the same principal settings and no Kafka password: it never uses Kafka
    migrate = helpers.compose_environment(compose["services"][f"{service}-migrate"])
    assert migrate["HEARTH_KAFKA_USERNAME"] == service
    assert "HEARTH_KAFKA_PASSWORD" not in migrate


def test_the_principals_are_the_ones_the_acls_name_and_all_differ(compose, helpers):
    usernames = [helpers.compose_environment(compose["services"][s])["HEARTH_KAFKA_USERNAME"] for s in SERVICES]
    assert len(set(usernames)) == len(SERVICES)
    services = {b.principal for b in catalog_acls()} - {s.principal for s in SUBSCRIBERS.values()}
    assert {f"User:{name}" for name in usernames} == services
    passwords = [helpers.compose_environment(compose["services"][s])["HEARTH_KAFKA_PASSWORD"] for s in SERVICES]
    admin = compose["services"]["kafka"]["environment"]["HEARTH_KAFKA_ADMIN_PASSWORD"]
    assert len({*passwords, admin}) == len(SERVICES) + 1


def test_the_topics_one_shot_applies_the_acls_as_admin(compose, helpers):
    spec = compose["services"]["topics"]
    env = helpers.compose_environment(spec)
    assert "hearth kafka apply-acls" in spec["entrypoint"][2]
    assert env["HEARTH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["HEARTH_KAFKA_USERNAME"] == "admin"
    assert env["HEARTH_KAFKA_PASSWORD"] == compose["services"]["kafka"]["environment"]["HEARTH_KAFKA_ADMIN_PASSWORD"]
    assert env["HEARTH_KAFKA_CA_FILE"] == CA_FILE
    assert "kafka-ca:/etc/hearth/kafka-ca:ro" in spec["volumes"]
    # every service starts after the ACLs are in place (the one-shot exits 0 only then)
    for service in SERVICES:
        assert compose["services"][service]["depends_on"]["topics"] == {"condition": "service_completed_successfully"}


def test_the_certs_one_shot_writes_the_volumes_the_broker_and_clients_read(compose):
    certs, kafka = compose["services"]["certs"], compose["services"]["kafka"]
    assert certs["image"] == kafka["image"]  # the broker image's Java runtime has keytool
    assert certs["entrypoint"] == ["/bin/bash", "/etc/hearth/kafka/make-certs.sh"]
    assert certs["network_mode"] == "none" and certs["restart"] == "no"
    assert {"kafka-tls:/certs/broker", "kafka-ca:/certs/ca"} <= set(certs["volumes"])
    assert certs["environment"]["HEARTH_KAFKA_STORE_PASSWORD"] == kafka["environment"]["HEARTH_KAFKA_STORE_PASSWORD"]
    # the broker's key is mounted into the broker only
    holders = [name for name, spec in compose["services"].items() if "kafka-tls" in str(spec.get("volumes"))]
    assert sorted(holders) == ["certs", "kafka"]


def test_the_secret_defaults_are_documented_once(compose_raw, helpers):
    """The header of docker-compose.yml lists every password, secret and key with its development default."""
    text = (helpers.ROOT / "docker-compose.yml").read_text()
    documented: dict[str, str] = {}
    for name, value in re.findall(r"^#   (HEARTH_[A-Z0-9_<>]+)=(\S+)", text, flags=re.MULTILINE):
        for service in SERVICES if "<SVC>" in name else [None]:
            key = name.replace("<SVC>", service.upper()) if service else name
            documented[key] = value.replace("<svc>", service) if service else value
    secrets = {
        name: default
        for name, default in re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", text)
        if re.search(r"PASSWORD|SECRET|MASTER_KEY", name)
    }
    assert secrets
    assert {name: documented.get(name) for name in secrets} == secrets


# ------------------------------------------------------------------------------------------------------ start.sh

STUB_STORAGE = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$STUB_OUT/format.args"
mkdir -p "$STUB_DATA" && touch "$STUB_DATA/meta.properties"
"""
STUB_SERVER = """#!/usr/bin/env bash
echo "$1" > "$STUB_OUT/started"
"""


def broker_env(compose: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"]["kafka"]["environment"].items()}


@pytest.fixture
def stand_in(tmp_path, helpers) -> dict[str, Any]:
    """deploy/compose/kafka/ in a temporary folder (log.dirs inside it) and Kafka tools that record their arguments."""
    helpers.tool("bash")
    scripts, home, out, data = tmp_path / "kafka", tmp_path / "opt-kafka", tmp_path / "out", tmp_path / "data/kraft"
    shutil.copytree(KAFKA_DIR, scripts)
    config = scripts / "server.properties"
    config.write_text(re.sub(r"(?m)^log\.dirs=.*$", f"log.dirs={data}", config.read_text()))
    (home / "bin").mkdir(parents=True)
    out.mkdir()
    for name, text in (("kafka-storage.sh", STUB_STORAGE), ("kafka-server-start.sh", STUB_SERVER)):
        (home / "bin" / name).write_text(text)
        (home / "bin" / name).chmod(0o755)
    return {"scripts": scripts, "home": home, "out": out, "data": data}


def run_start(stand_in: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {
        "PATH": os.environ["PATH"],
        "KAFKA_HOME": str(stand_in["home"]),
        "STUB_OUT": str(stand_in["out"]),
        "STUB_DATA": str(stand_in["data"]),
        **env,
    }
    return subprocess.run(
        ["bash", str(stand_in["scripts"] / "start.sh")], env=full, capture_output=True, text=True, timeout=30
    )


def test_start_formats_once_with_a_scram_user_per_principal(compose, stand_in):
    env = broker_env(compose)
    first = run_start(stand_in, env)
    assert first.returncode == 0, first.stderr
    rendered = stand_in["home"] / "config/hearth/server.properties"
    assert (stand_in["out"] / "started").read_text().strip() == str(rendered)
    args = (stand_in["out"] / "format.args").read_text().splitlines()
    assert args[:5] == ["format", "--cluster-id", env["CLUSTER_ID"], "--config", str(rendered)]
    scram = [args[i + 1] for i, arg in enumerate(args) if arg == "--add-scram"]
    expected = [f"SCRAM-SHA-512=[name=admin,password={env['HEARTH_KAFKA_ADMIN_PASSWORD']}]"]
    expected += [f"SCRAM-SHA-512=[name={s},password={env[f'HEARTH_{s.upper()}_KAFKA_PASSWORD']}]" for s in SERVICES]
    assert scram == expected

    (stand_in["out"] / "format.args").unlink()
    again = run_start(stand_in, env)
    assert again.returncode == 0, again.stderr
    assert not (stand_in["out"] / "format.args").exists()  # formatted storage: the credentials live in it


def test_start_renders_the_logins_and_the_admin_client_settings(compose, stand_in):
    env = broker_env(compose)
    assert run_start(stand_in, env).returncode == 0
    config_dir = stand_in["home"] / "config/hearth"
    rendered = properties((config_dir / "server.properties").read_text())
    admin, store = env["HEARTH_KAFKA_ADMIN_PASSWORD"], env["HEARTH_KAFKA_STORE_PASSWORD"]
    advertised = listeners(rendered["advertised.listeners"])
    assert advertised == {"INTERNAL": "kafka:9092", "HOST": f"localhost:{env['HEARTH_KAFKA_HOST_PORT']}"}
    assert rendered["controller.listener.names"] not in advertised
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required"
    assert rendered["listener.name.internal.scram-sha-512.sasl.jaas.config"] == (
        f'{scram} username="admin" password="{admin}";'
    )
    assert rendered["listener.name.host.scram-sha-512.sasl.jaas.config"] == f"{scram};"
    assert f'user_admin="{admin}";' in rendered["listener.name.controller.plain.sasl.jaas.config"]
    assert rendered["ssl.keystore.password"] == rendered["ssl.truststore.password"] == store
    client = properties((config_dir / "admin.properties").read_text())
    assert client["security.protocol"] == "SASL_SSL" and client["sasl.mechanism"] == "SCRAM-SHA-512"
    assert client["sasl.jaas.config"] == f'{scram} username="admin" password="{admin}";'
    assert client["ssl.truststore.location"] == rendered["ssl.truststore.location"]
    for path in (config_dir / "server.properties", config_dir / "admin.properties"):
        assert path.stat().st_mode & 0o077 == 0  # passwords inside: the broker's user only


@pytest.mark.parametrize(
    "override",
    [
        {"HEARTH_SESSION_KAFKA_PASSWORD": 'pass"word'},  # would break out of the JAAS string
        {"HEARTH_KAFKA_ADMIN_PASSWORD": "a,b"},  # would split the --add-scram argument
        {"HEARTH_KAFKA_ADMIN_PASSWORD": ""},
        {"HEARTH_KAFKA_STORE_PASSWORD": "short"},  # keytool needs six characters
    ],
)
def test_start_refuses_passwords_it_cannot_write_safely(compose, stand_in, override):
    result = run_start(stand_in, {**broker_env(compose), **override})
    assert result.returncode != 0
    assert next(iter(override)) in result.stderr
    assert not (stand_in["out"] / "format.args").exists() and not (stand_in["out"] / "started").exists()


# ------------------------------------------------------------------------------------------------- make-certs.sh


def test_make_certs_signs_a_broker_certificate_the_clients_can_verify(compose, helpers, tmp_path):
    keytool = helpers.tool("keytool")
    store = compose["services"]["certs"]["environment"]["HEARTH_KAFKA_STORE_PASSWORD"]
    tls, ca = tmp_path / "broker", tmp_path / "ca"
    env = {
        "PATH": f"{Path(keytool).parent}{os.pathsep}{os.environ['PATH']}",
        "HEARTH_TLS_DIR": str(tls),
        "HEARTH_CA_DIR": str(ca),
        "HEARTH_KAFKA_STORE_PASSWORD": store,
    }
    make = ["bash", str(KAFKA_DIR / "make-certs.sh")]
    result = subprocess.run(make, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tls.iterdir()) == ["broker.p12", "truststore.p12"]
    assert sorted(p.name for p in ca.iterdir()) == ["ca.pem"]  # the CA certificate only, never its key

    authority = x509.load_pem_x509_certificate((ca / "ca.pem").read_bytes())
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    key, certificate, chain = pkcs12.load_key_and_certificates((tls / "broker.p12").read_bytes(), store.encode())
    assert key is not None and certificate is not None
    assert chain == [authority]  # the broker presents its certificate with the CA's
    certificate.verify_directly_issued_by(authority)
    assert isinstance(key.public_key(), ec.EllipticCurvePublicKey)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"kafka", "localhost"}
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    trusted = pkcs12.load_pkcs12((tls / "truststore.p12").read_bytes(), store.encode())
    assert [c.certificate for c in trusted.additional_certs] == [authority]
    for path in (tls / "broker.p12", tls / "truststore.p12", ca / "ca.pem"):
        assert path.stat().st_mode & 0o044 == 0o044  # the broker's user and the services' uid read what root wrote

    made = (ca / "ca.pem").read_bytes()
    again = subprocess.run(make, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "keeping" in again.stdout
    assert (ca / "ca.pem").read_bytes() == made  # kept: the clients' copy stays valid
