"""Reading an environment's logs: local files, or CloudWatch Logs through awslogs."""

from __future__ import annotations

from ops.logs.cloudwatch import LogTarget, awslogs_argv, job_log_target
from ops.logs.local import (
    LogLine,
    follow_local_logs,
    job_log_path,
    parse_since,
    read_local_logs,
)

__all__ = [
    "LogLine",
    "LogTarget",
    "awslogs_argv",
    "follow_local_logs",
    "job_log_path",
    "job_log_target",
    "parse_since",
    "read_local_logs",
]
