"""The worker settings an environment file may set, declared in `common.settings.jobs` and
validated when the environment is loaded.

[pipeline]  application = "fastq_qc"   process application queued once an experiment is stored
[ena]       portal_url = "https://www.ebi.ac.uk/ena/portal/api"
            archive_scheme = "https"   scheme put in front of the archive's fastq paths
            archive_mirror_url = ""    serve the archive's files from here instead
                                       (`<url>/ftp.sra.ebi.ac.uk/vol1/…`): a sandbox serves
                                       recorded reports and files on loopback
            retries = 4, backoff_seconds = 2.0, timeout_seconds = 60
[geo]       base_url = "https://ftp.ncbi.nlm.nih.gov/geo"   where series' SOFT family files are
            query_url = "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi"   a sample's own table
            retries = 4, backoff_seconds = 2.0, timeout_seconds = 60
[download]  retries = 3 (resumes within one attempt), timeout_seconds = 60,
            chunk_bytes = 65536 (a broken transfer keeps all but the last chunk)
[workers]   stall_seconds = 300    a transfer that moves no byte for this long fails the attempt
[arrays]    table_floor_percent = 50   a processed table mapping less to genes fails
[rnaseq]    quantify, mapping_floor_percent, salmon_threads, long_read_min_length, Ensembl URLs
"""

from __future__ import annotations

from common.environments import Environment
from common.settings.jobs import (
    DEFAULT_PORTAL_URL,
    PROCESS_APPLICATIONS,
    ArraySettings,
    DownloadSettings,
    EnaSettings,
    GeoSettings,
    PipelineSettings,
    RnaSeqSettings,
    WorkerSettings,
)

__all__ = [
    "DEFAULT_PORTAL_URL",
    "PROCESS_APPLICATIONS",
    "ArraySettings",
    "DownloadSettings",
    "EnaSettings",
    "GeoSettings",
    "PipelineSettings",
    "RnaSeqSettings",
    "WorkerSettings",
    "array_settings",
    "download_settings",
    "ena_settings",
    "geo_settings",
    "pipeline_settings",
    "rnaseq_settings",
    "worker_settings",
]


def pipeline_settings(env: Environment) -> PipelineSettings:
    return PipelineSettings.for_environment(env)


def ena_settings(env: Environment) -> EnaSettings:
    return EnaSettings.for_environment(env)


def geo_settings(env: Environment) -> GeoSettings:
    return GeoSettings.for_environment(env)


def download_settings(env: Environment) -> DownloadSettings:
    return DownloadSettings.for_environment(env)


def worker_settings(env: Environment) -> WorkerSettings:
    return WorkerSettings.for_environment(env)


def rnaseq_settings(env: Environment) -> RnaSeqSettings:
    return RnaSeqSettings.for_environment(env)


def array_settings(env: Environment) -> ArraySettings:
    return ArraySettings.for_environment(env)
