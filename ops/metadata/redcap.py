"""The REDCap API, through PyCap: the data dictionary, record ids, records in batches, and the
log of deleted records. Nothing else in Refinery talks to REDCap.

Every failure (unreachable server, refused token, an error the API answers) becomes one
MetadataSourceError line; the token travels only in the request body, never in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common.errors import RefineryError

REQUEST_TIMEOUT_SECONDS = 120
_DELETED = re.compile(r"^delete record\b.*?(\S+)\s*$", re.IGNORECASE)


class MetadataSourceError(RefineryError):
    """The metadata source could not be read; nothing was changed."""


class RedcapSource:
    """One REDCap project, read through its API token."""

    def __init__(self, url: str, token: str, *, timezone: str = "UTC") -> None:
        from redcap import Project

        self.url = url
        self.zone = ZoneInfo(timezone)
        self._project = Project(url, token, timeout=REQUEST_TIMEOUT_SECONDS)

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        import requests
        from redcap import RedcapError

        try:
            return method(**kwargs)
        except RedcapError as exc:
            detail = exc.args[0] if exc.args else exc
            if isinstance(detail, dict):
                detail = detail.get("error", detail)
            raise MetadataSourceError(f"REDCap refused the {what} export: {detail}") from None
        except requests.RequestException as exc:
            raise MetadataSourceError(
                f"cannot reach REDCap at {self.url} ({type(exc).__name__})"
            ) from None
        except ValueError as exc:  # an answer that is not JSON
            raise MetadataSourceError(f"REDCap answered the {what} export with {exc}") from None

    def _local(self, moment: datetime) -> datetime:
        """`moment` in REDCap's own zone, naive, as its API reads times."""
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def field_names(self) -> list[str]:
        """The project's fields, from its data dictionary (the first is the record id)."""
        rows = self._call("metadata", self._project.export_metadata, format_type="json")
        return [str(row["field_name"]) for row in rows]

    def record_ids(self, id_field: str, *, since: datetime | None = None) -> list[str]:
        """Every record id, or those created or changed since `since`."""
        rows = self._call(
            "record",
            self._project.export_records,
            format_type="json",
            fields=[id_field],
            date_begin=self._local(since) if since else None,
        )
        return sorted({str(row[id_field]) for row in rows if str(row.get(id_field, ""))})

    def records(
        self, ids: Sequence[str], fields: Sequence[str], *, batch_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """The records `ids`, `batch_size` at a time."""
        for start in range(0, len(ids), batch_size):
            batch = list(ids[start : start + batch_size])
            yield self._call(
                "record",
                self._project.export_records,
                format_type="json",
                records=batch,
                fields=list(fields),
            )

    def deletions(self, *, since: datetime | None) -> dict[str, dict[str, str]]:
        """{record id: {when, by}} for records deleted since `since`, from the project log."""
        rows = self._call(
            "log",
            self._project.export_logging,
            format_type="json",
            log_type="record_delete",
            begin_time=self._local(since) if since else None,
        )
        found = {}
        for row in rows:
            match = _DELETED.match(str(row.get("action", "")).strip())
            if match:
                found[match.group(1)] = {
                    "when": str(row.get("timestamp", "")),
                    "by": str(row.get("username", "")),
                }
        return found
