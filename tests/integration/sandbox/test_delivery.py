"""`inv sandbox.delivery`: a synthetic delivery in the emulator's S3 whose printed source
`inv jobs.survey` accepts; without an emulator, one line saying to start the sandbox."""

from __future__ import annotations

import boto3
import pytest

from common.errors import ExitCode
from ops.sandbox.delivery import DELIVERIES_BUCKET
from tests.support.inv import one_error_line, run_inv

pytestmark = pytest.mark.integration


def test_the_printed_source_is_a_delivery_the_survey_accepts(make_env, moto_server, conn):
    env = make_env("sbxdelivery", aws={"endpoint_url": moto_server.endpoint_url})
    made = run_inv("sandbox.delivery", "-e", env.name, "--samples", "1", "--reads", "20")
    assert made.returncode == 0, made.stderr
    source = made.stdout.strip()
    assert source.startswith(f"s3://{DELIVERIES_BUCKET}/core-") and source.endswith("/")
    assert f"inv jobs.survey -e {env.name} {source} --wait" in made.stderr
    prefix = source.removeprefix(f"s3://{DELIVERIES_BUCKET}/")
    listed = boto3.client("s3").list_objects_v2(Bucket=DELIVERIES_BUCKET, Prefix=prefix)
    keys = sorted(item["Key"].removeprefix(prefix) for item in listed["Contents"])
    assert "samplesheet.csv" in keys and len(keys) == 3  # the sheet and one read pair

    queued = run_inv("jobs.survey", "-e", env.name, source)
    assert queued.returncode == 0, queued.stderr
    assert f"queued for delivery {source}" in queued.stdout


def test_without_an_emulator_it_says_to_start_the_sandbox(make_env):
    env = make_env("sbxnone", aws={"endpoint_url": "http://127.0.0.1:9"})
    result = run_inv("sandbox.delivery", "-e", env.name, timeout=120)
    assert result.returncode == ExitCode.FAILURE
    assert one_error_line(result) == (
        "error: the sandbox's AWS emulator does not answer on 127.0.0.1:9: "
        f"run inv sandbox.up -e {env.name} first"
    )
