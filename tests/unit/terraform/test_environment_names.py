"""staging.toml and prod.toml name only what the AWS stack creates.

The stack's names are worked out from its HCL (python-hcl2) and the environment's tfvars: the
job queue of every worker pool, the lake and backup buckets, the log group, the outputs that
`terraform:<output>` settings read (the database secret among them), and the job-definition
names the foreman's IAM policy lets it register and submit. A renamed module, pool or bucket
on either side fails here, not in a 3 a.m. deploy. The instance sizes below are AWS's
published memory per instance type: a memory tier must fit the largest type of the pool its
jobs are routed to, or Batch leaves those jobs RUNNABLE forever.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, TERRAFORM_PREFIX, load_environment
from foreman.routing import QueueRouting
from ops.batch.registration import environment_definition_names
from tests.unit.terraform.test_stacks_static import AWS_STACK, INFRA, _blocks, _tfvars, _unquote

# GiB of memory per instance type named in the environments' tfvars (AWS's instance pages).
INSTANCE_MEMORY_GIB = {
    "m5.xlarge": 16,
    "m5.2xlarge": 32,
    "m6i.large": 8,
    "m6i.xlarge": 16,
    "m6i.2xlarge": 32,
    "c6i.2xlarge": 16,
    "r6i.2xlarge": 64,
    "r6i.4xlarge": 128,
    "r6i.8xlarge": 256,
}
# The ECS agent and the OS keep part of an instance's memory; 10% is a safe bound.
USABLE_SHARE = 0.9
ENVIRONMENTS = ("staging", "prod")
_INTERPOLATION = re.compile(r"\$\{([^{}]*(?:\"[^\"]*\"[^{}]*)*)\}")


def _evaluate(expression: str, scope: dict[str, Any]) -> str:
    """The few expressions the stack's names use: var.X, local.X, each.key, replace()."""
    expression = expression.strip()
    call = re.fullmatch(r'replace\((.+), "(.*)", "(.*)"\)', expression)
    if call:
        return _evaluate(call.group(1), scope).replace(call.group(2), call.group(3))
    if expression in scope:
        return str(scope[expression])
    raise AssertionError(f"cannot evaluate {expression!r} statically")


def _render(template: str, scope: dict[str, Any]) -> str:
    return _INTERPOLATION.sub(lambda m: _evaluate(m.group(1), scope), _unquote(template))


def _single(blocks: list[dict[str, Any]] | dict[str, Any], name: str) -> Any:
    """The body of block `name` among HCL blocks (a list of {name: body}, or one such dict)."""
    for block in [blocks] if isinstance(blocks, dict) else blocks:
        for key, body in block.items():
            if _unquote(key) == name:
                return body
    raise AssertionError(f"no block {name}")


def _resource(blocks: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The body of `kind "name"` among resource or data blocks."""
    for block in blocks:
        for key, bodies in block.items():
            if _unquote(key) == kind and any(_unquote(n) == name for n in bodies):
                return _single(bodies, name)
    raise AssertionError(f"no {kind}.{name}")


class Stack:
    """The AWS stack's names for one environment's tfvars."""

    def __init__(self, env_name: str) -> None:
        tfvars = _tfvars(INFRA / f"environments/{env_name}.tfvars")
        defaults = {
            name: _unquote(body.get("default"))
            for name, body in _blocks(AWS_STACK, "variable").items()
        }
        self.variables = {**defaults, **{k: _unquote(v) for k, v in tfvars.items()}}
        main = hcl2.load((AWS_STACK / "main.tf").open())
        scope = {f"var.{k}": v for k, v in self.variables.items() if isinstance(v, str | int)}
        scope["local.prefix"] = _render(main["locals"][0]["prefix"], scope)
        self.prefix = scope["local.prefix"]
        modules = main["module"]
        self.buckets = {
            _render(_single(modules, name)["bucket"], scope)
            for name in ("lake_bucket", "backup_bucket")
        }
        self.log_group = _render(_single(modules, "logging")["name"], scope)
        self.outputs = set(_blocks(AWS_STACK, "output"))
        self.pools: dict[str, dict[str, Any]] = self.variables["batch_pools"]
        batch_name = _render(_single(modules, "batch")["name"], scope)
        batch = hcl2.load((INFRA / "modules/batch/main.tf").open())
        queue = _resource(batch["resource"], "aws_batch_job_queue", "this")
        self.job_queues = {
            pool: _render(queue["name"], {"var.name": batch_name, "each.key": pool})
            for pool in self.pools
        }
        iam = hcl2.load((INFRA / "modules/iam/main.tf").open())
        foreman = _resource(iam["data"], "aws_iam_policy_document", "foreman")
        iam_name = _render(_single(modules, "iam")["name"], scope)
        self.definition_patterns = {
            _render(resource, {"var.name": iam_name, "local.partition": "aws",
                               "local.region": "*", "local.account": "*"}).split("/", 1)[1]
            for statement in foreman["statement"]
            for resource in statement.get("resources", [])
            if "job-definition/" in str(resource)
        }  # fmt: skip


@pytest.fixture(params=ENVIRONMENTS)
def shipped(request, monkeypatch):
    monkeypatch.delenv(ENVIRONMENTS_DIR_VARIABLE, raising=False)
    return load_environment(request.param), Stack(request.param)


def test_the_module_internals_keep_the_names_they_are_given():
    s3 = hcl2.load((INFRA / "modules/s3_bucket/main.tf").open())
    assert _resource(s3["resource"], "aws_s3_bucket", "this")["bucket"] == "${var.bucket}"
    logs = hcl2.load((INFRA / "modules/logging/main.tf").open())
    group = _resource(logs["resource"], "aws_cloudwatch_log_group", "this")
    assert group["name"] == "${var.name}"


def test_buckets_and_log_group_are_the_stacks(shipped):
    env, stack = shipped
    assert stack.prefix == f"refinery-{env.name}"
    assert env.lake.bucket in stack.buckets
    assert env.logs["group"] == stack.log_group
    for offsite in _strings(env.section("backups")):
        if offsite.startswith(TERRAFORM_PREFIX):
            continue  # an output: checked by test_every_terraform_reference_names_a_declared_output
        if offsite.startswith("s3://") or "bucket" in offsite:
            assert offsite.removeprefix("s3://").split("/")[0] in stack.buckets


def test_every_terraform_reference_names_a_declared_output(shipped):
    env, stack = shipped
    references = [
        value.removeprefix(TERRAFORM_PREFIX)
        for value in _strings({"database": env.database.__dict__, **env.extra})
        if value.startswith(TERRAFORM_PREFIX)
    ]
    assert "database_master_secret_arn" in references  # the password comes from the secret
    assert set(references) <= stack.outputs


def test_job_queues_are_the_pools_the_stack_creates(shipped):
    env, stack = shipped
    configured = env.section("batch")["job_queues"]
    assert configured == stack.job_queues
    routing = QueueRouting.for_environment(env)
    assert set(routing.queues) <= set(stack.pools)
    assert set(env.executor.queues) == set(stack.pools)


def test_each_pool_can_run_what_is_routed_to_it(shipped):
    env, stack = shipped
    routes = {(r["kind"], r["memory_tier"]): r["queue"]
              for r in QueueRouting.for_environment(env).as_rows()}  # fmt: skip
    for pool, capacity in env.executor.queues.items():
        # Every job takes at least one vCPU: a larger capacity could never all run at once.
        assert capacity <= stack.pools[pool]["max_vcpus"], pool
    for tier, memory in enumerate(env.executor.memory_tiers_mb):
        for kind in ("survey", "download", "process"):
            pool = routes[kind, tier]
            largest = max(
                INSTANCE_MEMORY_GIB[_unquote(t)] for t in stack.pools[pool]["instance_types"]
            )
            assert memory <= largest * 1024 * USABLE_SHARE, (kind, memory, pool)


def test_job_definitions_are_names_the_foreman_may_register_and_submit(shipped):
    env, stack = shipped
    names = environment_definition_names(env)
    assert names and stack.definition_patterns
    for name in names:
        assert all(fnmatch.fnmatchcase(name, pattern) for pattern in stack.definition_patterns)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def test_the_instance_table_covers_every_instance_type_in_the_tfvars():
    for path in sorted(Path(INFRA / "environments").glob("*.tfvars")):
        pools = _tfvars(path).get("batch_pools", {})
        for pool in pools.values():
            assert {_unquote(t) for t in pool["instance_types"]} <= set(INSTANCE_MEMORY_GIB)
