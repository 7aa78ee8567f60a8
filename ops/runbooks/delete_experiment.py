"""Runbook: delete one imported experiment and everything derived from it, safely.

    inv data.delete -e ENV --experiment ID              # dry run: every row and path that would go
    inv data.delete -e ENV --experiment ID --execute    # do it

1. Refuse if any unfinished job (pending, dispatched, running, errored) names the experiment:
   cancel or finish those first. An unknown experiment is one line; nothing changes.
2. Plan, in the order that never leaves a broken reference: the analyses that used the
   experiment (their analysis_targets links, their computed files, the analyses), the
   experiment's own files, the experiment, then its aliquot, sample and individual — each only
   if nothing else still refers to it. Lake folders: the experiment's `raw/…/<experiment>/` and
   each analysis's `analyses/<id>/`; a path that resolves outside the lake is refused.
3. With --execute: make sure a verified database backup younger than an hour exists (or take
   and verify one, as `inv db.backup` and `inv db.verify` do; `inv db.backups` lists it and
   `inv db.restore` brings it back), then write a manifest to the state folder, and in ONE
   transaction delete the rows and — before committing — move the lake folders to
   `.quarantine/<stamp>/`. Commit. Only then purge the quarantine, and drop the manifest.
4. If anything fails before the commit, the transaction rolls back and the folders go back from
   quarantine. If the process dies outright, the next `inv data.delete` reads the leftover
   manifest: experiment still in the catalog → the commit never happened, folders go back;
   experiment gone → it did, the quarantine is purged. Either way `inv lake.check` is clean.
5. A sample or individual deleted is remembered (`deleted_entities`, in the same transaction):
   `inv metadata.sync` lists the source's records for it as skipped instead of creating it
   again, until `inv metadata.sync --restore-deleted SAMPLE` brings it back on purpose.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg2.extensions import cursor as Cursor

from common.db import connection, fetch_one
from common.environments import Environment
from common.errors import RefineryError, StorageError, ValidationError
from common.failpoints import failpoint
from common.inputs import MAX_ID_LENGTH, check_text
from common.lake import Lake, open_lake
from common.lake.layout import analysis_prefix, experiment_prefix
from common.sql import query
from ops.db.backups.scheduled import fresh_verified_backup
from ops.progress import Progress, quiet

BACKUP_MAX_AGE = timedelta(hours=1)


class DeletionRefused(RefineryError):
    """The experiment cannot be deleted now (running jobs, unknown id)."""


def _sql(name: str) -> str:
    return query(__file__, "delete_experiment.sql", name)


@dataclass
class DeletionPlan:
    experiment_id: int
    accession: str
    analyses: list[int] = field(default_factory=list)
    analysis_files: list[int] = field(default_factory=list)
    experiment_files: list[int] = field(default_factory=list)
    aliquot_id: int | None = None
    sample_id: int | None = None
    individual_id: int | None = None
    lake_paths: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        """(table, ids) in deletion order, for people to read."""
        out = [
            ("analysis_targets", f"analysis_id in {self.analyses}") if self.analyses else None,
            ("files (computed)", str(self.analysis_files)) if self.analysis_files else None,
            ("analyses", str(self.analyses)) if self.analyses else None,
            ("files (original)", str(self.experiment_files)) if self.experiment_files else None,
            ("experiments", f"[{self.experiment_id}] {self.accession}"),
            ("aliquots", f"[{self.aliquot_id}]") if self.aliquot_id else None,
            ("samples", f"[{self.sample_id}]") if self.sample_id else None,
            ("individuals", f"[{self.individual_id}]") if self.individual_id else None,
        ]
        return [row for row in out if row]


@dataclass
class DeletionReport:
    plan: DeletionPlan
    executed: bool
    backup: str = ""
    recovered: list[str] = field(default_factory=list)


def plan_deletion(cur: Cursor, lake: Lake, reference: str) -> DeletionPlan:
    cur.execute(_sql("may_delete"))
    if not fetch_one(cur)[0]:
        raise DeletionRefused("only an admin may delete imported data: ask one")
    cur.execute(_sql("find_experiment"), {"ref": str(reference)})
    row = cur.fetchone()
    if row is None:
        raise DeletionRefused(f"unknown experiment {reference!r}: nothing changed")
    exp_id, accession, aliquot, sample, individual, source, project = row
    cur.execute(_sql("active_jobs"), {"id": exp_id, "accession": accession})
    jobs = cur.fetchall()
    if jobs:
        listed = ", ".join(f"{j[0]} ({j[1]}, {j[2]})" for j in jobs)
        raise DeletionRefused(
            f"experiment {accession} has unfinished jobs {listed}: cancel them or let them finish"
        )
    plan = DeletionPlan(exp_id, accession)
    cur.execute(_sql("analyses_using"), {"id": exp_id})
    plan.analyses = [r[0] for r in cur.fetchall()]
    cur.execute(_sql("files_of_analyses"), {"ids": plan.analyses})
    analysis_rows = cur.fetchall()
    plan.analysis_files = [r[0] for r in analysis_rows]
    cur.execute(_sql("files_of_experiment"), {"id": exp_id})
    experiment_rows = [r for r in cur.fetchall() if r[0] not in set(plan.analysis_files)]
    plan.experiment_files = [r[0] for r in experiment_rows]
    cur.execute(_sql("other_experiments_of_aliquot"), {"aliquot": aliquot, "id": exp_id})
    if fetch_one(cur)[0] == 0:
        plan.aliquot_id = aliquot
        cur.execute(_sql("other_aliquots_of_sample"), {"sample": sample, "aliquot": aliquot})
        if fetch_one(cur)[0] == 0:
            plan.sample_id = sample
            cur.execute(
                _sql("other_samples_of_individual"), {"individual": individual, "sample": sample}
            )
            if fetch_one(cur)[0] == 0:
                plan.individual_id = individual
    folders = [experiment_prefix(source, project, accession)] + [
        analysis_prefix(a) for a in plan.analyses
    ]
    for _, key in analysis_rows + experiment_rows:
        if not any(key.startswith(folder) for folder in folders):
            raise StorageError(
                f"file {key} lies outside its experiment/analysis folder; fix the catalog"
            )
    for folder in folders:
        lake.check_inside(folder)
    plan.lake_paths = [folder.rstrip("/") for folder in folders if lake.tree_exists(folder)]
    return plan


def _delete_rows(cur: Cursor, plan: DeletionPlan) -> None:
    cur.execute(_sql("delete_targets"), {"ids": plan.analyses})
    cur.execute(_sql("delete_files"), {"ids": plan.analysis_files + plan.experiment_files})
    cur.execute(_sql("delete_analyses"), {"ids": plan.analyses})
    cur.execute(_sql("delete_experiment"), {"id": plan.experiment_id})
    cur.execute(
        _sql("remember_deleted"),
        {"accession": plan.accession, "sample_id": plan.sample_id,
         "individual_id": plan.individual_id},
    )  # fmt: skip
    for statement, value in (
        ("delete_aliquot", plan.aliquot_id),
        ("delete_sample", plan.sample_id),
        ("delete_individual", plan.individual_id),
    ):
        if value is not None:
            cur.execute(_sql(statement), {"id": value})


def manifests_dir(env: Environment) -> Path:
    path = env.state_dir / "quarantine"
    path.mkdir(parents=True, exist_ok=True)
    return path


def recover_interrupted(env: Environment, lake: Lake) -> list[str]:
    """Finish or undo deletions a crash interrupted (see step 4); returns what was done."""
    done: list[str] = []
    for manifest in sorted(manifests_dir(env).glob("*.json")):
        record = json.loads(manifest.read_text())
        with connection(env) as conn, conn.cursor() as cur:
            cur.execute(_sql("experiment_exists"), {"id": record["experiment_id"]})
            committed = cur.fetchone() is None
        for path in record["lake_paths"]:
            quarantined = f"{record['quarantine']}/{path}"
            if committed:
                lake.purge_tree(quarantined)
            elif lake.tree_exists(quarantined):
                lake.move_tree(quarantined, path)
        if committed:
            lake.purge_tree(record["quarantine"])
        manifest.unlink()
        done.append(f"{'purged' if committed else 'restored'} {record['quarantine']}")
    return done


def delete_experiment(
    env: Environment,
    reference: str,
    *,
    execute: bool = False,
    progress: Progress = quiet,
) -> DeletionReport:
    """Plan (and with `execute`, perform) the deletion of one experiment; see the module doc.

    Each step ends at a failpoint `data.delete.<step>` (common/failpoints.py), where a
    failure or a killed process can be injected from outside.
    """
    lake = open_lake(env)
    recovered = recover_interrupted(env, lake) if execute else []
    with connection(env) as conn:
        moved: list[tuple[str, str]] = []
        manifest: Path | None = None
        committed = False
        try:
            with conn.cursor() as cur:
                plan = plan_deletion(cur, lake, reference)
            if not execute:
                conn.rollback()
                return DeletionReport(plan, executed=False)
            conn.rollback()  # release the row lock while a backup may take a while
            backup = fresh_verified_backup(
                env, max_age=BACKUP_MAX_AGE, note=f"before deleting {plan.accession}",
                progress=progress,
            )  # fmt: skip
            failpoint("data.delete.backup")
            with conn.cursor() as cur:
                plan = plan_deletion(cur, lake, reference)  # again, under the lock this time
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                quarantine = f".quarantine/{stamp}-{plan.experiment_id}"
                manifest = manifests_dir(env) / f"{stamp}-{plan.experiment_id}.json"
                manifest.write_text(json.dumps({**asdict(plan), "quarantine": quarantine}))
                failpoint("data.delete.manifest")
                _delete_rows(cur, plan)
                failpoint("data.delete.rows")
                for index, path in enumerate(plan.lake_paths, 1):
                    lake.move_tree(path, f"{quarantine}/{path}")
                    moved.append((path, f"{quarantine}/{path}"))
                    failpoint(f"data.delete.move.{index}")
                failpoint("data.delete.before_commit")
            conn.commit()
            committed = True
            moved.clear()  # committed: the quarantined folders are now garbage, not data
            failpoint("data.delete.commit")
            for index, path in enumerate(plan.lake_paths, 1):
                lake.purge_tree(f"{quarantine}/{path}")
                failpoint(f"data.delete.purge.{index}")
            lake.purge_tree(quarantine)
            manifest.unlink()
            return DeletionReport(plan, executed=True, backup=backup.name, recovered=recovered)
        except Exception:
            conn.rollback()
            for path, quarantined in reversed(moved):
                lake.move_tree(quarantined, path)
            if manifest is not None and not committed:
                manifest.unlink(missing_ok=True)  # rolled back and restored: nothing to recover
            raise


def validate_reference(reference: str) -> str:
    if not reference or not str(reference).strip():
        raise ValidationError("name the experiment: --experiment ID (id or accession)")
    return check_text(str(reference), "--experiment", max_length=MAX_ID_LENGTH).strip()
