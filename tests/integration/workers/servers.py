"""A real HTTP server on loopback, in a thread, serving FASTQ files and ENA file reports.

It honours `Range: bytes=N-` (206 + Content-Range), can break a transfer half way once per
path (full Content-Length announced, half the bytes sent, connection closed), can ignore range
requests, and serves queued ENA Portal API answers for `/ena/portal/api/filereport`. Every
request is logged so tests can see what the client asked for.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class ServedRequest:
    path: str
    range: str | None
    query: dict[str, list[str]]


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    break_once: set[str] = field(default_factory=set)
    ignore_range: bool = False
    ena_answers: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    ena_default: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    requests: list[ServedRequest] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        state = self.server.state
        parsed = urlparse(self.path)
        query = parse_qs(parsed.query)
        state.requests.append(ServedRequest(parsed.path, self.headers.get("Range"), query))
        if parsed.path.endswith("/filereport"):
            self._ena(query.get("accession", [""])[0])
        else:  # a file is served by its path with its query (GEO's acc.cgi), or by its path
            self._file(self.path if self.path in state.files else parsed.path)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _ena(self, accession: str) -> None:
        state = self.server.state
        if state.ena_answers[accession]:
            status, body = state.ena_answers[accession].popleft()
        elif accession in state.ena_default:
            status, body = state.ena_default[accession]
        else:
            status, body = 400, b'{"message": "Invalid accession"}'
        self._send(status, body, {"Content-Type": "text/plain"})

    def _file(self, path: str) -> None:
        state = self.server.state
        content = state.files.get(path)
        if content is None:
            self._send(404, b"not found")
            return
        start = 0
        range_header = self.headers.get("Range")
        if range_header and not state.ignore_range and range_header.startswith("bytes="):
            start = int(range_header[len("bytes=") :].split("-")[0])
            if start >= len(content):
                self._send(416, b"", {"Content-Range": f"bytes */{len(content)}"})
                return
        body = content[start:]
        status = 206 if start else 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if path in state.break_once:
            state.break_once.discard(path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


class LoopbackHttpServer:
    """Start with `start()`, stop with `stop()`; `url(path)` gives a full URL."""

    def __init__(self) -> None:
        self.state = ServerState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> LoopbackHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
