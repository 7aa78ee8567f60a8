"""What `inv jobs.top` draws: one frame from a metrics snapshot and the last minutes of history.

Every string that comes from outside (queue names, failure reasons, foreman ids, versions)
goes into rich `Text`, never into markup, so a reason such as `[red]` prints as itself.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from common.metrics import UNLIMITED, Snapshot
from ops.taskkit import folded


def human_seconds(seconds: float | None) -> str:
    """3 s, 4 min, 2.5 h, 3.1 d; "never" for an unknown (infinite) age."""
    if seconds is None or seconds == float("inf"):
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _capacity(value: int) -> str:
    return "unlimited" if value >= UNLIMITED else str(value)


def render_frame(env_name: str, snapshot: Snapshot, recent: list[dict[str, Any]]) -> Group:
    """The whole view: health line, queues, last minute's throughput, failure reasons."""
    parts: list[Any] = [_health(env_name, snapshot)]
    queues = Table(title="queues", title_justify="left", expand=False)
    for column in ("queue", "kind", "pending", "oldest pending", "dispatched", "running",
                   "capacity", "stale", "errored", "failed", "done"):  # fmt: skip
        queues.add_column(column, justify="left" if column in ("queue", "kind") else "right")
    for q in snapshot.queues:
        queues.add_row(
            Text(q.queue), Text(q.kind), str(q.pending),
            human_seconds(q.oldest_pending_seconds) if q.pending else "0",
            str(q.dispatched), str(q.running), _capacity(q.capacity),
            Text(str(q.stale_heartbeats), style="bold red" if q.stale_heartbeats else ""),
            str(q.errored), Text(str(q.failed), style="red" if q.failed else ""),
            str(q.outcomes_total["succeeded"]),
        )  # fmt: skip
    if not snapshot.queues:
        queues.caption = "no jobs yet"
    parts.append(folded(queues))
    parts.append(_throughput(recent))
    reasons = Table(title="failed jobs by reason", title_justify="left")
    for column in ("jobs", "kind", "queue", "reason", "latest job"):
        reasons.add_column(column, justify="right" if column in ("jobs", "latest job") else "left")
    for group in snapshot.failure_reasons:
        reasons.add_row(
            str(group.jobs), Text(group.kind), Text(group.queue), Text(group.reason),
            str(group.latest_job_id),
        )  # fmt: skip
    if not snapshot.failure_reasons:
        reasons.caption = "no failed jobs"
    parts.append(folded(reasons))
    return Group(*parts)


def _health(env_name: str, snapshot: Snapshot) -> Text:
    line = Text()
    line.append(f"{env_name}", style="bold")
    line.append(f"  {snapshot.taken_at:%Y-%m-%d %H:%M:%S %Z}  ")
    leader = snapshot.leader
    if leader:
        line.append("foreman ")
        line.append(leader.foreman_id)
        line.append(f" beat {human_seconds(leader.age_seconds)} ago", style="")
        if leader.version:
            line.append(" version ")
            line.append(leader.version)
    else:
        line.append("no foreman is leading", style="bold red")
    line.append("\nbackup: ")
    backup = snapshot.backup
    if backup:
        verified = {True: "verified", False: "FAILED verification", None: "not verified"}
        line.append(f"{human_seconds(backup.age_seconds)} old, {verified[backup.verified]} (")
        line.append(backup.name)
        line.append(")")
    else:
        line.append("none recorded", style="yellow")
    line.append("   lake check: ")
    check = snapshot.lake_check
    if check:
        state = "in sync" if check.in_sync else f"{check.differences} differences"
        line.append(
            f"{human_seconds(check.age_seconds)} ago, {state}",
            style="" if check.in_sync else "bold red",
        )
    else:
        line.append("never", style="yellow")
    return line


def _throughput(recent: list[dict[str, Any]]) -> Text:
    if len(recent) < 2:
        return Text("throughput: history starts once the foreman has written two minutes")
    last = recent[-1]
    return Text(
        f"last minute: {last['dispatches']} dispatched, {last['succeeded']} succeeded, "
        f"{last['errored']} errored or lost"
    )
