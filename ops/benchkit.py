"""How every `inv bench.*` reports: Refinery against a peer, same machine, same run.

A benchmark's logic (in its own area: `ops/<area>/bench.py`) returns `Comparison`s; its task
hands them to `render`, which prints one table with the same columns everywhere

    benchmark | refinery | peer | peer time | ratio

or, with `--json`, the same rows as JSON. The ratio is always

    peer time ÷ Refinery time, for the same work

so above 1 means Refinery is faster (2.00× = in half the peer's time) and below 1 slower.
When the two did different amounts of work (a slow peer drains fewer jobs), the times are
compared per unit of work. A comparison of something else than time (`measure`, e.g. peak
memory in MB) has its ratio the same way round: the peer's ÷ Refinery's, above 1 when
Refinery needs less.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from common.errors import JobError
from common.sql import query
from ops.taskkit import print_json, print_table

RATIO_DEFINITION = "peer time ÷ Refinery time for the same work; above 1 means Refinery is faster"
COLUMNS = ("benchmark", "refinery", "peer", "peer time", "ratio")


@dataclass(frozen=True)
class Comparison:
    """Refinery and one peer doing the same work, timed in the same run."""

    benchmark: str
    refinery_seconds: float
    peer: str
    peer_seconds: float
    # Work done, when it is counted (jobs, MB): the ratio then compares time per unit.
    unit: str = ""
    refinery_work: float = 1.0
    peer_work: float = 1.0
    # The ratio Refinery is meant to reach at least, if it has a target.
    target: float | None = None
    # What the two numbers measure: seconds unless told (e.g. "MB" of peak memory).
    measure: str = "s"

    @property
    def ratio(self) -> float:
        ours = self.refinery_seconds / self.refinery_work
        theirs = self.peer_seconds / self.peer_work
        return theirs / ours if ours > 0 else float("inf")

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def row(self) -> tuple[str, str, str, str, str]:
        benchmark = self.benchmark
        if self.target is not None:
            benchmark += f" (target ≥ {_target(self.target)}×)"
        return (
            benchmark,
            self._time(self.refinery_seconds, self.refinery_work),
            self.peer,
            self._time(self.peer_seconds, self.peer_work),
            f"{self.ratio:.2f}×",
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "refinery_seconds": self.refinery_seconds,
            "peer": self.peer,
            "peer_seconds": self.peer_seconds,
            "unit": self.unit,
            "refinery_work": self.refinery_work,
            "peer_work": self.peer_work,
            "ratio": self.ratio,
            "target": self.target,
            "meets_target": self.meets_target,
            "measure": self.measure,
        }

    def _time(self, seconds: float, work: float) -> str:
        if not self.unit:
            return f"{_number(seconds)} {self.measure}"
        rate = work / seconds if seconds > 0 else float("inf")
        return f"{_number(seconds)} s ({_number(work)} {self.unit}, {_number(rate)} {self.unit}/s)"


def _target(value: float) -> str:
    """One decimal (2.0), or two where one would round the target (0.95, not 0.9)."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:.2f}"


def _number(value: float) -> str:
    """Three significant digits for small values, whole numbers with separators for big ones."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def render(
    title: str,
    comparisons: list[Comparison],
    *,
    as_json: bool = False,
    details: dict[str, Any] | None = None,
) -> None:
    """Print the comparisons as the common table, or as JSON (with the area's `details`)."""
    if as_json:
        print_json(
            {
                "title": title,
                "ratio": RATIO_DEFINITION,
                "comparisons": [comparison.as_json() for comparison in comparisons],
                **({"details": details} if details else {}),
            }
        )
        return
    print_table(
        title, COLUMNS, [comparison.row() for comparison in comparisons], caption=RATIO_DEFINITION
    )


def wait_for_quiet_platform(conn: Any, *, timeout: float) -> None:
    """Until no job of the environment is active (`conn` in autocommit): a benchmark through
    the running platform times its own job alone."""
    deadline = time.monotonic() + timeout
    with conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(query(__file__, "benchkit.sql", "active_jobs"))
            if cur.fetchone() == (0,):
                return
            time.sleep(0.2)
    raise JobError(f"jobs still active after {timeout:g} s; the bench needs a quiet platform")
