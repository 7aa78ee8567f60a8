"""What the platform adds to RMA: a series of synthetic arrays normalised through the running
environment, next to `affy::rma` run by hand in R on the same CEL files.

The synthetic chip (ops/arrays/synthetic_arrays.py, named after its size so each size is its
own chip) is added with `inv arrays.chip`'s own function; the arrays are catalogued as a GEO
series' would be (`workers.surveyors.catalog_writer.record_runs`, the CEL files at `file://`
addresses), so the real foreman and workers download them and run the series' `affy` job. On a
quiet platform:

    Refinery   timed from the foreman claiming the affy job (its `dispatched_at`) to the bench
               seeing it succeeded — its analysis and files committed, seen by polling every
               POLL_SECONDS. The catalog entry and downloads are not timed; the worker's start,
               the CEL files and the chip definition copied out of the lake, reading the
               headers, RMA in R and the gene mapping and storing are.
    affy::rma  one `Rscript` process by hand (ops/arrays/r_rma.py): R's start, loading affy, the
               same saved chip definition, ReadAffy and rma on the same CEL files, writing the
               values; wall time of the process.

The ratio is R's time ÷ the platform's (target ≥ 1/1.1: at most 10% overhead). Both sides must
give the same probe-set values (largest difference in `--json`, at most 1e-9).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.db import connection, transaction
from common.environments import Environment
from common.errors import ConfigError, JobError
from common.lake import open_lake
from common.lake.layout import chip_prefix, computed_file_key
from common.sql import query
from foreman.service import foreman_pid
from ops.arrays.chips import add_chip
from ops.arrays.r_rma import run_r_rma
from ops.arrays.synthetic_arrays import make_arrays, make_chip
from ops.benchkit import Comparison, wait_for_quiet_platform
from ops.progress import Progress, quiet
from workers.processors.affy_chips import CDF_ENV
from workers.processors.affy_r import read_probe_set_values
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun, record_runs

TARGET_RATIO = 1 / 1.1
POLL_SECONDS = 0.02
WAIT_SECONDS = 900.0
EQUALITY = 1e-9


def _sql(name: str) -> str:
    return query(__file__, "bench.sql", name)


@dataclass(frozen=True)
class AffyBench:
    """The comparison, and what stands beside it in `--json`."""

    comparisons: list[Comparison]
    details: dict[str, Any]


def run_affy_bench(
    env: Environment, *, arrays: int = 12, probe_sets: int = 2000, probes: int = 11,
    progress: Progress = quiet,
) -> AffyBench:  # fmt: skip
    """RMA of `arrays` synthetic arrays through the running environment `env` and by hand;
    `env`'s background foreman must be up."""
    if foreman_pid(env) is None:
        raise ConfigError(f"no foreman runs for {env.name}: start it with inv local.up")
    stamp = time.strftime("%y%m%d%H%M%S", time.gmtime())
    project = f"GSE9{stamp}"
    samples = [f"GSM9{stamp}{number:03d}" for number in range(1, arrays + 1)]
    with (
        connection(env, autocommit=True) as conn,
        tempfile.TemporaryDirectory(prefix="affy-bench-") as scratch,
    ):
        work = Path(scratch)
        progress("making the synthetic arrays")
        chip = make_chip(work / "chip", name=f"RFY-Bench-{probe_sets}x{probes}",
                         probe_sets=probe_sets, probes=probes)  # fmt: skip
        made = make_arrays(work / "cel", chip, samples=samples, probes=probes,
                           second_group=samples[arrays // 2 :])  # fmt: skip
        added = add_chip(env, str(chip.cdf), str(chip.probe_genes))
        wait_for_quiet_platform(conn, timeout=WAIT_SECONDS)
        progress("RMA through the platform")
        with transaction(env) as survey_conn:
            record_runs(survey_conn, "geo", _runs(project, made.cel_files), parent_job_id=None)
        analysis_id, claimed, committed = _time_affy_job(conn, project)
        ours = _lake_file(env, computed_file_key(analysis_id, "probe_set_rma.tsv"),
                          work / "ours.tsv")  # fmt: skip
        definition = _lake_file(env, chip_prefix(added.package) + CDF_ENV, work / CDF_ENV)
        progress("affy::rma by hand")
        start = time.perf_counter()
        reference = run_r_rma(definition, chip.name, list(made.cel_files.values()),
                              work / "by-hand")  # fmt: skip
        by_hand = time.perf_counter() - start
        difference = float(
            np.abs(read_probe_set_values(ours).values - reference.values.values).max()
        )
    if difference > EQUALITY:
        raise JobError(f"the platform's values differ from R's by {difference:.3g} (> 1e-9)")
    comparison = Comparison(
        f"RMA of {arrays} arrays ({probe_sets} probe sets × {probes} probes)",
        committed - claimed, "affy::rma by hand", by_hand, target=TARGET_RATIO,
    )  # fmt: skip
    details = {
        "timed": "Refinery: affy job claimed → analysis committed; R: the Rscript process",
        "arrays": arrays, "probe_sets": probe_sets, "probes": probes,
        "r_rma_seconds": reference.seconds, "largest_difference": difference,
        "poll_seconds": POLL_SECONDS, "analysis_id": analysis_id,
    }  # fmt: skip
    return AffyBench([comparison], details)


def _runs(project: str, cel_files: dict[str, Path]) -> list[SurveyedRun]:
    array = {"platform": "GPL99999", "manufacturer": "Affymetrix", "raw": "CEL",
             "title": "[RFY-Bench] synthetic arrays of inv bench.affy"}  # fmt: skip
    return [
        SurveyedRun(
            project=project,
            project_title="inv bench.affy",
            individual=sample,
            sample=sample,
            aliquot=sample,
            experiment=sample,
            files=(SurveyedFile(name=path.name, source_url=path.resolve().as_uri()),),
            platform="GPL99999",
            metadata={"array": array},
        )
        for sample, path in cel_files.items()
    ]


def _lake_file(env: Environment, key: str, target: Path) -> Path:
    with open_lake(env).open_read(key) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
    return target


def _time_affy_job(conn: Any, project: str) -> tuple[int, float, float]:
    """(analysis id, claimed, committed) of the series' affy job, as epoch seconds."""
    deadline = time.monotonic() + WAIT_SECONDS
    with conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(_sql("affy_job"), {"project": project})
            row = cur.fetchone()
            seen = time.time()
            if row is not None and row[0] == "succeeded":
                return int(row[3]["analysis_id"]), float(row[1]), seen
            if row is not None and row[0] == "failed":
                raise JobError(f"the affy job of {project} failed: {row[2]}")
            time.sleep(POLL_SECONDS)
    raise JobError(f"the affy job of {project} did not end in {WAIT_SECONDS:g} s")
