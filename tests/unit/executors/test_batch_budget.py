"""The Batch API budget: a token bucket's pace, and what the budget counts per API."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.hooks import HierarchicalEmitter

from foreman.executors.batch_budget import ApiBudget, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_one_seconds_worth_through_then_paces_at_its_rate():
    clock = FakeClock()
    bucket = TokenBucket(4, clock=clock)
    assert bucket.capacity == 4
    assert [bucket.reserve() for _ in range(4)] == [0.0] * 4
    # Then each caller waits its turn, queued behind the ones before it.
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.25, 0.5, 0.75])
    clock.now += 10  # idle time saves up at most one second's worth
    assert [bucket.reserve() for _ in range(4)] == [0.0] * 4
    assert bucket.reserve() == pytest.approx(0.25)


def test_a_throttled_answer_spends_what_was_saved_up():
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock)
    bucket.drain()
    assert bucket.reserve() == pytest.approx(0.5)


def test_a_slow_rate_still_lets_one_call_through():
    assert TokenBucket(0.5).capacity == 1.0
    with pytest.raises(ValueError):
        TokenBucket(0)


def _client() -> SimpleNamespace:
    return SimpleNamespace(meta=SimpleNamespace(events=HierarchicalEmitter()))


def test_the_budget_counts_calls_throttles_and_time_waited_per_api():
    budget = ApiBudget({"SubmitJob": 2.0, "DescribeJobs": 2.0})
    client = _client()
    budget.install(client)
    for _ in range(2):  # what the bucket holds: no wait
        client.meta.events.emit("before-send.batch.SubmitJob", request=None)
    throttled = (SimpleNamespace(status_code=429), {"Error": {"Code": "TooManyRequestsException"}})
    client.meta.events.emit("needs-retry.batch.SubmitJob", response=throttled)
    client.meta.events.emit("before-send.batch.SubmitJob", request=None)  # waits: drained
    client.meta.events.emit("before-send.batch.ListJobs", request=None)  # not budgeted
    usage = budget.usage()
    assert set(usage) == {"SubmitJob", "DescribeJobs"}
    submit = usage["SubmitJob"]
    assert (submit["calls_total"], submit["calls_last_minute"]) == (3, 3)
    assert (submit["throttled_total"], submit["throttled_last_minute"]) == (1, 1)
    assert submit["rate_per_second"] == 2.0
    assert 0.25 < submit["waited_seconds_total"] <= 0.5  # half a second per token
    assert usage["DescribeJobs"]["calls_total"] == 0
    assert usage["DescribeJobs"]["waited_seconds_total"] == 0
