"""The worker settings an environment file may set, validated in one place.

[pipeline]  application = "fastq_qc"   process application queued once an experiment is stored
[ena]       portal_url = "https://www.ebi.ac.uk/ena/portal/api"
            archive_scheme = "https"   scheme put in front of the archive's fastq paths
            retries = 4, backoff_seconds = 2.0, timeout_seconds = 60
[download]  retries = 3 (resumes within one attempt), timeout_seconds = 60,
            chunk_bytes = 65536 (a broken transfer keeps all but the last chunk)
[workers]   stall_seconds = 300    a transfer that moves no byte for this long fails the attempt
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
    retries: int = 4
    backoff_seconds: float = 2.0
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class DownloadSettings:
    retries: int = 3
    timeout_seconds: float = 60.0
    chunk_bytes: int = 64 * 1024


@dataclass(frozen=True)
class WorkerSettings:
    stall_seconds: float = 300.0


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
    if not settings.portal_url.startswith(("https://", "http://")):
        raise ConfigError(f"{env.path}: ena.portal_url must be an http(s) URL")
    return settings


def download_settings(env: Environment) -> DownloadSettings:
    settings = _section(env, "download", DownloadSettings)
    if settings.chunk_bytes < 4096:
        raise ConfigError(f"{env.path}: download.chunk_bytes must be at least 4096")
    return settings


def worker_settings(env: Environment) -> WorkerSettings:
    settings = _section(env, "workers", WorkerSettings)
    if not settings.stall_seconds > 0:
        raise ConfigError(f"{env.path}: workers.stall_seconds must be a positive number")
    return settings
