"""The shipped `local` environment in a state folder of the test's own (as the demo's tests
use it), and reading an RNA-seq run's results back from its lake."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from tests.acceptance.demo.conftest import LocalState, local_state  # noqa: F401 - fixture

ACTIVE = "('waiting', 'pending', 'dispatched', 'running', 'errored')"


def wait_for_quiet(query, *, timeout: float = 420) -> None:
    """Until no job is active (a summary queued by the last one included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if query(f"SELECT count(*) FROM jobs WHERE state IN {ACTIVE}") == [(0,)]:
            return
        time.sleep(1)
    active = query(f"SELECT id, kind, state FROM jobs WHERE state IN {ACTIVE}")
    raise AssertionError(f"jobs still active after {timeout:g} s: {active}")


def read_quant(path: Path) -> dict[str, tuple[float, float]]:
    """transcript -> (TPM, NumReads) of a quant.sf."""
    with open(path) as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {row["Name"]: (float(row["TPM"]), float(row["NumReads"])) for row in rows}


def read_matrix(path: Path) -> dict[str, dict[str, float]]:
    """sample -> gene -> value of a gene matrix TSV (first column "Gene")."""
    with open(path) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    samples = [name for name in rows[0] if name != "Gene"]
    return {s: {row["Gene"]: float(row[s]) for row in rows} for s in samples}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def gene_sums(quant: dict[str, tuple[float, float]], tx2gene: dict[str, str]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for transcript, (tpm, _) in quant.items():
        gene = tx2gene[transcript]
        sums[gene] = sums.get(gene, 0.0) + tpm
    return sums


def close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=1e-6, atol=1e-6))
