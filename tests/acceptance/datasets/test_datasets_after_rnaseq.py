"""Data out through `inv` on the shipped `local` environment, after the RNA-seq chain.

A synthetic organism is indexed and two deliveries (two experiments: projects RNA1 and RNA2,
RNA2 with a sample of a foreign organism that fails its mapping rate) are surveyed and
processed by the real background foreman and workers. Then, through `inv datasets.*`:

- a dataset of both experiments in each aggregation mode opens as expected: the archive
  verifies against its manifest, each matrix loads with the values of the experiments' gene
  matrices on the datasets' log2 scale (log2(x + 1) of the lengthScaledTPM counts), each
  metadata TSV matches the catalog, and every sample asked for is in a matrix or listed
  with its reason;
- a QN target equals the mean of the samples' sorted values (on that log2 scale), and a
  dataset normalised to it gives every column exactly the target's values;
- a dataset job killed mid-write (SIGKILL at a failpoint, set on the foreman from outside)
  is re-run and produces a verifiable archive;
- a compendium's values before imputation are log2(x + 1) of the gene matrices' values:
  log2 applied exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.rnaseq.conftest import read_matrix, wait_for_quiet
from workers.datasets.archive import verify_archive

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]


def _run(local_state, *args: str) -> str:
    outcome = local_state.inv(*args)
    assert outcome.returncode == 0, (args, outcome.stderr[-2000:])
    return outcome.stdout


def _created(local_state, *args: str) -> int:
    answer = json.loads(_run(local_state, "datasets.create", "-e", "local", *args, "--json"))
    return int(answer["dataset_id"])


def _tsv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode()), delimiter="\t"))


def _matrix(archive: zipfile.ZipFile, name: str) -> dict[str, dict[str, float]]:
    """sample -> gene -> value (an empty cell is left out)."""
    rows = _tsv(archive, name)
    assert rows and next(iter(rows[0])) == "Gene"
    return {s: {r["Gene"]: float(r[s]) for r in rows if r[s] != ""} for s in list(rows[0])[1:]}


def _on_log2_scale(values: dict[str, float]) -> dict[str, float]:
    """A gene matrix's linear values as datasets give them: log2(x + 1)."""
    return {gene: float(np.log2(value + 1.0)) for gene, value in values.items()}


def _same(got: dict[str, float], expected: dict[str, float]) -> bool:
    return got.keys() == expected.keys() and all(
        got[k] == pytest.approx(v, rel=1e-12, abs=1e-12) for k, v in expected.items()
    )


def _archive(local_state, dataset_id: int) -> zipfile.ZipFile:
    link = json.loads(_run(local_state, "datasets.link", "-e", "local", str(dataset_id), "--json"))
    path = Path(link["link"])
    assert path.is_file() and link["expires_at"] is None  # a path on a folder lake
    assert verify_archive(path) == [], verify_archive(path)
    return zipfile.ZipFile(path)


def _summaries(local_state, lake: Path) -> dict[str, dict[str, dict[str, float]]]:
    """project accession -> its newest gene matrix (gene_counts.tsv)."""
    rows = local_state.query(
        "SELECT DISTINCT ON (p.accession) p.accession, an.id FROM analyses an JOIN projects p "
        "ON p.id = (an.metadata->>'project_id')::bigint WHERE an.application = 'summarise' "
        "ORDER BY p.accession, an.id DESC"
    )
    return {project: read_matrix(lake / "analyses" / str(a) / "gene_counts.tsv")
            for project, a in rows}  # fmt: skip


def _catalog_runs(local_state) -> dict[str, tuple]:
    rows = local_state.query(
        "SELECT e.accession, s.id, s.name, i.species, s.tissue, p.accession FROM experiments e "
        "JOIN aliquots a ON a.id = e.aliquot_id JOIN samples s ON s.id = a.sample_id "
        "JOIN individuals i ON i.id = s.individual_id JOIN projects p ON p.id = i.project_id"
    )
    return {row[0]: row[1:] for row in rows}


def _wait_for_failed_attempt(local_state, job_id: int, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = local_state.query(f"SELECT failure_reason FROM jobs WHERE id = {job_id}")
        if rows and rows[0][0]:
            return str(rows[0][0])
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} was not killed within {timeout:g} s")


@pytest.mark.slow
def test_datasets_compendium_and_a_killed_build_after_the_rnaseq_chain(local_state, tmp_path):
    inv, lake = local_state.inv, local_state.state / "local" / "lake"
    organism = make_organism(11)
    foreign = make_organism(99, genes=30)
    fasta, gtf = organism.write_genome(tmp_path / "reference")
    write_delivery(tmp_path / "one", organism, [
        PlannedSample("A1", seed=1, fragments=6_000),
        PlannedSample("A2", seed=2, fragments=6_000),
    ], project="RNA1")  # fmt: skip
    write_delivery(tmp_path / "two", organism, [
        PlannedSample("B1", seed=3, fragments=6_000),
        PlannedSample("B2", seed=4, fragments=6_000),
        PlannedSample("FOREIGN", seed=5, fragments=3_000, foreign=foreign),
    ], project="RNA2")  # fmt: skip
    killing = replace(
        local_state,
        variables={
            **local_state.variables,
            "REFINERY_FAILPOINTS": "datasets.archive.member_written=kill",
        },
    )
    try:
        _run(local_state, "local.up")
        _run(local_state, "index.build", "-e", "local", "--organism", organism.name,
             "--fasta", str(fasta), "--gtf", str(gtf))  # fmt: skip
        for folder in ("one", "two"):
            _run(local_state, "jobs.survey", "-e", "local", str(tmp_path / folder))
        wait_for_quiet(local_state.query)
        # before a target exists, asking for quantile normalisation is refused
        refused = inv("datasets.create", "-e", "local", "--experiments", "RNA1",
                      "--quantile-normalize")  # fmt: skip
        written_after_refusal = local_state.query("SELECT count(*) FROM datasets")
        modes = {mode: _created(local_state, "--experiments", "RNA1,RNA2", "--aggregate", mode)
                 for mode in ("experiment", "species", "all")}  # fmt: skip
        _run(local_state, "datasets.qn-target", "-e", "local", "--organism", organism.name)
        wait_for_quiet(local_state.query)
        normalised = _created(
            local_state,
            *_sample_ids(local_state, "RNA1"),
            "--quantile-normalize",
            "--include-raw",
            "--aggregate",
            "species",
        )
        compendium = json.loads(
            _run(
                local_state,
                "datasets.compendium",
                "-e",
                "local",
                "--organism",
                organism.name,
                "--json",
            )
        )["dataset_id"]
        wait_for_quiet(local_state.query)
        shown = _run(local_state, "datasets.show", "-e", "local", str(modes["experiment"]))
        shown_compendium = _run(local_state, "datasets.show", "-e", "local", str(compendium))
        listed = _run(local_state, "datasets.list", "-e", "local")
        # killed mid-write: every attempt of the foreman started with the failpoint dies
        _run(local_state, "local.down")
        _run(killing, "local.up")
        killed = _created(killing, "--experiments", "RNA1,RNA2", "--scale", "standard")
        (job_id,) = local_state.query(f"SELECT job_id FROM datasets WHERE id = {killed}")[0]
        reason = _wait_for_failed_attempt(local_state, job_id)
        _run(local_state, "local.down")
        archive_after_kill = (lake / "datasets" / str(killed)).exists()
        _run(local_state, "local.up")
        if local_state.query(f"SELECT state FROM jobs WHERE id = {job_id}") == [("failed",)]:
            _run(local_state, "jobs.retry", "-e", "local", str(job_id))
        wait_for_quiet(local_state.query)
        states = dict(local_state.query("SELECT id, state FROM datasets"))
        target = local_state.query("SELECT version, lake_key, samples FROM qn_targets")
        kill_job = local_state.query(f"SELECT state, attempt FROM jobs WHERE id = {job_id}")
        summaries, runs = _summaries(local_state, lake), _catalog_runs(local_state)
        archives = {i: _archive(local_state, i) for i in (*modes.values(), normalised,
                                                          compendium, killed)}  # fmt: skip
    finally:
        down = inv("local.down")
    assert down.returncode == 0, down.stderr
    assert refused.returncode != 0 and "no quantile-normalisation target" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and written_after_refusal == [(0,)]
    assert set(states.values()) == {"ready"}, states
    assert f"dataset {modes['experiment']}" in shown and "left out" in shown
    assert "RNA1" in listed

    # every aggregation mode: the groups, values as in the gene matrices, metadata as in
    # the catalog, and every sample asked for accounted for
    expected_groups = {"experiment": {"RNA1", "RNA2"}, "species": {"Synthetica_seed11"},
                       "all": {"ALL"}}  # fmt: skip
    asked = {run for run, row in runs.items() if row[4] in ("RNA1", "RNA2")}
    for mode, dataset_id in modes.items():
        archive = archives[dataset_id]
        names = set(archive.namelist())
        assert {"README.md", "LICENSE.TXT", "aggregated_metadata.json", "left_out.tsv",
                "MANIFEST.sha256"} <= names  # fmt: skip
        groups = {name.split("/")[0] for name in names if "/" in name}
        assert groups == expected_groups[mode], (mode, groups)
        in_matrices = set()
        for group in groups:
            matrix = _matrix(archive, f"{group}/{group}.tsv")
            for run, values in matrix.items():
                assert _same(values, _on_log2_scale(summaries[runs[run][4]][run])), (mode, run)
            metadata = _tsv(archive, f"{group}/metadata_{group}.tsv")
            assert [row["run"] for row in metadata] == list(matrix)
            for row in metadata:
                sample_id, sample, species, tissue, project = runs[row["run"]]
                assert (
                    row["sample_id"],
                    row["sample"],
                    row["species"],
                    row["tissue"],
                    row["project"],
                ) == (str(sample_id), sample, species, tissue, project)
            in_matrices |= set(matrix)
        left_out = {row["left_out"]: row["reason"] for row in _tsv(archive, "left_out.tsv")}
        assert in_matrices | set(left_out) == asked and not in_matrices & set(left_out)
        assert set(left_out) == {"RNA2-FOREIGN-RUN1"}
        assert "mapping rate" in left_out["RNA2-FOREIGN-RUN1"]
        summary = json.loads(archive.read("aggregated_metadata.json"))
        assert summary["aggregate_by"] == mode and summary["left_out"] == left_out

    # the QN target is the mean of the four samples' sorted values; normalised columns take it
    ((version, key, samples),) = target
    assert (version, samples) == (1, 4)
    planted = np.loadtxt(lake / key)
    columns = [np.sort(list(_on_log2_scale(summaries[p][r]).values()))
               for p in ("RNA1", "RNA2") for r in summaries[p]]  # fmt: skip
    assert np.allclose(planted, np.mean(columns, axis=0), rtol=1e-12, atol=0)
    archive = archives[normalised]
    matrix = _matrix(archive, "Synthetica_seed11/Synthetica_seed11.tsv")
    raw = _matrix(archive, "Synthetica_seed11/raw_Synthetica_seed11.tsv")
    assert sorted(matrix) == ["RNA1-A1-RUN1", "RNA1-A2-RUN1"]
    for run, values in matrix.items():
        assert _same(raw[run], _on_log2_scale(summaries["RNA1"][run]))
        if len(set(raw[run].values())) == len(raw[run]):  # no ties: exactly the target
            assert np.allclose(np.sort(list(values.values())), planted, rtol=1e-12)

    # the compendium: log2(x + 1) of the gene matrices' values, once
    archive = archives[compendium]
    before = _matrix(archive, "Synthetica_seed11/raw_Synthetica_seed11.tsv")
    recorded = json.loads(archive.read("aggregated_metadata.json"))
    assert sorted(before) == sorted(r for p in ("RNA1", "RNA2") for r in summaries[p])
    checked = 0
    for run, values in before.items():
        linear = summaries[runs[run][4]][run]
        for gene, value in values.items():
            assert value == pytest.approx(np.log2(linear[gene] + 1.0), rel=1e-12, abs=1e-12)
            checked += 1
    genes = [row["Gene"] for row in _tsv(archive, "Synthetica_seed11/Synthetica_seed11.tsv")]
    empty = len(genes) * len(before) - sum(len(values) for values in before.values())
    assert checked > 0 and recorded["imputed"] == empty
    assert all("present in" in why for why in recorded["dropped_genes"].values())
    assert f"imputed: {recorded['imputed']}" in shown_compendium
    assert "genes dropped" in shown_compendium or not recorded["dropped_genes"]

    # killed mid-write, then re-run: one verifiable archive, nothing left before the re-run
    assert "SIGKILL" in reason, reason
    assert not archive_after_kill
    assert kill_job[0][0] == "succeeded" and kill_job[0][1] >= 2, kill_job
    assert {n.split("/")[0] for n in archives[killed].namelist() if "/" in n} == {"RNA1", "RNA2"}


def _sample_ids(local_state, project: str) -> list[str]:
    rows = local_state.query(
        "SELECT s.id FROM samples s JOIN individuals i ON i.id = s.individual_id JOIN projects p "
        f"ON p.id = i.project_id WHERE p.accession = '{project}' ORDER BY s.id"
    )
    return [arg for (sample_id,) in rows for arg in ("--samples", str(sample_id))]
