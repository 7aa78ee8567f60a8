"""Bad RNA-seq requests are refused in one line before anything is queued or written."""

from __future__ import annotations

import pytest

from ops.analyses.synthetic_reads import make_organism
from tests.acceptance.hostile.conftest import assert_refused, run_inv
from tests.support.foreman import fetch

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]


def _written(env):
    return fetch(env, "SELECT (SELECT count(*) FROM jobs), "
                      "(SELECT count(*) FROM transcriptome_indices)")  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--fasta", "{fasta}"), "give --fasta with --gtf, or --cdna with --tx2gene"),
        (("--fasta", "{fasta}", "--gtf", "{missing}"), "--gtf {missing} does not exist"),
        (("--fasta", "{fasta}", "--gtf", "{gtf}", "--release", "110"), "--release are for Ensembl"),
        (("--division", "EnsemblMars"), "unknown division 'EnsemblMars'"),
        (("--release", "11x"), "--release"),
    ],
)
def test_bad_index_requests_are_refused_and_queue_nothing(make_env, tmp_path, arguments, message):
    env = make_env("indexrefusals")
    fasta, gtf = make_organism(2, genes=5).write_genome(tmp_path)
    values = {"fasta": fasta, "gtf": gtf, "missing": tmp_path / "missing.gtf"}
    argv = [a.format(**values) for a in arguments]
    outcome = run_inv("index.build", "-e", env.name, "--organism", "Synthetica", *argv)
    line = assert_refused(outcome)
    assert message.format(**values) in line, line
    assert _written(env) == [(0, 0)]


def test_summarising_an_unknown_experiment_is_refused(make_env):
    env = make_env("summariserefusal")
    line = assert_refused(run_inv("analyses.summarise", "-e", env.name, "--experiment", "NOPE"))
    assert "no experiment (project) 'NOPE' in the catalog" in line
    assert _written(env) == [(0, 0)]
