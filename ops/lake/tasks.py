"""`inv lake.*`: is the lake in sync with the catalog; mirror it to S3 and back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke import Collection, Context
from invoke.exceptions import Exit

from common.errors import ExitCode
from ops.taskkit import (
    ENV_HELP,
    JSON_HELP,
    console,
    environment,
    err_console,
    print_json,
    print_table,
    task,
)

if TYPE_CHECKING:
    from ops.lake.mirror import TransferReport


@task(
    help={
        "env": ENV_HELP,
        "checksums": "also hash objects and compare with the catalog's sha256 (cached)",
        "deep": "re-hash every object, ignoring the checksum cache (finds silent corruption)",
        "json": JSON_HELP,
        "workers": "threads for listing and hashing (default: 1 per core; 16 on S3)",
    }
)
def check(
    c: Context,
    env: str,
    checksums: bool = False,
    deep: bool = False,
    json: bool = False,
    workers: int = 0,
) -> None:
    """Compare the catalog with the lake: missing, orphan, size and checksum differences."""
    from ops.lake.check import check_lake
    from ops.lake.history import record_check_outcome
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display() as progress:
        report = check_lake(
            settings,
            checksums=checksums or deep,
            deep=deep,
            progress=progress,
            workers=workers or None,
        )
    record_check_outcome(settings, report, checksums=checksums or deep)
    if json:
        print_json(report.to_dict())
    else:
        summary = f"{report.catalog_files} catalog files, {report.lake_objects} lake objects" + (
            f", {report.hashed} hashed, {report.from_cache} from cache" if checksums or deep else ""
        )
        if report.in_sync:
            console.print(f"{report.lake}: in sync ({summary})")
        else:
            print_table(
                f"{report.lake}: {len(report.differences)} differences",
                ("kind", "key", "catalog", "lake"),
                ((d.kind, d.key, d.expected, d.actual) for d in report.differences),
                caption=summary,
            )
    if report.leftovers and not json:
        err_console.print(
            f"note: {len(report.leftovers)} stale file(s) in the lake's staging area "
            f"(e.g. {report.leftovers[0]}); inv lake.prune-leftovers removes them",
            markup=False,
        )
    interrupted = sorted((settings.state_dir / "quarantine").glob("*.json"))
    if interrupted:
        err_console.print(
            f"note: {len(interrupted)} interrupted data.delete(s) pending: run inv data.recover"
        )
    if not report.in_sync:
        raise Exit(code=ExitCode.OUT_OF_SYNC)


@task(
    name="prune-leftovers",
    help={
        "env": ENV_HELP,
        "execute": "really remove them (default: dry run naming what would go)",
        "json": JSON_HELP,
    },
)
def prune_leftovers(c: Context, env: str, execute: bool = False, json: bool = False) -> None:
    """Remove stale files from the lake's staging area (dry run unless --execute)."""
    from ops.lake.leftovers import prune_leftovers as prune

    names = prune(environment(env), execute=execute)
    if json:
        print_json({"executed": execute, "leftovers": names})
        return
    verb = "removed" if execute else "would remove"
    for name in names:
        console.print(f"{verb} {name}")
    console.print(f"{verb} {len(names)} stale staging file(s)")


@task(help={"env": ENV_HELP, "to": "mirror address, s3://BUCKET/PREFIX", "json": JSON_HELP})
def mirror(c: Context, env: str, to: str, json: bool = False) -> None:
    """Mirror the filesystem lake to S3: new or changed files only, verified afterwards."""
    from ops.lake.mirror import mirror_to_s3
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display() as progress:
        report = mirror_to_s3(settings, to, progress=progress)
    _render_transfer(report, json, "mirrored")


@task(
    help={
        "env": ENV_HELP,
        "from_": "mirror address, s3://BUCKET/PREFIX",
        "execute": "really download (default: dry run listing what would be restored)",
        "json": JSON_HELP,
    }
)
def restore(c: Context, env: str, from_: str, execute: bool = False, json: bool = False) -> None:
    """Bring the filesystem lake back from an S3 mirror (dry run unless --execute)."""
    from ops.lake.mirror import restore_from_s3
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display() as progress:
        report = restore_from_s3(settings, from_, execute=execute, progress=progress)
    _render_transfer(report, json, "restored" if execute else "would restore")


def _render_transfer(report: TransferReport, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    if report.moved:
        print_table(
            f"{verb}: {report.source} -> {report.target}",
            ("key", "bytes"),
            report.moved,
        )
    console.print(
        f"{verb} {len(report.moved)} objects ({report.bytes_moved} bytes), "
        f"{report.unchanged} unchanged, {report.verified} verified by checksum, "
        f"{report.extra_on_target} only on the target (left alone)"
    )


ns = Collection("lake")
ns.add_task(check)
ns.add_task(prune_leftovers)
ns.add_task(mirror)
ns.add_task(restore)
