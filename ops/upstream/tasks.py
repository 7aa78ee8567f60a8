"""`inv upstream.status | upstream.upgrade | upstream.template`: following upstream repositories
and the template this repository was generated from. Logic lives in `ops/upstream/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Collection, Context
from invoke.exceptions import Exit

from ops.taskkit import JSON_HELP, console, print_json, print_table, task
from ops.upstream.settings import SETTINGS_PATH

if TYPE_CHECKING:
    from ops.upstream.report import UpgradeReport
    from ops.upstream.status import UpstreamStatus

REPO_HELP = "the checkout to work on (default: the one holding the current directory)"
CONFIG_HELP = f"the upstreams file (default: {SETTINGS_PATH} in the checkout)"
REPORT_HELP = "where to write the JSON report (default: <state>/upgrades/<time>-<kind>-<name>.json)"
PUSH_HELP = "push the upgrade branch when it is green (default; --no-push keeps it local)"


def _checkout(repo: str | None) -> Path:
    from ops.gitkit import toplevel
    from ops.upstream.errors import UpstreamError

    start = Path(repo).resolve() if repo else Path.cwd()
    if not start.is_dir():
        raise UpstreamError(f"{start} is not a folder; pass the checkout with --repo")
    return toplevel(start)


@task(help={"repo": REPO_HELP, "config": CONFIG_HELP, "json": JSON_HELP})
def status(
    c: Context, repo: str | None = None, config: str | None = None, json: bool = False
) -> None:
    """Commits behind each upstream, and the migrations and dependency changes they bring."""
    from ops.upstream.settings import read_upstream_settings
    from ops.upstream.status import upstream_status

    checkout = _checkout(repo)
    settings = read_upstream_settings(checkout, Path(config) if config else None)
    results = [upstream_status(checkout, settings, upstream) for upstream in settings.upstreams]
    if json:
        print_json([result.__dict__ for result in results])
        return
    if not results:
        console.print(f"{settings.path} declares no upstreams")
    for result in results:
        _render_status(result)


def _render_status(result: UpstreamStatus) -> None:
    console.print(
        f"{result.name!s} ({result.url!s} {result.branch!s} → "
        f"{result.local_branch!s}): {result.behind} commits behind, {result.ahead} ahead"
    )
    if result.commits:
        print_table("commits", ["commit", "subject"],
                    [(c["commit"][:12], str(c["subject"])) for c in result.commits])  # fmt: skip
    if result.migrations:
        print_table("migrations", ["change", "file"],
                    [(m["change"], m["path"]) for m in result.migrations])  # fmt: skip
    if result.dependencies:
        print_table(
            "dependencies",
            ["file", "group", "package", "change", "before", "after"],
            [(d["file"], d["group"], d["name"], d["change"], str(d["before"]),
              str(d["after"])) for d in result.dependencies],
        )  # fmt: skip


@task(
    help={
        "name": "the upstream to merge (default: the only one declared)",
        "repo": REPO_HELP,
        "config": CONFIG_HELP,
        "push": PUSH_HELP,
        "report": REPORT_HELP,
        "json": JSON_HELP,
    }
)
def upgrade(
    c: Context,
    name: str | None = None,
    repo: str | None = None,
    config: str | None = None,
    push: bool = True,
    report: str | None = None,
    json: bool = False,
) -> None:
    """Merge an upstream into upgrade/<date>-<sha>, scan, test; push only when green."""
    from ops.upstream.settings import read_upstream_settings
    from ops.upstream.upgrade import run_upstream_upgrade

    checkout = _checkout(repo)
    settings = read_upstream_settings(checkout, Path(config) if config else None)
    upstream = settings.upstream(name)
    record = _new_report("upstream", upstream.name, checkout, report)
    _end(run_upstream_upgrade(checkout, settings, upstream.name, record, push=push), json)


@task(
    help={
        "ref": "the template's tag or commit to update to (default: copier's, the newest tag)",
        "trust": "let the template run its tasks and extensions (read them first)",
        "repo": REPO_HELP,
        "config": CONFIG_HELP,
        "push": PUSH_HELP,
        "report": REPORT_HELP,
        "json": JSON_HELP,
    }
)
def template(c: Context, ref: str | None = None, trust: bool = False, repo: str | None = None,
             config: str | None = None, push: bool = True, report: str | None = None,
             json: bool = False) -> None:  # fmt: skip
    """Update from the template this repository was generated from (copier), scan, test, push."""
    from ops.upstream.settings import read_upstream_settings
    from ops.upstream.template import run_template_update

    checkout = _checkout(repo)
    settings = read_upstream_settings(checkout, Path(config) if config else None)
    record = _new_report("template", "template", checkout, report)
    _end(run_template_update(checkout, settings, record, ref=ref, trust=trust, push=push), json)


def _new_report(kind: str, name: str, checkout: Path, path: str | None) -> UpgradeReport:
    from ops.upstream.report import UpgradeReport, default_report_path

    target = Path(path).resolve() if path else default_report_path(kind, name)
    record = UpgradeReport(kind=kind, name=name, repository=str(checkout), path=str(target))
    record.save()
    return record


def _end(record: UpgradeReport, as_json: bool) -> None:
    """Render the report, then exit with the code its outcome has."""
    from ops.upstream.errors import EXIT_CODES

    if as_json:
        print_json(record.as_dict())
    else:
        print_table(
            f"{record.kind} {record.name}: {record.outcome}",
            ["step", "ok", "detail"],
            [(s.name, "yes" if s.ok else "NO", str(s.detail)) for s in record.steps],
            caption=f"report: {record.path}",
        )
        if record.outcome == "conflict":
            console.print(f"left for you on {record.branch}: resolve, commit, run the tests")
    code = EXIT_CODES.get(record.outcome, 1)
    if code:
        raise Exit(
            f"error: {record.kind} {record.name}: {record.outcome}: {record.error}", code=code
        )


ns = Collection("upstream")
ns.add_task(status)
ns.add_task(upgrade)
ns.add_task(template)
