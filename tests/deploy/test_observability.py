"""Prometheus configuration, alert rules, the Grafana dashboard and datasources, the collector's pipelines: valid,
tested, about metrics that exist, and logs and traces linked both ways."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
import structlog
import yaml
from prometheus_client.metrics import MetricWrapperBase

from hearth.contracts import CATALOG, SERVICES
from hearth.kit import metrics
from hearth.kit.logging import bind_context, configure_logging, get_logger

PROMETHEUS = "deploy/compose/prometheus"
DASHBOARD = "deploy/compose/grafana/dashboards/hearth.json"
DATASOURCES = "deploy/compose/grafana/provisioning/datasources"
COLLECTOR = "deploy/compose/otel/collector.yaml"
DOCKER_LOGS = "/var/lib/docker/containers"
SERVICE_LABEL = "com.docker.compose.service"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PORTS = {"screening": 8081, "fulfillment": 8082, "session": 8083, "followup": 8084}
SCRAPE_LABELS = {"job", "instance", "hearth_service"}


def _exposed() -> dict[str, set[str]]:
    """Every series name the kit exposes, with its label names."""
    result: dict[str, set[str]] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        labels = set(value._labelnames)
        name, kind = value._name, value._type
        if kind == "counter":
            result[f"{name}_total"] = labels
        elif kind == "histogram":
            for suffix in ("_bucket", "_count", "_sum"):
                result[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        else:
            result[name] = labels
    return result


def _selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names used in its selector) for every hearth_* metric in a PromQL expression."""
    found = []
    for match in re.finditer(r"\b(hearth_[a-z_]+)\s*(\{([^}]*)\})?", expr):
        labels = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", match.group(3) or ""))
        found.append((match.group(1), labels))
    return found


@pytest.fixture(scope="module")
def alerts(helpers) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((helpers.ROOT / PROMETHEUS / "alerts.yml").read_text())
    return data


@pytest.fixture(scope="module")
def dashboard(helpers) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((helpers.ROOT / DASHBOARD).read_text())
    return data


def _dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_promtool_accepts_the_configuration_and_rules(helpers):
    promtool = helpers.tool("promtool")
    helpers.run([promtool, "check", "config", "prometheus.yml"], cwd=helpers.ROOT / PROMETHEUS)
    helpers.run([promtool, "check", "rules", "alerts.yml"], cwd=helpers.ROOT / PROMETHEUS)


def test_alerts_fire_on_the_data_they_are_meant_for(helpers):
    """deploy/compose/prometheus/alerts.test.yml: synthetic series in, expected alerts (and silences) out."""
    helpers.run([helpers.tool("promtool"), "test", "rules", "alerts.test.yml"], cwd=helpers.ROOT / PROMETHEUS)


def test_the_required_alerts_exist(alerts):
    names = {rule["alert"] for group in alerts["groups"] for rule in group["rules"]}
    assert {
        "HearthServiceDown",
        "HearthDeadLettersGrowing",
        "HearthOutboxStuck",
        "HearthTimersLate",
        "HearthCheckInEscalation",
    } <= names
    for group in alerts["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"page", "ticket", "notify"}
            assert rule["annotations"]["runbook"].startswith("docs/operations.md#")


def test_every_runbook_link_has_a_section(helpers, alerts):
    text = (helpers.ROOT / "docs/operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    }
    for group in alerts["groups"]:
        for rule in group["rules"]:
            anchor = rule["annotations"]["runbook"].split("#", 1)[1]
            assert anchor in anchors, anchor


def test_alerts_and_dashboard_use_only_metrics_and_labels_the_kit_exposes(alerts, dashboard):
    exposed = _exposed()
    exprs = [rule["expr"] for group in alerts["groups"] for rule in group["rules"]] + _dashboard_exprs(dashboard)
    used = set()
    for expr in exprs:
        for name, labels in _selectors(expr):
            assert name in exposed, f"{name} is not a metric of hearth.kit.metrics"
            assert labels <= exposed[name] | SCRAPE_LABELS, (name, labels - exposed[name])
            used.add(name)
    # the dashboard covers the funnel, latency, outbox, timers and dead letters
    for name in (
        "hearth_events_consumed_total",
        "hearth_outbox_published_total",
        "hearth_handler_seconds_bucket",
        "hearth_outbox_backlog",
        "hearth_outbox_oldest_age_seconds",
        "hearth_timer_lateness_seconds_bucket",
        "hearth_dlq_records_total",
    ):
        assert any(name in e for e in _dashboard_exprs(dashboard)), name


def test_event_types_named_in_alerts_and_dashboard_exist(alerts, dashboard):
    text = json.dumps(alerts) + json.dumps(dashboard)
    for event_type in set(re.findall(r"org\.hearth\.[a-z]+\.[a-z-]+\.v[0-9]+", text)):
        assert event_type in CATALOG, event_type


def test_prometheus_scrapes_the_four_services_on_their_ports(helpers):
    config = yaml.safe_load((helpers.ROOT / PROMETHEUS / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "hearth"]
    targets = {c["labels"]["hearth_service"]: c["targets"] for c in job["static_configs"]}
    assert targets == {s: [f"{s}:{PORTS[s]}"] for s in SERVICES}
    assert job["metrics_path"] == "/metrics"


def test_grafana_is_provisioned_with_the_dashboard(helpers, compose, dashboard):
    datasource = yaml.safe_load(
        (helpers.ROOT / "deploy/compose/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    provider = yaml.safe_load((helpers.ROOT / "deploy/compose/grafana/provisioning/dashboards/hearth.yml").read_text())[
        "providers"
    ][0]
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"] if v.startswith("./"))
    assert mounts["./deploy/compose/grafana/dashboards"] == provider["options"]["path"]
    assert datasource["url"] == "http://prometheus:9090"
    uids = {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p}
    assert uids == {datasource["uid"]}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24


def test_traces_flow_from_the_services_through_the_collector_to_jaeger_and_grafana(helpers, compose):
    """Services → OTLP/HTTP → collector (profile observability) → Jaeger → Grafana's Jaeger datasource."""
    collector_config = yaml.safe_load((helpers.ROOT / "deploy/compose/otel/collector.yaml").read_text())
    assert collector_config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    (exporter,) = collector_config["service"]["pipelines"]["traces"]["exporters"]
    assert collector_config["exporters"][exporter]["endpoint"] == "jaeger:4317"
    mounts = dict(v.split(":")[:2] for v in compose["services"]["otel-collector"]["volumes"])
    assert mounts["./deploy/compose/otel/collector.yaml"] == "/etc/otelcol/config.yaml"
    for service in SERVICES:
        env = helpers.compose_environment(compose["services"][service])
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""  # off unless HEARTH_OTLP_ENDPOINT is set
    text = (helpers.ROOT / "docker-compose.yml").read_text()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT: ${HEARTH_OTLP_ENDPOINT:-}" in text
    assert "HEARTH_OTLP_ENDPOINT=http://otel-collector:4318" in text
    datasources = yaml.safe_load(
        (helpers.ROOT / "deploy/compose/grafana/provisioning/datasources/jaeger.yml").read_text()
    )["datasources"]
    (jaeger,) = datasources
    assert jaeger["type"] == "jaeger" and jaeger["url"] == "http://jaeger:16686"
    assert jaeger["jsonData"]["tracesToMetrics"]["datasourceUid"] == "hearth-prometheus"


def test_the_dashboard_shows_consumer_lag(dashboard):
    assert any("hearth_consumer_lag" in e for e in _dashboard_exprs(dashboard))


@pytest.fixture(scope="module")
def datasources(helpers) -> dict[str, dict[str, Any]]:
    """Every provisioned Grafana datasource, by uid."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((helpers.ROOT / DATASOURCES).glob("*.yml")):
        for datasource in yaml.safe_load(path.read_text())["datasources"]:
            assert datasource["uid"] not in found, datasource["uid"]
            found[datasource["uid"]] = datasource
    return found


@pytest.fixture
def log_line(capsys: pytest.CaptureFixture[str]) -> str:
    """A line as a service writes it to stdout inside a trace (hearth.kit.logging, as configured in production)."""
    root = logging.getLogger()
    level, handlers, config = root.level, list(root.handlers), structlog.get_config()
    try:
        configure_logging("session")
        capsys.readouterr()
        with bind_context(trace_id=TRACE_ID, correlation_id="c-1"):
            get_logger("hearth.test").info("handled", subject="p-1")
        out = capsys.readouterr().out
    finally:  # later tests get logging back as it was
        root.setLevel(level)
        root.handlers[:] = handlers
        structlog.configure(**config)
    (line,) = out.splitlines()
    return line


def test_the_collector_ships_the_services_docker_logs_to_loki(helpers, compose):
    """Services' stdout → Docker json-file logs (labelled with the compose service) → the collector's filelog
    receiver (read-only host mount) → OTLP/HTTP → Loki; the traces pipeline still ends in Jaeger."""
    config = yaml.safe_load((helpers.ROOT / COLLECTOR).read_text())
    pipelines = config["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger"]
    (receiver,) = pipelines["logs"]["receivers"]
    assert receiver.split("/")[0] == "filelog"
    filelog = config["receivers"][receiver]
    assert all(pattern.startswith(DOCKER_LOGS + "/") for pattern in filelog["include"])
    assert filelog["storage"] in config["service"]["extensions"]
    operators = filelog["operators"]
    parsers = [op for op in operators if op["type"] == "json_parser"]
    assert len(parsers) == 2  # Docker's wrapper, then the service's JSON line
    assert parsers[1]["parse_from"] == "body"
    # the container's compose service name becomes service.name, so its stream is named like its spans
    (naming,) = [op for op in operators if op.get("to") == 'resource["service.name"]']
    assert SERVICE_LABEL in naming["from"]
    (filtering,) = [op for op in operators if op["type"] == "filter"]
    assert SERVICE_LABEL in filtering["expr"]
    (retain,) = [op for op in operators if op["type"] == "retain"]
    for field in ("trace_id", "service", "level"):
        assert f"attributes.{field}" in retain["fields"]
    (exporter,) = pipelines["logs"]["exporters"]
    assert exporter.split("/")[0] == "otlphttp"
    assert config["exporters"][exporter]["endpoint"] == "http://loki:3100/otlp"

    collector = compose["services"]["otel-collector"]
    assert collector["user"] == "0"  # Docker's log files belong to root
    assert collector["cap_drop"] == ["ALL"] and collector["read_only"] is True
    assert f"/var/lib/docker/containers:{DOCKER_LOGS}:ro" in collector["volumes"]
    for service in SERVICES:
        logging_options = compose["services"][service]["logging"]
        assert logging_options["driver"] == "json-file"
        assert logging_options["options"]["labels"] == SERVICE_LABEL


def test_loki_takes_otlp_and_keeps_logs_for_a_set_time(helpers, compose):
    loki = compose["services"]["loki"]
    assert loki["image"].startswith("grafana/loki:3.")
    mounts = dict(v.split(":")[:2] for v in loki["volumes"] if v.startswith("./"))
    assert mounts["./deploy/compose/loki/loki.yaml"] == "/etc/loki/config.yaml"
    assert "-config.file=/etc/loki/config.yaml" in loki["command"]
    config = yaml.safe_load((helpers.ROOT / "deploy/compose/loki/loki.yaml").read_text())
    assert config["server"]["http_listen_port"] == 3100
    # OTLP ingestion stores attributes as structured metadata: TSDB, schema v13, allowed
    (schema,) = config["schema_config"]["configs"]
    assert (schema["store"], schema["schema"], schema["object_store"]) == ("tsdb", "v13", "filesystem")
    assert config["limits_config"]["allow_structured_metadata"] is True
    assert re.fullmatch(r"[0-9]+h", config["limits_config"]["retention_period"])
    assert config["compactor"]["retention_enabled"] is True


def test_grafana_links_a_log_line_to_its_trace_and_a_span_to_its_logs(datasources, log_line):
    loki, jaeger = datasources["hearth-loki"], datasources["hearth-jaeger"]
    assert loki["type"] == "loki" and loki["url"] == "http://loki:3100"
    assert jaeger["type"] == "jaeger"
    # log line → trace: a derived field on the line's trace_id, an internal link to the Jaeger datasource
    links = [f for f in loki["jsonData"]["derivedFields"] if f.get("datasourceUid") == jaeger["uid"]]
    assert links, "no derived field of the Loki datasource links to Jaeger"
    (link,) = links
    assert link["url"] == "$${__value.raw}"  # ${__value.raw} once Grafana has read the file
    match = re.search(link["matcherRegex"], log_line)
    assert match is not None, (link["matcherRegex"], log_line)
    assert match.group(1) == TRACE_ID
    # span → logs: the Jaeger datasource points back at Loki, by trace id, in the stream named like the span's service
    back = jaeger["jsonData"]["tracesToLogsV2"]
    assert back["datasourceUid"] == loki["uid"]
    assert back["filterByTraceID"] is True
    assert {"key": "service.name", "value": "service_name"} in back["tags"]
