"""Logs of the local environment: files under the environment's state folder.

The foreman writes `foreman.log`; each worker job writes `logs/job-<id>.log`. Reading
filters by a substring or a regular expression, keeps lines newer than `since` when a line
starts with an ISO timestamp (lines without one follow the line before them, or the file's
modification time at its start), and can follow
the files as they grow.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.environments import Environment
from common.errors import ValidationError
from common.inputs import is_digits
from foreman.executors.local import worker_log_dir

_SINCE = re.compile(r"^(\d+)\s*([mhdw])$", re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)", re.ASCII
)


@dataclass(frozen=True)
class LogLine:
    """One line of one log file."""

    source: str
    text: str


def parse_since(text: str) -> timedelta:
    """`15m`, `1h`, `2d`, `1w` → a duration (what awslogs accepts too)."""
    match = _SINCE.match(text.strip().lower())
    if not match:
        raise ValidationError(
            f"invalid --since {text!r}: use a number and m, h, d or w (e.g. 30m, 1h)"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def foreman_log_path(env: Environment) -> Path:
    return env.state_dir / "foreman.log"


def job_log_paths(env: Environment, job_id: int) -> list[Path]:
    """The logs local workers wrote for job `job_id`, one per attempt, first attempt first."""
    folder = worker_log_dir(env)
    return sorted(folder.glob(f"job-{int(job_id)}-*.log"), key=_job_and_attempt)


def local_log_files(env: Environment, *, job_id: int | None = None) -> list[Path]:
    """The files to read: one job's, or the foreman's and every job's (oldest first)."""
    if job_id is not None:
        return job_log_paths(env, job_id)
    jobs = sorted(worker_log_dir(env).glob("job-*.log"), key=_job_and_attempt)
    return [foreman_log_path(env), *jobs]


def _job_and_attempt(path: Path) -> tuple[int, int]:
    parts = path.stem.removeprefix("job-").split("-")
    job, attempt = [*(int(part) if is_digits(part) else 0 for part in parts[:2]), 0, 0][:2]
    return job, attempt


def line_matcher(pattern: str | None) -> Callable[[str], bool]:
    """A filter: every line, lines containing `pattern`, or matching it as a regex."""
    if not pattern:
        return lambda line: True
    try:
        compiled = re.compile(pattern)
    except re.error:
        return lambda line: pattern in line
    return lambda line: pattern in line or compiled.search(line) is not None


def read_local_logs(
    env: Environment,
    *,
    job_id: int | None = None,
    pattern: str | None = None,
    since: timedelta | None = None,
    now: datetime | None = None,
) -> Iterator[LogLine]:
    """Matching lines of the environment's log files, file by file."""
    files = local_log_files(env, job_id=job_id)
    if job_id is not None and not files:
        raise ValidationError(
            f"no log for job {job_id} in {worker_log_dir(env)}; has it started on this machine?"
        )
    cutoff = ((now or datetime.now(UTC)) - since) if since else None
    matches = line_matcher(pattern)
    for path in files:
        if not path.exists():
            continue
        # Lines before the first timestamp count as recent when the file changed recently.
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        keep = cutoff is None or modified >= cutoff
        with path.open(errors="replace") as handle:
            for raw in handle:
                line = raw.rstrip("\n")
                stamp = _line_time(line)
                if cutoff is not None and stamp is not None:
                    keep = stamp >= cutoff
                if keep and matches(line):
                    yield LogLine(path.name, line)


def follow_local_logs(
    env: Environment,
    *,
    job_id: int | None = None,
    pattern: str | None = None,
    interval: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogLine]:
    """New matching lines as they are appended (new job logs are picked up too)."""
    matches = line_matcher(pattern)
    offsets = {
        path: path.stat().st_size for path in local_log_files(env, job_id=job_id) if path.exists()
    }
    while not stop():
        for path in local_log_files(env, job_id=job_id):
            if not path.exists():
                continue
            start = offsets.get(path, 0)
            if path.stat().st_size < start:
                start = 0  # truncated or replaced: read it again
            with path.open("rb") as handle:
                handle.seek(start)
                chunk = handle.read()
            end = chunk.rfind(b"\n") + 1  # only whole lines; a partial one waits
            offsets[path] = start + end
            for line in chunk[:end].decode(errors="replace").splitlines():
                if matches(line):
                    yield LogLine(path.name, line)
        time.sleep(interval)


def _line_time(line: str) -> datetime | None:
    match = _TIMESTAMP.match(line)
    if not match:
        return None
    text = match.group(1).replace(",", ".").replace(" ", "T").replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
