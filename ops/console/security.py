"""What the console refuses before a page is computed, and the tokens its forms carry.

A browser sends the console's cookie with any request to its host, also from a page served on
another port of the same machine (same site, so `SameSite=Strict` does not stop it). So every
state-changing request must prove it came from a page of the console itself: a POST whose
`Origin` (or `Referer`) names another origin is refused outright, and a form post must carry a
token derived from the cookie it arrives with (an HMAC under a secret the console draws at
start, so a restart asks open pages to be reloaded). The token-authenticated API takes its
token from the `Authorization` header only, which no form of another origin can set.

`Guard` (an ASGI middleware around the whole application) also refuses a Host header that
does not name the console on loopback (DNS rebinding), a plain-HTTP request when the console
is behind a TLS-terminating proxy, and control characters in the query string; and it puts
the security headers on every response, error pages included.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from common.errors import ValidationError
from common.inputs import check_text

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer the Fetch standard has a form post carry
    # `Origin: null`, which the origin check below could not tell from a forgery
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Serving:
    """How the console is reached: the address it listens on and who speaks TLS."""

    host: str
    port: int
    tls: bool = False
    behind_proxy: bool = False

    @property
    def secure(self) -> bool:
        """Whether browsers reach it over HTTPS (then the cookie is `Secure`)."""
        return self.tls or self.behind_proxy

    @property
    def scheme(self) -> str:
        return "https" if self.secure else "http"

    def allowed_hosts(self) -> frozenset[str] | None:
        """The Host headers accepted, or None when any is (a proxy's or a public name)."""
        if self.behind_proxy or not ipaddress.ip_address(self.host).is_loopback:
            return None
        literal = f"[{self.host}]" if ":" in self.host else self.host
        return frozenset({f"{literal}:{self.port}", f"localhost:{self.port}"})


def local_path(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this console (`/jobs?state=failed`), else `default`.

    Refused: anything not starting with one `/` (`//host`, `/\\host`, `http:…`), backslashes,
    and control characters or spaces (browsers drop tabs and newlines: `/\\t/host` is `//host`).
    """
    text = target or ""
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return default
    if any(ord(char) < 0x21 or 0x7F <= ord(char) <= 0x9F for char in text):
        return default
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        return default
    return text


def form_token(secret: bytes, purpose: str, cookie: str) -> str:
    """The token a form of the console carries for this cookie (session or sign-in)."""
    return hmac.new(secret, f"{purpose}\0{cookie}".encode(), hashlib.sha256).hexdigest()


def form_token_matches(secret: bytes, purpose: str, cookie: str, sent: str) -> bool:
    if not cookie or not sent:
        return False
    return hmac.compare_digest(form_token(secret, purpose, cookie).encode(), sent.encode())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


def refusal(scope: Scope, serving: Serving) -> tuple[int, str] | None:
    """(status, one-line reason) when the request must not reach the application."""
    if serving.behind_proxy and (_header(scope, b"x-forwarded-proto") or "") != "https":
        return 400, "this console is served through an HTTPS proxy: use its https:// address"
    host = _header(scope, b"host") or ""
    allowed = serving.allowed_hosts()
    if allowed is not None and host.lower() not in allowed:
        return 400, f"this console answers to {' or '.join(sorted(allowed))}, not {host!r}"
    query = scope.get("query_string", b"").decode("latin-1")
    try:
        for key, value in parse_qsl(query, keep_blank_values=True):
            check_text(key, "a query parameter's name", max_length=100)
            check_text(value, f"query parameter {key}", max_length=2000)
            if "\t" in key + value:  # check_text lets tabs through; no query value needs one
                return 400, f"query parameter {key} contains a control character (\\t)"
    except ValidationError as exc:
        return 400, str(exc)
    if scope.get("method", "GET") not in SAFE_METHODS:
        own = f"{serving.scheme}://{host}"
        origin = _header(scope, b"origin")
        referer = _header(scope, b"referer")
        sender = origin if origin is not None else (_origin_of(referer) if referer else None)
        if sender is not None and sender.lower() != own.lower():
            return 403, f"a request from another site ({sender}) cannot change anything here"
    return None


Refuse = Callable[[Scope, int, str], Any]


class Guard:
    """ASGI middleware: refuse what `refusal` names, and add `HEADERS` to every response."""

    def __init__(self, app: ASGIApp, serving: Serving, refuse: Refuse) -> None:
        self.app = app
        self.serving = serving
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = [
                    *message.get("headers", []),
                    *[(key, value) for key, value in extra if key not in present],
                ]
            await send(message)

        problem = refusal(scope, self.serving)
        if problem is not None:
            response = self.refuse(scope, *problem)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
