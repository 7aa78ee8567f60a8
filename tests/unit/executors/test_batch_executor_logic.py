"""How the Batch executor picks queues, definitions and tiers, and explains failures.

These need no AWS endpoint: the client is created but never called. The calls themselves
are proven against moto's Batch in tests/integration/images/test_batch_executor.py.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import JobError
from common.worker_identity import worker_command
from foreman.executors.base import Submission
from foreman.executors.batch import BatchExecutor, _failure_reason, is_unavailable
from tests.support.environments import write_environment


@pytest.fixture
def executor(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    write_environment(
        tmp_path,
        "staging",
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "b"},
            "executor": {
                "kind": "batch",
                "memory_tiers_mb": [2048, 8192, 4096],
                "queues": {"download": 20},
            },
            "aws": {"endpoint_url": "http://127.0.0.1:9"},
            "batch": {"job_queues": {"download": "spot-downloads"}},
        },
    )
    return BatchExecutor(load_environment("staging"))


def _submission(**overrides):
    values = {
        "job_id": 5,
        "attempt": 1,
        "kind": "process",
        "queue": "default",
        "memory_mb": 2048,
        "environment": "staging",
        "command": worker_command(5),
    }
    return Submission(**{**values, **overrides})


def test_memory_goes_to_the_definition_of_the_smallest_tier_that_holds_it(executor):
    assert executor.definition_memory_mb(100) == 2048
    assert executor.definition_memory_mb(2049) == 4096
    assert executor.definition_memory_mb(8192) == 8192
    with pytest.raises(JobError, match="exceeds the largest memory tier"):
        executor.definition_memory_mb(9000)


def test_queues_and_pipelines_follow_configuration_then_naming_rules(executor):
    assert executor.job_queue_for("download") == "spot-downloads"
    assert executor.job_queue_for("survey") == "refinery-staging-survey"
    assert executor.job_queue_for("large_memory") == "refinery-staging-large-memory"
    assert executor.pipeline_for(_submission(kind="download", handler="download")) == "download"
    qc = _submission(handler="fastq_qc")
    assert executor.pipeline_for(qc) == "process-fastq_qc"
    survey = _submission(kind="survey", handler="delivery")
    assert executor.pipeline_for(survey) == "survey-delivery"
    assert executor.capacity("download") == 20
    assert executor.capacity("survey") == 100


def test_describe_refuses_more_than_one_batch_call_worth(executor):
    with pytest.raises(JobError, match="at most 100"):
        executor.describe([str(n) for n in range(101)])
    assert executor.describe([]) == {}


def test_failure_reason_names_status_container_reason_and_exit_code():
    job = {
        "statusReason": "Essential container in task exited",
        "container": {"reason": "OutOfMemoryError: Container killed", "exitCode": 137},
    }
    assert _failure_reason(job) == (
        "Essential container in task exited; OutOfMemoryError: Container killed; exit code 137"
    )
    assert _failure_reason({}) == "failed"


def _client_error(status, code):
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SubmitJob",
    )


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (_client_error(429, "TooManyRequestsException"), True),
        (_client_error(400, "ThrottlingException"), True),
        (_client_error(503, "ServiceUnavailable"), True),
        (_client_error(500, "ServerException"), True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
        (_client_error(400, "ClientException"), False),  # e.g. no such job definition
        (ValueError("bad"), False),
    ],
)
def test_throttling_and_outages_are_told_apart_from_refusals(error, unavailable):
    assert is_unavailable(error) is unavailable
