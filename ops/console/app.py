"""The console's web application (Starlette): pages and the JSON API behind each of them.

Every page at `/x` has its data at `/api/x`, computed by the same function (ops/console/pages).
Access needs a person's API token (`inv users.add` / `inv users.token`), sent as
`Authorization: Bearer <token>` or, in a browser, kept in an HttpOnly cookie by `/login`.
Reads run in read-only transactions; the only writes are retrying and cancelling a job, for
engineers and admins, through foreman.job_admin, and asking for a dataset, for anyone signed
in (ops/console/datasets). Pages are Jinja2 templates that escape every value
(`autoescape=True` for every template, whatever its name), served with a strict
Content-Security-Policy (no scripts at all); ops/console/security refuses forged requests.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import psycopg2
from psycopg2.extensions import connection as Connection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from common.environments import Environment
from common.errors import DatabaseError, JobError, RefineryError, ValidationError, first_line
from common.inputs import is_digits
from common.search.query import FACETS, search
from foreman.executors import executor_for
from foreman.job_admin import cancel_job, retry_jobs
from ops.console import pages
from ops.console.core import (
    COOKIE,
    MAX_ID,
    OPERATORS,
    SIGN_IN_COOKIE,
    STYLESHEET,
    ApiResponse,
    Console,
    Forbidden,
    Unauthorized,
    Unavailable,
    json_ready,
)
from ops.console.datasets import dataset_page, dataset_routes
from ops.console.security import (
    HEADERS,
    Guard,
    Scope,
    Serving,
    form_token,
    form_token_matches,
    local_path,
)

log = logging.getLogger(__name__)

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
            log.warning("console: %s", first_line(exc))
            return _error(console, request, Unavailable("the database stopped answering"), api=api)
        data = json_ready(data)
        if api:
            return ApiResponse(data, headers=HEADERS)
        context = {"request": request, "user": user, "env": console.env.name,
                   "csrf": console.session_form_token(request), **data}  # fmt: skip
        return console.templates.TemplateResponse(request, template, context, headers=HEADERS)

    return endpoint


def _error(console: Console, request: Request, exc: RefineryError, *, api: bool) -> Response:
    statuses = ((Unauthorized, 401), (Forbidden, 403), (pages.NotFound, 404), (JobError, 409),
                (ValidationError, 400), (Unavailable, 503), (DatabaseError, 503))  # fmt: skip
    status = next((code for kind, code in statuses if isinstance(exc, kind)), 500)
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
    return pages.project_page(conn, c.env, _int(r, "item_id"))


def _sample(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.sample_page(conn, c.env, _int(r, "item_id"))


def _experiment(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.experiment_page(conn, c.env, _int(r, "item_id"))


def _results(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.results_page(conn, status=_q(r, "status"), application=_q(r, "application"))


def _analysis(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return pages.analysis_page(conn, c.env, _int(r, "item_id"))


def _dataset(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return dataset_page(conn, _int(r, "item_id"))


def _health(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    return c.health()


MAX_PAGE = 10_000


def _search(c: Console, r: Request, conn: Connection, user: dict[str, str]) -> dict:
    text = r.query_params.get("page", "1")
    if not (is_digits(text) and len(text) <= 6 and 1 <= int(text) <= MAX_PAGE):
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
            with console.connection() as conn:
                if action == "retry":
                    retry_jobs(conn, job_id=job_id)
                    outcome = {"job_id": job_id, "state": "pending"}
                else:
                    done = cancel_job(conn, job_id, lambda: executor_for(console.env))
                    outcome = {"job_id": job_id, "state": "cancelled",
                               "was": done.previous_state}  # fmt: skip
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
    return Response(STYLESHEET.read_text(), media_type="text/css",
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
    ("/datasets/{item_id:int}", "dataset.html.j2", _dataset),
)


def create_app(env: Environment, serving: Serving) -> Starlette:
    console = Console(env, serving)
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
    routes.extend(dataset_routes(console, _error))

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
