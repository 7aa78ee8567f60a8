"""The foreman's Batch API budget: a token bucket per API, and what was spent.

AWS Batch allows SubmitJob 50 calls/s per account and region, shared by everything in the
account; the other APIs have their own limits. Every HTTP request the Batch client sends —
botocore's own retries included — first takes a token from its API's bucket (`[batch]
api_rates`, calls per second), so the foreman's threads together never exceed the rate it
was given. A throttled answer (`TooManyRequestsException`, 429) empties that bucket, so the
next calls wait, and botocore retries the call with exponential backoff and full jitter; none
of it touches a job's attempt. Calls and throttles of the last minute, and the time calls
waited for a token (the budget holding the foreman back), are kept for the foreman's
heartbeat, which `inv jobs.status` shows.

The hooks sit on botocore's request events (`before-send`, `needs-retry`), the boundary where
requests leave the process, so nothing else in the executor needs to know about the budget.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

WINDOW_SECONDS = 60.0
_THROTTLE_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"}
)


class TokenBucket:
    """`rate` tokens per second, at most one second's worth saved up; thread-safe.

    A caller reserves its token and sleeps outside the lock, so waiting threads queue in
    order and the rate holds however many share the bucket.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; how many seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Wait for a token; returns how long it waited."""
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
        return wait

    def drain(self) -> None:
        """Spend what is saved up (after a throttle): the next calls pace at `rate`."""
        with self._lock:
            self._tokens = min(self._tokens, 0.0)


class ApiBudget:
    """Buckets and counters per Batch API, hooked onto one botocore client."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.buckets = {api: TokenBucket(rate) for api, rate in rates.items()}
        self._calls: dict[str, deque[float]] = {api: deque() for api in rates}
        self._throttles: dict[str, deque[float]] = {api: deque() for api in rates}
        self.totals: dict[str, int] = dict.fromkeys(rates, 0)
        self.throttled_totals: dict[str, int] = dict.fromkeys(rates, 0)
        self.waited_seconds: dict[str, float] = dict.fromkeys(rates, 0.0)
        self._lock = threading.Lock()

    def install(self, client: Any) -> None:
        """Pace and count every request `client` sends to a budgeted API."""
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None:  # not a botocore client: nothing is sent, nothing to pace
            return
        events.register("before-send.batch", self._before_send)
        events.register("needs-retry.batch", self._after_answer)

    def _before_send(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        api = event_name.rsplit(".", 1)[-1]
        bucket = self.buckets.get(api)
        if bucket is None:
            return None
        waited = bucket.acquire()
        with self._lock:
            self._calls[api].append(time.monotonic())
            self.totals[api] += 1
            self.waited_seconds[api] += waited
        return None  # None: botocore sends the request itself

    def _after_answer(self, response: Any = None, event_name: str = "", **_: Any) -> None:
        api = event_name.rsplit(".", 1)[-1]
        if api not in self.buckets or not response:
            return None
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        if getattr(http, "status_code", 0) == 429 or code in _THROTTLE_CODES:
            self.buckets[api].drain()
            with self._lock:
                self._throttles[api].append(time.monotonic())
                self.throttled_totals[api] += 1
        return None  # the retry decision stays botocore's

    def usage(self) -> dict[str, dict[str, float]]:
        """Per API: its rate, calls and throttles in the last minute and since start, and how
        long calls waited for a token since start."""
        horizon = time.monotonic() - WINDOW_SECONDS
        report: dict[str, dict[str, float]] = {}
        with self._lock:
            for api, bucket in self.buckets.items():
                for seen in (self._calls[api], self._throttles[api]):
                    while seen and seen[0] < horizon:
                        seen.popleft()
                report[api] = {
                    "rate_per_second": bucket.rate,
                    "calls_last_minute": len(self._calls[api]),
                    "throttled_last_minute": len(self._throttles[api]),
                    "calls_total": self.totals[api],
                    "throttled_total": self.throttled_totals[api],
                    "waited_seconds_total": round(self.waited_seconds[api], 3),
                }
        return report
