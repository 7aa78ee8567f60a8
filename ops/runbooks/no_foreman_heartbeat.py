"""Runbook: no foreman is leading, so nothing is dispatched (alarm `no-foreman-heartbeat`).

When: the leader's heartbeat (`foreman_heartbeats.beat_at`) stopped advancing, or no foreman
publishes one at all.

1. `inv foreman.status -e ENV`: the leader, its heartbeat age, version and host ("NO LEADER"
   when none leads).
2. `inv foreman.restart -e ENV` restarts every foreman host at the release running now (or
   `-v VERSION`) and waits for a fresh heartbeat; what it does on each host is the restart
   procedure in ops/foreman_restart.py.
3. It still does not lead: its own log says why, `inv logs -e ENV --filter foreman`.
"""
