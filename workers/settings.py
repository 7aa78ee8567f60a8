"""The worker settings an environment file may set, validated in one place.

[pipeline]  application = "fastq_qc"   process application queued once an experiment is stored
[ena]       portal_url = "https://www.ebi.ac.uk/ena/portal/api"
            archive_scheme = "https"   scheme put in front of the archive's fastq paths
            archive_mirror_url = ""    serve the archive's files from here instead
                                       (`<url>/ftp.sra.ebi.ac.uk/vol1/…`): a sandbox serves
                                       recorded reports and files on loopback
            retries = 4, backoff_seconds = 2.0, timeout_seconds = 60
[download]  retries = 3 (resumes within one attempt), timeout_seconds = 60,
            chunk_bytes = 65536 (a broken transfer keeps all but the last chunk)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.environments import Environment
from common.errors import ConfigError

DEFAULT_PORTAL_URL = "https://www.ebi.ac.uk/ena/portal/api"
PROCESS_APPLICATIONS = ("no_op", "fastq_qc")


@dataclass(frozen=True)
class PipelineSettings:
    application: str = "fastq_qc"


@dataclass(frozen=True)
class EnaSettings:
    portal_url: str = DEFAULT_PORTAL_URL
    archive_scheme: str = "https"
    archive_mirror_url: str = ""
    retries: int = 4
    backoff_seconds: float = 2.0
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class DownloadSettings:
    retries: int = 3
    timeout_seconds: float = 60.0
    chunk_bytes: int = 64 * 1024


def _section(env: Environment, name: str, cls: type) -> Any:
    return env.settings(name, cls)


def pipeline_settings(env: Environment) -> PipelineSettings:
    settings = _section(env, "pipeline", PipelineSettings)
    if settings.application not in PROCESS_APPLICATIONS:
        raise ConfigError(
            f"{env.path}: pipeline.application must be one of {', '.join(PROCESS_APPLICATIONS)}"
        )
    return settings


def ena_settings(env: Environment) -> EnaSettings:
    settings = _section(env, "ena", EnaSettings)
    if settings.archive_scheme not in ("https", "http"):
        raise ConfigError(f"{env.path}: ena.archive_scheme must be https or http")
    for key in ("portal_url", "archive_mirror_url"):
        value = getattr(settings, key)
        if (value or key == "portal_url") and not value.startswith(("https://", "http://")):
            raise ConfigError(f"{env.path}: ena.{key} must be an http(s) URL")
    return settings


def download_settings(env: Environment) -> DownloadSettings:
    settings = _section(env, "download", DownloadSettings)
    if settings.chunk_bytes < 4096:
        raise ConfigError(f"{env.path}: download.chunk_bytes must be at least 4096")
    return settings
