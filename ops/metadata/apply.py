"""Merging a sync plan into the catalog, inside the caller's transaction.

The plan is applied under a per-project advisory lock, against the catalog as it is under
that lock: individuals and samples first (created, or their metadata merged field by field),
then what each record said, then removals, quarantine, releases and the samples restored
after a deletion (their tombstones marked restored). The caller commits it
together with the run's record, so a sync is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json

from common import catalog
from common.db import fetch_one
from common.errors import DatabaseError
from common.projects import Project
from ops.metadata.plan import INDIVIDUAL_ID, KIND, CatalogState, Change, SyncPlan
from ops.metadata.runs import sql

_LOCK_KEY = 0x5EF10015


def apply_plan(
    conn: Connection,
    project: Project,
    source: str,
    run_id: int,
    plan: SyncPlan,
    read_state: Callable[[Any, int, str], CatalogState],
    *,
    origin: str,
) -> None:
    with conn.cursor() as cur:
        cur.execute(sql("lock_project"), {"key": _LOCK_KEY, "project_id": project.id})
        if not fetch_one(cur)[0]:
            raise DatabaseError(f"another metadata sync of {project.code} is running; try later")
    state = read_state(conn, project.id, source)
    individuals = {name: ident for name, (ident, _) in state.individuals.items()}
    samples = {key: ident for key, (ident, _) in state.samples.items()}
    import_id: int | None = None
    with conn.cursor() as cur:
        for change in plan.changes:
            after, unset = _split(change)
            if change.action == "removed":
                continue
            if change.level == "individual" and change.action == "new":
                cur.execute(
                    sql("insert_individual"),
                    {
                        "project_id": project.id,
                        "name": change.individual,
                        "species": after.get("species", ""),
                        "metadata": Json(after),
                    },
                )
                individuals[change.individual] = fetch_one(cur)[0]
            elif change.level == "individual":
                cur.execute(
                    sql("merge_individual_metadata"),
                    {"id": individuals[change.individual], "set": Json(after), "unset": unset},
                )
            elif change.action == "new":
                if import_id is None:
                    import_id, _ = catalog.upsert_import(
                        conn, project.id, KIND, project.schema_version, origin
                    )
                cur.execute(
                    sql("insert_sample"),
                    {
                        "individual_id": individuals[change.individual],
                        "name": change.sample,
                        "tissue": after.get("tissue", ""),
                        "metadata": Json(after),
                        "import_id": import_id,
                    },
                )
                samples[(change.individual, change.sample)] = fetch_one(cur)[0]
            else:
                cur.execute(
                    sql("merge_sample_metadata"),
                    {
                        "id": samples[(change.individual, change.sample)],
                        "set": Json(after),
                        "unset": unset,
                    },
                )
        where = {"project_id": project.id, "source": source}
        for record_id, values in plan.records.items():
            cur.execute(
                sql("upsert_record"),
                {
                    **where,
                    "record_id": record_id,
                    "sample_id": samples[(values[INDIVIDUAL_ID], record_id)],
                    "fields": Json(values),
                    "run_id": run_id,
                },
            )
        if plan.removed:
            cur.execute(sql("mark_removed"), {**where, "record_ids": plan.removed})
        for entry in plan.quarantined:
            cur.execute(
                sql("quarantine_record"),
                {
                    **where,
                    "record_id": entry.record_id,
                    "record": Json(entry.record),
                    "reasons": Json(entry.reasons),
                    "schema_version": project.schema_version,
                    "run_id": run_id,
                },
            )
        if plan.released:
            cur.execute(sql("release_quarantine"), {**where, "record_ids": plan.released})
        if plan.restored:  # brought back on purpose: the tombstones no longer hold
            cur.execute(
                sql("restore_deleted"),
                {"project_id": project.id, "samples": sorted(plan.restored),
                 "individuals": sorted(set(plan.restored.values()))},
            )  # fmt: skip


def _split(change: Change) -> tuple[dict[str, Any], list[str]]:
    """(fields to set, fields to remove) of one change."""
    after = {key: values[1] for key, values in change.fields.items() if values[1] is not None}
    unset = [key for key, values in change.fields.items() if values[1] is None]
    return after, unset
