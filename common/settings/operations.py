"""Sections read by `inv` areas: `[backups]`, `[schedule]`, `[images]`, `[outputs]`,
`[metadata]` and `[refresh]` (how a deployment is made and reached: `deployment`).

What only a machine can tell — a stack folder with a `main.tf`, a key file that is 0600 — is
checked by the area when it uses the section; everything a file can get wrong is checked here,
at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

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
    register_table,
    section,
)
from common.settings.core import NonEmpty

Count = Annotated[Integer, Bounds(ge=0)]
Seconds = Annotated[Number, Bounds(gt=0)]


@section("backups")
@dataclass(frozen=True)
class BackupsSection(Section):
    """Where an environment's backups live, locally and off-site, and how many to keep:
    the last N plus one per day, week and month."""

    keep_last: Count = Field(default=3, description="newest backups kept")
    keep_daily: Count = Field(default=7, description="days with one backup kept")
    keep_weekly: Count = Field(default=4, description="weeks with one backup kept")
    keep_monthly: Count = Field(default=3, description="months with one backup kept")
    dir: Text = Field(default="", description="backup folder (relative: in the state folder)")
    offsite_bucket: Text = Field(default="", description="S3 bucket backups are shipped to")
    offsite_prefix: Text = Field(default="", description="key prefix there (default backups/<env>)")
    rds_instance: Text = Field(default="", description="RDS instance to snapshot")


@section("schedule")
@dataclass(frozen=True)
class ScheduleSection(Section):
    """When the timers run, as systemd OnCalendar expressions; an absent job is not run."""

    backup: NonEmpty | None = Field(
        default=None, description="take, verify, prune and ship a backup"
    )
    seal: NonEmpty | None = Field(default=None, description="seal finished analyses")
    metadata_sync: NonEmpty | None = Field(
        default=None, description="pull and apply the REDCap metadata ([metadata])"
    )
    lake_check: NonEmpty | None = Field(
        default=None, description="compare the catalog with the lake, checksums included"
    )

    def expressions(self) -> dict[str, str]:
        """{job: OnCalendar expression} for the jobs that are scheduled (jobs are named with
        dashes, as `inv schedule.run` takes them)."""
        values = {
            "backup": self.backup,
            "seal": self.seal,
            "metadata-sync": self.metadata_sync,
            "lake-check": self.lake_check,
        }
        return {job: value for job, value in values.items() if value}


@section("images")
@dataclass(frozen=True)
class ImagesSection(Section):
    """Where images are pushed (default: the stack's registry) and the OS they are built on."""

    registry: Text = Field(default="", description="registry images are pushed to")
    base_image: NonEmpty = Field(default="refinery-os:bookworm", description="OS image of the base")


# Deployment values for an environment without Terraform (or a test): output name -> value,
# any shape Terraform outputs have.
register_table("outputs", dict[str, Any])


def _known_time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only when a file sets a zone

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingProblem("timezone", f"{value!r} is not a known time zone") from None
    return value


@section("metadata")
@dataclass(frozen=True)
class MetadataSection(Section):
    """Where `inv metadata.sync` reads specimen metadata: a REDCap project's API. The API
    token comes from the variable `token_env` or the 0600 file `token_file`, never from here."""

    project: Text = Field(default="", description="the catalog project the records describe")
    redcap_url: Text = Field(default="", description="the REDCap API URL (http(s), ending /api/)")
    token_env: NonEmpty = Field(default="REFINERY_REDCAP_TOKEN", description="token variable")
    token_file: Text = Field(default="", description="0600 file holding the token")
    timezone: Text = Field(default="UTC", description="the zone REDCap writes its times in")
    batch_size: Annotated[Integer, Bounds(ge=1)] = Field(default=200, description="records/call")
    overlap_minutes: Count = Field(default=60, description="re-read before the last watermark")
    request_deadline_seconds: Seconds = Field(
        default=300, description="longest one API request may take, its whole answer included"
    )
    max_value_length: Annotated[Integer, Bounds(ge=1)] = Field(
        default=10_000, description="longest value a record may hold; longer is quarantined"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_time_zone(value)

    @field_validator("redcap_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if value and not (value.startswith(("https://", "http://")) and value.endswith("/api/")):
            raise ValueError("must be an http(s) URL ending /api/")
        return value


@section("refresh")
@dataclass(frozen=True)
class RefreshSection(Section):
    """How `inv staging.refresh` rebuilds this environment's database from production's:
    the anonymisation rules, and how fresh a reused production backup must be."""

    rules: NonEmpty = Field(
        default="infrastructure/anonymise.toml", description="personal columns and their methods"
    )
    reuse_backup_hours: Seconds = Field(default=24, description="reuse a verified backup this new")
    smoke_timeout_seconds: Seconds = Field(default=600, description="time for the smoke job")
    keep_old: Flag = Field(default=False, description="keep the previous database after the swap")

    @property
    def rules_path(self) -> Path:
        """The rules file; a relative `rules` is read from the repository root."""
        from common.environments import REPO_ROOT

        path = Path(self.rules).expanduser()
        return path if path.is_absolute() else REPO_ROOT / path
