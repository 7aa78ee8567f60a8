"""Runbook: a job has waited too long (alarm `oldest-pending-too-old`).

When: the oldest pending job of the environment has waited longer than the alarm's threshold
(an hour by default) for ten minutes.

1. `inv jobs.top -e ENV`: which queue holds the waiting jobs, how many run, the capacity.
   - Every slot busy and the queue long: the pool is at its `max_vcpus` (the stack's
     `batch_pools`); raise it in the environment's tfvars and `inv deploy`, or wait.
   - Slots free but nothing dispatched: the foreman is stuck — `inv foreman.status -e ENV`,
     then `inv foreman.restart -e ENV` (ops/foreman_restart.py).
2. `inv jobs.status -e ENV` shows one job's history; `inv logs -e ENV --job ID` its output.
"""
