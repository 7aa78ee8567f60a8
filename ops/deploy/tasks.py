"""`inv deploy`, `deploy.history`, `deploy.unlock` and `inv rollback`: releasing Refinery."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task

if TYPE_CHECKING:
    from ops.deploy.audit import DeployRecord
    from ops.deploy.pipeline import DeployResult

WAIT_HELP = "seconds to wait for another deploy's lock before giving up (default: fail at once)"


@task(
    default=True,
    help={
        "env": ENV_HELP,
        "version": "release to deploy: vX.Y.Z-dev (staging) or vX.Y.Z (prod); default: tag at HEAD",
        "dry_run": "show every step and the Terraform plan without changing anything",
        "allow_destroy": "let the plan destroy or replace protected resources (database, lake…)",
        "wait": WAIT_HELP,
    },
)
def deploy(
    c: Context,
    env: str,
    version: str = "",
    dry_run: bool = False,
    allow_destroy: bool = False,
    wait: int = 0,
) -> None:
    """Deploy a release: images, Terraform, job definitions, migrations, foreman restart."""
    from common.environments import REPO_ROOT
    from ops.deploy.pipeline import run_deploy
    from ops.progress import progress_display
    from ops.release.versions import git_sha, version_at_head

    settings = environment(env)
    version = version or version_at_head(REPO_ROOT, settings.name)
    with _sigterm_as_interrupt(), progress_display() as progress:
        result = run_deploy(
            settings,
            version=version,
            git_sha=git_sha(REPO_ROOT),
            dry_run=dry_run,
            allow_destroy=allow_destroy,
            wait_seconds=float(wait),
            report=console.print,
            progress=progress,
        )
    _render(result)


@task(help={"env": ENV_HELP, "dry_run": "show what the rollback would do", "wait": WAIT_HELP})
def rollback(c: Context, env: str, dry_run: bool = False, wait: int = 0) -> None:
    """Return job definitions and the foreman to the previous successful release."""
    from ops.deploy.pipeline import run_rollback

    settings = environment(env)
    with _sigterm_as_interrupt():
        result = run_rollback(
            settings, dry_run=dry_run, wait_seconds=float(wait), report=console.print
        )
    _render(result)


@task(help={"env": ENV_HELP, "limit": "show at most this many records", "json": JSON_HELP})
def history(c: Context, env: str, limit: int = 20, json: bool = False) -> None:
    """Show the deploy audit log: who deployed what, when, and how it ended."""
    from ops.deploy.audit import AuditLog
    from ops.deploy.settings import lock_table

    records = AuditLog(lock_table(environment(env))).history(limit=int(limit))
    if json:
        print_json([record.as_dict() for record in records])
        return
    print_table(
        f"{env} deploys",
        [
            "started",
            "action",
            "version",
            "commit",
            "by",
            "plan +/~/±/-",
            "steps",
            "outcome",
            "error",
        ],
        [_history_row(record) for record in records],
        caption="" if records else "no deploys recorded",
    )


@task(help={"env": ENV_HELP, "execute": "really remove the stale lock (default: dry run)"})
def unlock(c: Context, env: str, execute: bool = False) -> None:
    """Break a stale deploy lock (expired lease); a dry run unless --execute."""
    from ops.deploy.lock import break_stale_lock
    from ops.deploy.settings import lock_table

    result = break_stale_lock(lock_table(environment(env)), execute=execute)
    if result.lock is None:
        console.print(f"{env}: no deploy lock is held")
    elif result.removed:
        console.print(f"{env}: removed the stale deploy lock of {result.lock.describe()}")
    else:
        console.print(
            f"{env}: would remove the stale deploy lock of {result.lock.describe()} "
            "(dry run; add --execute)"
        )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A cancelled CI job (SIGTERM) still records the deploy and releases its lock."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _history_row(record: DeployRecord) -> list[str]:
    plan = record.plan
    counts = "/".join(str(plan.get(k, 0)) for k in ("creates", "updates", "replaces", "destroys"))
    action = record.action + (f" from {record.rolled_back_from}" if record.rolled_back_from else "")
    row = [
        record.started_at[:16].replace("T", " "),
        action,
        record.version,
        record.git_sha[:8],
        record.actor,
        counts if plan else "",
        str(len(record.steps_done)),
        record.outcome,
        record.error,
    ]
    return row


def _render(result: DeployResult) -> None:
    record = result.record
    if result.dry_run:
        print_table(
            f"dry run: {record.action} {record.version} to {record.environment} (nothing changed)",
            ["step", "what it would do"],
            [(preview.name, "\n".join(preview.lines)) for preview in result.previews],
        )
        return
    print_table(
        f"{record.action} {record.version} to {record.environment}: {record.outcome}",
        ["step", "result"],
        [(name, _facts_line(record.facts.get(name, {}))) for name in record.steps_done],
        caption=f"audit record {record.deploy_id}"
        + (f", resumed {record.resumed_from}" if record.resumed_from else ""),
    )


def _facts_line(facts: dict) -> str:
    return ", ".join(
        f"{key}={value}" for key, value in facts.items() if value not in ("", [], None)
    )


ns = Collection("deploy")
ns.add_task(deploy, default=True)
ns.add_task(history)
ns.add_task(unlock)
