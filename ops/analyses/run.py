"""Running an application on demand: one process job per request.

The job's payload is the contract with the process handler:
`{"application": APP, "experiment_ids": [...], "run_by": USER}`. A SUCCEEDED (sealed) analysis
of the same application over the same experiments is not silently redone: the request is
refused unless an admin forces it, and then the old results are moved to
`.trash/analyses/<id>-<timestamp>/` (never deleted in place) in the same transaction that
enqueues the job — if the transaction fails, the results are moved back.

A job that can only fail is never queued: the application must be one the workers have a
handler for, every experiment id a whole number naming an experiment, and every experiment's
original files already stored in the lake.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from common.applications import applications
from common.db import fetch_one, transaction
from common.environments import Environment
from common.errors import StorageError, ValidationError
from common.inputs import check_identifier, excerpt, is_digits, parse_int
from common.lake import open_lake
from common.lake.layout import analysis_prefix
from common.sql import query
from foreman.jobs import enqueue_job

_APPLICATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
MAX_CATALOG_ID = 2**63 - 1  # ids are bigserial


def _sql(name: str) -> str:
    return query(__file__, "analyses.sql", name)


@dataclass
class RunRequest:
    job_id: int
    application: str
    experiment_ids: list[int]
    run_by: str
    trashed: list[tuple[int, str]] = field(default_factory=list)


def _experiment_id(value: object) -> int:
    text = str(value).strip()
    if not text.isascii() or not is_digits(text):
        raise ValidationError(
            f"--experiment takes an experiment id (a whole number), not {excerpt(text)}"
        )
    return parse_int(text, "--experiment", minimum=1, maximum=MAX_CATALOG_ID)


def request_run(
    env: Environment,
    application: str,
    experiment_ids: Iterable[int | str],
    *,
    run_by: str | None = None,
    force: bool = False,
) -> RunRequest:
    """Enqueue a process job for `application` over `experiment_ids`."""
    check_identifier(
        application, "invalid application name", _APPLICATION, hint="(letters, digits, _ and -)"
    )
    known = sorted(name for kind, name in applications() if kind == "process")
    if application not in known:
        raise ValidationError(
            f"unknown application {application!r} (known: {', '.join(known) or 'none'})"
        )
    ids = sorted({_experiment_id(value) for value in experiment_ids})
    if not ids:
        raise ValidationError("name at least one experiment: --experiment ID")
    run_by = run_by or getpass.getuser()
    lake = open_lake(env)
    moved: list[tuple[str, str]] = []
    try:
        with transaction(env) as conn, conn.cursor() as cur:
            cur.execute(_sql("existing_experiments"), {"ids": ids})
            unknown = sorted(set(ids) - {row[0] for row in cur.fetchall()})
            if unknown:
                raise ValidationError(f"unknown experiment id(s) {unknown}: see the catalog")
            cur.execute(_sql("experiments_not_stored"), {"ids": ids})
            unready = cur.fetchall()
            if unready:
                accession, files, unstored = unready[0]
                missing = (
                    f"{unstored} of its {files} files not yet stored in the lake"
                    if files
                    else "no files in the catalog yet"
                )
                raise ValidationError(
                    f"experiment {accession}: {missing}; run it once its downloads have "
                    "succeeded (inv jobs.status)"
                )
            cur.execute(_sql("succeeded_same_run"), {"application": application, "ids": ids})
            previous = [row[0] for row in cur.fetchall()]
            if previous and not force:
                raise ValidationError(
                    f"{application} already SUCCEEDED on these experiments (analysis "
                    f"{previous[0]}); an admin may re-run with --force"
                )
            if previous:
                cur.execute(_sql("is_admin"))
                if not fetch_one(cur)[0]:
                    raise ValidationError("only an admin may --force a re-run over sealed results")
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            request = RunRequest(0, application, ids, run_by)
            for analysis_id in previous:
                prefix = analysis_prefix(analysis_id)
                trash = f".trash/analyses/{analysis_id}-{stamp}/"
                cur.execute(_sql("mark_trashed"), {"analysis_id": analysis_id, "trash": trash})
                cur.execute(
                    _sql("unstore_trashed_files"),
                    {"analysis_id": analysis_id, "trash": trash, "prefix": prefix},
                )
                if lake.move_tree(prefix, trash):
                    moved.append((prefix, trash))
                request.trashed.append((analysis_id, trash))
            request.job_id, _ = enqueue_job(
                conn,
                "process",
                {"application": application, "experiment_ids": ids, "run_by": run_by},
            )
    except BaseException:
        for prefix, trash in reversed(moved):
            # if this fails too, the results stay in the trash (never lost); the raise reports it
            with suppress(StorageError):
                lake.move_tree(trash, prefix)
        raise
    return request
