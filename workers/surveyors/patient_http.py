"""Asking a public archive's web service patiently: one GET asked again with backoff until its
answer is usable, a 404 refused at once.

GEO and BioStudies are read the same way: a connection error, a status other than 200 or 404,
or an answer its parser finds unusable (cut off in transit) is asked again after
`backoff_seconds`, doubling, `retries` times, each retry logged (below WARNING for what a retry
usually cures), so the one line `inv` prints on giving up stays the only one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from common.errors import JobError, first_line

log = logging.getLogger(__name__)
T = TypeVar("T")


class UnusableAnswer(JobError):
    """The answer came whole over HTTP but cannot be read: ask again."""


@dataclass(frozen=True)
class Patience:
    """How often and how patiently to ask."""

    retries: int
    backoff_seconds: float
    timeout_seconds: float


def get_patiently(
    url: str,
    patience: Patience,
    *,
    service: str,
    accession: str,
    missing: Callable[[], Exception],
    read: Callable[[requests.Response], T],
    gave_up: str,
) -> T:
    """`read` of the answer to `url`; `missing()` raised on a 404; a JobError starting with
    `gave_up` after the last try."""
    problem = ""
    for attempt in range(patience.retries + 1):
        if attempt:
            time.sleep(patience.backoff_seconds * 2 ** (attempt - 1))
        try:
            response = requests.get(url, timeout=patience.timeout_seconds)
        except requests.RequestException as exc:
            problem = first_line(exc, typed=True)
            log.info("%s request for %s failed: %s", service, accession, problem,
                     extra={"accession": accession})  # fmt: skip
            continue
        if response.status_code == 404:
            raise missing()
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}"
            log.warning("%s answered %s for %s", service, problem, accession,
                        extra={"accession": accession})  # fmt: skip
            continue
        try:
            return read(response)
        except UnusableAnswer as exc:
            problem = str(exc)
            log.info("%s", exc, extra={"accession": accession})
    raise JobError(
        f"{gave_up} failed after {patience.retries + 1} tries ({problem}); try again later"
    )
