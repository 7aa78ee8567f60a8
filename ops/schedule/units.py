"""Rendering and installing the timers: systemd units, or a cron file where systemd is absent.

One timer per job the environment's `[schedule]` section names (an OnCalendar expression
each): `backup` (runs `inv db.scheduled-backup`, which takes, verifies, prunes and ships a
backup and records its outcome), and `seal`, `metadata_sync`, `lake_check` (each run through
`inv schedule.run JOB`, which runs the task and records its outcome); see `ops.schedule.jobs`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.environments import (
    ENVIRONMENTS_DIR_VARIABLE,
    REPO_ROOT,
    STATE_DIR_VARIABLE,
    Environment,
)
from common.errors import ConfigError
from common.shell import run_command
from ops.schedule.jobs import SCHEDULED_JOBS, timer_argv

DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
DEFAULT_CRON_DIR = Path("/etc/cron.d")


@dataclass(frozen=True)
class UnitFile:
    path: Path
    text: str


def scheduled_commands(env: Environment) -> dict[str, list[str]]:
    """{job: argv} for the jobs this environment schedules."""
    return {name: timer_argv(SCHEDULED_JOBS[name], env.name) for name in schedule_expressions(env)}


def schedule_expressions(env: Environment) -> dict[str, str]:
    """{job: OnCalendar expression} from `[schedule]` (validated at load)."""
    from common.settings.operations import ScheduleSection

    expressions = ScheduleSection.for_environment(env).expressions()
    if not expressions:
        raise ConfigError(f'{env.path}: no [schedule] section; add backup = "*-*-* 02:00:00"')
    return expressions


def _environment_lines() -> list[str]:
    return [
        f"{name}={os.environ[name]}"
        for name in (ENVIRONMENTS_DIR_VARIABLE, STATE_DIR_VARIABLE)
        if os.environ.get(name)
    ]


def systemd_units(env: Environment, unit_dir: Path) -> list[UnitFile]:
    """A oneshot service and a persistent timer per scheduled job."""
    units = []
    expressions = schedule_expressions(env)
    for job, argv in scheduled_commands(env).items():
        base = f"refinery-{job}-{env.name}"
        environment = "".join(f"Environment={line}\n" for line in _environment_lines())
        service = (
            "[Unit]\n"
            f"Description=Refinery {job} of {env.name}\n"
            "After=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"WorkingDirectory={REPO_ROOT}\n"
            f"{environment}"
            f"ExecStart={shlex.join(argv)}\n"
            "Nice=10\n"
            "IOSchedulingClass=best-effort\n"
        )
        timer = (
            "[Unit]\n"
            f"Description=Refinery {job} of {env.name} on a schedule\n\n"
            "[Timer]\n"
            f"OnCalendar={expressions[job]}\n"
            "Persistent=true\n"
            f"Unit={base}.service\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        )
        units.append(UnitFile(unit_dir / f"{base}.service", service))
        units.append(UnitFile(unit_dir / f"{base}.timer", timer))
    return units


def cron_file(env: Environment, cron_dir: Path) -> UnitFile:
    """The same jobs as an /etc/cron.d file, for hosts without systemd."""
    expressions = schedule_expressions(env)
    lines = ["# Refinery scheduled jobs; installed by inv schedule.install", "SHELL=/bin/sh"]
    lines.extend(_environment_lines())
    for job, argv in scheduled_commands(env).items():
        command = f"cd {shlex.quote(str(REPO_ROOT))} && {shlex.join(argv)}"
        lines.append(f"{oncalendar_to_cron(expressions[job])} root {command}")
    return UnitFile(cron_dir / f"refinery-{env.name}", "\n".join(lines) + "\n")


_DAILY = re.compile(r"^\*-\*-\* (\d{1,2}):(\d{2})(?::00)?$", re.ASCII)
_EVERY_MINUTES = re.compile(r"^\*:0/(\d{1,2})$", re.ASCII)
_NAMED = {"hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 1",
          "monthly": "0 0 1 * *"}  # fmt: skip


def oncalendar_to_cron(expression: str) -> str:
    """The cron equivalent of the OnCalendar forms Refinery uses (daily at, every N minutes)."""
    text = expression.strip()
    if text in _NAMED:
        return _NAMED[text]
    if match := _DAILY.match(text):
        return f"{int(match.group(2))} {int(match.group(1))} * * *"
    if match := _EVERY_MINUTES.match(text):
        return f"*/{int(match.group(1))} * * * *"
    raise ConfigError(
        f"schedule {expression!r} has no cron equivalent here; use '*-*-* HH:MM:SS', "
        "'*:0/N' or hourly/daily/weekly/monthly"
    )


def systemd_present() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def install_units(files: list[UnitFile], *, activate: bool, timers: list[str]) -> list[str]:
    """Write the files (0644); with `activate`, reload systemd and enable the timers."""
    for unit in files:
        unit.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = unit.path.with_name(f".{unit.path.name}.tmp")
        temporary.write_text(unit.text)
        temporary.chmod(0o644)
        temporary.replace(unit.path)
    done = [f"wrote {unit.path}" for unit in files]
    if activate:
        run_command(["systemctl", "daemon-reload"], timeout=60)
        for timer in timers:
            run_command(["systemctl", "enable", "--now", timer], timeout=60)
            done.append(f"enabled {timer}")
    return done
