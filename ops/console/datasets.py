"""Datasets from the console: built from a search's samples or a sample's page, watched on
their page, downloaded when ready; and `POST /api/datasets` for programs.

A request is checked and queued by `workers.datasets.requests`, exactly as `inv
datasets.create` does. A page's form carries the session's form token (ops/console/security
refuses it otherwise); the API takes its token in the Authorization header only, and a JSON
body `{"experiments": [...] | "samples": [...] | "search": "...", "aggregate": ...,
"scale": ..., "quantile_normalize": bool, "include_raw": bool}`, answering 201 with the
dataset's id and job. The archive is streamed from the lake to a signed-in person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from common.errors import RefineryError, ValidationError
from common.lake import open_lake
from common.search.query import search
from ops.console.core import ApiResponse, Console, Forbidden
from ops.console.pages import NotFound
from ops.console.security import HEADERS
from workers.datasets.requests import MAX_ITEMS, dataset_request, queue_dataset
from workers.datasets.sources import datasets_sql

log = logging.getLogger(__name__)
SEARCH_PAGE = 200
MAX_BODY = 1_000_000
CHUNK = 1 << 20


class DatasetNotFound(NotFound):
    """No such dataset."""


def searched_samples(conn: Connection, text: str) -> list[int]:
    """The ids of every sample the search finds for `text` (at most MAX_ITEMS)."""
    found: list[int] = []
    while len(found) < MAX_ITEMS:
        page = search(
            conn, text, filters={"entity": "sample"}, limit=SEARCH_PAGE, offset=len(found)
        )
        found.extend(int(hit["entity_id"]) for hit in page.hits)
        if not page.hits or len(found) >= page.total:
            break
    return found


def dataset_page(conn: Connection, dataset_id: int) -> dict[str, Any]:
    """A dataset as its page shows it."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("get_dataset"), {"dataset_id": dataset_id})
        row = cur.fetchone()
    if row is None:
        raise DatasetNotFound(f"no dataset {dataset_id}")
    dataset = {
        key: row[key]
        for key in (
            "id",
            "kind",
            "state",
            "organism",
            "request",
            "requested_by",
            "job_id",
            "job_state",
            "failure_reason",
            "archive_key",
            "archive_sha256",
            "archive_bytes",
            "created_at",
            "built_at",
        )
    }
    contents = row["contents"] or {}
    groups = {name: len(group["samples"]) for name, group in contents.get("groups", {}).items()}
    return {"dataset": dataset, "groups": groups, "left_out": contents.get("left_out", {})}


def _queue(console: Console, fields: dict[str, Any], user: dict[str, str]) -> dict[str, int]:
    with console.connection() as conn:
        text = fields.get("search") or None
        found = searched_samples(conn, str(text)) if text else None
        request = dataset_request(
            experiments=fields.get("experiments") or [],
            samples=fields.get("samples") or [],
            search=text,
            found_samples=found,
            aggregate=fields.get("aggregate") or "experiment",
            scale=fields.get("scale") or "none",
            quantile_normalize=bool(fields.get("quantile_normalize")),
            include_raw=bool(fields.get("include_raw")),
        )
        queued = queue_dataset(conn, request, user["user_name"])
        conn.commit()
    log.info("console: %s asked for dataset %d", user["user_name"], queued.dataset_id)
    return {"dataset_id": queued.dataset_id, "job_id": queued.job_id}


async def _api_fields(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValidationError(f"a dataset request is at most {MAX_BODY:,} bytes")
    try:
        fields = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("the body must be a JSON object") from None
    if not isinstance(fields, dict):
        raise ValidationError("the body must be a JSON object")
    for name in ("experiments", "samples"):
        if not isinstance(fields.get(name, []), list):
            raise ValidationError(f"{name} must be a list")
    if not isinstance(fields.get("search", ""), str):
        raise ValidationError("search must be text")
    return fields


def _create(console: Console, error: Callable, *, api: bool) -> Callable:
    async def endpoint(request: Request) -> Response:
        try:
            user = await console.changing_user(request, api=api)
            if api:
                fields = await _api_fields(request)
            else:
                form = await request.form()
                fields = {
                    "search": str(form.get("search", "")),
                    "samples": [str(v) for v in form.getlist("samples")],
                    "aggregate": str(form.get("aggregate", "")),
                    "scale": str(form.get("scale", "")),
                    "quantile_normalize": form.get("quantile_normalize") == "on",
                    "include_raw": form.get("include_raw") == "on",
                }
            queued = _queue(console, fields, user)
        except RefineryError as exc:
            return error(console, request, exc, api=api)
        if api:
            return ApiResponse(queued, status_code=201, headers=HEADERS)
        return RedirectResponse(f"/datasets/{queued['dataset_id']}", status_code=303)

    return endpoint


def _download(console: Console, error: Callable) -> Callable:
    def endpoint(request: Request) -> Response:
        try:
            console.user(request)
            dataset_id = int(request.path_params["item_id"])
            with console.reading() as conn:
                dataset = dataset_page(conn, dataset_id)["dataset"]
            key = dataset["archive_key"]
            if dataset["state"] != "ready" or not key:
                raise Forbidden(f"dataset {dataset_id} is not ready yet")
            lake = open_lake(console.env)
            stream = lake.open_read(key)
        except RefineryError as exc:
            return error(console, request, exc, api=False)

        def chunks() -> Iterator[bytes]:
            with stream:
                while block := stream.read(CHUNK):
                    yield block

        disposition = f'attachment; filename="dataset-{dataset_id}.zip"'
        return StreamingResponse(
            chunks(),
            media_type="application/zip",
            headers={
                **HEADERS,
                "Content-Disposition": disposition,
                "Content-Length": str(dataset["archive_bytes"]),
            },
        )

    return endpoint


def dataset_routes(console: Console, error: Callable) -> list[Route]:
    """The routes that write or stream (the dataset page itself is one of the console's
    pages, in ops/console/app's PAGES)."""
    return [
        Route("/datasets", _create(console, error, api=False), methods=["POST"]),
        Route("/api/datasets", _create(console, error, api=True), methods=["POST"]),
        Route("/datasets/{item_id:int}/download", _download(console, error), methods=["GET"]),
    ]
