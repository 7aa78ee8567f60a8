"""`inv schedule.install | schedule.status | schedule.run`: the timers that take, verify,
prune and ship backups and seal finished analyses, and what their last runs did."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Collection

from common.shell import run_command
from ops.schedule.status import recent_runs, record_run
from ops.schedule.units import (
    DEFAULT_CRON_DIR,
    DEFAULT_UNIT_DIR,
    cron_file,
    install_units,
    systemd_present,
    systemd_units,
)
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


@task(
    help={
        "env": ENV_HELP,
        "unit_dir": f"where to write systemd units (default {DEFAULT_UNIT_DIR})",
        "cron_dir": f"where to write the cron file without systemd (default {DEFAULT_CRON_DIR})",
        "kind": "systemd or cron (default: systemd when it runs this host, else cron)",
        "execute": "write the files (default: dry run showing them)",
    }
)
def install(c, env, unit_dir="", cron_dir="", kind="", execute=False):
    """Install the backup and sealing timers (systemd, or cron where systemd is absent)."""
    settings = environment(env)
    kind = kind or ("systemd" if systemd_present() else "cron")
    if kind == "systemd":
        directory = Path(unit_dir) if unit_dir else DEFAULT_UNIT_DIR
        files = systemd_units(settings, directory)
        timers = [unit.path.name for unit in files if unit.path.suffix == ".timer"]
        activate = directory == DEFAULT_UNIT_DIR and systemd_present()
    elif kind == "cron":
        files = [cron_file(settings, Path(cron_dir) if cron_dir else DEFAULT_CRON_DIR)]
        timers, activate = [], False
    else:
        from invoke.exceptions import Exit

        raise Exit(f"error: --kind must be systemd or cron, not {kind!r}", code=2)
    if not execute:
        for unit in files:
            console.print(styled(f"# {unit.path}", "bold"))
            console.print(unit.text, soft_wrap=True)
        console.print("dry run: run again with --execute to install these")
        return
    for line in install_units(files, activate=activate, timers=timers):
        console.print(line)


@task(help={"env": ENV_HELP, "json": JSON_HELP, "limit": "how many recent runs to show"})
def status(c, env, json=False, limit=20):
    """Show the last scheduled runs (backup, seal) and their outcome."""
    settings = environment(env)
    runs = recent_runs(settings, int(limit))
    if json:
        print_json(runs)
        return
    print_table(
        f"{settings.name} scheduled runs",
        ["started", "job", "outcome", "seconds", "detail"],
        [
            (
                run.get("started_at"),
                run.get("job"),
                "ok" if run.get("ok") else "FAILED",
                run.get("seconds"),
                run.get("detail"),
            )
            for run in reversed(runs)
        ],
    )


@task(help={"env": ENV_HELP, "job": "seal (backups run through inv db.scheduled-backup)"})
def run(c, env, job):
    """Run one scheduled job now and record its outcome (what the seal timer runs)."""
    settings = environment(env)
    if job != "seal":
        from invoke.exceptions import Exit

        raise Exit(f"error: unknown job {job!r}; the backup job is inv db.scheduled-backup", code=2)
    record = record_run(settings, "seal", lambda: _seal(settings.name))
    console.print(record["detail"])


def _seal(env_name: str) -> str:
    inv = str(Path(sys.executable).with_name("inv"))
    result = run_command([inv, "analyses.seal", "-e", env_name], timeout=3600)
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else "analyses.seal finished"


ns = Collection("schedule")
ns.add_task(install)
ns.add_task(status)
ns.add_task(run)
