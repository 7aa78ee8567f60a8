"""A loopback HTTP proxy in front of the AWS emulator that throttles AWS Batch calls.

Everything is forwarded to the emulator unchanged, except that a share of Batch API calls
(REST paths under `/v1/`) is answered the way AWS answers when its quotas are hit: HTTP 429
`TooManyRequestsException` or HTTP 400 `ThrottlingException`. The first `throttle_first`
SubmitJob calls are always throttled (only those whose body holds `force_when`, when given:
an array's), so a client's own retries run out at least once and the caller's handling of that
(not spending the job's attempt) is exercised, not only botocore's backoff. Every request is
counted, and its arrival time kept per path, so a test can show throttling happened and
measure the rate at which a client called.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass
class ProxyState:
    upstream: str
    share: float
    throttle_first: int
    force_when: bytes | None = None
    seed: int = 1
    counts: Counter = field(default_factory=Counter)
    arrivals: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def arrived(self, path: str, when: float) -> None:
        """Note a request's arrival (time.monotonic()) before anything else is done with it."""
        with self.lock:
            self.arrivals[path].append(when)

    def decide(self, path: str, body: bytes = b"") -> str | None:
        """The throttling answer for this call, or None to forward it."""
        if not path.startswith("/v1/"):
            return None
        with self.lock:
            self.counts[path] += 1
            forced = False
            if path == "/v1/submitjob" and (self.force_when is None or self.force_when in body):
                self.counts["forcible /v1/submitjob"] += 1
                forced = self.counts["forcible /v1/submitjob"] <= self.throttle_first
            if not forced and self.random.random() >= self.share:
                return None
            answer = self.random.choice(("TooManyRequestsException", "ThrottlingException"))
            self.counts[f"throttled {path}"] += 1
            return answer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _handle(self) -> None:
        state = self.server.state
        path = urlparse(self.path).path
        state.arrived(path, time.monotonic())
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        throttled = state.decide(path, body)
        if throttled:
            status = 429 if throttled == "TooManyRequestsException" else 400
            payload = json.dumps({"__type": throttled, "message": "Rate exceeded"}).encode()
            self.send_response(status)
            self.send_header("x-amzn-ErrorType", throttled)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = urlparse(state.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            head = self.command == "HEAD"  # its Content-Length is the object's, not the body's
            for key, value in response.getheaders():
                if key.lower() in _HOP_BY_HOP or (key.lower() == "content-length" and not head):
                    continue
                self.send_header(key, value)
            if not head:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ProxyState


class ThrottlingProxy:
    """Start with `.start()`, point clients at `.endpoint_url`, stop with `.stop()`."""

    def __init__(
        self,
        upstream: str,
        *,
        share: float = 0.3,
        throttle_first: int = 0,
        force_when: bytes | None = None,
    ) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = ProxyState(upstream, share, throttle_first, force_when)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def state(self) -> ProxyState:
        return self._server.state

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ThrottlingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
