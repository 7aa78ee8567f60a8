"""Requesting a transcriptome index: validate, find or queue it, in one transaction.

The request is checked whole before anything is written (the organism known to Ensembl, or
the files present), and an index the catalog already has queues nothing
(`workers.processors.indices`).
"""

from __future__ import annotations

from typing import Any

from common.db import connection, transaction
from common.environments import Environment
from common.inputs import parse_int
from workers.processors.indices import IndexRequest, list_indices, request_index


def build_index(
    env: Environment,
    organism: str,
    *,
    division: str | None = None,
    release: str | None = None,
    fasta: str | None = None,
    gtf: str | None = None,
    cdna: str | None = None,
    tx2gene: str | None = None,
) -> IndexRequest:
    """Find or queue the index of `organism` from Ensembl or from the files given."""
    number = parse_int(release, "--release", minimum=1, maximum=100_000) if release else None
    with transaction(env) as conn:
        return request_index(conn, env, organism, division=division, release=number,
                             fasta=fasta, gtf=gtf, cdna=cdna, tx2gene=tx2gene)  # fmt: skip


def indices(env: Environment) -> list[dict[str, Any]]:
    with connection(env) as conn:
        return list_indices(conn)
