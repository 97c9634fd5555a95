"""The Prometheus alert rules and the Grafana dashboard shipped in deploy/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import yaml

from tests.servers import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "tandem.json"
# Every series a rule or panel may name: what the code registers (and Prometheus' own `up`).
SOURCES = [
    ROOT / "services" / "worker" / "metrics.py",
    ROOT / "services" / "api" / "middleware.py",
]
_SERIES = re.compile(r"\b((?:tandem|process|python)_[a-z_]+)")


def _exported() -> set[str]:
    names = set()
    for source in SOURCES:
        text = source.read_text()
        names |= set(re.findall(r'"(tandem_[a-z_]+)"', text))
        names |= {f"tandem_{n}" for n in re.findall(r'\("([a-z_]+)", "', text)}
    suffixed = {f"{n}{s}" for n in names for s in ("_total", "_bucket", "_count", "_sum")}
    return names | suffixed


def _known(series: str) -> bool:
    return series in _exported() or series.startswith(("process_", "python_"))


def test_alert_rules_cover_the_operators_cases_and_name_exported_series() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yaml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert set(alerts) == {
        "TandemWorkerDown",
        "TandemMatchingTriggerBacklog",
        "TandemMatchingRunsFailing",
        "TandemWebhookBacklogGrowing",
        "TandemChangeFeedSequencerLag",
    }
    for name, rule in alerts.items():
        assert rule["annotations"]["summary"], name
        unknown = [s for s in _SERIES.findall(rule["expr"]) if not _known(s)]
        assert not unknown, (name, unknown)


def test_alert_rules_pass_their_promtool_unit_tests_where_promtool_is_installed() -> None:
    promtool = shutil.which("promtool")
    rules = yaml.safe_load((PROMETHEUS / "alerts.test.yaml").read_text())
    assert rules["rule_files"] == ["alerts.yaml"]
    if promtool is None:
        # CI installs it (.ci/run); elsewhere the parse above and this file's shape must do.
        assert all(t["alert_rule_test"] for t in rules["tests"])
        return
    result = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yaml"],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_panels_query_exported_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(queries) >= 10
    for query in queries:
        unknown = [s for s in _SERIES.findall(query) if not _known(s)]
        assert not unknown, (query, unknown)
