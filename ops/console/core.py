"""The console's state and what every page shares: the environment and its connections, who
is asking, the templates (which escape every value they print) and their filters, and the
errors a request can end in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from psycopg2.extensions import connection as Connection
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.templating import Jinja2Templates

from common import db
from common.environments import Environment
from common.errors import DatabaseError, RefineryError
from ops.console import pages
from ops.console.health import health_page
from ops.console.security import (
    Serving,
    form_token,
    form_token_matches,
)
from ops.jobs.top import human_seconds
from ops.snapshots import SnapshotSource

log = logging.getLogger(__name__)
COOKIE = "refinery_token"
SIGN_IN_COOKIE = "refinery_sign_in"  # ties the sign-in form to the browser that fetched it
OPERATORS = ("engineer", "admin")
TEMPLATES = Path(__file__).parent / "templates"
MAX_ID = 2**63 - 1  # ids are bigint: a longer number names nothing
STYLESHEET = Path(__file__).parent / "console.css"


class Unauthorized(RefineryError):
    """No token, or one that is not (or no longer) valid."""


class Forbidden(RefineryError):
    """The person's role does not allow this, or the request did not come from the console."""


class Unavailable(RefineryError):
    """The environment's database cannot be reached (stopped, or not started yet)."""


def template_environment() -> jinja2.Environment:
    """Jinja2 for every template in TEMPLATES, escaping every value it prints.

    Starlette's own default escapes only templates named .html/.htm/.xml; ours are .html.j2.
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True
    )
    environment.filters["age"] = human_seconds
    environment.filters["when"] = _when
    environment.filters["size"] = _size
    environment.globals["query"] = _query_string
    return environment


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value == float("inf"):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ApiResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_jsonable, allow_nan=False).encode()


def json_ready(value: Any) -> Any:
    """Infinite ages (never happened) as None, so JSON stays valid."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


class Console:
    """The application's state: the environment, its connections and templates."""

    def __init__(self, env: Environment, serving: Serving) -> None:
        self.env = env
        self.serving = serving
        self.secret = secrets.token_bytes(32)  # form tokens; drawn anew at every start
        self.source = SnapshotSource(env)
        self._source_lock = threading.Lock()
        self.templates = Jinja2Templates(env=template_environment())

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for one request, closed after it; an unreachable database is
        `Unavailable`."""
        with ExitStack() as stack:
            try:
                conn = stack.enter_context(db.connection(self.env))
            except DatabaseError as exc:
                log.warning("console: %s", exc)
                raise Unavailable(
                    f"the {self.env.name} database is not reachable: try again once it is up"
                ) from None
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Any]:
        with self.connection() as conn:
            conn.set_session(readonly=True)
            yield conn

    def user(self, request: Request) -> dict[str, str]:
        token = bearer(request) or request.cookies.get(COOKIE, "")
        if not token:
            raise Unauthorized("sign in with your API token (inv users.add gives one)")
        user = self.token_user(token)
        if user is None:
            raise Unauthorized("this API token is not valid (inv users.token gives a new one)")
        return user

    def token_user(self, token: str) -> dict[str, str] | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.reading() as conn:
            return pages.token_user(conn, digest)

    def session_form_token(self, request: Request) -> str:
        """The token the page's forms carry for the session cookie ('' without one)."""
        cookie = request.cookies.get(COOKIE, "")
        return form_token(self.secret, "session", cookie) if cookie else ""

    async def changing_user(self, request: Request, *, api: bool) -> dict[str, str]:
        """The person behind a state-changing request, which must carry the token in its
        Authorization header or, from a page of the console, the cookie and its form token."""
        if bearer(request):
            return self.user(request)
        if api:
            raise Forbidden("the API takes its token in the Authorization header")
        form = await request.form()
        sent = str(form.get("csrf", ""))
        if not form_token_matches(self.secret, "session", request.cookies.get(COOKIE, ""), sent):
            raise Forbidden("this form is not from this console's page: reload it and try again")
        return self.user(request)

    def health(self) -> dict[str, Any]:
        with self._source_lock:
            return health_page(self.source)


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and "T" in value:
        return value.replace("T", " ")[:19]
    return "" if value is None else str(value)


def _size(value: Any) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)


def _query_string(params: dict[str, Any], **changes: Any) -> str:
    merged = {key: value for key, value in {**params, **changes}.items() if value}
    return "?" + urlencode(merged) if merged else ""
