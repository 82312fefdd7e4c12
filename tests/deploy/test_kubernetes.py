"""The kustomize overlays: valid against the Kubernetes API schemas, hardened, wired to the code's settings and
ports; the Strimzi topics and users derived from the topic catalog."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import yaml

from hearth.contracts import CATALOG, SERVICES, dlq_topic
from hearth.contracts.retention import retention_of
from hearth.contracts.subscribers import SUBSCRIBERS

PORTS = {"screening": 8081, "fulfillment": 8082, "session": 8083, "followup": 8084}
KUBERNETES_VERSION = "1.33.0"  # the oldest Kubernetes release the manifests are meant for
WORKLOADS = ("Deployment", "Job", "StatefulSet")


def _pods(docs: list[dict[str, Any]], part_of_hearth_only: bool = True) -> list[tuple[str, dict[str, Any]]]:
    result = []
    for d in docs:
        if d["kind"] in WORKLOADS and d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name") not in (
            ("kafka", "postgres") if part_of_hearth_only else ()
        ):
            result.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]))
    return result


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_validates_against_the_kubernetes_api_schemas(helpers, rendered, tmp_path, overlay):
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(rendered[overlay]))
    validate = helpers.tool("kubernetes-validate")
    result = helpers.run([validate, "--kubernetes-version", KUBERNETES_VERSION, "--strict", str(manifest)], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Couldn't find schema" not in result.stdout + result.stderr  # every resource was really checked
    assert result.stdout.count(" passed for resource ") == len(rendered[overlay])


@pytest.mark.parametrize("example", ["secrets.example.yaml", "ops-pod.yaml", "backup-cronjob.yaml"])
def test_examples_validate_against_the_kubernetes_api_schemas(helpers, example):
    path = helpers.DEPLOY / "k8s/examples" / example
    validate = helpers.tool("kubernetes-validate")
    result = helpers.run([validate, "--kubernetes-version", KUBERNETES_VERSION, "--strict", str(path)], check=False)
    assert result.returncode == 0 and "Couldn't find schema" not in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_hearth_pod_is_hardened(rendered, overlay):
    pods = _pods(rendered[overlay])
    assert len(pods) >= 8
    for name, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
            image = container["image"]
            assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image


@pytest.mark.parametrize("overlay", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_server_ports_probes_and_budget(helpers, rendered, overlay, service):
    docs = rendered[overlay]
    deployment = helpers.one(docs, "Deployment", service)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    assert container["image"].endswith(f"hearth-{service}:dev") or f"hearth/{service}:" in container["image"]
    assert container["ports"] == [{"name": "http", "containerPort": PORTS[service], "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    config = helpers.config_map_named(docs, f"{service}-config")
    assert config["data"]["HEARTH_HTTP_PORT"] == str(PORTS[service])
    grace = float(config["data"]["HEARTH_SHUTDOWN_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > grace  # SIGTERM leaves time to finish in-flight work

    svc = helpers.one(docs, "Service", service)
    assert svc["spec"]["ports"] == [{"name": "http", "port": PORTS[service], "targetPort": "http", "protocol": "TCP"}]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in svc["spec"]["selector"].items())
    assert svc["spec"]["selector"]["app.kubernetes.io/component"] == "server"  # not the migration Job's pod

    budget = helpers.one(docs, "PodDisruptionBudget", service)
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["maxUnavailable"] == 1

    job = helpers.one(docs, "Job", f"{service}-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == ["migrate"] and migrate["image"] == container["image"]


def _env_of(
    helpers: Any, docs: list[dict[str, Any]], container: dict[str, Any], secrets: dict[str, dict[str, str]]
) -> dict[str, str]:
    """The environment a container gets: its envFrom ConfigMaps, then its env (secrets resolved from `secrets`)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        env.update(helpers.one(docs, "ConfigMap", name)["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        value = secrets.get(ref["name"], {}).get(ref["key"])
        if value is None:
            assert ref.get("optional"), f"{item['name']}: Secret {ref['name']} key {ref['key']} is required"
            continue
        env[item["name"]] = value
    return env


def _dev_secrets(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in d.get("data", {}).items()}
        for d in docs
        if d["kind"] == "Secret"
    }


def _stand_in_secrets(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Every referenced Secret key, with a value any secret setting accepts (base64 of 32 bytes)."""
    value = base64.b64encode(bytes(range(32))).decode()
    secrets: dict[str, dict[str, str]] = {}
    for _, pod in _pods(docs):
        for container in pod["containers"]:
            for item in container.get("env", []):
                if ref := item.get("valueFrom", {}).get("secretKeyRef"):
                    secrets.setdefault(ref["name"], {})[ref["key"]] = value
    return secrets


@pytest.mark.parametrize("overlay", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("workload", ["Deployment", "Job"])
def test_every_setting_a_service_reads_is_set_and_valid(
    helpers, rendered, gen, load_settings, overlay, service, workload
):
    """ConfigMap + Secret references give each server and migration Job every required setting, only settings
    the service reads, and values its settings class accepts."""
    docs = rendered[overlay]
    name = service if workload == "Deployment" else f"{service}-migrate"
    (container,) = helpers.one(docs, workload, name)["spec"]["template"]["spec"]["containers"]
    secrets = _dev_secrets(docs) if overlay == "dev" else _stand_in_secrets(docs)
    env = _env_of(helpers, docs, container, secrets)
    settings = {s.env: s for s in gen.settings_of(service)}
    missing = [n for n, s in settings.items() if s.required and n not in env]
    assert not missing, f"{name} lacks required settings {missing}"
    unknown = [n for n in env if n.startswith("HEARTH_") and n not in settings]
    assert not unknown, f"{name} sets variables its settings class does not read: {unknown}"
    secret_names = {s.env for s in settings.values() if s.secret is not None}
    from_config_map = {n for n in env if n in secret_names} - {i["name"] for i in container.get("env", [])}
    assert not from_config_map, f"secret settings in a ConfigMap: {from_config_map}"
    loaded = load_settings(service, env)
    assert loaded.http_port == PORTS[service]
    if workload == "Job":
        assert "HEARTH_MIGRATIONS_DATABASE_URL" in env
        assert "HEARTH_KAFKA_PASSWORD" not in env and "HEARTH_JWT_SECRET" not in env  # it needs neither
        assert "HEARTH_IDEMPOTENCY_SECRET" not in env  # a secret only the server holds
    else:
        assert "HEARTH_MIGRATIONS_DATABASE_URL" not in env  # the server never holds the schema owner's password
        assert loaded.missing_for_serve() == []  # create_app refuses to start otherwise


def test_dev_overlay_uses_in_cluster_kafka_and_postgres(helpers, rendered):
    docs = rendered["dev"]
    kafka_service, postgres_service = helpers.one(docs, "Service", "kafka"), helpers.one(docs, "Service", "postgres")
    assert kafka_service["spec"]["ports"][0]["port"] == 9092
    secrets = _dev_secrets(docs)
    for service in SERVICES:
        assert helpers.one(docs, "Deployment", service)["spec"]["replicas"] == 1
        assert helpers.config_map_named(docs, f"{service}-config")["data"]["HEARTH_KAFKA_BOOTSTRAP"] == "kafka:9092"
        db = next(v for k, v in secrets.items() if k.startswith(f"hearth-{service}-db"))
        assert re.fullmatch(rf"postgresql://{service}:[^@]+@postgres:5432/{service}", db["url"])
        assert re.fullmatch(rf"postgresql://{service}_owner:[^@]+@postgres:5432/{service}", db["migrations-url"])
    assert postgres_service["spec"]["ports"][0]["port"] == 5432
    init = helpers.config_map_named(docs, "postgres-init")["data"]["init-databases.sh"]
    assert init == (helpers.ROOT / "deploy/compose/postgres/init-databases.sh").read_text()
    bootstrap = helpers.config_map_named(docs, "postgres-init")["data"]["hearth-audit-bootstrap.psql"]
    assert bootstrap == (helpers.ROOT / "libs/kit/src/hearth/kit/sql/bootstrap/audit.sql").read_text()
    passwords = next(v for k, v in secrets.items() if k.startswith("postgres-"))
    for service in SERVICES:
        db = next(v for k, v in secrets.items() if k.startswith(f"hearth-{service}-db"))
        assert f":{passwords[f'HEARTH_{service.upper()}_DB_PASSWORD']}@" in db["url"]
        assert f":{passwords[f'HEARTH_{service.upper()}_DB_OWNER_PASSWORD']}@" in db["migrations-url"]


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        if (op == "In" and labels.get(key) not in values) or (op == "Exists" and key not in labels):
            return False
    return True


@pytest.mark.parametrize("overlay", ["dev", "prod"])
@pytest.mark.parametrize("service", SERVICES)
def test_network_policy_allows_dns_kafka_and_own_database_only(helpers, rendered, overlay, service):
    docs = rendered[overlay]
    policy = helpers.one(docs, "NetworkPolicy", service)["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["ingress"] == [{"ports": [{"protocol": "TCP", "port": PORTS[service]}]}]
    for workload, name in (("Deployment", service), ("Job", f"{service}-migrate")):
        assert _matches(
            policy["podSelector"], helpers.one(docs, workload, name)["spec"]["template"]["metadata"]["labels"]
        )
    ports = sorted((p["port"] for rule in policy["egress"] for p in rule["ports"]), key=str)
    allowed = {53, 9092, 5432} | ({9093} if overlay == "prod" else set())
    assert set(ports) == allowed
    pod_targets = [
        peer["podSelector"]
        for rule in policy["egress"]
        for peer in rule["to"]
        if "podSelector" in peer and "namespaceSelector" not in peer
    ]
    if overlay == "dev":
        kafka_pod = helpers.one(docs, "StatefulSet", "kafka")["spec"]["template"]["metadata"]["labels"]
        postgres_pod = helpers.one(docs, "StatefulSet", "postgres")["spec"]["template"]["metadata"]["labels"]
        assert any(_matches(sel, kafka_pod) for sel in pod_targets)
        assert any(_matches(sel, postgres_pod) for sel in pod_targets)
        # another service's pods are no egress target
        other = helpers.one(docs, "Deployment", next(s for s in SERVICES if s != service))
        assert not any(_matches(sel, other["spec"]["template"]["metadata"]["labels"]) for sel in pod_targets)
    else:
        blocks = [peer["ipBlock"]["cidr"] for rule in policy["egress"] for peer in rule["to"] if "ipBlock" in peer]
        assert len(blocks) == 2  # the brokers and this service's own database server


def test_prod_databases_are_separate(helpers, rendered):
    docs = rendered["prod"]
    db_blocks = {}
    for service in SERVICES:
        egress = helpers.one(docs, "NetworkPolicy", service)["spec"]["egress"]
        db_blocks[service] = [
            p["ipBlock"]["cidr"] for r in egress if r["ports"][0]["port"] == 5432 for p in r["to"] if "ipBlock" in p
        ]
    assert len({tuple(v) for v in db_blocks.values()}) == len(SERVICES)


def test_prod_overlay_scales_with_an_hpa_and_speaks_sasl_ssl(helpers, rendered):
    docs = rendered["prod"]
    assert not helpers.find(docs, "Secret")  # operators create Secrets; none is shipped
    assert not helpers.find(docs, "Job", "hearth-topics")  # topics are Strimzi KafkaTopics
    for service in SERVICES:
        deployment = helpers.one(docs, "Deployment", service)
        assert "replicas" not in deployment["spec"]  # the HPA owns it
        hpa = helpers.one(docs, "HorizontalPodAutoscaler", service)["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
        assert hpa["minReplicas"] == 3 and hpa["maxReplicas"] <= 6  # no more consumers than partitions
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        data = helpers.config_map_named(docs, f"{service}-config")["data"]
        assert data["HEARTH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert data["HEARTH_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert data["HEARTH_KAFKA_USERNAME"] == f"hearth-{service}"
        assert not data["HEARTH_KAFKA_BOOTSTRAP"].startswith("kafka:")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mount = next(m for m in container["volumeMounts"] if m["name"] == "kafka-ca")
        assert data["HEARTH_KAFKA_CA_FILE"].startswith(mount["mountPath"] + "/")
        password = next(e for e in container["env"] if e["name"] == "HEARTH_KAFKA_PASSWORD")["valueFrom"][
            "secretKeyRef"
        ]
        assert password == {"name": f"hearth-{service}-kafka", "key": "password", "optional": False}


def test_example_secrets_document_every_secret_prod_refers_to(helpers, rendered):
    examples = list(yaml.safe_load_all((helpers.DEPLOY / "k8s/examples/secrets.example.yaml").read_text()))
    documented = {(d["metadata"]["name"], key) for d in examples for key in d["stringData"]}
    referenced = set()
    for _, pod in _pods(rendered["prod"]):
        for container in pod["containers"]:
            for item in container.get("env", []):
                if ref := item.get("valueFrom", {}).get("secretKeyRef"):
                    name = re.sub(
                        r"^hearth-(fulfillment|session|followup)-(db|kafka)$", r"hearth-screening-\2", ref["name"]
                    )
                    name = re.sub(r"^hearth-(session|followup)-secrets$", "hearth-screening-secrets", name)
                    referenced.add((name, ref["key"]))
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                referenced.add((volume["secret"]["secretName"], "ca.crt"))
    assert referenced <= documented, referenced - documented


# ---------------------------------------------------------------------------------------------------------- Strimzi

ACL_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
                  "DescribeConfigs", "IdempotentWrite", "All"}  # fmt: skip


def _allowed(user: dict[str, Any], kind: str, name: str, operation: str) -> bool:
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        if resource["type"] != kind or operation not in acl["operations"]:
            continue
        if resource["patternType"] == "literal" and resource["name"] == name:
            return True
        if resource["patternType"] == "prefix" and name.startswith(resource["name"]):
            return True
    return False


def test_strimzi_topics_are_the_catalog_and_the_dead_letter_topics(helpers, rendered):
    topics = helpers.find(rendered["strimzi"], "KafkaTopic")
    expected = {spec.topic for spec in CATALOG.values()} | {dlq_topic(s) for s in SERVICES}
    assert {t["spec"]["topicName"] for t in topics} == expected
    for topic in topics:
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"]
        assert topic["metadata"]["name"] == topic["spec"]["topicName"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", topic["metadata"]["name"])  # a valid resource name
        assert topic["spec"]["partitions"] >= 6 and topic["spec"]["replicas"] >= 3
        assert topic["spec"]["config"]["min.insync.replicas"] < topic["spec"]["replicas"]
        assert topic["spec"]["config"]["retention.ms"] == retention_of(topic["spec"]["topicName"]).ms


def test_each_service_writes_only_its_own_topics_and_reads_what_it_consumes(helpers, rendered):
    users = {u["metadata"]["name"]: u for u in helpers.find(rendered["strimzi"], "KafkaUser")}
    assert set(users) == {f"hearth-{s}" for s in SERVICES} | {"hearth-ops"} | set(SUBSCRIBERS)
    topics = {spec.topic for spec in CATALOG.values()} | {dlq_topic(s) for s in SERVICES}
    for user in users.values():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["resource"]["type"] in {"topic", "group", "cluster", "transactionalId"}
            assert acl["resource"]["patternType"] in {"literal", "prefix"}
            assert set(acl["operations"]) <= ACL_OPERATIONS
    for service in SERVICES:
        user = users[f"hearth-{service}"]
        for topic in sorted(topics):
            owner = topic.split(".")[0]
            assert _allowed(user, "topic", topic, "Write") == (owner == service), (service, topic)
            consumes = any(spec.topic == topic and service in spec.consumers for spec in CATALOG.values())
            assert _allowed(user, "topic", topic, "Read") == consumes, (service, topic)
        assert _allowed(user, "topic", dlq_topic(service), "Write")
        assert _allowed(user, "group", service, "Read")  # its consumer group is the service name
        for other in SERVICES:
            if other != service:
                assert not _allowed(user, "group", other, "Read")
        assert not any(acl["resource"]["type"] == "cluster" for acl in user["spec"]["authorization"]["acls"])


def test_the_monitoring_folder_renders_the_alert_rules_and_labels_targets_as_they_expect(helpers, rendered):
    (rule,) = helpers.find(rendered["monitoring"], "PrometheusRule")
    alerts = yaml.safe_load((helpers.DEPLOY / "compose/prometheus/alerts.yml").read_text())
    assert rule["spec"] == alerts
    (monitor,) = helpers.find(rendered["monitoring"], "PodMonitor")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert {"targetLabel": "job", "replacement": "hearth"} in endpoint["relabelings"]
    assert any(r["targetLabel"] == "hearth_service" for r in endpoint["relabelings"])
    server = helpers.one(rendered["prod"], "Deployment", "session")["spec"]["template"]["metadata"]["labels"]
    assert all(server.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [
        helpers.one(rendered["prod"], "Namespace", "hearth")["metadata"]["name"]
    ]


def test_each_registered_subscriber_reads_its_topics_only_and_uses_its_own_groups(helpers, rendered):
    users = {u["metadata"]["name"]: u for u in helpers.find(rendered["strimzi"], "KafkaUser")}
    topics = {spec.topic for spec in CATALOG.values()} | {dlq_topic(s) for s in SERVICES}
    assert SUBSCRIBERS, "the registry ships at least one subscriber"
    for name, subscriber in SUBSCRIBERS.items():
        user = users[name]
        assert user["metadata"]["annotations"]["hearth.io/team"] == subscriber.team
        for topic in sorted(topics):
            assert _allowed(user, "topic", topic, "Read") == (topic in subscriber.topics), (name, topic)
            assert not _allowed(user, "topic", topic, "Write"), (name, topic)
        assert _allowed(user, "group", f"{name}.main", "Read")
        assert not _allowed(user, "group", name, "Read")  # only `<name>.…`, so `analytics` cannot take `analyticsx`
        assert not any(_allowed(user, "group", service, "Read") for service in SERVICES)
