"""Prometheus configuration, alert rules and the Grafana dashboard: valid, tested, and about metrics that exist."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from hearth.contracts import CATALOG, SERVICES
from hearth.kit import metrics

PROMETHEUS = "deploy/compose/prometheus"
DASHBOARD = "deploy/compose/grafana/dashboards/hearth.json"
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
