"""The shipped alert rules are valid Prometheus rules (promtool), fire on the series the
exporter would serve, and name only metrics the exporter serves."""

from __future__ import annotations

import re
import subprocess
import textwrap

import yaml

from common.environments import REPO_ROOT
from foreman.exporter import METRICS
from tests.support.services import which_or_fail

RULES = REPO_ROOT / "infrastructure/monitoring/alerts.yml"
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _promtool() -> str:
    return which_or_fail("promtool", "install Debian's prometheus package")


def _expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_promtool_accepts_the_rules():
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_every_rule_names_only_metrics_the_exporter_serves():
    served = {name.removesuffix("_total") for name in METRICS} | {"refinery_deployed_info"}
    for alert, expr in _expressions().items():
        named = set(re.findall(r"\b(refinery_[a-z_]+)", expr))
        assert named, f"{alert} names no Refinery metric"
        for name in named:
            base = name.removesuffix("_total")
            for suffix in _HISTOGRAM_SUFFIXES:
                base = base.removesuffix(suffix)
            assert base in served, f"{alert} names {name}, which the exporter does not serve"


def test_the_alerts_fire_on_the_series_that_mean_trouble(tmp_path):
    """promtool's rule unit tests: each alert fires on its trouble and not on a healthy series.
    (Annotations are left out of the copy under test: promtool would compare their text.)"""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "tests.yml").write_text(textwrap.dedent("""\
        rule_files: [alerts.yml]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              - series: refinery_oldest_pending_seconds{queue="spot", kind="download"}
                values: "4000+60x30"
              - series: refinery_oldest_pending_seconds{queue="default", kind="process"}
                values: "0x30"
              - series: refinery_lake_in_sync
                values: "0x30"
              - series: refinery_lake_differences
                values: "3x30"
              - series: refinery_backup_age_seconds
                values: "100000x30"
              - series: refinery_backup_verified
                values: "1x30"
              - series: refinery_attempts_total{queue="spot", kind="download", outcome="errored"}
                values: "0+5x30"
              - series: refinery_attempts_total{queue="spot", kind="download", outcome="succeeded"}
                values: "0+1x30"
            alert_rule_test:
              - eval_time: 20m
                alertname: RefineryOldestPendingTooOld
                exp_alerts:
                  - exp_labels: {severity: warning, queue: spot, kind: download}
              - eval_time: 20m
                alertname: RefineryLakeOutOfSync
                exp_alerts:
                  - exp_labels: {severity: critical}
              - eval_time: 20m
                alertname: RefineryBackupTooOld
                exp_alerts:
                  - exp_labels: {severity: critical}
              - eval_time: 20m
                alertname: RefineryBackupUnverified
                exp_alerts: []
              - eval_time: 5m
                alertname: RefineryNoForemanHeartbeat
                exp_alerts:
                  - exp_labels: {severity: critical}
              - eval_time: 29m
                alertname: RefineryFailureRateHigh
                exp_alerts:
                  - exp_labels: {severity: warning, queue: spot, kind: download}
          - interval: 1m
            input_series:
              - series: refinery_foreman_heartbeat_age_seconds
                values: "3x30"
            alert_rule_test:
              - eval_time: 20m
                alertname: RefineryNoForemanHeartbeat
                exp_alerts: []
        """))  # fmt: skip
    result = subprocess.run(
        [_promtool(), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
