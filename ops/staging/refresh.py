"""`staging.refresh`: replace staging's database with an anonymised, checked copy of
production — or leave it exactly as it was.

Order of operations (each recorded in the rehearsal report as it ends):
1. *source_backup* — a verified logical backup of production (`ops.staging.source`);
2. *restore* — into a new database BESIDE staging's live one, compared with the manifest;
3. *anonymise* — the rules file's personal columns, in one transaction, before anything but
   this process knows the new database's name (no writer can connect to it);
4. *foreign_keys*, *row_counts* — every foreign key holds; every table has the backup's rows;
5. *migrations* — the migrations of this checkout (the version being rehearsed);
6. *copied_jobs* — production's unfinished jobs are cancelled in the copy (never run twice);
7. *smoke* — a no_op application through the real foreman, against the copy;
8. *swap* — staging's writers stopped, the two databases renamed in one transaction (as
   `db.restore` does), the writers restarted; the old database dropped unless kept.
Until step 8 the live database is untouched: a refresh that fails or is killed leaves staging
as it was, and the next refresh drops the copy it left.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg2

from common import db
from common.environments import Environment
from common.errors import first_line
from common.settings.operations import RefreshSection
from foreman.jobs import ACTIVE_STATES
from foreman.migrations import apply_migrations
from ops.db.backups.logical import restore_into_new_database, scratch_name
from ops.db.backups.restore import restore_lock, swap_databases
from ops.db.backups.scheduled import latest_verified_backup
from ops.db.backups.writers import restart_writers, stop_writers
from ops.progress import Progress, quiet
from ops.staging.anonymise import Rules, apply_rules, hmac_key, read_rules
from ops.staging.checks import foreign_key_violations, row_count_differences
from ops.staging.errors import RefreshError
from ops.staging.report import RehearsalReport, new_report
from ops.staging.smoke import run_smoke_job
from ops.staging.source import verified_source_backup

PURPOSE = "refresh"  # the copy is <live>_refresh_<time>
COPIED_JOB_REASON = "copied from {source} by a staging refresh; not run in staging"


@dataclass(frozen=True)
class RefreshPlan:
    """What `--execute` would do (the dry run)."""

    environment: str
    source_environment: str
    database: str
    backup: str
    rules: list[str]
    steps: list[str] = field(default_factory=list)


def check_environments(target: Environment, source: Environment) -> None:
    if target.name == source.name:
        raise RefreshError(f"refusing to refresh {target.name} from itself")
    if target.name == "prod":
        raise RefreshError("refusing to refresh prod: a refresh replaces the target's database")


def plan_refresh(target: Environment, source: Environment, backup_name: str | None) -> RefreshPlan:
    check_environments(target, source)
    settings = RefreshSection.for_environment(target)
    rules = read_rules(settings.rules_path)
    reused = latest_verified_backup(
        source, max_age=timedelta(hours=settings.reuse_backup_hours), kind="logical"
    )
    if backup_name:
        backup = f"backup {backup_name} of {source.name} (verified first if it never was)"
    elif reused is not None:
        backup = f"reuse {reused.name}, verified {reused.verified_at}"
    else:
        backup = f"take a logical backup of {source.name} and verify it"
    live = target.database.name
    return RefreshPlan(
        environment=target.name,
        source_environment=source.name,
        database=live,
        backup=backup,
        rules=[f"{rule.label} = {rule.method}" for rule in rules.rules],
        steps=[
            backup,
            f"restore it into a new database {live}_{PURPOSE}_<time> beside {live}",
            f"anonymise {len(rules.rules)} personal columns ({settings.rules_path.name})",
            "check every foreign key and the row counts against the backup's manifest",
            "apply this checkout's migrations",
            f"cancel {source.name}'s unfinished jobs in the copy",
            "run a no_op smoke job through the foreman against the copy",
            f"stop {target.name}'s writers, swap the copy in as {live}, restart them"
            + ("" if settings.keep_old else f", drop the old {live}"),
            f"write the rehearsal report in {target.state_dir / 'rehearsals'}",
        ],
    )


def execute_refresh(
    target: Environment, source: Environment, *, commit: str, backup_name: str | None = None,
    keep_old: bool | None = None, progress: Progress = quiet,
) -> RehearsalReport:  # fmt: skip
    """Refresh `target` from `source` (see the module docstring); the report says how it went.

    Raises the failing step's error after recording it; the live database is unchanged then.
    """
    check_environments(target, source)
    settings = RefreshSection.for_environment(target)
    rules = read_rules(settings.rules_path)
    key, key_source = hmac_key(rules)
    live = target.database.name
    report = new_report(target, source, commit)
    with restore_lock(target):
        _drop_abandoned_copies(target)
        copy = scratch_name(target, PURPOSE)
        report.databases = {"live": live, "copy": copy}
        try:
            _rehearse(report, target, source, copy, backup_name, settings, rules, key,
                      key_source, progress)  # fmt: skip
        except BaseException:
            db.drop_database(target, copy)
            raise
        keep = settings.keep_old if keep_old is None else keep_old

        def swap() -> str:
            writers = stop_writers(target)
            try:
                progress(f"swapping {copy} in as {live}")
                old = swap_databases(target, live, copy)
            finally:
                report.databases["writers"] = restart_writers(target, writers)
            report.databases["old"] = old if keep else ""
            if not keep:
                db.drop_database(target, old)
            return f"{copy} is now {live}" + (f"; the old one is kept as {old}" if keep else "")

        report.run_step("swap", swap)
    report.finish("succeeded")
    return report


def _rehearse(report: RehearsalReport, target: Environment, source: Environment, copy: str,
              backup_name: str | None, settings: RefreshSection, rules: Rules, key: bytes,
              key_source: str, progress: Progress) -> None:  # fmt: skip
    """Steps 1-7, all on the copy."""

    def source_backup() -> str:
        chosen = verified_source_backup(
            source, name=backup_name, max_age_hours=settings.reuse_backup_hours,
            progress=progress,
        )  # fmt: skip
        record = chosen.record
        report.source_backup = {
            "name": record.name, "how": chosen.how, "created_at": record.created_at.isoformat(),
            "verified_at": record.verified_at, "path": str(record.path),
            "tables": len(record.manifest.tables),
        }  # fmt: skip
        state["backup"] = record
        return f"{chosen.how} {record.name} (verified {record.verified_at})"

    state: dict = {}
    report.run_step("source_backup", source_backup)
    backup = state["backup"]

    def restore() -> str:
        restore_into_new_database(target, backup, copy, progress=progress)
        return f"restored into {copy}; every table's rows and checksum match the manifest"

    report.run_step("restore", restore)

    def anonymise() -> str:
        progress(f"anonymising {len(rules.rules)} personal columns")
        with _copy_transaction(target, copy, "anonymise") as conn:
            changed = apply_rules(conn, rules, key)
        report.checks["anonymised"] = {"rules": str(rules.path), "key": key_source,
                                       "rows_changed": changed}  # fmt: skip
        return ", ".join(f"{label}: {rows} rows" for label, rows in changed.items())

    report.run_step("anonymise", anonymise)

    def foreign_keys() -> str:
        with _copy_transaction(target, copy, "check foreign keys") as conn:
            checked, broken = foreign_key_violations(conn)
        report.checks["foreign_keys"] = {"checked": checked, "violations": broken}
        if broken:
            first = broken[0]
            raise RefreshError(
                f"foreign key {first['constraint']} of {first['table']} is broken by "
                f"{first['orphan_rows']} rows ({len(broken)} keys broken in all)"
            )
        return f"{checked} foreign keys hold"

    report.run_step("foreign_keys", foreign_keys)

    def row_counts() -> str:
        with _copy_transaction(target, copy, "count rows") as conn:
            counts, problems = row_count_differences(conn, backup.manifest.tables)
        report.checks["row_counts"] = counts
        if problems:
            raise RefreshError(f"{problems[0]} ({len(problems)} tables differ)")
        rows = sum(entry["actual"] or 0 for entry in counts.values())
        return f"{len(counts)} tables, {rows} rows, as in the manifest"

    report.run_step("row_counts", row_counts)

    def migrations() -> str:
        with db.connection(target, dbname=copy) as conn:
            applied = apply_migrations(conn).applied
        report.checks["migrations_applied"] = applied
        return f"applied {', '.join(applied)}" if applied else "no migration was pending"

    report.run_step("migrations", migrations)

    def copied_jobs() -> str:
        with _copy_transaction(target, copy, "cancel copied jobs") as conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE jobs SET state = 'cancelled', ended_at = now(), failure_reason = %s "
                "WHERE state = ANY(%s)",
                (COPIED_JOB_REASON.format(source=source.name), list(ACTIVE_STATES)),
            )
            cancelled = cur.rowcount
        report.checks["copied_jobs_cancelled"] = cancelled
        return f"cancelled {cancelled} unfinished jobs of {source.name}"

    report.run_step("copied_jobs", copied_jobs)

    def smoke() -> str:
        progress("running the smoke job through the foreman")
        result = run_smoke_job(target, copy, timeout=settings.smoke_timeout_seconds)
        report.checks["smoke"] = result.__dict__
        return f"no_op job {result.job_id} succeeded in {result.seconds:.1f} s"

    report.run_step("smoke", smoke)


@contextmanager
def _copy_transaction(env: Environment, copy: str, what: str) -> Iterator:
    """A committed transaction on the copy; a database error becomes a RefreshError."""
    with db.connection(env, dbname=copy) as conn:
        try:
            yield conn
            conn.commit()
        except psycopg2.Error as exc:
            conn.rollback()
            raise RefreshError(f"{what}: {first_line(exc)}") from None
        except BaseException:
            conn.rollback()
            raise


def _drop_abandoned_copies(env: Environment) -> None:
    """Drop `<live>_refresh_*` databases a killed refresh left (we hold the restore lock)."""
    prefix = f"{env.database.name}_{PURPOSE}_"
    with db.maintenance_connection(env) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT datname FROM pg_database WHERE left(datname, %s) = %s", (len(prefix), prefix)
        )
        names = [row[0] for row in cur.fetchall()]
    for name in names:
        db.drop_database(env, name)
