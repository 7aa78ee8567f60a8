"""`inv deploy` and `inv rollback`: the steps in order, under the lock, into the audit log.

A deploy checks the version against the environment, takes the environment's deploy lock,
writes an audit record, runs each step from the step table (`ops.deploy.steps.STEP_TABLE`,
or the table a caller passes) and saves the record after every step. The lock is released
and the record finished (succeeded, failed or interrupted, with the error line) in `finally`.

Re-running a deploy that did not finish redoes every step — all of them are idempotent —
except those marked reusable whose facts the unfinished record of the same version and commit
already holds (pushed images). A dry run takes no lock and writes nothing: it shows every step
and the Terraform plan.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.db import database_password
from common.environments import Environment, load_environment
from common.errors import ExitCode, RefineryError, first_line
from common.failpoints import failpoint
from common.settings.deployment import DeploySection
from common.shell import redact
from ops.deploy.audit import AuditLog, DeployRecord, now_iso
from ops.deploy.errors import DeployError, NothingToRollBackError
from ops.deploy.lock import DeployLock, deploy_lock
from ops.deploy.settings import lock_table
from ops.deploy.steps import DEPLOY_STEPS, ROLLBACK_STEPS, STEP_TABLE, Step, StepContext
from ops.progress import Progress, quiet
from ops.release.versions import check_version_for_environment
from ops.staging.report import require_green_rehearsal

Reporter = Callable[[Any], None]


@dataclass
class PreviewedStep:
    name: str
    title: str
    lines: list[str]


@dataclass
class DeployResult:
    """What a deploy, rollback or dry run did; the task renders it."""

    record: DeployRecord
    dry_run: bool = False
    previews: list[PreviewedStep] = field(default_factory=list)
    reused_steps: list[str] = field(default_factory=list)


def _quiet(_: Any) -> None:
    return None


def run_deploy(
    env: Environment,
    *,
    version: str,
    git_sha: str,
    dry_run: bool = False,
    allow_destroy: bool = False,
    wait_seconds: float = 0,
    report: Reporter = _quiet,
    progress: Progress = quiet,
) -> DeployResult:
    """Deploy `version` (built from `git_sha`) to `env`; `progress` shows image builds.

    Before each step runs, the failpoint `deploy.step.<name>` (common/failpoints.py) lets a
    failure or an interrupt be injected there from outside."""
    check_version_for_environment(version, env.name)
    settings = DeploySection.for_environment(env)
    locks = lock_table(env)
    if settings.require_rehearsal:
        # Before anything else, dry runs included: nothing goes out unrehearsed.
        require_green_rehearsal(load_environment(settings.rehearsal_environment), git_sha, env.name)
    table = STEP_TABLE
    record = DeployRecord(env.name, "deploy", version, git_sha)
    ctx = StepContext(env, settings, version, git_sha, allow_destroy, record, report)
    ctx.progress = progress
    if dry_run:
        return _preview(ctx, table, DEPLOY_STEPS)
    with deploy_lock(locks, version=version, operation="deploy", wait_seconds=wait_seconds) as lock:
        audit = AuditLog(locks)
        reused = _resume_from(audit.latest(), record, table, ctx)
        return _run_steps(
            audit,
            lock,
            ctx,
            table,
            DEPLOY_STEPS,
            reused=reused,
        )


def run_rollback(
    env: Environment,
    *,
    dry_run: bool = False,
    wait_seconds: float = 0,
    report: Reporter = _quiet,
) -> DeployResult:
    """Point job definitions and the foreman back at the previous successful version."""
    settings = DeploySection.for_environment(env)
    locks = lock_table(env)
    table = STEP_TABLE
    if dry_run:
        current, target = rollback_target(AuditLog(locks))
        ctx = _rollback_context(env, settings, current, target, report)
        return _preview(ctx, table, ROLLBACK_STEPS)
    with deploy_lock(
        locks, version="rollback", operation="rollback", wait_seconds=wait_seconds
    ) as lock:
        audit = AuditLog(locks)
        current, target = rollback_target(audit)
        ctx = _rollback_context(env, settings, current, target, report)
        return _run_steps(
            audit,
            lock,
            ctx,
            table,
            ROLLBACK_STEPS,
            reused=[],
        )


def rollback_target(audit: AuditLog) -> tuple[DeployRecord, DeployRecord]:
    """(the release to leave, the successful release to return to).

    After a deploy that failed part-way, the environment may run some of that release, so
    the rollback returns to the last successful one. Otherwise it returns to the successful
    release before the current one (with another version and recorded images).
    """
    records = audit.history()
    successes = [record for record in records if record.outcome == "succeeded"]
    environment = audit.settings.environment
    if not successes:
        raise NothingToRollBackError(
            f"nothing to roll back to: no successful deploy of {environment} is recorded"
        )
    latest = records[0]
    if latest.outcome != "succeeded" and latest.version != successes[0].version:
        return latest, successes[0]
    current = successes[0]
    for record in successes[1:]:
        if record.version != current.version and record.facts.get("images", {}).get("worker_image"):
            return current, record
    raise NothingToRollBackError(
        f"nothing to roll back to: {environment} runs {current.version} and no earlier "
        f"successful version is recorded (see `inv deploy.history -e {environment}`); deploy "
        "a fixed version instead"
    )


def _rollback_context(
    env: Environment,
    settings: DeploySection,
    current: DeployRecord,
    target: DeployRecord,
    report: Reporter,
) -> StepContext:
    check_version_for_environment(target.version, env.name)
    record = DeployRecord(env.name, "rollback", target.version, target.git_sha)
    record.rolled_back_from = current.version
    record.facts["images"] = dict(target.facts["images"])
    record.steps_done.append("images")
    ctx = StepContext(env, settings, target.version, target.git_sha, False, record, report)
    ctx.facts["images"] = record.facts["images"]
    return ctx


def _resume_from(
    previous: DeployRecord | None, record: DeployRecord, table: Mapping[str, Step], ctx: StepContext
) -> list[str]:
    """Carry reusable facts over from an unfinished deploy of the same release."""
    if (
        previous is None
        or previous.outcome == "succeeded"
        or previous.action != "deploy"
        or (previous.version, previous.git_sha) != (record.version, record.git_sha)
    ):
        return []
    record.resumed_from = previous.deploy_id
    reused = []
    for name in DEPLOY_STEPS:
        if (
            table[name].reusable_on_resume
            and name in previous.steps_done
            and name in previous.facts
        ):
            record.facts[name] = previous.facts[name]
            ctx.facts[name] = previous.facts[name]
            record.steps_done.append(name)
            reused.append(name)
    return reused


def _run_steps(
    audit: AuditLog,
    lock: DeployLock,
    ctx: StepContext,
    table: Mapping[str, Step],
    order: Sequence[str],
    *,
    reused: list[str],
) -> DeployResult:
    record = ctx.record
    audit.save(record)
    name = "start"
    try:
        for name in order:
            step = table[name]
            if name in reused:
                ctx.report(f"[{name}] reused from unfinished deploy {record.resumed_from}")
                continue
            if lock.lost:
                raise DeployError(
                    "the deploy lock's lease could not be renewed, so another deploy may have "
                    f"started; stopped before {name} — check `inv deploy.history -e "
                    f"{ctx.env.name}` before running again"
                )
            ctx.report(f"[{name}] {step.title}…")
            failpoint(f"deploy.step.{name}")
            facts = step.run(ctx)
            ctx.facts[name] = facts
            record.facts[name] = facts
            if name not in record.steps_done:
                record.steps_done.append(name)
            audit.save(record)
        record.outcome = "succeeded"
    except BaseException as exc:
        record.outcome = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        record.error = f"{name}: {one_line_error(exc, ctx.env)}"
        if isinstance(exc, Exception):
            raise StepFailedError(
                f"{record.action} of {record.version} to {ctx.env.name} failed at step "
                f"{record.error}; fix the cause and run it again (finished steps are safe to redo)",
                exit_code=getattr(exc, "exit_code", ExitCode.FAILURE),
            ) from exc
        raise
    finally:
        record.finished_at = now_iso()
        audit.save(record)
    return DeployResult(record, reused_steps=reused)


class StepFailedError(DeployError):
    """A step raised; the message names the step and carries its one-line, masked error."""

    def __init__(self, message: str, *, exit_code: int = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _preview(ctx: StepContext, table: Mapping[str, Step], order: Sequence[str]) -> DeployResult:
    previews = []
    for name in order:
        step = table[name]
        try:
            lines = step.preview(ctx)
        except RefineryError as exc:
            lines = [f"cannot preview: {exc}"]
        previews.append(PreviewedStep(name, step.title, lines))
    previews.append(PreviewedStep("record", "record the outcome", ["write the audit record"]))
    return DeployResult(ctx.record, dry_run=True, previews=previews)


def known_secrets(env: Environment) -> list[str]:
    """Values that must never reach the audit log or the terminal."""
    values = [os.environ.get(name, "") for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    if env.database.kind == "dsn":
        with contextlib.suppress(RefineryError):
            values.append(database_password(env))
    return [value for value in values if value]


def one_line_error(exc: BaseException, env: Environment) -> str:
    """The error as one masked line, for the audit record and the terminal."""
    line = first_line(exc, typed=not isinstance(exc, RefineryError))
    return redact(line, known_secrets(env))
