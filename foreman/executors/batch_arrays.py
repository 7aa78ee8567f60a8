"""Status of array children at scale: read the parents, list children only where one changed.

An array child's id is `<parent id>:<index>`. Describing 100,000 running children 100 ids at a
time costs 1,000 DescribeJobs calls every pass; instead the parents are described (100 per
call), and each parent's `arrayProperties.statusSummary` says how many children are in each
state. Only when a parent's count of FAILED children changed since the last look are its
failed children listed (ListJobs by array id and status) to learn which; a SUCCEEDED parent
means every child succeeded, and a FAILED one that every child ended. A child no summary
says has ended is reported running: the reconcile loop only acts on ended attempts, and a
silent worker is caught by its heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.worker_identity import split_child_id
from foreman.executors.base import ExecutorState, ExecutorStatus

FailureReason = Callable[[dict[str, Any]], str]


@dataclass
class _ArrayView:
    """What the foreman last learnt about one array's children."""

    failed_count: int = -1
    failed: dict[int, str] = field(default_factory=dict)  # index -> reason


class ArrayStatusReader:
    """Remembers each array's failed children between passes (one per executor)."""

    def __init__(self, client: Any, *, reason: FailureReason, page_size: int = 100) -> None:
        self.client = client
        self._reason = reason
        self._page_size = page_size
        self._views: dict[str, _ArrayView] = {}

    def statuses(self, child_ids: Sequence[str]) -> dict[str, ExecutorStatus]:
        """Status of every child id given (each `<parent>:<index>`)."""
        by_parent: dict[str, list[tuple[str, int]]] = {}
        for child_id in child_ids:
            split = split_child_id(child_id)
            if split is not None:
                by_parent.setdefault(split[0], []).append((child_id, split[1]))
        result: dict[str, ExecutorStatus] = {}
        parents = list(by_parent)
        for start in range(0, len(parents), self._page_size):
            chunk = parents[start : start + self._page_size]
            described = {job["jobId"]: job for job in self.client.describe_jobs(jobs=chunk)["jobs"]}
            for parent in chunk:
                result.update(self._children(parent, described.get(parent), by_parent[parent]))
        return result

    def forget(self, parent: str) -> None:
        self._views.pop(parent, None)

    def _children(
        self, parent: str, job: dict[str, Any] | None, children: list[tuple[str, int]]
    ) -> dict[str, ExecutorStatus]:
        if job is None:
            self.forget(parent)
            return {child: ExecutorStatus(child, "unknown") for child, _ in children}
        status = job.get("status", "")
        if status == "SUCCEEDED":
            self.forget(parent)
            return {child: ExecutorStatus(child, "succeeded") for child, _ in children}
        summary = (job.get("arrayProperties") or {}).get("statusSummary") or {}
        view = self._views.setdefault(parent, _ArrayView())
        failed_count = int(summary.get("FAILED", 0))
        if failed_count != view.failed_count:
            view.failed = self._failed_children(parent) if failed_count else {}
            view.failed_count = failed_count
        otherwise: ExecutorState = "succeeded" if status == "FAILED" else "running"
        statuses = {}
        for child, index in children:
            if index in view.failed:
                statuses[child] = ExecutorStatus(child, "failed", view.failed[index])
            else:
                statuses[child] = ExecutorStatus(child, otherwise)
        return statuses

    def _failed_children(self, parent: str) -> dict[int, str]:
        failed: dict[int, str] = {}
        request: dict[str, Any] = {"arrayJobId": parent, "jobStatus": "FAILED"}
        while True:
            page = self.client.list_jobs(**request)
            for summary in page.get("jobSummaryList", []):
                split = split_child_id(summary["jobId"])
                if split is not None:
                    failed[split[1]] = self._reason(summary)
            token = page.get("nextToken")
            if not token:
                return failed
            request["nextToken"] = token
