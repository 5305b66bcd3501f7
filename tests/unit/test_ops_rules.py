"""The Prometheus configuration, alert rules and Grafana dashboard in ops/: they parse, every
alert has its runbook section, and every metric they name is one the service exposes (a renamed
metric fails here, not silently in production)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from service.metrics import exposed_names

OPS = Path(__file__).resolve().parents[2] / "ops"
METRIC = re.compile(r"\baftercare_[a-z0-9_]+")
RUNBOOKS = {
    "AftercareOutboxAge": "docs/operations.md#outbox-age",
    "AftercareSenderDown": "docs/operations.md#sender-down",
    "AftercareCriticalAlertUnacknowledged": "docs/operations.md#critical-alert-unacknowledged",
    "AftercareTelegram429Storm": "docs/operations.md#429-storm",
    "AftercareDatabaseDown": "docs/operations.md#database-down",
}


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((OPS / "prometheus" / "rules.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _panel_exprs() -> list[str]:
    dashboard = json.loads((OPS / "grafana" / "aftercare.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _family(name: str) -> str:
    return re.sub(r"_(total|bucket|sum|count|created)$", "", name)


def test_the_five_alerts_have_their_runbook_summary_and_description() -> None:
    rules = _rules()
    assert {rule["alert"]: rule["annotations"]["runbook"] for rule in rules} == RUNBOOKS
    for rule in rules:
        assert rule["annotations"]["summary"].strip()
        assert rule["annotations"]["description"].strip()
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_every_runbook_link_lands_on_a_section_of_the_runbook() -> None:
    runbook = (OPS.parent / "docs" / "operations.md").read_text()
    # GitHub's anchors: a heading lowercased, spaces to hyphens, punctuation dropped.
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", runbook, re.MULTILINE)
    }
    for link in RUNBOOKS.values():
        assert link.split("#")[1] in anchors, link


def test_rules_and_dashboard_name_only_exposed_metrics() -> None:
    exposed = exposed_names()
    named = {
        name
        for expr in [rule["expr"] for rule in _rules()] + _panel_exprs()
        for name in METRIC.findall(expr)
    }
    assert named
    assert named - exposed == set()


def test_the_dashboard_shows_every_metric_family() -> None:
    families = {_family(name) for name in exposed_names() if name.startswith("aftercare_")}
    shown = {_family(name) for expr in _panel_exprs() for name in METRIC.findall(expr)}
    assert families - shown == set()


def test_prometheus_scrapes_every_role() -> None:
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules.yml"]
    targets = set()
    for job in config["scrape_configs"]:
        assert job["metrics_path"] == "/metrics"
        for static in job.get("static_configs", []):
            targets.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{name}:{dns['port']}" for name in dns["names"])
    assert targets == {"web:8080", "bot:9100", "worker:9100"}
