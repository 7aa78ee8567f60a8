"""`upstream.template`: bring a repository generated from a template up to the template's
newer commit — the three-way update copier performs — on a branch of its own.

copier records the template and the commit the repository was made from in its answers
file (`_src_path`, `_commit`). It renders the old and the new commit and applies the
difference, with conflicts written inline (`conflict="inline"`). copier may exit 0 and leave
conflict markers that git does not show as unmerged, so the same scan as an upstream merge
decides, and the same test and push steps follow (see `ops.upstream.upgrade`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from common.errors import first_line
from ops.gitkit import git
from ops.upstream.errors import UpstreamError
from ops.upstream.report import StepFailed, UpgradeReport
from ops.upstream.scan import scan_tree
from ops.upstream.settings import UpstreamSettings
from ops.upstream.upgrade import (
    StepResult,
    check_clean,
    conflict_failure,
    create_branch,
    finish_green,
    upgrade_branch_name,
)

_UNSAFE_IN_BRANCH = re.compile(r"[^A-Za-z0-9._-]+")


def read_answers(repo: Path, answers_file: str) -> dict[str, Any]:
    """copier's answers file: the template (`_src_path`) and commit (`_commit`) it records."""
    path = repo / answers_file
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise UpstreamError(
            f"{answers_file} is missing: this repository was not generated with copier "
            "(or the answers file is elsewhere: [template] answers_file)"
        ) from None
    except yaml.YAMLError as exc:
        raise UpstreamError(f"{answers_file} is not valid YAML: {first_line(exc)}") from None
    if not isinstance(data, dict) or not data.get("_src_path") or not data.get("_commit"):
        raise UpstreamError(f"{answers_file} records no _src_path and _commit; cannot update")
    return data


def run_template_update(
    repo: Path, settings: UpstreamSettings, report: UpgradeReport, *,
    ref: str | None = None, trust: bool = False, push: bool = True,
) -> UpgradeReport:  # fmt: skip
    """Update from the template (see the module docstring); the report says how it ended."""
    state: dict[str, Any] = {}
    try:
        report.run_step("check_clean", lambda: check_clean(repo, state))
        answers = read_answers(repo, settings.answers_file)
        report.name = "template"
        report.source = {"template": str(answers["_src_path"]), "from": str(answers["_commit"])}
        report.base_branch = state["return_to"] or ""
        report.base_commit = git(repo, "rev-parse", "HEAD").stdout.strip()
        # A working name until the template's new commit is known (copier tells us after).
        provisional = upgrade_branch_name(f"template-from-{_safe(answers['_commit'])}")
        report.branch = provisional
        report.run_step("branch", lambda: create_branch(repo, provisional, report.base_commit))

        def update() -> StepResult:
            _copier_update(repo, settings.answers_file, ref, trust)
            new = str(read_answers(repo, settings.answers_file)["_commit"])
            report.source["to"] = new
            return f"copier updated {answers['_commit']} → {new}", {"template_ref": ref or ""}

        report.run_step("update", update)
        if not git(repo, "status", "--porcelain").stdout.strip():
            if state["return_to"]:
                git(repo, "switch", "--quiet", state["return_to"])
            else:
                git(repo, "switch", "--quiet", "--detach", report.base_commit)
            git(repo, "branch", "--quiet", "-D", provisional)
            report.branch = ""
            report.finish("up-to-date")
            return report
        final = upgrade_branch_name(f"template-{_safe(report.source['to'])}")
        if final != provisional:
            # Renaming a branch leaves the index and working tree alone, conflicts included.
            git(repo, "branch", "-m", provisional, final)
            report.branch = final

        def scan_conflicts() -> StepResult:
            scan = scan_tree(repo)
            if not scan.clean:
                raise conflict_failure(scan, "the template update left conflicts")
            return "no unmerged files, conflict markers, .rej or .orig files", {}

        report.run_step("conflicts", scan_conflicts)

        def commit() -> StepResult:
            git(repo, "add", "--all")
            message = (
                f"Update from template {report.source['template']}: "
                f"{report.source['from']} → {report.source['to']}"
            )
            git(repo, "commit", "--quiet", "-m", message)
            return f"committed on {report.branch}", {}

        report.run_step("commit", commit)
        finish_green(repo, settings, report, state, push=push)
    except StepFailed:
        pass
    return report


def _copier_update(repo: Path, answers_file: str, ref: str | None, trust: bool) -> None:
    import copier  # imported here: it is only needed by this task
    from copier.errors import UnsafeTemplateError

    try:
        copier.run_update(
            dst_path=repo, answers_file=answers_file, vcs_ref=ref, defaults=True,
            overwrite=True, skip_answered=True, quiet=True, conflict="inline", unsafe=trust,
        )  # fmt: skip
    except UnsafeTemplateError:
        raise UpstreamError(
            "the template runs tasks or extensions; read them, then pass --trust"
        ) from None
    except Exception as exc:  # copier raises its own errors, git's, and ValueError alike
        raise UpstreamError(f"copier could not update: {first_line(exc)}") from None


def _safe(text: object) -> str:
    return _UNSAFE_IN_BRANCH.sub("-", str(text)).strip("-.")[:40] or "unknown"
