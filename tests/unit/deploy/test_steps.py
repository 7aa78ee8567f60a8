"""The steps that call other areas, against stand-in modules with their documented APIs.

`ops.images`, `ops.terraform.stack` and `ops.batch` are other areas' modules, not in this
checkout: each test installs a stand-in module under that name that records its calls and
follows the documented signatures (keyword-only arguments included), so a call that does not
match the contract fails here.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from foreman.environments import (
    AwsSettings,
    DatabaseSettings,
    Environment,
    ExecutorSettings,
    LakeSettings,
)
from ops.deploy.audit import DeployRecord
from ops.deploy.errors import DeployError
from ops.deploy.settings import DeploySettings
from ops.deploy.steps import (
    StepContext,
    build_and_push_images,
    other_area,
    plan_and_apply,
    preview_plan,
    register_job_definitions,
)


@dataclass
class StandInSummary:
    creates: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    replaces: list = field(default_factory=list)
    destroys: list = field(default_factory=list)
    protected_changes: list = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.creates or self.updates or self.replaces or self.destroys)


@dataclass
class StandInPlan:
    plan_file: Path
    summary: StandInSummary


class StandInGuardError(Exception):
    pass


def standin_stack(summary: StandInSummary, calls: list) -> types.ModuleType:
    """Stand-in for ops.terraform.stack (documented API, recording calls)."""
    module = types.ModuleType("ops.terraform.stack")

    def plan_stack(env, *, out_dir=None):
        calls.append("plan")
        return StandInPlan(Path("stack.tfplan"), summary)

    def guard_plan(plan, *, allow_destroy):
        calls.append(f"guard(allow_destroy={allow_destroy})")
        if plan.summary.destroys and not allow_destroy:
            raise StandInGuardError("destroys refused")

    def apply_plan(env, plan):
        calls.append("apply")

    def read_outputs(env):
        calls.append("outputs")
        return {"job_queue": "q"}

    def render_plan_summary(summary):
        return f"{len(summary.creates)} to create"

    module.__dict__.update(
        plan_stack=plan_stack,
        guard_plan=guard_plan,
        apply_plan=apply_plan,
        read_outputs=read_outputs,
        render_plan_summary=render_plan_summary,
    )
    return module


@pytest.fixture
def ctx(tmp_path) -> StepContext:
    env = Environment(
        "staging",
        tmp_path / "staging.toml",
        DatabaseSettings("embedded"),
        LakeSettings("filesystem", root="lake"),
        ExecutorSettings("null"),
        {},
        AwsSettings(),
        {},
    )
    settings = DeploySettings(
        "staging", "locks", "us-east-1", None, registry="reg.example/refinery", base_image="base"
    )
    record = DeployRecord("staging", "deploy", "v1.0.0-dev", "abc123")
    shown: list = []
    return StepContext(env, settings, "v1.0.0-dev", "abc123", False, record, shown.append)


def test_plan_is_guarded_before_it_is_applied_and_counts_are_recorded(ctx, monkeypatch):
    calls: list = []
    summary = StandInSummary(creates=["a", "b"], updates=["c"])
    monkeypatch.setitem(sys.modules, "ops.terraform.stack", standin_stack(summary, calls))
    facts = plan_and_apply(ctx)
    assert calls == ["plan", "guard(allow_destroy=False)", "apply", "outputs"]
    assert facts["creates"] == 2 and facts["applied"] is True
    assert ctx.record.plan["creates"] == 2 and ctx.record.plan["updates"] == 1
    assert ctx.scratch["outputs"] == {"job_queue": "q"}


def test_an_empty_plan_is_not_applied(ctx, monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "ops.terraform.stack", standin_stack(StandInSummary(), calls))
    assert plan_and_apply(ctx)["applied"] is False
    assert "apply" not in calls


def test_allow_destroy_lets_a_plan_replacing_a_protected_resource_through(ctx, monkeypatch):
    calls: list = []
    summary = StandInSummary(
        replaces=["aws_db_instance.this"], protected_changes=["aws_db_instance.this"]
    )
    monkeypatch.setitem(sys.modules, "ops.terraform.stack", standin_stack(summary, calls))
    ctx.allow_destroy = True
    plan_and_apply(ctx)
    assert calls[:3] == ["plan", "guard(allow_destroy=True)", "apply"]
    assert ctx.record.plan["replaces"] == 1


def test_a_guard_refusal_stops_before_apply_and_dry_run_shows_it(ctx, monkeypatch):
    calls: list = []
    summary = StandInSummary(destroys=["aws_s3_bucket.logs"])
    monkeypatch.setitem(sys.modules, "ops.terraform.stack", standin_stack(summary, calls))
    with pytest.raises(StandInGuardError):
        plan_and_apply(ctx)
    assert "apply" not in calls
    assert preview_plan(ctx)[0].startswith("REFUSED: destroys refused")


def test_images_and_job_definitions_use_the_documented_calls(ctx, monkeypatch):
    calls: list = []
    images = types.ModuleType("ops.images")

    def build_images(*, registry, version, git_sha, base_image, names=None):
        calls.append(("build", registry, version, git_sha, base_image))
        return ["built"]

    def push_images(built):
        calls.append(("push", tuple(built)))
        return [types.SimpleNamespace(reference="reg.example/refinery/workers:v1.0.0-dev")]

    images.__dict__.update(build_images=build_images, push_images=push_images)
    batch = types.ModuleType("ops.batch")

    def register(env, *, version, image, outputs):
        calls.append(("register", version, image, tuple(outputs)))
        return [types.SimpleNamespace(arn="arn:def:1")]

    batch.register_job_definitions = register
    monkeypatch.setitem(sys.modules, "ops.images", images)
    monkeypatch.setitem(sys.modules, "ops.batch", batch)
    ctx.facts["images"] = build_and_push_images(ctx)
    ctx.scratch["outputs"] = {"job_queue": "q"}
    facts = register_job_definitions(ctx)
    assert calls == [
        ("build", "reg.example/refinery", "v1.0.0-dev", "abc123", "base"),
        ("push", ("built",)),
        ("register", "v1.0.0-dev", "reg.example/refinery/workers:v1.0.0-dev", ("job_queue",)),
    ]
    assert facts == {
        "image": "reg.example/refinery/workers:v1.0.0-dev",
        "definitions": ["arn:def:1"],
    }


def test_a_missing_area_is_a_one_line_error():
    with pytest.raises(DeployError, match=r"ops\.not_here is not available in this checkout"):
        other_area("ops.not_here")
