"""Sections read by the foreman and the workers: `[foreman]`, `[pipeline]`, `[ena]`, `[geo]`,
`[arrayexpress]`, `[arrays]`, `[download]`, `[workers]`, `[rnaseq]`, `[routing]` and `[batch]`
(`[datasets]`, which the local environment sets, has a module of its own: `datasets`).

They live here, with no dependency on the foreman or the workers, so that an environment file
is checked whole when it is loaded: a foreman never meets a bad value two seconds into its
loop. The foreman and the workers import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Self, get_args

from common.inputs import is_digits
from common.settings.base import (
    Bounds,
    Field,
    Flag,
    Integer,
    Number,
    Section,
    SettingProblem,
    Text,
    field_validator,
    model_validator,
    section,
)
from common.settings.core import NonEmpty, http_url

Positive = Annotated[Number, Bounds(gt=0)]
NotNegative = Annotated[Number, Bounds(ge=0)]
DEFAULT_PORTAL_URL = "https://www.ebi.ac.uk/ena/portal/api"
DEFAULT_GEO_URL = "https://ftp.ncbi.nlm.nih.gov/geo"
Application = Literal["no_op", "fastq_qc"]
BatchApi = Literal["SubmitJob", "DescribeJobs", "ListJobs", "TerminateJob"]
# Calls per second per Batch API unless `[batch] api_rates` says otherwise: SubmitJob below the
# account's fixed 50/s so other systems in the account keep a share.
DEFAULT_BATCH_API_RATES: dict[str, float] = {
    "SubmitJob": 40.0,
    "DescribeJobs": 40.0,
    "ListJobs": 40.0,
    "TerminateJob": 20.0,
}
PROCESS_APPLICATIONS: tuple[str, ...] = get_args(Application)


def parse_address(value: str) -> tuple[str, int] | None:
    """`host:port` (IPv6 as `[::1]:port`), or None when empty (turned off); port 0 asks for a
    free one when the endpoint starts."""
    text = value.strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not is_digits(port) or not 0 <= int(port) < 65536:
        raise ValueError(f"must be HOST:PORT (such as 127.0.0.1:9464), not {value!r}")
    return host, int(port)


@section("foreman")
@dataclass(frozen=True)
class ForemanSettings(Section):
    """How often the foreman looks, and how long it trusts a silent worker.

    `stale_after_seconds` must be at least twice `worker_heartbeat_seconds`, or live workers
    are given up on; `submit_grace_seconds` is how long a claimed job may wait for its
    executor id before the claim is presumed lost with a crashed foreman. An errored job waits
    `retry_delay_seconds` × 2^(attempts so far - 1), at most `retry_delay_max_seconds`, before
    it is dispatched again: a dependency that is down (the ENA portal, S3, a full disk) gets
    time to come back instead of every attempt being spent within a minute. 0 retries at once.

    The leader writes the metrics' per-minute history every `rollup_seconds`; every foreman
    serves `/metrics` on `metrics_address` (HOST:PORT; empty: off). The default port 0 takes a
    free loopback port, so two checkouts' foremen on one machine never fight over one; each
    records the port it got under the environment's state folder (foreman.exporter). With
    `cloudwatch_namespace` set, the leader also publishes the figures to CloudWatch.
    """

    poll_seconds: Positive = Field(default=2.0, description="idle wait between rounds")
    reconcile_seconds: Positive = Field(
        default=10.0, description="how often running jobs are checked"
    )
    heartbeat_seconds: Positive = Field(default=5.0, description="how often the foreman beats")
    takeover_seconds: Positive = Field(default=1.0, description="how often a standby tries to lead")
    stale_after_seconds: Positive = Field(
        default=120.0, description="silence before a worker is lost"
    )
    submit_grace_seconds: Positive = Field(default=60.0, description="claim age before it is lost")
    worker_heartbeat_seconds: Positive = Field(default=15.0, description="how often workers beat")
    batch_size: Annotated[Integer, Bounds(gt=0)] = Field(
        default=500, description="jobs claimed at once"
    )
    retry_delay_seconds: NotNegative = Field(default=10.0, description="first retry delay")
    retry_delay_max_seconds: NotNegative = Field(default=600.0, description="longest retry delay")
    rollup_seconds: Positive = Field(default=60.0, description="how often history is written")
    metrics_address: Text = Field(
        default="127.0.0.1:0", description="HOST:PORT of /metrics (port 0: a free one; empty: off)"
    )
    cloudwatch_namespace: Text = Field(
        default="", description="CloudWatch namespace the leader publishes to (empty: off)"
    )

    @field_validator("metrics_address")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_address(value)
        return value

    @model_validator(mode="after")
    def _stale_outlasts_two_heartbeats(self) -> Self:
        if self.stale_after_seconds < 2 * self.worker_heartbeat_seconds:
            raise SettingProblem(
                "stale_after_seconds",
                "must be at least twice foreman.worker_heartbeat_seconds",
            )
        return self


@section("pipeline")
@dataclass(frozen=True)
class PipelineSettings(Section):
    """The process application queued once an experiment's files are stored."""

    application: Application = Field(default="fastq_qc", description="application")


@section("ena")
@dataclass(frozen=True)
class EnaSettings(Section):
    """The ENA portal the `ena` surveyor asks, and how patiently."""

    portal_url: Text = Field(default=DEFAULT_PORTAL_URL, description="ENA Portal API base URL")
    archive_scheme: Literal["https", "http"] = Field(
        default="https", description="scheme put in front of the archive's fastq paths"
    )
    retries: Annotated[Integer, Bounds(ge=0)] = Field(default=4, description="retries per request")
    backoff_seconds: Annotated[Number, Bounds(ge=0)] = Field(
        default=2.0, description="first backoff"
    )
    timeout_seconds: Positive = Field(default=60.0, description="timeout per request")
    archive_mirror_url: Text = Field(
        default="", description="serve the archive's file paths from this host instead"
    )

    _portal_is_http = field_validator("portal_url")(http_url)

    @field_validator("archive_mirror_url")
    @classmethod
    def _mirror_is_http(cls, value: str) -> str:
        if value:
            http_url(value)
        return value


@section("geo")
@dataclass(frozen=True)
class GeoSettings(Section):
    """Where the `geo` surveyor reads a series' SOFT family file
    (`<base_url>/series/GSE1nnn/GSE1234/soft/GSE1234_family.soft.gz`) and a sample's own
    table (`<query_url>?acc=GSM…&targ=self&form=text&view=data`), and how patiently."""

    base_url: Text = Field(default=DEFAULT_GEO_URL, description="GEO's download area base URL")
    query_url: Text = Field(
        default="https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi",
        description="GEO's accession viewer, which gives a sample's table as text",
    )
    retries: Annotated[Integer, Bounds(ge=0)] = Field(default=4, description="retries per request")
    backoff_seconds: Annotated[Number, Bounds(ge=0)] = Field(
        default=2.0, description="first backoff"
    )
    timeout_seconds: Positive = Field(default=60.0, description="timeout per request")

    _base_is_http = field_validator("base_url")(http_url)
    _query_is_http = field_validator("query_url")(http_url)


@section("arrayexpress")
@dataclass(frozen=True)
class ArrayExpressSettings(Section):
    """Where the `arrayexpress` surveyor reads an experiment from BioStudies: its study JSON
    (`<base_url>/api/v1/studies/E-MTAB-1234`) and its files (`<base_url>/files/E-MTAB-1234/
    <name>`), and how patiently."""

    base_url: Text = Field(
        default="https://www.ebi.ac.uk/biostudies", description="BioStudies' base URL"
    )
    retries: Annotated[Integer, Bounds(ge=0)] = Field(default=4, description="retries per request")
    backoff_seconds: Annotated[Number, Bounds(ge=0)] = Field(
        default=2.0, description="first backoff"
    )
    timeout_seconds: Positive = Field(default=60.0, description="timeout per request")

    _base_is_http = field_validator("base_url")(http_url)


@section("arrays")
@dataclass(frozen=True)
class ArraySettings(Section):
    """Microarrays: a sample that only has its submitter's processed table is converted to genes
    through its chip's probe-to-gene table; one whose identifiers map less than
    `table_floor_percent` fails for good with that reason."""

    table_floor_percent: Annotated[Number, Bounds(ge=0, le=100)] = Field(
        default=50.0, description="lowest share (%) of a table's identifiers that must map"
    )


@section("download")
@dataclass(frozen=True)
class DownloadSettings(Section):
    """How downloads retry (resuming within one attempt) and how much a broken one keeps."""

    retries: Annotated[Integer, Bounds(ge=0)] = Field(default=3, description="resumes per attempt")
    timeout_seconds: Positive = Field(default=60.0, description="timeout per connection and read")
    chunk_bytes: Annotated[Integer, Bounds(ge=4096)] = Field(
        default=64 * 1024, description="a broken transfer keeps all but the last chunk"
    )


@section("workers")
@dataclass(frozen=True)
class WorkerSettings(Section):
    """How a worker decides that its job is stuck: a transfer that moves no byte for
    `stall_seconds` fails the attempt (a heartbeat means progress, not just a live process)."""

    stall_seconds: Positive = Field(default=300.0, description="no byte moved this long: stalled")


@section("rnaseq")
@dataclass(frozen=True)
class RnaSeqSettings(Section):
    """RNA-seq: when samples are quantified with salmon, how, and where Ensembl is.

    With `quantify`, a stored experiment whose organism has a transcriptome index is
    quantified beside the `[pipeline]` application (an experiment an archive says is not
    RNA-seq is not). A sample mapping less than `mapping_floor_percent` of its reads fails
    for good with that reason. Reads of at least `long_read_min_length` bases use the k=31
    index, shorter ones the k=23 index.
    """

    quantify: Flag = Field(default=True, description="queue salmon for organisms with an index")
    mapping_floor_percent: Annotated[Number, Bounds(ge=0, le=100)] = Field(
        default=20.0, description="lowest mapping rate (%) a sample may have"
    )
    salmon_threads: Annotated[Integer, Bounds(ge=1, le=256)] = Field(
        default=2, description="threads salmon runs with"
    )
    long_read_min_length: Annotated[Integer, Bounds(ge=24)] = Field(
        default=76, description="shortest read (bp) that uses the long (k=31) index"
    )
    ensembl_rest_url: Text = Field(
        default="https://rest.ensembl.org", description="Ensembl REST API base URL"
    )
    ensembl_ftp_url: Text = Field(
        default="https://ftp.ensembl.org/pub", description="Ensembl (vertebrates) file server"
    )
    ensembl_genomes_ftp_url: Text = Field(
        default="https://ftp.ensemblgenomes.ebi.ac.uk/pub",
        description="Ensembl Genomes (plants, fungi, metazoa, protists) file server",
    )
    timeout_seconds: Positive = Field(default=60.0, description="timeout per Ensembl request")

    _rest_is_http = field_validator("ensembl_rest_url")(http_url)
    _ftp_is_http = field_validator("ensembl_ftp_url")(http_url)
    _genomes_is_http = field_validator("ensembl_genomes_ftp_url")(http_url)


@section("routing")
@dataclass(frozen=True)
class RoutingSection(Section):
    """Which worker pool (queue) a job runs on: by memory tier first, then by kind; see
    `foreman.routing`. Without this section every job stays on the queue it was created with."""

    default_queue: NonEmpty = Field(default="default", description="queue unless a rule matches")
    kind_queues: dict[NonEmpty, NonEmpty] = Field(
        default_factory=dict, description="job kind -> queue"
    )
    memory_queues: dict[NonEmpty, Annotated[Integer, Bounds(gt=0)]] = Field(
        default_factory=dict, description="queue -> smallest memory tier (MB) it takes"
    )


@section("batch")
@dataclass(frozen=True)
class BatchSettings(Section):
    """AWS Batch: the stack's job queue per worker pool, plain variables every job definition
    carries, and how many job-definition revisions a prune keeps (for rollbacks)."""

    job_queues: dict[NonEmpty, NonEmpty] = Field(
        default_factory=dict, description="worker pool -> Batch job queue"
    )
    job_environment: dict[NonEmpty, Text] = Field(
        default_factory=dict, description="plain variables every job definition carries"
    )
    keep_revisions: Annotated[Integer, Bounds(ge=1)] = Field(
        default=5, description="revisions kept per job definition"
    )
    api_rates: dict[NonEmpty, Positive] = Field(
        default_factory=dict,
        description="calls per second this foreman allows itself per Batch API (the account's "
        "SubmitJob quota, 50/s, is shared with everything else in it)",
    )
    array_size: Annotated[Integer, Bounds(ge=2, le=10_000)] = Field(
        default=10_000, description="most children per array job (AWS allows 2 to 10,000)"
    )

    @field_validator("api_rates")
    @classmethod
    def _known_apis(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(get_args(BatchApi)))
        if unknown:
            raise ValueError(f"unknown Batch API {unknown[0]!r} ({', '.join(get_args(BatchApi))})")
        return value

    def api_rate(self, api: str) -> float:
        """The configured rate of `api`, else its default (DEFAULT_BATCH_API_RATES)."""
        return float(self.api_rates.get(api, DEFAULT_BATCH_API_RATES[api]))
