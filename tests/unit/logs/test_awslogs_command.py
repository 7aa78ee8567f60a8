"""The `awslogs get` command line built for CloudWatch environments."""

from __future__ import annotations

import pytest

from common.environments import ENVIRONMENTS_DIR_VARIABLE, load_environment
from common.errors import ConfigError
from ops.logs.cloudwatch import LogTarget, awslogs_argv, environment_log_group
from tests.support.environments import write_environment


@pytest.fixture
def cloud_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENTS_DIR_VARIABLE, str(tmp_path))
    write_environment(
        tmp_path,
        "staging",
        {
            "database": {"kind": "dsn"},
            "lake": {"backend": "s3", "bucket": "b"},
            "executor": {"kind": "batch"},
            "aws": {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:4566"},
            "logs": {"kind": "cloudwatch"},
        },
    )
    return load_environment("staging")


def test_argv_names_group_exact_stream_endpoint_and_options(cloud_env, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    target = LogTarget("/aws/batch/job", "refinery-staging-survey-2048mb/default/ab.c")
    argv = awslogs_argv(cloud_env, target, pattern="ERROR", since="2h", watch=True)
    assert argv[1:4] == [
        "get",
        "/aws/batch/job",
        r"refinery\-staging\-survey\-2048mb/default/ab\.c$",
    ]
    joined = " ".join(argv)
    assert "--aws-endpoint-url http://127.0.0.1:4566" in joined
    assert "--aws-region eu-west-1" in joined
    assert "--filter-pattern=ERROR" in joined and "--start 2h" in joined
    assert argv[-1] == "--watch"
    assert "s3cr3t-value" not in joined  # credentials travel in the environment


def test_environment_without_log_group_is_a_config_error(cloud_env):
    with pytest.raises(ConfigError, match=r"\[logs\] group is required"):
        environment_log_group(cloud_env)
