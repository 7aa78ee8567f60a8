"""A JSON report of work done in named steps, saved after every step.

An upgrade and a staging refresh both write one: a run that is interrupted still says how far
it got, and its outcome stays "running". Each save writes a temporary file, flushes it to disk
and renames it over the report, so a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Step:
    """One step: what it was, whether it passed, and what it found."""

    name: str
    ok: bool
    detail: str
    seconds: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class StepReport:
    """Steps in order, and how the whole ended (`running` until `finish`); saved at `path`
    (kept in memory only when it is empty)."""

    outcome: str = "running"
    error: str = ""
    steps: list[Step] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str = ""
    path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self) -> None:
        if not self.path:
            return
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "w") as handle:
            handle.write(json.dumps(self.as_dict(), indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def record(
        self, name: str, ok: bool, detail: str, started: float, data: dict | None = None
    ) -> None:
        """Append a step that began at `started` (time.monotonic()) and save."""
        seconds = round(time.monotonic() - started, 3)
        self.steps.append(Step(name, ok, detail, seconds, data or {}))
        self.save()

    def finish(self, outcome: str, error: str = "") -> None:
        self.outcome, self.error = outcome, error
        self.finished_at = datetime.now(UTC).isoformat()
        self.save()
