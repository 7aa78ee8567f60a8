"""The REDCap API, through PyCap: the data dictionary, record ids, records in batches, and the
log of deleted records. Nothing else in Refinery talks to REDCap.

Every failure (unreachable server, refused token, an error the API answers, an answer of
the wrong shape: not a list of objects, a dictionary row without `field_name`) becomes one
MetadataSourceError line; the token travels only in the request body, never in a message.

PyCap's timeout bounds each read, so a server that sends a byte now and then would hold a
request forever. Each request therefore also has a deadline for the whole of it, headers and
body (`[metadata] request_deadline_seconds`): when it passes, a watchdog interrupts the read
with SIGALRM sent to the main thread, where `inv` runs tasks.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from common.errors import RefineryError
from common.inputs import displayable, excerpt
from common.signals import leave_termination_signals_to_main_thread

REQUEST_TIMEOUT_SECONDS = 120  # for each read; the deadline bounds the whole request
_DELETED = re.compile(r"^delete record\b.*?(\S+)\s*$", re.IGNORECASE)


class MetadataSourceError(RefineryError):
    """The metadata source could not be read; nothing was changed."""


class _DeadlinePassed(Exception):
    """Raised by the timer inside whatever read the request was blocked in."""


@contextmanager
def whole_request_deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block with `_DeadlinePassed` once `seconds` have passed, however the
    server spreads its bytes: a watchdog thread sends SIGALRM to the main thread itself (a
    process-wide timer's signal may land on another thread and leave the read blocked), and
    the handler raises inside whatever read was waiting. Signals reach only the main thread;
    elsewhere only the per-read timeout applies."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    main = threading.main_thread().ident
    finished = threading.Event()

    def expire(signum: int, frame: FrameType | None) -> None:
        if not finished.is_set():
            raise _DeadlinePassed()

    def watch() -> None:
        leave_termination_signals_to_main_thread()
        if not finished.wait(seconds) and main is not None:
            signal.pthread_kill(main, signal.SIGALRM)

    previous = signal.signal(signal.SIGALRM, expire)
    watchdog = threading.Thread(target=watch, name="redcap-deadline", daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        finished.set()
        watchdog.join()
        signal.signal(signal.SIGALRM, previous)


class RedcapSource:
    """One REDCap project, read through its API token."""

    def __init__(
        self, url: str, token: str, *, timezone: str = "UTC", deadline_seconds: float = 300
    ) -> None:
        from redcap import Project

        self.url = url
        self.zone = ZoneInfo(timezone)
        self.deadline_seconds = deadline_seconds
        self._project = Project(url, token, timeout=min(REQUEST_TIMEOUT_SECONDS, deadline_seconds))

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        import requests
        from redcap import RedcapError

        try:
            with whole_request_deadline(self.deadline_seconds):
                return method(**kwargs)
        except _DeadlinePassed:
            raise MetadataSourceError(
                f"REDCap at {self.url} did not finish answering the {what} export within "
                f"{self.deadline_seconds:g} s (metadata.request_deadline_seconds); the server is "
                "stalled or too slow, try again later"
            ) from None
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

    def _rows(self, what: str, method: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """An export's answer, which must be a list of objects (one line saying otherwise)."""
        answer = self._call(what, method, **kwargs)
        if not isinstance(answer, list):
            raise MetadataSourceError(
                f"REDCap answered the {what} export with {_kind(answer)}, not a list of rows"
            )
        for number, row in enumerate(answer, 1):
            if not isinstance(row, dict):
                raise MetadataSourceError(
                    f"REDCap's {what} export: row {number} is {_kind(row)} "
                    f"{excerpt(row)}, not an object"
                )
        return answer

    def _local(self, moment: datetime) -> datetime:
        """`moment` in REDCap's own zone, naive, as its API reads times."""
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def field_names(self) -> list[str]:
        """The project's fields, from its data dictionary (the first is the record id)."""
        rows = self._rows("metadata", self._project.export_metadata, format_type="json")
        names = []
        for number, row in enumerate(rows, 1):
            name = row.get("field_name")
            if not isinstance(name, str) or not name:
                raise MetadataSourceError(
                    f"REDCap's data dictionary: row {number} has no field_name "
                    f"(keys: {excerpt(', '.join(map(str, row)) or 'none')})"
                )
            names.append(name)
        return names

    def record_ids(self, id_field: str, *, since: datetime | None = None) -> list[str]:
        """Every record id, or those created or changed since `since`."""
        rows = self._rows(
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
            yield self._rows(
                "record",
                self._project.export_records,
                format_type="json",
                records=batch,
                fields=list(fields),
            )

    def deletions(self, *, since: datetime | None) -> dict[str, dict[str, str]]:
        """{record id: {when, by}} for records deleted since `since`, from the project log."""
        rows = self._rows(
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
                found[match.group(1)] = {  # shown in the plan: storable text only
                    "when": displayable(str(row.get("timestamp", "")))[:40],
                    "by": displayable(str(row.get("username", "")))[:100],
                }
        return found


def _kind(value: object) -> str:
    """What a JSON value is, in words: 'a string', 'a number', 'null'…"""
    names = {str: "a string", int: "a number", float: "a number", bool: "a boolean",
             list: "a list", dict: "an object", type(None): "null"}  # fmt: skip
    return names.get(type(value), type(value).__name__)
