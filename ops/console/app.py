"""The console's web application (Starlette): pages and the JSON API behind each of them.

Every page at `/x` has its data at `/api/x`, computed by the same function (ops/console/pages).
Access needs a person's API token (`inv users.add` / `inv users.token`), sent as
`Authorization: Bearer <token>` or, in a browser, kept in an HttpOnly cookie by `/login`.
Reads run in read-only transactions; the only writes are retrying and cancelling a job, for
engineers and admins, through foreman.job_admin. Pages are Jinja2 templates with autoescape,
served with a strict Content-Security-Policy (no scripts at all).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from psycopg2.extensions import connection as Connection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from common import db
from common.environments import Environment
from common.errors import JobError, RefineryError, ValidationError
from foreman.executors import executor_for
from foreman.job_admin import cancel_job, retry_jobs
from ops.console import pages
from ops.console.health import health_page
from ops.console.search import FACETS, search
from ops.jobs.top import human_seconds
from ops.snapshots import SnapshotSource

log = logging.getLogger(__name__)
COOKIE = "refinery_token"
OPERATORS = ("engineer", "admin")
_HERE = Path(__file__).parent
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Unauthorized(RefineryError):
    """No token, or one that is not (or no longer) valid."""


class Forbidden(RefineryError):
    """The person's role does not allow this."""


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

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.source = SnapshotSource(env)
        self._source_lock = threading.Lock()
        self.templates = Jinja2Templates(directory=str(_HERE / "templates"))
        self.templates.env.filters["age"] = human_seconds
        self.templates.env.filters["when"] = _when
        self.templates.env.filters["size"] = _size
        self.templates.env.globals["query"] = _query_string

    @contextmanager
    def reading(self) -> Iterator[Any]:
        conn = db.connect(self.env)
        try:
            conn.set_session(readonly=True)
            yield conn
        finally:
            conn.close()

    def user(self, request: Request) -> dict[str, str]:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = token or request.cookies.get(COOKIE, "")
        if not token:
            raise Unauthorized("sign in with your API token (inv users.add gives one)")
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.reading() as conn:
            user = pages.token_user(conn, digest)
        if user is None:
            raise Unauthorized("this API token is not valid (inv users.token gives a new one)")
        return user

    def health(self) -> dict[str, Any]:
        with self._source_lock:
            return health_page(self.source)


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
        data = _clean(data)
        if api:
            return ApiResponse(data, headers=_HEADERS)
        context = {"request": request, "user": user, "env": console.env.name, **data}
        return console.templates.TemplateResponse(request, template, context, headers=_HEADERS)

    return endpoint


def _error(console: Console, request: Request, exc: RefineryError, *, api: bool) -> Response:
    status = {
        Unauthorized: 401, Forbidden: 403, pages.NotFound: 404, ValidationError: 400,
        JobError: 409,
    }.get(type(exc), 500)  # fmt: skip
    if status == 500:
        log.error("console: %s", exc)
    if api:
        return ApiResponse({"error": str(exc)}, status_code=status, headers=_HEADERS)
    template = "login.html.j2" if status == 401 else "error.html.j2"
    context = {"request": request, "user": None, "env": console.env.name, "message": str(exc),
               "status": status, "next": request.url.path}  # fmt: skip
    return console.templates.TemplateResponse(
        request, template, context, status_code=status, headers=_HEADERS
    )


def _int(request: Request, name: str) -> int:
    return int(request.path_params[name])


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


def _search(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    try:
        page = max(1, int(r.query_params.get("page", "1")))
    except ValueError:
        raise ValidationError("page must be a number") from None
    filters = {facet: r.query_params.get(facet, "") for facet in FACETS}
    result = search(conn, r.query_params.get("q", ""), filters=filters, limit=20,
                    offset=20 * (page - 1))  # fmt: skip
    return {"search": result.as_dict(), "page": page}


# -- the two things that write --------------------------------------------------------------
def _operate(console: Console, action: str, *, api: bool) -> Callable:
    def endpoint(request: Request) -> Response:
        job_id = _int(request, "job_id")
        try:
            user = console.user(request)
            if user["role"] not in OPERATORS:
                raise Forbidden(f"{user['role']}s may look at jobs but not {action} them")
            conn = db.connect(console.env)
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
            return ApiResponse(outcome, headers=_HEADERS)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    return endpoint


# -- signing in -----------------------------------------------------------------------------
def _login_form(console: Console) -> Callable:
    def endpoint(request: Request) -> Response:
        context = {"request": request, "user": None, "env": console.env.name, "message": "",
                   "next": request.query_params.get("next", "/jobs")}  # fmt: skip
        return console.templates.TemplateResponse(request, "login.html.j2", context,
                                                  headers=_HEADERS)  # fmt: skip

    return endpoint


def _login(console: Console) -> Callable:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", "")).strip()
        target = str(form.get("next", "/jobs"))
        if not target.startswith("/") or target.startswith("//"):
            target = "/jobs"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    return endpoint


def _logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


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


def create_app(env: Environment) -> Starlette:
    console = Console(env)
    routes = [
        Route("/", lambda request: RedirectResponse("/jobs", status_code=303)),
        Route("/login", _login_form(console), methods=["GET"]),
        Route("/login", _login(console), methods=["POST"]),
        Route("/logout", _logout, methods=["POST"]),
        Route("/console.css", _stylesheet),
    ]
    for path, template, handler in PAGES:
        routes.append(Route(path, _page(console, template, handler, api=False)))
        routes.append(Route("/api" + path, _page(console, template, handler, api=True)))
    for action in ("retry", "cancel"):
        path = f"/jobs/{{job_id:int}}/{action}"
        routes.append(Route(path, _operate(console, action, api=False), methods=["POST"]))
        routes.append(Route("/api" + path, _operate(console, action, api=True), methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.console = console
    return app
