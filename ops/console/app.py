"""The console's web application (Starlette): pages and the JSON API behind each of them.

Every page at `/x` has its data at `/api/x`, computed by the same function (ops/console/pages).
Access needs a person's API token (`inv users.add` / `inv users.token`), sent as
`Authorization: Bearer <token>` or, in a browser, kept in an HttpOnly cookie by `/login`.
Reads run in read-only transactions; the only writes are retrying and cancelling a job, for
engineers and admins, through foreman.job_admin. Pages are Jinja2 templates that escape every
value (`autoescape=True` for every template, whatever its name), served with a strict
Content-Security-Policy (no scripts at all); ops/console/security refuses forged requests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import psycopg2
from psycopg2.extensions import connection as Connection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from common import db
from common.environments import Environment
from common.errors import DatabaseError, JobError, RefineryError, ValidationError
from foreman.executors import executor_for
from foreman.job_admin import cancel_job, retry_jobs
from ops.console import pages
from ops.console.health import health_page
from ops.console.search import FACETS, search
from ops.console.security import (
    HEADERS,
    Guard,
    Scope,
    Serving,
    form_token,
    form_token_matches,
    local_path,
)
from ops.jobs.top import human_seconds
from ops.snapshots import SnapshotSource

log = logging.getLogger(__name__)
COOKIE = "refinery_token"
SIGN_IN_COOKIE = "refinery_sign_in"  # ties the sign-in form to the browser that fetched it
OPERATORS = ("engineer", "admin")
TEMPLATES = Path(__file__).parent / "templates"
MAX_ID = 2**63 - 1  # ids are bigint: a longer number names nothing
_HERE = Path(__file__).parent


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


def _clean(value: Any) -> Any:
    """Infinite ages (never happened) as None, so JSON stays valid."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
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

    def connect(self) -> Connection:
        try:
            return db.connect(self.env)
        except DatabaseError as exc:
            log.warning("console: %s", exc)
            raise Unavailable(
                f"the {self.env.name} database is not reachable: try again once it is up"
            ) from None

    @contextmanager
    def reading(self) -> Iterator[Any]:
        conn = self.connect()
        try:
            conn.set_session(readonly=True)
            yield conn
        finally:
            conn.close()

    def user(self, request: Request) -> dict[str, str]:
        token = _bearer(request) or request.cookies.get(COOKIE, "")
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
        if _bearer(request):
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


def _bearer(request: Request) -> str:
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


Handler = Callable[[Console, Request, Any, dict[str, str]], dict[str, Any]]


def _page(console: Console, template: str, handler: Handler, *, api: bool) -> Callable:
    """An endpoint: authenticate, compute the page's data, answer HTML or JSON."""

    def endpoint(request: Request) -> Response:
        try:
            user = console.user(request)
            with console.reading() as conn:
                data = handler(console, request, conn, user)
        except RefineryError as exc:
            return _error(console, request, exc, api=api)
        except psycopg2.OperationalError as exc:  # the server went away after connecting
            log.warning("console: %s", str(exc).strip())
            return _error(console, request, Unavailable("the database stopped answering"), api=api)
        data = _clean(data)
        if api:
            return ApiResponse(data, headers=HEADERS)
        context = {"request": request, "user": user, "env": console.env.name,
                   "csrf": console.session_form_token(request), **data}  # fmt: skip
        return console.templates.TemplateResponse(request, template, context, headers=HEADERS)

    return endpoint


def _error(console: Console, request: Request, exc: RefineryError, *, api: bool) -> Response:
    status = {
        Unauthorized: 401, Forbidden: 403, pages.NotFound: 404, ValidationError: 400,
        JobError: 409, Unavailable: 503,
    }.get(type(exc), 500)  # fmt: skip
    if status == 500:
        log.error("console: %s", exc)
    if status == 401 and not api:
        return _sign_in_page(console, request, str(exc), status=401, target=request.url.path)
    return error_response(console, request, status, str(exc), api=api)


def error_response(
    console: Console, request: Request, status: int, message: str, *, api: bool
) -> Response:
    """The plain error page (or JSON for /api), with the security headers; no database."""
    message = message.splitlines()[0] if message else "error"
    if api:
        return ApiResponse({"error": message}, status_code=status, headers=HEADERS)
    context = {"request": request, "user": None, "env": console.env.name, "message": message,
               "status": status}  # fmt: skip
    return console.templates.TemplateResponse(
        request, "error.html.j2", context, status_code=status, headers=HEADERS
    )


def _sign_in_page(
    console: Console, request: Request, message: str, *, status: int = 200, target: str = "/"
) -> Response:
    """The sign-in form, its token tied to a sign-in cookie (a new one unless it has one)."""
    nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    context = {"request": request, "user": None, "env": console.env.name, "message": message,
               "next": local_path(target),
               "csrf": form_token(console.secret, "sign-in", nonce)}  # fmt: skip
    response = console.templates.TemplateResponse(
        request, "login.html.j2", context, status_code=status, headers=HEADERS
    )
    response.set_cookie(SIGN_IN_COOKIE, nonce, httponly=True, samesite="strict", path="/login",
                        secure=console.serving.secure)  # fmt: skip
    return response


def _int(request: Request, name: str) -> int:
    value = int(request.path_params[name])
    if value > MAX_ID:
        raise pages.NotFound(f"no {name.removesuffix('_id').replace('item', 'such item')} {value}")
    return value


def _q(request: Request, name: str) -> str | None:
    return request.query_params.get(name) or None


# -- handlers: each returns the page's data ----------------------------------------------
def _jobs(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.jobs_page(conn, state=_q(r, "state"), kind=_q(r, "kind"), queue=_q(r, "queue"),
                           reason=_q(r, "reason"))  # fmt: skip


def _job(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    data = pages.job_page(conn, c.env, _int(r, "job_id"))
    data["may_operate"] = user["role"] in OPERATORS
    return data


def _catalog(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.catalog_page(conn)


def _project(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.project_page(conn, _int(r, "item_id"))


def _sample(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.sample_page(conn, c.env, _int(r, "item_id"))


def _experiment(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.experiment_page(conn, c.env, _int(r, "item_id"))


def _results(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.results_page(conn, status=_q(r, "status"), application=_q(r, "application"))


def _analysis(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.analysis_page(conn, c.env, _int(r, "item_id"))


def _health(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return c.health()


MAX_PAGE = 10_000


def _search(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    text = r.query_params.get("page", "1")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:6]) <= MAX_PAGE:
        raise ValidationError(f"page must be a whole number from 1 to {MAX_PAGE:,}")
    page = int(text)
    filters = {facet: r.query_params.get(facet, "") for facet in FACETS}
    result = search(conn, r.query_params.get("q", ""), filters=filters, limit=20,
                    offset=20 * (page - 1))  # fmt: skip
    return {"search": result.as_dict(), "page": page}


# -- the two things that write --------------------------------------------------------------
def _operate(console: Console, action: str, *, api: bool) -> Callable:
    async def endpoint(request: Request) -> Response:
        try:
            job_id = _int(request, "job_id")
            user = await console.changing_user(request, api=api)
            if user["role"] not in OPERATORS:
                raise Forbidden(f"{user['role']}s may look at jobs but not {action} them")
            conn = console.connect()
            try:
                if action == "retry":
                    retry_jobs(conn, job_id=job_id)
                    outcome = {"job_id": job_id, "state": "pending"}
                else:
                    done = cancel_job(conn, job_id, lambda: executor_for(console.env))
                    outcome = {"job_id": job_id, "state": "cancelled",
                               "was": done.previous_state}  # fmt: skip
            finally:
                conn.close()
            log.info("console: %s %s job %d", user["user_name"], action, job_id)
        except RefineryError as exc:
            return _error(console, request, exc, api=api)
        if api:
            return ApiResponse(outcome, headers=HEADERS)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    return endpoint


# -- signing in -----------------------------------------------------------------------------
def _login_form(console: Console) -> Callable:
    def endpoint(request: Request) -> Response:
        return _sign_in_page(console, request, "", target=request.query_params.get("next", "/"))

    return endpoint


def _login(console: Console) -> Callable:
    """Sign in: the form must come from this console's sign-in page, and the token must be a
    person's valid token before it is kept in the cookie."""

    async def endpoint(request: Request) -> Response:
        form = await request.form()
        target = local_path(str(form.get("next", "")))
        nonce = request.cookies.get(SIGN_IN_COOKIE, "")
        if not form_token_matches(console.secret, "sign-in", nonce, str(form.get("csrf", ""))):
            return _sign_in_page(console, request, "this sign-in form has expired: try again",
                                 status=403, target=target)  # fmt: skip
        token = str(form.get("token", "")).strip()
        try:
            user = console.token_user(token) if token and len(token) <= 200 else None
        except RefineryError as exc:
            return _error(console, request, exc, api=False)
        if user is None:
            return _sign_in_page(console, request, "this API token is not valid",
                                 status=401, target=target)  # fmt: skip
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=console.serving.secure)  # fmt: skip
        response.delete_cookie(SIGN_IN_COOKIE, path="/login")
        return response

    return endpoint


def _logout(console: Console) -> Callable:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(COOKIE, "")
        if not form_token_matches(console.secret, "session", cookie, str(form.get("csrf", ""))):
            return error_response(console, request, 403, "reload the page and sign out again",
                                  api=False)  # fmt: skip
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return endpoint


def _stylesheet(request: Request) -> Response:
    return Response((_HERE / "console.css").read_text(), media_type="text/css",
                    headers={"Cache-Control": "max-age=300"})  # fmt: skip


PAGES: tuple[tuple[str, str, Handler], ...] = (
    ("/jobs", "jobs.html.j2", _jobs),
    ("/jobs/{job_id:int}", "job.html.j2", _job),
    ("/catalog", "catalog.html.j2", _catalog),
    ("/catalog/projects/{item_id:int}", "project.html.j2", _project),
    ("/catalog/samples/{item_id:int}", "sample.html.j2", _sample),
    ("/catalog/experiments/{item_id:int}", "experiment.html.j2", _experiment),
    ("/results", "results.html.j2", _results),
    ("/results/{item_id:int}", "analysis.html.j2", _analysis),
    ("/health", "health.html.j2", _health),
    ("/search", "search.html.j2", _search),
)


def create_app(env: Environment, serving: Serving | None = None) -> Starlette:
    console = Console(env, serving or Serving())
    routes = [
        Route("/", lambda request: RedirectResponse("/jobs", status_code=303)),
        Route("/login", _login_form(console), methods=["GET"]),
        Route("/login", _login(console), methods=["POST"]),
        Route("/logout", _logout(console), methods=["POST"]),
        Route("/console.css", _stylesheet),
    ]
    for path, template, handler in PAGES:
        routes.append(Route(path, _page(console, template, handler, api=False)))
        routes.append(Route("/api" + path, _page(console, template, handler, api=True)))
    for action in ("retry", "cancel"):
        path = f"/jobs/{{job_id:int}}/{action}"
        routes.append(Route(path, _operate(console, action, api=False), methods=["POST"]))
        routes.append(Route("/api" + path, _operate(console, action, api=True), methods=["POST"]))

    def refuse(scope: Scope, status: int, message: str) -> Response:
        request = Request(scope)
        return error_response(console, request, status, message,
                              api=request.url.path.startswith("/api/"))  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "no such page", 405: "this page does not take that method"}
        return refuse(request.scope, status, message.get(status, "the request failed"))

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("console: %s on %s", type(exc).__name__, request.url.path)
        return refuse(request.scope, 500, "the console failed on this request (see its log)")

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, serving=console.serving, refuse=refuse)],
        exception_handlers={HTTPException: http_error, Exception: crashed},
    )
    app.state.console = console
    return app
