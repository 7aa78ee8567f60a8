"""`inv tf.state`, `tf.replace` and `tf.destroy`: real inv, real Terraform, the null stack."""

from __future__ import annotations

import json

import pytest

from common.errors import ExitCode
from tests.acceptance.terraform.test_tf_tasks import DATABASE, inv

pytestmark = pytest.mark.acceptance
NETWORK = "module.network.null_resource.this[0]"
RESOURCES = 10


def state(name: str) -> dict[str, dict]:
    result = inv("tf.state", "-e", name, "--json")
    assert result.returncode == 0, result.stderr
    return {row["address"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def applied(make_tf_env):
    tf_env = make_tf_env()
    result = inv("tf.apply", "-e", tf_env.name, "--yes")
    assert result.returncode == 0, result.stderr
    return tf_env


def test_state_lists_every_resource_and_marks_the_protected_ones(applied):
    rows = state(applied.name)
    assert len(rows) == RESOURCES
    assert rows[DATABASE]["protected"] is True and rows[NETWORK]["protected"] is False
    assert rows[DATABASE]["type"] == "null_resource" and rows[DATABASE]["id"]
    table = inv("tf.state", "-e", applied.name)
    assert DATABASE in table.stdout and f"{RESOURCES} resources" in table.stdout


@pytest.mark.slow
def test_replace_gives_one_resource_a_new_id_and_guards_protected_ones(applied):
    before = state(applied.name)
    replaced = inv("tf.replace", "-e", applied.name, NETWORK, "--yes")
    assert replaced.returncode == 0, replaced.stderr
    after = state(applied.name)
    assert after[NETWORK]["id"] != before[NETWORK]["id"]
    assert {a: r["id"] for a, r in after.items() if a != NETWORK} == {
        a: r["id"] for a, r in before.items() if a != NETWORK
    }

    refused = inv("tf.replace", "-e", applied.name, DATABASE, "--yes")
    assert refused.returncode == ExitCode.REFUSED and DATABASE in refused.stderr
    assert state(applied.name)[DATABASE]["id"] == before[DATABASE]["id"]
    allowed = inv("tf.replace", "-e", applied.name, DATABASE, "--yes", "--allow-destroy")
    assert allowed.returncode == 0, allowed.stderr
    assert state(applied.name)[DATABASE]["id"] != before[DATABASE]["id"]

    unknown = inv("tf.replace", "-e", applied.name, "module.nosuch.null_resource.this[0]")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().endswith(f"(inv tf.state -e {applied.name})")


@pytest.mark.slow
def test_destroy_shows_the_plan_and_needs_the_name_typed_back_and_allow_destroy(applied):
    name = applied.name
    declined = inv("tf.destroy", "-e", name, "--allow-destroy", stdin="yes\n")
    assert declined.returncode == 1 and f"type '{name}'" in declined.stderr
    assert declined.stdout.count(" destroy ") == RESOURCES and DATABASE in declined.stdout
    assert len(state(name)) == RESOURCES

    guarded = inv("tf.destroy", "-e", name, stdin=f"{name}\n")
    assert guarded.returncode == ExitCode.REFUSED and "--allow-destroy" in guarded.stderr
    assert len(state(name)) == RESOURCES

    destroyed = inv("tf.destroy", "-e", name, "--allow-destroy", stdin=f"{name}\n")
    assert destroyed.returncode == 0, destroyed.stderr
    assert state(name) == {}
