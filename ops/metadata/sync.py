"""`inv metadata.sync`: pull records from the source, plan, and (with --execute) merge them.

1. The project (`[metadata] project`) gives the schema version its records must follow.
2. Since the last applied run's watermark minus the overlap window (everything on the first
   run), the ids of changed records are asked for, then those records and any never synced
   (or still quarantined) are fetched in batches; the full id list tells what was removed.
3. Records are validated against the schema; the invalid are quarantined with every reason.
4. The plan (ops/metadata/plan.py) is the dry run's diff; `--execute` applies it in one
   transaction together with the run's record, under a per-project lock. A run killed before
   that commit changes nothing in the catalog, and the next run starts from the last applied
   watermark.

Every run, dry or not, is recorded in `metadata_sync_runs` with its counts and diff. A run
stopped by Ctrl-C or SIGTERM is recorded as `interrupted`; a run whose process died (SIGKILL,
a lost machine) holds no session lock any more, so the next run records it as `abandoned`.
Either way the next run says so in its output. Records of a sample that `inv data.delete`
removed are skipped (and listed) unless `restore` names them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.db import connection
from common.environments import Environment
from common.errors import ExitCode, RefineryError, ValidationError, first_line
from common.inputs import excerpt
from common.projects import Project, find_project
from ops.metadata.apply import apply_plan
from ops.metadata.plan import KIND, RECORD_ID, CatalogState, SyncPlan, plan_sync
from ops.metadata.redcap import MetadataSourceError, RedcapSource
from ops.metadata.runs import (
    abandon_dead_runs,
    finish_run,
    hold_run,
    last_watermark,
    previous_run,
    sql,
    start_run,
)
from ops.metadata.settings import SOURCES, metadata_settings, redcap_token
from ops.progress import Progress
from workers.schemas import validation as schemas


@dataclass
class SyncReport:
    project: Project
    source: str
    run_id: int
    executed: bool
    since: Any
    fetched: int
    plan: SyncPlan
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project.code,
            "source": self.source,
            "run_id": self.run_id,
            "executed": self.executed,
            "since": self.since,
            "fetched": self.fetched,
            "notes": self.notes,
            **self.plan.as_dict(),
        }


class SyncTerminated(RefineryError):
    """SIGTERM stopped the sync; its run is recorded as interrupted."""

    exit_code = ExitCode.TERMINATED


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """SIGTERM raises SyncTerminated in the main thread for the block, so the run's record
    can say how it ended (the default action would end the process without a word)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SyncTerminated("terminated by SIGTERM; the run is recorded as interrupted")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def sync_metadata(
    env: Environment,
    *,
    source: str = "redcap",
    execute: bool = False,
    progress: Progress | None = None,
    restore: tuple[str, ...] = (),
) -> SyncReport:
    if source not in SOURCES:
        raise ValidationError(f"unknown metadata source {source!r} (known: {', '.join(SOURCES)})")
    settings = metadata_settings(env)
    client = RedcapSource(
        settings.redcap_url,
        redcap_token(env, settings),
        timezone=settings.timezone,
        deadline_seconds=settings.request_deadline_seconds,
    )
    with connection(env) as conn:
        project = find_project(conn, settings.project)
        version = project.schema_version
        abandon_dead_runs(conn, project.id, source)
        notes = _previous_run_notes(previous_run(conn, project.id, source))
        watermark = last_watermark(conn, project.id, source)
        since = watermark - timedelta(minutes=settings.overlap_minutes) if watermark else None
        run_id, _ = start_run(conn, project.id, source, version, executed=execute, since=since)
        hold_run(conn, run_id)  # before the run is visible: no one may take it for dead
        conn.commit()
        try:
            with _terminate_as_exception():
                state = catalog_state(conn, project.id, source)
                conn.commit()
                records, all_ids, deletions = _fetch(
                    client, state, version, since, settings.batch_size, progress
                )
                plan = plan_sync(
                    records, all_ids, state, version, deletions=deletions,
                    max_length=settings.max_value_length, restore=frozenset(restore),
                )  # fmt: skip
                _check_restorable(plan, restore, project.code)
                if execute:
                    apply_plan(
                        conn, project, source, run_id, plan, catalog_state,
                        origin=settings.redcap_url,
                    )  # fmt: skip
                finish_run(conn, run_id, "applied" if execute else "dry-run", plan.as_dict(), None)
                conn.commit()
        except (KeyboardInterrupt, SyncTerminated) as exc:
            conn.rollback()
            how = "Ctrl-C (SIGINT)" if isinstance(exc, KeyboardInterrupt) else "SIGTERM"
            finish_run(conn, run_id, "interrupted", {}, f"interrupted by {how}")
            conn.commit()
            raise
        except Exception as exc:
            conn.rollback()
            finish_run(conn, run_id, "failed", {}, first_line(exc))
            conn.commit()
            raise
        report = SyncReport(project, source, run_id, execute, since, len(records), plan)
        report.notes.extend(notes)
        return report


def _previous_run_notes(previous: dict[str, Any] | None) -> list[str]:
    """A line about the last run when it did not end on its own (interrupted, abandoned)."""
    if previous is None or previous["state"] not in ("interrupted", "abandoned"):
        return []
    return [
        f"the previous sync (run {previous['id']}, started "
        f"{previous['started_at']:%Y-%m-%d %H:%M:%S %Z}) was {previous['state']}: "
        f"{previous['error']}"
    ]


def _check_restorable(plan: SyncPlan, restore: tuple[str, ...], project: str) -> None:
    """Every id to restore is a record the source holds for a sample, or an individual, that
    data.delete removed from the project."""
    unknown = [record_id for record_id in restore if record_id not in plan.restored]
    if unknown:
        raise ValidationError(
            f"--restore-deleted {excerpt(unknown[0])}: no record of a deleted sample or "
            f"individual of {project} has that id (see the skipped records of a dry run)"
        )


def catalog_state(conn: Connection, project_id: int, source: str) -> CatalogState:
    state = CatalogState({}, {}, {})
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(sql("catalog_samples"), {"project_id": project_id})
        for row in cur.fetchall():
            state.individuals[row["individual"]] = (
                row["individual_id"],
                row["individual_metadata"],
            )
            if row["sample_id"] is not None:
                key = (row["individual"], row["sample"])
                state.samples[key] = (row["sample_id"], row["sample_metadata"])
        cur.execute(sql("known_records"), {"project_id": project_id, "source": source})
        for row in cur.fetchall():
            state.known[row["record_id"]] = dict(row)
        cur.execute(sql("open_quarantine"), {"project_id": project_id})
        state.quarantined = {row["record_id"] for row in cur.fetchall() if row["source"] == source}
        cur.execute(sql("deleted_entities"), {"project_id": project_id})
        for row in cur.fetchall():
            what = (
                f"sample {row['sample']}"
                if row["level"] == "sample"
                else (f"individual {row['individual']}")
            )
            state.deleted[(row["individual"], row["sample"])] = (
                f"{what} deleted on {row['deleted_at']:%Y-%m-%d} by data.delete "
                f"(experiment {row['experiment']})"
            )
    return state


def _fetch(
    client: RedcapSource,
    state: CatalogState,
    version: int,
    since: Any,
    batch_size: int,
    progress: Progress | None,
) -> tuple[list[dict[str, Any]], set[str], dict]:
    available = client.field_names()
    missing = [name for name in schemas.required_fields(KIND, version) if name not in available]
    if missing:
        raise MetadataSourceError(
            f"the REDCap project has no field {', '.join(missing)}, which metadata schema "
            f"v{version} requires; add it to the project or move the project to another version"
        )
    fields = [name for name in schemas.fields(KIND, version) if name in available]
    all_ids = set(client.record_ids(RECORD_ID))
    changed = set(client.record_ids(RECORD_ID, since=since)) if since else set(all_ids)
    current = {rid for rid, known in state.known.items() if not known.get("removed_at")}
    wanted = sorted((changed | (all_ids - current) | state.quarantined) & all_ids)
    records: list[dict[str, Any]] = []
    for batch in client.records(wanted, fields, batch_size=batch_size):
        records.extend(batch)
        if progress:
            progress("records", len(batch), len(wanted))
    deletions = client.deletions(since=since) if set(state.known) - all_ids else {}
    return records, all_ids, deletions
