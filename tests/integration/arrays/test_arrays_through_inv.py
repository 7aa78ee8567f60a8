"""Affymetrix arrays through `inv`: a GEO series surveyed, its CEL files downloaded, RMA'd.

A synthetic chip (a few hundred probe sets of eight PM/MM pairs) and seven arrays measured on
it from known intensities are made by the test (ops/arrays/synthetic_arrays.py); 15 genes are
planted 4× higher (log2 +2) in the treated arrays. A recorded-style SOFT family file lists the
seven as samples of an Affymetrix platform with their CEL files in GEO's download area; a
loopback server serves both. The seventh CEL file is cut short in transit's place: it is served
truncated (and with no size or checksum GEO could have promised, it is stored as it came).

`inv arrays.chip` adds the chip; `inv jobs.survey` queues the series; `inv foreman.run` runs
the survey, the downloads and the `affy` job they lead to. The claims:

- the plumbing: the probe-set values equal R's own `affy::rma`, run by hand on the same stored
  CEL files with the chip made straight from its CDF, to 1e-9, and each gene's value is the
  mean of its probe sets' (R's, to 1e-9);
- the truth: each planted gene comes out at log2 fold change 2 ± 0.4 (treated mean − control
  mean; RMA's quantile normalisation and the probe noise move it), their mean within 0.2 of 2,
  and every other gene within ±0.5 of 0;
- the truncated CEL file leaves its sample out, with affyio's reason, and so does an eighth
  array, of another chip (RMA normalises one chip's arrays together); the rest are processed;
  a chip the platform was never given fails the job for good, naming the chip.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.environments import REPO_ROOT
from ops.arrays.r_rma import run_r_rma
from ops.arrays.synthetic_arrays import SyntheticArrays, make_arrays, make_chip
from tests.support.foreman import FAST_FOREMAN, fetch
from workers.processors.affy_r import read_probe_set_values

pytestmark = [pytest.mark.integration, pytest.mark.r, pytest.mark.arrays]

FIXTURES = Path(__file__).parent / "fixtures"
SERIES = "GSE250001"
SOFT_PATH = f"/geo/series/GSE250nnn/{SERIES}/soft/{SERIES}_family.soft.gz"
SAMPLES = {
    "GSM7000001": "ctrl1", "GSM7000002": "ctrl2", "GSM7000003": "ctrl3",
    "GSM7000004": "trt1", "GSM7000005": "trt2", "GSM7000006": "trt3", "GSM7000007": "trt4",
    "GSM7000008": "other1",
}  # fmt: skip
CONTROL, TREATED = ["GSM7000001", "GSM7000002", "GSM7000003"], ["GSM7000004", "GSM7000005",
                                                                "GSM7000006"]  # fmt: skip
TRUNCATED = "GSM7000007"
OTHER_CHIP = "GSM7000008"  # an array of another chip: left out of the others' RMA
INV = str(Path(sys.executable).with_name("inv"))
PLUMBING_TOLERANCE = 1e-9
PLANTED_TOLERANCE = 0.4
PLANTED_MEAN_TOLERANCE = 0.2
UNCHANGED_TOLERANCE = 0.5


def inv(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [INV, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def series_arrays(tmp_path: Path) -> SyntheticArrays:
    """The series' arrays: seven of the chip (the planted genes 4× higher in the treated),
    an eighth of another chip."""
    chip = make_chip(tmp_path / "chip")
    made = make_arrays(tmp_path / "cel", chip, samples=list(SAMPLES)[:-1],
                       second_group=[*TREATED, TRUNCATED])  # fmt: skip
    other = make_chip(tmp_path / "other-chip", name="RFY-Test2", probe_sets=50)
    (cel,) = make_arrays(tmp_path / "other-cel", other, samples=[OTHER_CHIP],
                         second_group=[]).cel_files.values()  # fmt: skip
    made.cel_files[OTHER_CHIP] = cel
    return made


@pytest.fixture
def arrays(tmp_path):
    return series_arrays(tmp_path)


@pytest.fixture
def arrays_env(make_env, http_server):
    return make_env(
        "arrays",
        geo={
            "base_url": http_server.url("/geo"),
            "query_url": http_server.url("/geo-query/acc.cgi"),
            "retries": 1,
            "backoff_seconds": 0.01,
        },
        foreman={**FAST_FOREMAN, "metrics_address": ""},
        executor={"kind": "local", "concurrency": 2},
    )


def serve(http_server, arrays, *, organism: str = "Mus musculus") -> None:
    """The series' SOFT file (its samples of `organism`) and CEL files, the seventh cut short."""
    soft = (FIXTURES / f"{SERIES}_family.soft").read_text().replace("Mus musculus", organism)
    http_server.state.files[SOFT_PATH] = gzip.compress(soft.encode())
    for sample, short in SAMPLES.items():
        content = arrays.cel_files[sample].read_bytes()
        if sample == TRUNCATED:
            content = content[: len(content) // 2]
        path = f"/geo/samples/GSM7000nnn/{sample}/suppl/{sample}_{short}.CEL.gz"
        http_server.state.files[path] = content


def run_platform(env, session_dirs, series: str = SERIES) -> subprocess.CompletedProcess:
    """`inv jobs.survey --wait` of the series while `inv foreman.run` works in the background."""
    log = open(session_dirs["logs"] / "foreman-arrays.log", "ab")  # noqa: SIM115 - closed below
    foreman = subprocess.Popen(
        [INV, "foreman.run", "-e", env.name], cwd=REPO_ROOT, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        return inv("jobs.survey", "-e", env.name, series, "--wait", timeout=400)
    finally:
        foreman.send_signal(signal.SIGTERM)
        foreman.wait(timeout=60)
        log.close()


def read_matrix(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    values = read_probe_set_values(path)
    return values.probe_sets, values.samples, values.values


@pytest.mark.slow
def test_a_series_of_arrays_is_rma_normalised_like_r_and_recovers_the_planted_genes(
    arrays_env,
    http_server,
    arrays,
    session_dirs,
    tmp_path,
):
    serve(http_server, arrays)
    added = inv("arrays.chip", "-e", arrays_env.name, "--cdf", str(arrays.chip.cdf),
                "--genes", str(arrays.chip.probe_genes))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added chip RFY-Test1 (rfytest1cdf): 300 probe sets" in added.stdout, added.stdout
    again = inv("arrays.chip", "-e", arrays_env.name, "--cdf", str(arrays.chip.cdf),
                "--genes", str(arrays.chip.probe_genes))  # fmt: skip
    assert again.returncode == 0 and "changed nothing" in again.stdout, again.stdout

    surveyed = run_platform(arrays_env, session_dirs)
    assert surveyed.returncode == 0, surveyed.stdout + surveyed.stderr

    ((result,),) = fetch(arrays_env, "SELECT result FROM jobs WHERE kind = 'survey'")
    assert result["arrays"] == list(SAMPLES) and result["samples_without_sra"] == []
    experiments = fetch(
        arrays_env, "SELECT accession, platform, metadata FROM experiments ORDER BY accession"
    )
    assert [(a, p) for a, p, _ in experiments] == [(s, "GPL99001") for s in SAMPLES]
    assert experiments[0][2]["array"]["manufacturer"] == "Affymetrix"
    jobs = fetch(arrays_env, "SELECT kind, payload->>'application', state FROM jobs "
                             "WHERE kind = 'process' ORDER BY id")  # fmt: skip
    assert jobs == [("process", "affy", "succeeded")]  # one job for the series' arrays
    ((analysis_id, metadata),) = fetch(
        arrays_env, "SELECT id, metadata FROM analyses WHERE application = 'affy'"
    )
    assert metadata["chip"] == "RFY-Test1" and metadata["scale"] == "log2"
    assert metadata["samples"] == CONTROL + TREATED
    assert list(metadata["left_out"]) == [TRUNCATED, OTHER_CHIP]
    assert metadata["left_out"][OTHER_CHIP] == (
        "its chip RFY-Test2 differs from the experiment's RFY-Test1; "
        "RMA normalises the arrays of one chip together"
    )
    assert "cannot be read" in metadata["left_out"][TRUNCATED]
    assert "truncated" in metadata["left_out"][TRUNCATED]

    lake = Path(arrays_env.lake.root)
    folder = lake / "analyses" / str(analysis_id)
    summary = json.loads((folder / "gene_matrix.json").read_text())
    assert summary["left_out"] == metadata["left_out"] and summary["values_file"] == "gene_rma.tsv"
    assert summary["share_mapped"] == pytest.approx(metadata["probe_sets_mapped"] / 300)

    # the plumbing: R's own rma on the stored CEL files, the chip straight from its CDF
    stored = sorted(lake.glob("raw/geo-GSE250001/*/*.CEL.gz"))
    kept = [path for path in stored if not path.name.startswith((TRUNCATED, OTHER_CHIP))]
    reference = run_r_rma(arrays.chip.cdf, "RFY-Test1", kept, tmp_path / "reference")
    probe_sets, samples, values = read_matrix(folder / "probe_set_rma.tsv")
    assert samples == CONTROL + TREATED
    assert [name.split("_")[0] for name in reference.values.samples] == samples
    assert probe_sets == reference.values.probe_sets
    assert np.abs(values - reference.values.values).max() <= PLUMBING_TOLERANCE
    genes, gene_samples, gene_values = read_matrix(folder / "gene_rma.tsv")
    assert gene_samples == samples
    by_gene: dict[str, list[int]] = {}
    for row, probe_set in enumerate(reference.values.probe_sets):
        if probe_set in arrays.chip.gene_of:
            by_gene.setdefault(arrays.chip.gene_of[probe_set], []).append(row)
    assert genes == sorted(by_gene)
    expected = np.array([reference.values.values[by_gene[g]].mean(axis=0) for g in genes])
    assert np.abs(gene_values - expected).max() <= PLUMBING_TOLERANCE

    # the truth: planted genes near log2 fold change 2, the others near 0
    change = gene_values[:, 3:].mean(axis=1) - gene_values[:, :3].mean(axis=1)
    planted = np.array([gene in arrays.planted_genes for gene in genes])
    assert planted.sum() == len(arrays.planted_genes)
    print(f"planted log2 fold changes: {np.round(change[planted], 3).tolist()}; others: "
          f"largest |change| {np.abs(change[~planted]).max():.3f}")  # fmt: skip
    assert np.all(np.abs(change[planted] - 2.0) <= PLANTED_TOLERANCE)
    assert abs(change[planted].mean() - 2.0) <= PLANTED_MEAN_TOLERANCE
    assert np.all(np.abs(change[~planted]) <= UNCHANGED_TOLERANCE)


def test_arrays_of_a_chip_the_platform_does_not_know_fail_naming_the_chip(
    arrays_env,
    http_server,
    arrays,
    session_dirs,
):
    serve(http_server, arrays)
    surveyed = run_platform(arrays_env, session_dirs)
    assert surveyed.returncode == 1, surveyed.stdout + surveyed.stderr
    ((state, attempt, reason),) = fetch(
        arrays_env, "SELECT state, attempt, failure_reason FROM jobs WHERE kind = 'process'"
    )
    assert (state, attempt) == ("failed", 1)  # for good, at once: no retry adds a chip
    assert "chip RFY-Test1 (rfytest1cdf) is not known to this platform" in reason, reason
    assert "inv arrays.chip" in reason
    assert fetch(arrays_env, "SELECT count(*) FROM analyses") == [(0,)]  # nothing half-made


def test_samples_with_only_a_processed_table_are_converted_when_their_identifiers_map(
    arrays_env, http_server, arrays, session_dirs
):
    """GSM7000101's table: 6 values (a `null` skipped), 4 of them probe sets with a gene (67%,
    above the 50% floor; two of them one gene's, averaged). GSM7000102's: 1 of 4 (25%)."""
    series = "GSE250002"
    http_server.state.files[f"/geo/series/GSE250nnn/{series}/soft/{series}_family.soft.gz"] = (
        gzip.compress((FIXTURES / f"{series}_family.soft").read_bytes())
    )
    for sample in ("GSM7000101", "GSM7000102"):
        query = f"/geo-query/acc.cgi?acc={sample}&targ=self&form=text&view=data"
        http_server.state.files[query] = (FIXTURES / f"{sample}_view_data.txt").read_bytes()
    env = arrays_env
    added = inv("arrays.chip", "-e", env.name, "--cdf", str(arrays.chip.cdf),
                "--genes", str(arrays.chip.probe_genes))  # fmt: skip
    assert added.returncode == 0, added.stderr
    surveyed = run_platform(env, session_dirs, series)
    assert surveyed.returncode == 1, surveyed.stdout + surveyed.stderr  # GSM7000102 failed

    jobs = dict(
        fetch(
            env,
            "SELECT payload->'experiment_ids'->>0, jsonb_build_array(state, "
            "failure_reason) FROM jobs WHERE payload->>'application' = 'geo_table'",
        )
    )
    by_accession = dict(fetch(env, "SELECT id::text, accession FROM experiments"))
    outcome = {by_accession[k]: tuple(v) for k, v in jobs.items()}
    assert outcome["GSM7000101"] == ("succeeded", None)
    state, reason = outcome["GSM7000102"]
    assert state == "failed"
    assert reason.endswith(
        "GSM7000102: 25.0% of its table's 4 identifiers map to genes of chip "
        "RFY-Test1, below the floor of 50% ([arrays] table_floor_percent)"
    )
    ((analysis_id, metadata),) = fetch(
        env, "SELECT id, metadata FROM analyses WHERE application = 'geo_table'"
    )
    assert metadata["share_mapped"] == pytest.approx(4 / 6, abs=1e-6)
    assert (metadata["identifiers"], metadata["identifiers_mapped"]) == (6, 4)
    folder = Path(env.lake.root) / "analyses" / str(analysis_id)
    genes, samples, values = read_matrix(folder / "gene_submitted.tsv")
    assert samples == ["GSM7000101"]
    assert dict(zip(genes, values[:, 0], strict=True)) == {
        "GENE00001": 8.1, "GENE00002": 9.4, "GENE00022": 7.5,
    }  # fmt: skip
