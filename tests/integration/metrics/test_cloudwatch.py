"""The leading foreman publishes the metrics layer to CloudWatch (the moto server over HTTP):
`put_metric_data` read back through `get_metric_statistics`."""

from __future__ import annotations

import datetime as dt

import pytest

from common import db
from foreman.cloudwatch import METRIC_NAMES, cloudwatch_client
from tests.integration.metrics.conftest import add_job
from tests.support.foreman import FAST_FOREMAN, start_foreman, wait_until
from tests.support.services import free_port, stop_process

pytestmark = pytest.mark.integration


def _value(client, name: str, environment: str, **dims: str) -> float | None:
    now = dt.datetime.now(dt.UTC)
    dimensions = [{"Name": "Environment", "Value": environment}]
    dimensions += [{"Name": key, "Value": value} for key, value in dims.items()]
    points = client.get_metric_statistics(
        Namespace="RefineryTest", MetricName=name, Dimensions=dimensions,
        StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=1),
        Period=60, Statistics=["Maximum"],
    )["Datapoints"]  # fmt: skip
    return max(point["Maximum"] for point in points) if points else None


def test_the_leader_publishes_the_snapshot_to_cloudwatch(make_env, moto_server, session_dirs):
    env = make_env(
        "cloudwatch",
        executor={"kind": "null"},
        aws={"endpoint_url": moto_server.endpoint_url, "region": "us-east-1"},
        foreman={**FAST_FOREMAN, "metrics_address": f"127.0.0.1:{free_port()}",
                 "cloudwatch_namespace": "RefineryTest"},
    )  # fmt: skip
    with db.transaction(env) as conn:
        for _ in range(3):
            add_job(conn, kind="download", queue="spot", state="failed", attempt=3, reason="x")
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO lake_checks (lake, in_sync, differences, catalog_files,"
                " lake_objects, checksums) VALUES ('lake', false, 2, 5, 7, false)"
            )
    client = cloudwatch_client(env)
    foreman = start_foreman(env, session_dirs["logs"], "cloudwatch")
    try:
        failed = wait_until(
            lambda: _value(client, "FailedJobs", env.name, Queue="spot", Kind="download"),
            timeout=30,
            what="the foreman published FailedJobs for spot/download",
        )
    finally:
        stop_process(foreman)
    assert failed == 3
    assert _value(client, "FailedJobs", env.name) == 3  # the environment-wide figure
    assert _value(client, "LakeInSync", env.name) == 0
    assert _value(client, "ForemanHeartbeatAgeSeconds", env.name) < 10
    assert _value(client, "BackupAgeSeconds", env.name) is None  # no backup: missing data
    published = {m["MetricName"] for m in client.list_metrics(Namespace="RefineryTest")["Metrics"]}
    assert {"FailedJobs", "PendingJobs", "OldestPendingSeconds", "LakeInSync"} <= published
    assert published <= set(METRIC_NAMES)
