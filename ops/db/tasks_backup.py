"""`inv db.backup | db.backups | db.verify | db.restore | db.prune | db.snapshot |
db.scheduled-backup`: backups you can trust. Logic lives in `ops/db/backups/`."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime

from invoke import Context
from invoke.exceptions import Exit
from rich.text import Text

from common.errors import ExitCode
from common.inputs import check_text
from ops.taskkit import (
    ENV_HELP,
    JSON_HELP,
    console,
    environment,
    print_json,
    print_table,
    styled,
    task,
)

NAME_HELP = "backup name from inv db.backups, or `latest` for the newest"
MAX_NOTE_LENGTH = 500


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def human_age(moment: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


@task(
    help={
        "env": ENV_HELP,
        "note": "why this backup was taken (kept in its manifest; one line of text)",
        "physical": "pg_basebackup of the whole cluster (clusters Refinery runs), not pg_dump",
        "offsite": "also copy it to the environment's S3 backup bucket",
    }
)
def backup(
    c: Context, env: str, note: str = "", physical: bool = False, offsite: bool = False
) -> None:
    """Take a backup (logical by default) with a manifest of checksums and row counts."""
    from ops.db.backups.catalog import publish_newest_backup
    from ops.db.backups.logical import take_logical_backup
    from ops.db.backups.offsite import upload_backup
    from ops.db.backups.physical import take_physical_backup
    from ops.db.backups.settings import backup_settings
    from ops.progress import progress_display

    note = check_text(note, "--note", max_length=MAX_NOTE_LENGTH)
    settings = environment(env)
    backups = backup_settings(settings)
    take = take_physical_backup if physical else take_logical_backup
    with progress_display() as progress:
        record = take(settings, backups, note=note, progress=progress)
    publish_newest_backup(settings)
    tables = f", {len(record.manifest.tables)} tables" if record.kind == "logical" else ""
    console.print(
        f"{settings.name}: backup {record.name} ({record.kind}, "
        f"{human_size(record.size_bytes)}{tables}) in {record.path}"
    )
    if offsite:
        copy = upload_backup(settings, backups, record)
        console.print(f"copied off-site to s3://{copy.bucket}/{copy.prefix}")


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def backups(c: Context, env: str, json: bool = False) -> None:
    """List backups: name, kind, age, size, verified, note; and what killed runs left."""
    from ops.db.backups.catalog import find_leftovers, list_backups
    from ops.db.backups.settings import backup_settings

    settings = environment(env)
    directory = backup_settings(settings).directory
    records = list_backups(directory)
    leftovers = find_leftovers(directory)
    if json:
        print_json(
            [record.as_json() for record in records] + [left.as_json() for left in leftovers]
        )
        return
    verified_text = {True: "yes", False: "FAILED", None: "no"}
    print_table(
        f"{settings.name} backups",
        ["name", "kind", "age", "size", "verified", "note"],
        [
            (
                r.name,
                r.kind,
                human_age(r.created_at),
                human_size(r.size_bytes),
                verified_text[r.verified],
                r.note,
            )
            for r in reversed(records)
        ]
        + [
            (
                left.name,
                f"{left.kind} ({left.state})",
                human_age(left.modified_at),
                human_size(left.size_bytes),
                "-",
                "unfinished: inv db.prune --execute removes it" if not left.in_progress else "",
            )
            for left in leftovers
        ],
        caption=str(directory),
    )


@task(positional=["name"], help={"env": ENV_HELP, "name": NAME_HELP, "json": JSON_HELP})
def verify(c: Context, env: str, name: str | None = None, json: bool = False) -> None:
    """Prove a backup restores: check its files, restore it to scratch, compare, record."""
    from ops.db.backups.catalog import find_backup, publish_newest_backup
    from ops.db.backups.settings import backup_settings
    from ops.db.backups.verify import verify_backup
    from ops.progress import progress_display

    settings = environment(env)
    record = find_backup(backup_settings(settings).directory, _named(name))
    with progress_display() as progress:
        result = verify_backup(settings, record, progress=progress)
    publish_newest_backup(settings)
    if json:
        print_json(asdict(result))
    elif result.ok:
        console.print(f"{record.name}: verified in {result.seconds:.1f} s — {result.detail}")
    if not result.ok:
        raise Exit(
            f"error: {record.name} failed verification: {result.detail}", code=ExitCode.OUT_OF_SYNC
        )


@task(
    positional=["name"],
    help={
        "env": ENV_HELP,
        "name": NAME_HELP,
        "execute": "really restore (default: dry run saying what would happen)",
        "yes": "do not ask to type the environment name back (needed for prod without a TTY)",
        "from_offsite": "download the backup from the S3 backup bucket first",
        "keep_old": "keep the replaced database/data directory instead of dropping it",
        "json": JSON_HELP,
    },
)
def restore(c: Context, env: str, name: str | None = None, execute: bool = False,
            yes: bool = False, from_offsite: bool = False, keep_old: bool = False,
            json: bool = False) -> None:  # fmt: skip
    """Restore a backup beside the live database and swap it in (dry run by default)."""
    from ops.db.backups.catalog import find_backup, publish_newest_backup
    from ops.db.backups.offsite import download_backup
    from ops.db.backups.restore import execute_restore, plan_restore
    from ops.db.backups.settings import backup_settings
    from ops.progress import progress_display

    settings = environment(env)
    backups_config = backup_settings(settings)
    if from_offsite:
        offsite_name = _named(name)
        if offsite_name is None:
            raise Exit(
                "error: name the off-site backup to restore (inv db.restore NAME)",
                code=ExitCode.USAGE,
            )
        record = download_backup(settings, backups_config, offsite_name)
    else:
        record = find_backup(backups_config.directory, _named(name))
    plan = plan_restore(settings, record)
    if not execute:
        if json:
            print_json(asdict(plan))
            return
        contents = (
            f"{plan.tables} tables, {plan.rows} rows"
            if plan.kind == "logical"
            else f"whole cluster, {human_size(plan.backup_size_bytes)}"
        )
        note = f", note: {plan.backup_note}" if plan.backup_note else ""
        what = (
            f": would replace database {plan.database} of {plan.environment} "
            f"({human_size(plan.live_size_bytes)}) with {plan.kind} backup {plan.backup} "
            f"taken {plan.backup_created_at} ({contents}{note})"
        )
        console.print(Text.assemble(styled("dry run", "bold"), styled(what)))
        for number, step in enumerate(plan.steps, 1):
            console.print(f"  {number}. {step}")
        console.print("run again with --execute to do it")
        return
    _confirm(settings.name, yes)
    with progress_display() as progress:
        result = execute_restore(settings, record, keep_old=keep_old, progress=progress)
    publish_newest_backup(settings)
    if json:
        print_json(asdict(result))
        return
    kept = f"; old copy kept as {result.kept}" if result.kept else ""
    console.print(
        f"{result.environment}: restored {result.backup} ({result.kind}) in "
        f"{result.seconds:.1f} s{kept}; {result.writers}"
    )
    console.print(result.after_restore)
    if result.pending_migrations:
        console.print(f"pending migrations: {', '.join(result.pending_migrations)}")


def _named(name: str | None) -> str | None:
    """Invoke positional arguments are required, so `latest` stands for "the newest"."""
    return None if not name or name == "latest" else name


def _confirm(env_name: str, yes: bool) -> None:
    if env_name != "prod" or yes:
        return
    if not sys.stdin.isatty():
        raise Exit(
            "error: restoring prod needs --yes when there is no terminal to confirm",
            code=ExitCode.USAGE,
        )
    typed = input(f"This replaces the {env_name} database. Type the environment name to go on: ")
    if typed.strip() != env_name:
        raise Exit("error: confirmation did not match; nothing was changed", code=ExitCode.USAGE)


@task(
    help={
        "env": ENV_HELP,
        "execute": "really delete (default: dry run listing what would go)",
        "json": JSON_HELP,
    }
)
def prune(c: Context, env: str, execute: bool = False, json: bool = False) -> None:
    """Delete backups beyond the retention policy, and abandoned partial ones (dry run by
    default)."""
    from ops.db.backups.catalog import (
        backups_to_prune,
        delete_backups,
        find_leftovers,
        publish_newest_backup,
        remove_leftovers,
    )
    from ops.db.backups.settings import backup_settings

    settings = environment(env)
    directory = backup_settings(settings).directory
    doomed = backups_to_prune(backup_settings(settings))
    abandoned = [left for left in find_leftovers(directory) if not left.in_progress]
    if json:
        print_json(
            {
                "execute": execute,
                "delete": [record.name for record in doomed],
                "leftovers": [left.name for left in abandoned],
            }
        )
    if execute:
        delete_backups(doomed)
        abandoned = remove_leftovers(abandoned)
        publish_newest_backup(settings)
    if not json:
        verb = "deleted" if execute else "would delete"
        if not doomed and not abandoned:
            console.print(f"{settings.name}: nothing to prune")
        for record in doomed:
            console.print(f"{verb} {record.name} ({record.kind}, {human_size(record.size_bytes)})")
        for left in abandoned:
            console.print(
                f"{verb} {left.name} ({left.kind} left by a killed run, "
                f"{human_size(left.size_bytes)})"
            )
        if (doomed or abandoned) and not execute:
            console.print("run again with --execute to delete them")


@task(help={"env": ENV_HELP})
def snapshot(c: Context, env: str) -> None:
    """Ask AWS for an RDS snapshot of the environment's instance and wait for it."""
    from ops.db.backups.physical import take_rds_snapshot

    settings = environment(env)
    result = take_rds_snapshot(settings)
    console.print(f"snapshot {result.snapshot} of {result.instance}: {result.status}")


@task(help={"env": ENV_HELP})
def scheduled_backup(c: Context, env: str) -> None:
    """Take, verify, prune and ship a backup (what the timer runs); records its outcome."""
    from ops.db.backups.catalog import publish_newest_backup
    from ops.db.backups.scheduled import run_scheduled_backup
    from ops.progress import progress_display
    from ops.schedule.status import record_run

    settings = environment(env)
    try:
        with progress_display() as progress:
            record = record_run(
                settings,
                "backup",
                lambda: run_scheduled_backup(settings, progress=progress).summary(),
            )
    finally:
        publish_newest_backup(settings)
    console.print(record["detail"])
