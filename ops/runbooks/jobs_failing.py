"""Runbook: too many attempts fail (alarm `failure-rate`).

When: more than the alarm's share (a quarter by default) of the attempts that finished in
fifteen minutes failed.

1. `inv jobs.top -e ENV` groups the failures by reason: one reason dominating points at one
   cause (an archive down, a full scratch volume, a bad release).
2. `inv logs -e ENV --job ID` shows a failed attempt's output.
3. A bad release: `inv rollback -e ENV`. A passing outage: the foreman retries by itself;
   `inv jobs.retry -e ENV` re-queues what gave up once the cause is gone.
"""
