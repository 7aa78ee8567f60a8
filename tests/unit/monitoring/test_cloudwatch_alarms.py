"""The CloudWatch alarms (infrastructure/modules/monitoring) watch only metrics the foreman
publishes (foreman/cloudwatch.py), in the environment dimension it uses, and all notify the
on-call topic; the AWS stack wires the module in."""

from __future__ import annotations

import re

import hcl2

from common.environments import REPO_ROOT
from common.metrics import QueueFigures, Snapshot
from foreman.cloudwatch import METRIC_NAMES, metric_data

MODULE = REPO_ROOT / "infrastructure/modules/monitoring"


def _main() -> dict:
    with (MODULE / "main.tf").open() as handle:
        return hcl2.load(handle)


def test_every_alarm_watches_a_published_metric_and_notifies_on_call():
    text = (MODULE / "main.tf").read_text()
    watched = set(re.findall(r'metric(?:_name)?\s*=\s*"([A-Za-z]+)"', text))
    assert watched == {"ForemanHeartbeatAgeSeconds", "OldestPendingSeconds", "BackupAgeSeconds",
                       "LakeInSync", "AttemptsFailed", "AttemptsSucceeded",
                       "ReplicationLatency"}  # fmt: skip
    # S3 publishes the replication figure (namespace AWS/S3); the foreman publishes the rest.
    assert watched - {"ReplicationLatency"} <= set(METRIC_NAMES)
    assert 'namespace           = "AWS/S3"' in text
    resources = [(kind.strip('"'), bodies) for block in _main()["resource"]
                 for kind, bodies in block.items()]  # fmt: skip
    alarms = [body for kind, bodies in resources if kind == "aws_cloudwatch_metric_alarm"
              for body in bodies.values()]  # fmt: skip
    assert len(alarms) == 3  # the threshold alarms (for_each), failure rate, replication
    for alarm in alarms:
        assert [action.strip('"') for action in alarm["alarm_actions"]] == [
            "${aws_sns_topic.this[0].arn}"
        ]
    assert any(kind == "aws_sns_topic" for kind, _ in resources)


def test_the_aws_stack_uses_the_monitoring_module():
    with (REPO_ROOT / "infrastructure/stacks/aws/main.tf").open() as handle:
        modules = {name.strip('"') for block in hcl2.load(handle)["module"] for name in block}
    assert "monitoring" in modules


def test_environment_wide_figures_are_published_for_the_alarms():
    import datetime as dt

    snapshot = Snapshot(
        taken_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        queues=[QueueFigures("spot", "download", pending=2, oldest_pending_seconds=50.0),
                QueueFigures("default", "process", pending=1, oldest_pending_seconds=70.0)],
        failure_reasons=[], foremen=[], backup=None, lake_check=None,
    )  # fmt: skip
    data = metric_data("prod", snapshot)
    env_wide = {d["MetricName"]: d["Value"] for d in data if len(d["Dimensions"]) == 1}
    assert env_wide["PendingJobs"] == 3 and env_wide["OldestPendingSeconds"] == 70.0
    # nothing leads and there is no backup: those are left missing (alarms treat it as breaching)
    assert "ForemanHeartbeatAgeSeconds" not in env_wide and "BackupAgeSeconds" not in env_wide
    assert {d["MetricName"] for d in data} <= set(METRIC_NAMES)
