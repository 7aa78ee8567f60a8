"""A REDCap API on loopback for tests: the export endpoints a metadata sync uses.

It speaks REDCap's API as PyCap calls it (form-encoded POST to `/api/`, `token`, `content`,
`format=json`): `metadata` (the data dictionary), `record` (flat export with `records[i]`,
`fields[i]`, `dateRangeBegin`), and `log` (`logtype`, `beginTime`). Records are written by the
test with `put` and `delete`, which also write the project log, as REDCap does. Times are the
server's clock in UTC. Every request is kept in `requests` so tests can see what was asked.

A slow or broken server is a setting away: `drip_seconds` sends every answer one byte at a
time with that pause between bytes (a server that never stalls long enough for a per-read
timeout), and `answers` replaces the answer to one `content` with whatever the test gives.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
DEFAULT_FIELDS = (
    "sample_id",
    "individual_id",
    "species",
    "sex",
    "diagnosis",
    "tissue",
    "collection_date",
    "tumor_content",
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class RedcapProject:
    fields: tuple[str, ...] = DEFAULT_FIELDS
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    modified: dict[str, datetime] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    drip_seconds: float = 0.0
    answers: dict[str, Any] = field(default_factory=dict)  # content -> the answer to give
    stopping: threading.Event = field(default_factory=threading.Event)

    def put(self, record_id: str, **values: Any) -> None:
        """Create or update a record (values merge into an existing one)."""
        with self.lock:
            action = "Update" if record_id in self.records else "Create"
            record = self.records.setdefault(record_id, {"sample_id": record_id})
            record.update({k: str(v) for k, v in values.items()})
            self.modified[record_id] = _now()
            self._log(f"{action} record {record_id}", "record_edit", "coordinator")

    def delete(self, record_id: str) -> None:
        with self.lock:
            del self.records[record_id]
            self.modified.pop(record_id, None)
            self._log(f"Delete record {record_id}", "record_delete", "coordinator")

    def _log(self, action: str, kind: str, user: str) -> None:
        self.log.append({"timestamp": _now(), "username": user, "action": action, "kind": kind})

    def asked_records(self) -> list[list[str]]:
        """The record ids each full-record export asked for, in order."""
        return [r["records"] for r in self.requests if r["content"] == "record" and r["records"]]

    def answer(self, form: list[tuple[str, str]]) -> tuple[int, Any]:
        values = dict(form)
        listed = {
            name: [v for k, v in form if k.startswith(f"{name}[")] for name in ("records", "fields")
        }
        with self.lock:
            self.requests.append(
                {"content": values.get("content"), **listed, "since": values.get("dateRangeBegin")}
            )
            if values.get("token") != TOKEN:
                return 403, {"error": "You do not have permissions to use the API"}
            content = values.get("content")
            if content in self.answers:
                return 200, self.answers[content]
            if content == "metadata":
                return 200, [
                    {"field_name": name, "form_name": "specimen", "field_type": "text"}
                    for name in self.fields
                ]
            if content == "record":
                return 200, self._records(listed["records"], listed["fields"], values)
            if content == "log":
                return 200, self._log_rows(values)
        return 400, {"error": f"content {content!r} is not served here"}

    def _records(self, ids: list[str], fields: list[str], values: dict[str, str]) -> list:
        since = values.get("dateRangeBegin")
        begin = datetime.strptime(since, "%Y-%m-%d %H:%M:%S") if since else None
        wanted = [f for f in (fields or self.fields) if f in self.fields]
        if "sample_id" not in wanted:
            wanted.insert(0, "sample_id")
        rows = []
        for record_id in sorted(self.records):
            if ids and record_id not in ids:
                continue
            if begin and self.modified[record_id] < begin:
                continue
            rows.append({name: self.records[record_id].get(name, "") for name in wanted})
        return rows

    def _log_rows(self, values: dict[str, str]) -> list:
        since = values.get("beginTime")
        begin = datetime.strptime(since, "%Y-%m-%d %H:%M:%S") if since else None
        kind = values.get("logtype")
        return [
            {
                "timestamp": entry["timestamp"].strftime("%Y-%m-%d %H:%M"),
                "username": entry["username"],
                "action": entry["action"],
                "details": "",
            }
            for entry in self.log
            if (not kind or entry["kind"] == kind) and (not begin or entry["timestamp"] >= begin)
        ]


class _Handler(BaseHTTPRequestHandler):
    project: RedcapProject

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
        status, body = self.project.answer(form) if self.path == "/api/" else (404, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not self.project.drip_seconds:
            self.wfile.write(data)
            return
        for index in range(len(data)):  # one byte, then a pause: never a long silence
            if self.project.stopping.is_set():
                return
            try:
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
            except OSError:  # the client gave up
                return
            time.sleep(self.project.drip_seconds)

    def log_message(self, *args: Any) -> None:
        pass


class RedcapServer:
    """Serves one RedcapProject on 127.0.0.1 until `stop`."""

    def __init__(self, project: RedcapProject | None = None) -> None:
        self.project = project or RedcapProject()
        handler = type("Handler", (_Handler,), {"project": self.project})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def stop(self) -> None:
        self.project.stopping.set()
        self._server.shutdown()
        self._server.server_close()
