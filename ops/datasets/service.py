"""What `inv datasets.*` does: ask for datasets, QN targets and compendia; list, show, link.

The checks and the queueing are `workers.datasets.requests` (the console uses the same); a
search is the console's (`ops.console.datasets.searched_samples`: every sample it finds
becomes one of the request's samples).
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg2.extras import RealDictCursor

from common.db import connection, transaction
from common.environments import Environment
from common.errors import ValidationError
from common.inputs import MAX_BIGINT, parse_int
from common.lake import open_lake
from common.settings.datasets import DatasetsSettings
from workers.datasets.requests import (
    Queued,
    dataset_request,
    queue_dataset,
    queue_organism_build,
)
from workers.datasets.sources import datasets_sql


def create_dataset(
    env: Environment,
    *,
    experiments: list[str],
    samples: list[str],
    search: str | None,
    aggregate: str,
    scale: str,
    quantile_normalize: bool,
    include_raw: bool,
) -> Queued:
    """Check, record and queue a dataset; nothing is written when it is refused."""
    dataset_request(
        experiments=experiments,
        samples=list(samples),
        search=search,
        found_samples=[0] if search else None,
        aggregate=aggregate,
        scale=scale,
        quantile_normalize=quantile_normalize,
        include_raw=include_raw,
    )
    with transaction(env) as conn:
        from ops.console.datasets import searched_samples

        found = searched_samples(conn, search) if search else None
        request = dataset_request(
            experiments=experiments,
            samples=list(samples),
            search=search,
            found_samples=found,
            aggregate=aggregate,
            scale=scale,
            quantile_normalize=quantile_normalize,
            include_raw=include_raw,
        )
        return queue_dataset(conn, request, getpass.getuser())


def queue_organism(env: Environment, build: str, organism: str) -> Queued:
    """Queue an organism's QN target or compendium."""
    least = env.settings("datasets", DatasetsSettings).qn_target_min_samples
    with transaction(env) as conn:
        return queue_organism_build(conn, build, organism, getpass.getuser(), least)


def dataset_id(value: object) -> int:
    return parse_int(value, "DATASET_ID", minimum=1, maximum=MAX_BIGINT)


def list_datasets(env: Environment, limit: int = 50) -> list[dict[str, Any]]:
    with connection(env) as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("list_datasets"), {"limit": limit})
        return [dict(row) for row in cur.fetchall()]


def list_targets(env: Environment) -> list[dict[str, Any]]:
    with connection(env) as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("list_targets"))
        return [dict(row) for row in cur.fetchall()]


def show_dataset(env: Environment, value: object) -> dict[str, Any]:
    number = dataset_id(value)
    with connection(env) as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(datasets_sql("get_dataset"), {"dataset_id": number})
        row = cur.fetchone()
    if row is None:
        raise ValidationError(f"no dataset {number} (see inv datasets.list)")
    return dict(row)


def renew_link(env: Environment, value: object) -> dict[str, Any]:
    """A fresh link to a ready dataset's archive (a new presigned URL on S3), recorded."""
    dataset = show_dataset(env, value)
    if dataset["state"] != "ready":
        raise ValidationError(
            f"dataset {dataset['id']} is not ready yet (its job is {dataset['job_state']})"
        )
    days = env.settings("datasets", DatasetsSettings).link_days
    link, expires = open_lake(env).download_link(dataset["archive_key"], days * 86400)
    expires_at = datetime.now(UTC) + timedelta(days=days) if expires else None
    with transaction(env) as conn, conn.cursor() as cur:
        cur.execute(
            datasets_sql("set_link"),
            {"dataset_id": dataset["id"], "link": link, "link_expires_at": expires_at},
        )
    return {
        "dataset_id": dataset["id"],
        "link": link,
        "expires_at": expires_at,
        "sha256": dataset["archive_sha256"],
        "bytes": dataset["archive_bytes"],
    }
