"""How log lines look: text for people, or one JSON object per line for machines.

Log calls about a job, an environment or a host pass them as `extra=` fields (`job_id`,
`env`, `host`…). The text format shows the message; the JSON format keeps every such field as
a key, so a log search can filter by job or host without parsing messages. The format is one
setting away: `REFINERY_LOG_FORMAT=json` for one command, or `[logs] format = "json"` in the
environment file. Every entry point (`inv` tasks, the foreman, the workers) configures logging
through `configure_logging` here, so all of them honour it the same way.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the annotation only: logging is set up before any environment is loaded
    from common.environments import Environment

LOG_FORMAT_VARIABLE = "REFINERY_LOG_FORMAT"
LOG_LEVEL_VARIABLE = "REFINERY_LOG_LEVEL"
LOG_FORMATS = ("text", "json")
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_OURS = "_refinery_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message and every extra field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_format(env: Environment | None = None) -> str:
    """The format asked for: REFINERY_LOG_FORMAT, else the environment's `[logs] format`."""
    chosen = os.environ.get(LOG_FORMAT_VARIABLE, "").strip().lower()
    if not chosen and env is not None:
        chosen = env.settings("logs").format
    return chosen if chosen in LOG_FORMATS else "text"


def configure_logging(
    *, default_level: str = "WARNING", timestamps: bool = False, env: Environment | None = None
) -> None:
    """Send log records to stderr in the chosen format (again, once `env` is known).

    Logging that someone else configured (an application embedding Refinery, a test runner)
    is left alone, as `logging.basicConfig` would.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _OURS, False)), None)
    if handler is None:
        if root.handlers:
            return
        handler = logging.StreamHandler()
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    level = os.environ.get(LOG_LEVEL_VARIABLE, default_level).upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else default_level)
    if log_format(env) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        prefix = "%(asctime)s " if timestamps else ""
        handler.setFormatter(logging.Formatter(f"{prefix}%(levelname)s %(name)s: %(message)s"))
