"""Executors run worker jobs somewhere: local processes, AWS Batch, or nowhere (null).
`executor_for` (foreman/executors/choose.py) picks the one an environment names."""

from __future__ import annotations

from foreman.executors.base import Executor, ExecutorStatus, Submission
from foreman.executors.choose import executor_for

__all__ = ["Executor", "ExecutorStatus", "Submission", "executor_for"]
