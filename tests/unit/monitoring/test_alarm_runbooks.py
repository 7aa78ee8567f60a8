"""Every alarm in the Terraform is live and answerable: it names a runbook that exists, whose
text names `inv` commands that exist (the alarm's own description names one too), and its
missing-data rule is chosen and explained in a comment beside it. The lake's second copy is
replicated across regions, and its alarm watches the replication rule the stack creates."""

from __future__ import annotations

import re

import hcl2
import pytest

from common.environments import REPO_ROOT
from ops.tasks import ns

MONITORING = REPO_ROOT / "infrastructure/modules/monitoring/main.tf"
TASKS = set(ns.task_names) | {alias for aliases in ns.task_names.values() for alias in aliases}
_INV = re.compile(r"inv ([a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)?)")
_RUNBOOK = re.compile(r"ops/runbooks/[a-z_]+\.py")


def _alarms() -> dict[str, dict]:
    """{alarm: {description, missing}} for the for_each alarms and each single alarm."""
    with MONITORING.open() as handle:
        document = hcl2.load(handle)
    found = {}
    for name, body in document["locals"][0]["alarms"].items():
        found[name] = {"description": body["description"], "missing": body["missing"]}
    for block in document["resource"]:
        for kind, bodies in block.items():
            if kind.strip('"') != "aws_cloudwatch_metric_alarm":
                continue
            for name, body in bodies.items():
                if name.strip('"') == "threshold":
                    continue  # the for_each over the locals above
                found[name.strip('"')] = {
                    "description": body["alarm_description"],
                    "missing": body["treat_missing_data"],
                }
    return found


ALARMS = _alarms()


def test_the_alarms_are_the_ones_on_call_knows():
    assert set(ALARMS) == {
        "no-foreman-heartbeat", "oldest-pending-too-old", "backup-too-old", "lake-out-of-sync",
        "failure_rate", "replication_behind",
    }  # fmt: skip


def _inv_commands(text: str) -> set[str]:
    return set(_INV.findall(text))


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_names_a_runbook_whose_inv_commands_exist(alarm):
    description = ALARMS[alarm]["description"]
    [runbook] = _RUNBOOK.findall(description)
    text = (REPO_ROOT / runbook).read_text()
    named = _inv_commands(text)
    assert named, f"{runbook} names no inv command"
    assert named <= TASKS, f"{runbook}: no such task {named - TASKS}"
    in_description = _inv_commands(description)
    assert in_description and in_description <= TASKS and in_description <= named, alarm


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_chooses_and_explains_its_missing_data_rule(alarm):
    assert ALARMS[alarm]["missing"].strip('"') in ("breaching", "notBreaching")
    text = MONITORING.read_text()
    # the comment line right above `missing`/`treat_missing_data` in the alarm's block
    anchor = f"{alarm} = {{" if "-" in alarm else f'"{alarm}" {{'
    block = text.split(anchor, 1)[1].split("\n  }\n", 1)[0]
    before = re.split(r"\n\s*(?:missing|treat_missing_data)\s*=", block, maxsplit=1)[0]
    comment = []
    for line in reversed(before.rstrip().splitlines()):
        if not line.strip().startswith("#"):
            break
        comment.insert(0, line.strip())
    assert comment and comment[0].startswith("# Missing"), (alarm, comment)


def test_heartbeat_and_backup_page_on_silence_the_lake_check_does_not():
    assert ALARMS["no-foreman-heartbeat"]["missing"] == '"breaching"'
    assert ALARMS["backup-too-old"]["missing"] == '"breaching"'
    # The deploy's smoke step runs the first lake check: silence is not a lake fault.
    assert ALARMS["lake-out-of-sync"]["missing"] == '"notBreaching"'
    steps = (REPO_ROOT / "ops/deploy/steps.py").read_text()
    assert "check_lake(ctx.env)" in steps.split("def smoke_check", 1)[1].split("def ", 1)[0]


def test_the_lake_is_replicated_to_another_region_and_its_lag_alarmed():
    stack = (REPO_ROOT / "infrastructure/stacks/aws/main.tf").read_text()
    with (REPO_ROOT / "infrastructure/stacks/aws/main.tf").open() as handle:
        document = hcl2.load(handle)
    providers = [p['"aws"'] for p in document["provider"]]
    assert any(p.get("alias") == '"replica"' and p["region"] == "${var.replica_region}"
               for p in providers)  # fmt: skip
    modules = {name.strip('"'): body for block in document["module"]
               for name, body in block.items()}  # fmt: skip
    assert modules["lake_replica"]["providers"] == {"aws": "${aws.replica}"}
    replication = modules["lake_replication"]
    assert replication["source_bucket"] == "${module.lake_bucket.versioned_bucket}"
    assert replication["destination_bucket"] == "${module.lake_replica.versioned_bucket}"
    assert "rule_id            = module.lake_replication.rule_id" in stack
    module = (REPO_ROOT / "infrastructure/modules/s3_replication/main.tf").read_text()
    assert 'resource "aws_s3_bucket_replication_configuration" "this"' in module
    # Replication Time Control and metrics on: S3 publishes what the alarm watches.
    assert "replication_time {" in module and "metrics {" in module
    assert "s3:ReplicateObject" in module and "s3:GetObjectVersionForReplication" in module
    alarm = MONITORING.read_text().split('"replication_behind" {', 1)[1]
    assert 'metric_name         = "ReplicationLatency"' in alarm
    for dimension in ("SourceBucket", "DestinationBucket", "RuleId"):
        assert f"{dimension} " in alarm
    for name in ("staging", "prod"):
        with (REPO_ROOT / f"infrastructure/environments/{name}.tfvars").open() as handle:
            values = hcl2.load(handle)
        assert values["replica_region"] != values["region"]
