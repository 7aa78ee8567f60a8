"""Bad dataset requests are refused in one line, with a non-zero exit, before anything is
recorded, queued or written."""

from __future__ import annotations

import pytest

from common import catalog, db
from tests.acceptance.hostile.conftest import assert_refused, run_inv
from tests.support.foreman import fetch

pytestmark = [pytest.mark.acceptance]


def _written(env):
    return fetch(env, "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM datasets), "
                      "(SELECT count(*) FROM qn_targets)")  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("create", "--experiments", "NOPE"), "unknown experiment 'NOPE'"),
        (
            ("create", "--experiments", "NOPE", "--scale", "loud"),
            "--scale is one of none, minmax, standard, robust, not 'loud'",
        ),
        (("create", "--samples", "1", "--aggregate", "planet"), "--aggregate is one of"),
        (("create",), "name what to download with one of --experiments, --samples or --search"),
        (("create", "--experiments", "A", "--samples", "1"), "(not --experiments and --samples)"),
        (("create", "--samples", "x1"), "--samples (a sample id) must be a whole number"),
        (("create", "--samples", "１"), "--samples (a sample id) must be a whole number"),
        (("create", "--samples", "424242"), "unknown sample id(s) 424242"),
        (
            ("create", "--search", "nothing-matches-this"),
            "the search 'nothing-matches-this' found no sample",
        ),
        (("show", "7"), "no dataset 7"),
        (("link", "0"), "DATASET_ID must be at least"),
        (("qn-target", "--organism", "Homo nowhere"), "no processed sample of 'Homo nowhere'"),
        (("compendium", "--organism", "Homo nowhere"), "no processed sample of 'Homo nowhere'"),
    ],
)
def test_bad_dataset_requests_are_refused_and_write_nothing(make_env, arguments, message):
    env = make_env("datasetrefusals")
    task, *rest = arguments
    line = assert_refused(run_inv(f"datasets.{task}", "-e", env.name, *rest))
    assert line.startswith("error: ") and message in line, line
    assert _written(env) == [(0, 0, 0)]


def _plant_processed_samples(env, organism: str, count: int) -> None:
    """A project whose newest gene matrix (a summary analysis) holds `count` samples."""
    runs = [f"P1-S{n}-RUN1" for n in range(count)]
    with db.transaction(env) as conn:
        project_id, _ = catalog.upsert_project(conn, "delivery", "P1")
        individual_id, _ = catalog.upsert_individual(conn, project_id, "D1", species=organism)
        for n, run in enumerate(runs):
            sample_id, _ = catalog.upsert_sample(conn, individual_id, f"S{n}")
            aliquot_id, _ = catalog.upsert_aliquot(conn, sample_id, "A")
            catalog.upsert_experiment(conn, aliquot_id, run)
        analysis_id = catalog.create_analysis(
            conn, "summarise", "1.0.0", "bot", [], metadata={
                "project_id": project_id, "samples": {run: 0 for run in runs}, "left_out": {}}
        )  # fmt: skip
        catalog.start_analysis(conn, analysis_id)
        catalog.finish_analysis(conn, analysis_id)


def test_a_qn_target_needs_the_configured_number_of_processed_samples(make_env):
    env = make_env("qnminimum", datasets={"qn_target_min_samples": 3})
    _plant_processed_samples(env, "Mus musculus", 2)
    before = _written(env)
    line = assert_refused(
        run_inv("datasets.qn-target", "-e", env.name, "--organism", "Mus musculus")
    )
    assert "Mus musculus has 2 processed samples; a QN target needs at least 3" in line, line
    assert _written(env) == before
