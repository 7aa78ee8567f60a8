"""Real Terraform 1.0.3 + the null provider, state in moto S3, locks in moto DynamoDB.

Proves the orchestration end to end: plan to a file, apply exactly that plan, read outputs,
idempotence, the destructive guard, and state locking with a forced unlock.
"""

from __future__ import annotations

import json
import time

import pytest

from common.errors import CommandError
from ops.tf.outputs import REQUIRED_OUTPUTS, read_outputs
from ops.tf.plan import DestructiveChangeError, guard_plan
from ops.tf.runner import StateLockedError
from ops.tf.stack import apply_plan, force_unlock, plan_stack

pytestmark = pytest.mark.integration
DATABASE = "module.database.null_resource.this[0]"


def _apply(env, *, allow_destroy=False):
    plan = plan_stack(env)
    guard_plan(plan, allow_destroy=allow_destroy)
    apply_plan(env, plan)
    return plan


def test_plan_apply_outputs_round_trip_keeps_state_in_s3_and_is_idempotent(make_tf_env):
    tf_env = make_tf_env()
    env = tf_env.env

    plan = plan_stack(env)
    assert plan.plan_file.is_file()
    assert DATABASE in plan.summary.creates
    # one stand-in per module of the AWS stack, the way in (instance_connect_endpoint) included
    assert len(plan.summary.creates) == 10 and not plan.summary.protected_changes
    assert set(REQUIRED_OUTPUTS) <= set(plan.summary.output_changes)
    guard_plan(plan, allow_destroy=False)
    apply_plan(env, plan)

    outputs = read_outputs(env)
    assert set(REQUIRED_OUTPUTS) <= set(outputs)
    assert outputs["lake_bucket"] == f"refinery-{tf_env.name}-lake"
    assert outputs["batch_job_queues"] == {
        "spot": f"refinery-{tf_env.name}-spot",
        "large_memory": f"refinery-{tf_env.name}-large-memory",
    }
    assert outputs["database_port"] == 5432
    # Kept on this machine, so `host = "terraform:database_endpoint"` resolves without a call.
    assert env.terraform_output("database_endpoint") == outputs["database_endpoint"]

    state_object = tf_env.backend.s3().get_object(
        Bucket=tf_env.backend.bucket, Key=tf_env.state_key
    )
    state = json.loads(state_object["Body"].read())
    addresses = {f"{r['module']}.{r['type']}.{r['name']}" for r in state["resources"]}
    assert "module.database.null_resource.this" in addresses
    assert state["outputs"]["lake_bucket"]["value"] == outputs["lake_bucket"]
    # Terraform keeps the state's checksum next to the lock in the lock table.
    digest = tf_env.backend.dynamodb().get_item(
        TableName=tf_env.backend.lock_table, Key={"LockID": {"S": f"{tf_env.lock_id}-md5"}}
    )
    assert len(digest["Item"]["Digest"]["S"]) == 32

    second = plan_stack(env)
    assert not second.summary.has_changes, second.summary


@pytest.mark.slow
def test_replacing_the_database_is_refused_by_name_and_allowed_with_allow_destroy(make_tf_env):
    tf_env = make_tf_env()
    env = tf_env.env
    _apply(env)
    before = read_outputs(env)
    serial_before = _state_serial(tf_env)

    tf_env.set_variables(database_identifier="refinery-restored-db")
    plan = plan_stack(env)
    assert plan.summary.replaces == [DATABASE]
    assert plan.summary.protected_changes == [DATABASE]
    with pytest.raises(DestructiveChangeError, match=r"module\.database\.null_resource\.this"):
        guard_plan(plan, allow_destroy=False)
    assert read_outputs(env) == before, "a refused plan must change nothing"
    assert _state_serial(tf_env) == serial_before

    guard_plan(plan, allow_destroy=True)
    apply_plan(env, plan)
    after = read_outputs(env)
    assert after["database_endpoint"].startswith("refinery-restored-db.")
    assert after["database_endpoint"] != before["database_endpoint"]


def test_address_patterns_from_the_environment_protect_untagged_resources(make_tf_env):
    tf_env = make_tf_env(protected=("module.network.*",))
    env = tf_env.env
    _apply(env)
    tf_env.set_variables(vpc_cidr="10.99.0.0/16")
    plan = plan_stack(env)
    assert plan.summary.protected_changes == ["module.network.null_resource.this[0]"]
    with pytest.raises(DestructiveChangeError, match=r"module\.network"):
        guard_plan(plan, allow_destroy=False)


@pytest.mark.slow
def test_a_stale_plan_is_refused_after_the_state_moved(make_tf_env):
    tf_env = make_tf_env()
    env = tf_env.env
    _apply(env)
    tf_env.set_variables(foreman_instance_type="t3.large", ecr_repositories=["foreman"])
    stale = plan_stack(env)
    tf_env.set_variables(ecr_repositories=["foreman", "workers", "tools"])
    _apply(env)
    applied = read_outputs(env)
    with pytest.raises(CommandError, match="stale"):
        apply_plan(env, stale)
    assert read_outputs(env) == applied


def test_a_held_lock_names_its_holder_and_force_unlock_releases_it(make_tf_env):
    tf_env = make_tf_env()
    env = tf_env.env
    _apply(env)
    lock_id = "5d0c2b4e-7a51-4bd1-9d0f-3f7e4c3a9b21"
    info = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "oncall@bastion-7",
        "Version": "1.0.3",
        "Created": "2026-11-21T03:00:00Z",
        "Path": tf_env.lock_id,
    }
    dynamodb = tf_env.backend.dynamodb()
    dynamodb.put_item(
        TableName=tf_env.backend.lock_table,
        Item={"LockID": {"S": tf_env.lock_id}, "Info": {"S": json.dumps(info)}},
    )

    with pytest.raises(StateLockedError) as caught:
        plan_stack(env)
    message = str(caught.value)
    assert "oncall@bastion-7" in message and lock_id in message
    assert f"inv tf.unlock -e {tf_env.name} {lock_id}" in message

    force_unlock(env, lock_id)
    item = dynamodb.get_item(
        TableName=tf_env.backend.lock_table, Key={"LockID": {"S": tf_env.lock_id}}
    )
    assert "Item" not in item
    assert not plan_stack(env).summary.has_changes


def _state_serial(tf_env) -> int:
    for _ in range(3):
        body = tf_env.backend.s3().get_object(Bucket=tf_env.backend.bucket, Key=tf_env.state_key)
        state = json.loads(body["Body"].read())
        if "serial" in state:
            return state["serial"]
        time.sleep(0.1)
    raise AssertionError("state has no serial")
