"""`inv metadata.*`: sync records from the institution's REDCap project; the quarantine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task

if TYPE_CHECKING:
    from ops.metadata.sync import SyncReport


@task(
    help={
        "env": ENV_HELP,
        "source": "where records come from: redcap, the only source so far (default)",
        "execute": "apply the changes (default: dry run showing the diff)",
        "json": JSON_HELP,
        "restore_deleted": "apply this record (its id; repeatable) although data.delete removed"
        " its sample or individual; otherwise such records are skipped",
    },
    iterable=["restore_deleted"],
)
def sync(
    c: Context,
    env: str,
    source: str = "redcap",
    execute: bool = False,
    json: bool = False,
    restore_deleted: list[str] | None = None,
) -> None:
    """Pull metadata records (REDCap), validate, show the diff; --execute merges it."""
    from ops.metadata.sync import sync_metadata
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display() as progress:
        report = sync_metadata(
            settings, source=source, execute=execute, progress=progress,
            restore=tuple(restore_deleted or ()),
        )  # fmt: skip
    if json:
        print_json(report.as_dict())
        return
    _render(report)


def _render(report: SyncReport) -> None:
    plan = report.plan
    for note in report.notes:
        console.print(f"note: {note}")
    since = f"changes since {report.since:%Y-%m-%d %H:%M %Z}" if report.since else "every record"
    console.print(
        f"{report.project.code}: {report.fetched} records fetched from {report.source} "
        f"({since}), schema v{report.project.schema_version}, run {report.run_id}"
    )
    verb = "applied" if report.executed else "would apply"
    print_table(
        f"{verb}: individuals and samples",
        ("change", "level", "individual", "sample", "fields"),
        (
            (c.action, c.level, c.individual, c.sample, _fields(c.fields) or c.detail)
            for c in plan.changes
        ),
        caption=", ".join(f"{k} {v}" for k, v in plan.counts().items() if v),
    )
    if plan.quarantined:
        verb = "quarantined" if report.executed else "would quarantine"
        print_table(
            f"{verb}: invalid records",
            ("record", "reasons"),
            ((q.record_id, "; ".join(q.reasons)) for q in plan.quarantined),
        )
    if plan.skipped:
        print_table(
            "skipped: records of deleted samples",
            ("record", "reason"),
            ((s.record_id, s.reason) for s in plan.skipped),
            caption="inv metadata.sync --restore-deleted RECORD brings one back on purpose",
        )
    if plan.restored:
        verb = "restored" if report.executed else "would restore"
        console.print(f"{verb} after deletion: {', '.join(sorted(plan.restored))}")
    if not report.executed:
        console.print("dry run: nothing changed; add --execute to apply")


def _fields(fields: dict) -> str:
    return ", ".join(
        f"{name}: {'—' if old is None else old} → {'—' if new is None else new}"
        for name, (old, new) in fields.items()
    )


@task(
    help={"env": ENV_HELP, "project": "only this project's records", "json": JSON_HELP},
    read_only=True,
)
def quarantine(c: Context, env: str, project: str = "", json: bool = False) -> None:
    """List metadata records held back as invalid, with every reason."""
    from common.db import connection
    from common.projects import find_project
    from ops.metadata.runs import open_quarantine

    settings = environment(env)
    with connection(settings) as conn:
        project_id = find_project(conn, project).id if project else None
        entries = open_quarantine(conn, project_id)
    if json:
        print_json(entries)
        return
    print_table(
        f"quarantined metadata records in {settings.name}",
        ("project", "source", "record", "schema", "since", "reasons"),
        (
            (
                e["project"],
                e["source"],
                e["record_id"],
                f"v{e['schema_version']}",
                f"{e['quarantined_at']:%Y-%m-%d %H:%M}",
                "; ".join(e["reasons"]),
            )
            for e in entries
        ),
        caption=f"{len(entries)} records; fix them in the source and run inv metadata.sync",
    )


@task(help={"env": ENV_HELP, "limit": "how many runs to show", "json": JSON_HELP}, read_only=True)
def runs(c: Context, env: str, limit: int = 10, json: bool = False) -> None:
    """List the last metadata syncs: when, dry or applied, what they changed or why they failed."""
    from common.db import connection
    from ops.metadata.runs import counts_line, recent_runs

    settings = environment(env)
    with connection(settings) as conn:
        found = recent_runs(conn, None, int(limit))
    if json:
        print_json(found)
        return
    print_table(
        f"metadata syncs in {settings.name}",
        ("run", "project", "source", "started", "state", "schema", "counts / error"),
        (
            (
                r["id"],
                r["project"],
                r["source"],
                f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
                r["state"],
                f"v{r['schema_version']}",
                r["error"] or counts_line(r["summary"]),
            )
            for r in found
        ),
    )


ns = Collection("metadata")
ns.add_task(sync)
ns.add_task(quarantine)
ns.add_task(runs)
