"""A plan's JSON becomes a summary by action; protected destroys/replaces are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from ops.tf.plan import DestructiveChangeError, TerraformPlan, guard_plan, summarize_plan
from ops.tf.render import render_plan_summary


def _change(address, actions, before=None, mode="managed"):
    return {"address": address, "mode": mode, "change": {"actions": actions, "before": before}}


PLAN = {
    "resource_changes": [
        _change("module.network.aws_vpc.this[0]", ["create"]),
        _change("module.logging.aws_cloudwatch_log_group.this[0]", ["update"], {"tags": {}}),
        _change(
            "module.database.aws_db_instance.this[0]",
            ["delete", "create"],
            {"tags": {"protected": "true"}},
        ),
        _change('module.batch.aws_batch_compute_environment.this["spot"]', ["create", "delete"]),
        _change('module.ecr.aws_ecr_repository.this["old"]', ["delete"], {"tags": None}),
        _change("module.lock_table.aws_dynamodb_table.this[0]", ["delete"], {"tags": {}}),
        _change(
            "module.lake_bucket.aws_s3_bucket.this[0]", ["update"], {"tags": {"protected": "true"}}
        ),
        _change("data.aws_region.current", ["read"], mode="data"),
        _change("module.foreman.aws_instance.this[0]", ["no-op"]),
    ],
    "output_changes": {
        "lake_bucket": {"actions": ["no-op"]},
        "database_endpoint": {"actions": ["update"]},
    },
}


def test_changes_are_grouped_by_action_and_replacements_are_recognised_both_ways():
    summary = summarize_plan(PLAN)
    assert summary.creates == ["module.network.aws_vpc.this[0]"]
    assert summary.updates == [
        "module.lake_bucket.aws_s3_bucket.this[0]",
        "module.logging.aws_cloudwatch_log_group.this[0]",
    ]
    assert summary.replaces == [
        'module.batch.aws_batch_compute_environment.this["spot"]',
        "module.database.aws_db_instance.this[0]",
    ]
    assert summary.destroys == [
        'module.ecr.aws_ecr_repository.this["old"]',
        "module.lock_table.aws_dynamodb_table.this[0]",
    ]
    assert summary.output_changes == ["database_endpoint"]
    assert summary.has_changes


def test_protection_comes_from_the_tag_and_from_address_patterns_but_not_from_updates():
    tag_only = summarize_plan(PLAN)
    assert tag_only.protected_changes == ["module.database.aws_db_instance.this[0]"]
    with_patterns = summarize_plan(PLAN, ["module.lock_table.*", "module.lake_bucket.*"])
    # the lake bucket is only updated in place: not destructive, not flagged
    assert with_patterns.protected_changes == [
        "module.database.aws_db_instance.this[0]",
        "module.lock_table.aws_dynamodb_table.this[0]",
    ]


def test_null_stand_ins_are_protected_through_their_triggers():
    plan = {
        "resource_changes": [
            _change(
                "module.database.null_resource.this[0]",
                ["delete", "create"],
                {"triggers": {"identifier": "a", "protected": "true"}},
            )
        ]
    }
    assert summarize_plan(plan).protected_changes == ["module.database.null_resource.this[0]"]


def test_an_empty_plan_has_no_changes():
    summary = summarize_plan({"resource_changes": [_change("x.y", ["no-op"])]})
    assert not summary.has_changes


def _plan(summary) -> TerraformPlan:
    return TerraformPlan("staging", Path("p.tfplan"), summary, {})


def test_guard_refuses_protected_changes_and_names_every_resource():
    plan = _plan(summarize_plan(PLAN, ["module.lock_table.*"]))
    with pytest.raises(DestructiveChangeError) as caught:
        guard_plan(plan, allow_destroy=False)
    message = str(caught.value)
    assert "module.database.aws_db_instance.this[0]" in message
    assert "module.lock_table.aws_dynamodb_table.this[0]" in message
    assert "--allow-destroy" in message and "\n" not in message


def test_guard_lets_protected_changes_through_when_allowed_and_ignores_safe_plans():
    guard_plan(_plan(summarize_plan(PLAN)), allow_destroy=True)
    safe = {"resource_changes": [_change("module.network.aws_vpc.this[0]", ["delete", "create"])]}
    guard_plan(_plan(summarize_plan(safe)), allow_destroy=False)


def test_rendered_table_marks_protected_resources():
    console = Console(record=True, width=200)
    console.print(render_plan_summary(summarize_plan(PLAN)))
    lines = console.export_text().splitlines()
    database = next(line for line in lines if "aws_db_instance" in line)
    assert "replace" in database and "PROTECTED" in database
    vpc = next(line for line in lines if "aws_vpc" in line)
    assert "create" in vpc and "PROTECTED" not in vpc
