"""The real foreman (`python -m foreman run`) serves the metrics layer on `/metrics` and keeps
its per-minute history in PostgreSQL, where it survives the foreman's restart."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from common import db
from common.metrics import UNLIMITED, collect
from foreman.exporter import METRICS
from tests.integration.metrics.conftest import add_job
from tests.support.foreman import FAST_FOREMAN, fetch, start_foreman, wait_until
from tests.support.services import free_port, stop_process, wait_for_port

pytestmark = pytest.mark.integration


def _env(make_env, name: str, port: int):
    return make_env(
        name,
        executor={"kind": "null"},
        foreman={**FAST_FOREMAN, "metrics_address": f"127.0.0.1:{port}"},
    )


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_endpoint_serves_the_metrics_layer(make_env, session_dirs):
    port = free_port()
    env = _env(make_env, "scrape", port)
    with db.transaction(env) as conn:
        for _ in range(3):
            add_job(conn, kind="download", queue="spot", state="failed", attempt=3,
                    reason="HTTP 503 from /x/y/z")  # fmt: skip
        add_job(conn, kind="download", queue="spot", state="pending", age_seconds=30)
    foreman = start_foreman(env, session_dirs["logs"], "scrape")
    try:
        wait_for_port(port, timeout=30, process=foreman)
        wait_until(lambda: fetch(env, "SELECT 1 FROM jobs WHERE state = 'dispatched'"),
                   timeout=30, what="the foreman dispatched the pending job")  # fmt: skip
        samples = _scrape(port)
    finally:
        stop_process(foreman)

    conn = db.connect(env)
    try:
        snapshot = collect(conn, capacity=lambda q: UNLIMITED, stale_after_seconds=10)
    finally:
        conn.close()
    (spot,) = [q for q in snapshot.queues if q.queue == "spot"]
    labels = (("kind", "download"), ("queue", "spot"))

    def value(name, *extra):
        return samples[(name, tuple(sorted((*labels, *extra))))]

    assert value("refinery_jobs", ("state", "failed")) == spot.failed == 3
    assert value("refinery_jobs", ("state", "dispatched")) == spot.dispatched == 1
    assert value("refinery_oldest_pending_seconds") == 0  # the queue is empty again
    assert value("refinery_dispatches_total") == spot.dispatches_total == 10
    # the null executor takes everything, whatever the file says; capacity is its limit
    assert samples[("refinery_queue_capacity", (("queue", "spot"),))] == UNLIMITED
    reason = (("kind", "download"), ("queue", "spot"), ("reason", "HTTP <n> from <path>"))
    assert samples[("refinery_failed_jobs_by_reason", reason)] == 3
    assert samples[("refinery_foreman_heartbeat_age_seconds", ())] < 10
    assert samples[("refinery_backup_age_seconds", ())] == float("inf")
    served = {name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
              for name, _ in samples}  # fmt: skip
    assert {"refinery_deployed_info", "refinery_attempt_duration_seconds"} <= served
    assert {name.removesuffix("_total") for name in METRICS} <= {
        name.removesuffix("_total").removesuffix("_info") for name in served
    } | {"refinery_deployed"}


@pytest.mark.slow
def test_rollups_survive_a_foreman_restart_and_old_ones_are_pruned(make_env, session_dirs):
    env = _env(make_env, "rollups", free_port())
    with db.transaction(env) as conn:
        add_job(conn, queue="spot", state="failed", attempt=3, reason="boom")
        with conn.cursor() as cur:
            for days in (2, 31):
                cur.execute(
                    "INSERT INTO metrics_minutes SELECT date_trunc('minute', now())"
                    " - make_interval(days => %s), 'spot', 'process', 0, 0, 0, 0, 1, 7, 0, 0,"
                    " 3, 0, 3, 0, 0, '{1}', '{0,0}', 0",
                    (days,),
                )

    def minutes():
        return [row[0] for row in fetch(env, "SELECT minute FROM metrics_minutes ORDER BY 1")]

    started = fetch(env, "SELECT now()")[0][0]
    first = start_foreman(env, session_dirs["logs"], "rollups-1")
    try:
        wait_until(lambda: minutes()[-1] > started - dt.timedelta(minutes=1),
                   timeout=30, what="the first rollup was written")  # fmt: skip
    finally:
        stop_process(first)
    written = minutes()
    assert len(written) == 2  # the 31-day-old row is gone
    assert written[0] < started - dt.timedelta(days=1)  # the 2-day-old row stays

    second = start_foreman(env, session_dirs["logs"], "rollups-2")
    try:
        later = wait_until(
            lambda: [m for m in minutes() if m > written[-1]],
            timeout=75,
            what="the restarted foreman wrote the next minute's rollup",
        )
    finally:
        stop_process(second)
    assert set(written) <= set(minutes())
    rows = fetch(env, "SELECT failed, dispatches_total FROM metrics_minutes WHERE minute = %s",
                 (later[0],))  # fmt: skip
    assert rows == [(1, 3)]
