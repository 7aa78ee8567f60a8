"""Worker settings from environment files, and which source URLs a download accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.environments import (
    AwsSettings,
    DatabaseSettings,
    Environment,
    ExecutorSettings,
    LakeSettings,
)
from common.errors import ConfigError
from common.settings.jobs import DownloadSettings, EnaSettings, PipelineSettings, WorkerSettings
from workers.downloaders.transfer import DownloadFailed, download_url


def environment(**extra) -> Environment:
    return Environment(
        name="unit",
        path=Path("unit.toml"),
        database=DatabaseSettings("embedded"),
        lake=LakeSettings("filesystem", root="lake"),
        executor=ExecutorSettings("null"),
        logs={},
        aws=AwsSettings(),
        extra=extra,
    )


def test_defaults_point_at_the_real_archive_and_fastq_qc():
    env = environment()
    assert EnaSettings.for_environment(env).portal_url == "https://www.ebi.ac.uk/ena/portal/api"
    assert PipelineSettings.for_environment(env).application == "fastq_qc"
    assert env.bot_user == "refinery-bot"
    assert DownloadSettings.for_environment(env).retries == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"pipeline": {"application": "bwa"}}, "pipeline.application must be one of"),
        ({"ena": {"portal_url": "ftp://x"}}, "ena.portal_url must be an http"),
        ({"ena": {"archive_mirror_url": "127.0.0.1:8089"}}, "ena.archive_mirror_url must be"),
        ({"ena": {"retries": "many"}}, "ena.retries must be an integer"),
        ({"ena": {"colour": 1}}, "unknown key ena.colour"),
        ({"download": {"chunk_bytes": 10}}, "at least 4096"),
    ],
)
def test_bad_settings_are_one_line_config_errors(extra, message):
    env = environment(**extra)
    with pytest.raises(ConfigError, match=message):
        PipelineSettings.for_environment(env)
        EnaSettings.for_environment(env)
        DownloadSettings.for_environment(env)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "ftp.sra.ebi.ac.uk/vol1/fastq/x.fastq.gz",
            "https://ftp.sra.ebi.ac.uk/vol1/fastq/x.fastq.gz",
        ),
        ("ftp://ftp.sra.ebi.ac.uk/vol1/x.fastq.gz", "https://ftp.sra.ebi.ac.uk/vol1/x.fastq.gz"),
        ("https://example.org/x.fq", "https://example.org/x.fq"),
        ("file:///data/x.fq", "file:///data/x.fq"),
        ("s3://bucket/delivery/x.fq", "s3://bucket/delivery/x.fq"),  # a delivery in S3
    ],
)
def test_archive_ftp_paths_are_fetched_over_https(url, expected):
    assert download_url(url) == expected


@pytest.mark.parametrize("url", ["ftp://elsewhere.org/x.fq", "gs://bucket/x.fq", "x.fq"])
def test_other_schemes_are_refused(url):
    with pytest.raises(DownloadFailed, match="only file://"):
        download_url(url)


def test_stall_seconds_defaults_to_five_minutes_and_must_be_positive():
    assert WorkerSettings.for_environment(environment()).stall_seconds == 300
    assert (
        WorkerSettings.for_environment(environment(workers={"stall_seconds": 2.5})).stall_seconds
        == 2.5
    )
    for wrong in (0, -1):
        with pytest.raises(ConfigError, match="stall_seconds must be a positive number"):
            WorkerSettings.for_environment(environment(workers={"stall_seconds": wrong}))
