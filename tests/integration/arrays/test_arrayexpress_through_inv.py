"""An ArrayExpress experiment through `inv`: surveyed at BioStudies, its CEL files downloaded,
RMA'd.

BioStudies' answers are recorded-style files served on loopback (`[arrayexpress] base_url`):
the study JSON (`fixtures/E-MTAB-9001.json`: title, organism, the array designs under
`Assays and Data`, the files by kind) and its MAGE-TAB sample table
(`fixtures/E-MTAB-9001.sdrf.txt`) of nine assays — six Affymetrix arrays of the synthetic chip
with CEL files (15 genes planted 4× higher in the three treated), one on an Agilent design,
one with only a processed table, one whose CEL file is only inside the study's zip archive and
one that names no design. The claims:

- `inv jobs.survey E-MTAB-9001` (with `inv foreman.run`) catalogues the six arrays and the
  processed table under the design `A-AFFY-9001`, downloads their files, and the `affy` job
  the last CEL file queues recovers the planted genes (log2 fold change 2 ± 0.4, as for GEO);
- the assays not catalogued are recorded with their reasons, in the survey's result and the
  project's metadata: the Agilent design named, the archived CEL file, the missing design;
- the processed table is stored and no job converts it;
- an accession BioStudies does not know, and text that is not an accession, are refused with
  one line before anything is queued.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ops.arrays.synthetic_arrays import make_arrays, make_chip
from tests.integration.arrays.test_arrays_through_inv import inv, read_matrix, run_platform
from tests.support.foreman import FAST_FOREMAN, fetch

pytestmark = [pytest.mark.integration, pytest.mark.r, pytest.mark.arrays]

FIXTURES = Path(__file__).parent / "fixtures"
STUDY = "E-MTAB-9001"
CONTROL, TREATED = ["ctrl1", "ctrl2", "ctrl3"], ["trt1", "trt2", "trt3"]
PLANTED_TOLERANCE = 0.4


@pytest.fixture
def biostudies_env(make_env, http_server):
    return make_env(
        "arrayexpress",
        arrayexpress={"base_url": http_server.url("/biostudies"), "retries": 1,
                      "backoff_seconds": 0.01},
        foreman={**FAST_FOREMAN, "metrics_address": ""},
        executor={"kind": "local", "concurrency": 2},
    )  # fmt: skip


def serve_study(http_server, tmp_path: Path):
    chip = make_chip(tmp_path / "chip")
    made = make_arrays(tmp_path / "cel", chip, samples=CONTROL + TREATED, second_group=TREATED)
    files = http_server.state.files
    files[f"/biostudies/api/v1/studies/{STUDY}"] = (FIXTURES / f"{STUDY}.json").read_bytes()
    files[f"/biostudies/files/{STUDY}/{STUDY}.sdrf.txt"] = (
        FIXTURES / f"{STUDY}.sdrf.txt"
    ).read_bytes()
    for sample, path in made.cel_files.items():
        files[f"/biostudies/files/{STUDY}/{sample}.CEL.gz"] = path.read_bytes()
    files[f"/biostudies/files/{STUDY}/processed7.txt"] = b"Reporter REF\tvalue\nRFY00001_at\t7.5\n"
    return made


@pytest.mark.slow
def test_an_arrayexpress_experiment_is_surveyed_at_biostudies_and_rma_normalised(
    biostudies_env, http_server, session_dirs, tmp_path
):
    env = biostudies_env
    arrays = serve_study(http_server, tmp_path)
    unknown = inv("jobs.survey", "-e", env.name, "E-MTAB-404")
    malformed = inv("jobs.survey", "-e", env.name, "E-MTAB")
    queued_after_refusals = fetch(env, "SELECT count(*) FROM jobs")
    added = inv("arrays.chip", "-e", env.name, "--cdf", str(arrays.chip.cdf),
                "--genes", str(arrays.chip.probe_genes))  # fmt: skip
    assert added.returncode == 0, added.stderr

    surveyed = run_platform(env, session_dirs, STUDY)
    assert surveyed.returncode == 0, surveyed.stdout + surveyed.stderr

    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1
    assert "BioStudies has no E-MTAB-404" in unknown.stderr, unknown.stderr
    assert malformed.returncode != 0 and "not an ArrayExpress experiment" in malformed.stderr
    assert queued_after_refusals == [(0,)]

    ((result,),) = fetch(env, "SELECT result FROM jobs WHERE kind = 'survey'")
    experiments = [f"{STUDY}-{name}" for name in CONTROL + TREATED]
    assert result["arrays"] == [*experiments, f"{STUDY}-processed7"]
    assert result["platforms"]["A-AFFY-9001"] == "Affymetrix synthetic test chip [RFY-Test1]"
    reasons = result["not_catalogued"]
    assert set(reasons) == {"agilent1", "zipped8", "nodesign9"}
    assert "its platform A-AGIL-28 (Agilent" in reasons["agilent1"]
    assert "not known to be an Affymetrix array" in reasons["agilent1"]
    assert "zipped8.CEL is not among the study's files" in reasons["zipped8"]
    assert "names no array design" in reasons["nodesign9"]
    ((project_metadata,),) = fetch(env, "SELECT metadata FROM projects")
    assert project_metadata["not_catalogued"] == reasons

    rows = fetch(env, "SELECT e.accession, e.platform, e.metadata->'array'->>'raw', i.species "
                      "FROM experiments e JOIN aliquots a ON a.id = e.aliquot_id JOIN samples s "
                      "ON s.id = a.sample_id JOIN individuals i ON i.id = s.individual_id "
                      "ORDER BY e.accession")  # fmt: skip
    assert {r[0]: r[1:] for r in rows} == {
        **{e: ("A-AFFY-9001", "CEL", "Mus musculus") for e in experiments},
        f"{STUDY}-processed7": ("A-AFFY-9001", "processed", "Mus musculus"),
    }
    stored = fetch(env, "SELECT count(*) FROM files WHERE kind = 'original' AND stored_at "
                        "IS NOT NULL")  # fmt: skip
    assert stored == [(7,)]
    jobs = fetch(env, "SELECT payload->>'application', state FROM jobs WHERE kind = 'process'")
    assert jobs == [("affy", "succeeded")]  # the CEL files' RMA; nothing converts the table

    ((analysis_id, metadata),) = fetch(
        env, "SELECT id, metadata FROM analyses WHERE application = 'affy'"
    )
    assert metadata["samples"] == experiments and metadata["platform"] == "A-AFFY-9001"
    folder = Path(env.lake.root) / "analyses" / str(analysis_id)
    genes, samples, values = read_matrix(folder / "gene_rma.tsv")
    assert samples == experiments
    change = values[:, 3:].mean(axis=1) - values[:, :3].mean(axis=1)
    planted = np.array([gene in arrays.planted_genes for gene in genes])
    assert planted.sum() == len(arrays.planted_genes)
    assert np.all(np.abs(change[planted] - 2.0) <= PLANTED_TOLERANCE), change[planted]
