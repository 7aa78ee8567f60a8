"""The RNA-seq view after the whole chain through `inv` on the shipped `local` environment.

Three simulated samples of one project are indexed, surveyed, quantified and summarised by the
real background foreman and workers; then `inv local.report` writes the QC report and
`inv console` serves the catalog. The claims: the report and the console's project, sample
and experiment pages show each sample's mapping rate exactly as its salmon analysis records it,
and its library type; the report and the project and experiment pages draw a correlation
heatmap whose sample labels are the project's samples (the gene matrix's columns), as text in
the SVG; the JSON API gives the same correlation (1 on the diagonal).
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import requests

from common.environments import REPO_ROOT
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.acceptance.rnaseq.conftest import wait_for_quiet
from tests.support.services import free_port, stop_process, wait_for_port

pytestmark = [pytest.mark.acceptance, pytest.mark.salmon]

SVG = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def rnaseq_table(html: str) -> dict[str, dict[str, str]]:
    """experiment accession -> {mapping rate, library type} of the page's #rnaseq table."""
    table = html.split('<table id="rnaseq">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in ROW.findall(table):
        cells = [unescape(TAG.sub("", cell)).strip() for cell in CELL.findall(row)]
        rate = re.search(r'class="num mapping-rate">([^<]*)<', row)
        kind = re.search(r'class="library-type">([^<]*)<', row)
        if rate and kind:
            accession = next(c for c in cells if c.endswith("-RUN1"))
            rows[accession] = {"rate": rate.group(1), "type": kind.group(1)}
    return rows


def heatmap_labels(html: str) -> list[list[str]]:
    """The text of every SVG heatmap on the page (each label once per axis)."""
    found = []
    for data in SVG.findall(html):
        svg = base64.b64decode(data).decode("utf-8")
        found.append([unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)])
    return found


@pytest.mark.slow
def test_report_and_console_show_mapping_rates_and_a_correlation_heatmap(local_state, tmp_path):
    inv = local_state.inv
    organism = make_organism(11, paralogs=0)
    fasta, gtf = organism.write_genome(tmp_path / "reference")
    write_delivery(tmp_path / "delivery", organism, [
        PlannedSample("LIVER", seed=1, fragments=4_000),
        PlannedSample("HEART", seed=2, fragments=4_000),
        PlannedSample("LUNG", paired=True, seed=3, fragments=3_000),
    ], project="VIEW")  # fmt: skip
    console = None
    try:
        assert inv("local.up").returncode == 0
        build = inv("index.build", "-e", "local", "--organism", organism.name,
                    "--fasta", str(fasta), "--gtf", str(gtf))  # fmt: skip
        assert build.returncode == 0, build.stderr
        survey = inv("jobs.survey", "-e", "local", str(tmp_path / "delivery"))
        assert survey.returncode == 0, survey.stderr
        wait_for_quiet(local_state.query)
        recorded = dict(
            (accession, (metadata["percent_mapped"], metadata["library_type"]))
            for accession, metadata in local_state.query(
                "SELECT e.accession, an.metadata FROM analyses an JOIN analysis_targets t ON "
                "t.analysis_id = an.id JOIN experiments e ON e.id = t.experiment_id "
                "WHERE an.application = 'salmon'"
            )
        )
        ids = dict(local_state.query("SELECT accession, id FROM experiments"))
        samples = dict(local_state.query(
            "SELECT e.accession, a.sample_id FROM experiments e "
            "JOIN aliquots a ON a.id = e.aliquot_id"))  # fmt: skip
        ((project_id,),) = local_state.query("SELECT id FROM projects WHERE accession = 'VIEW'")
        matrix_samples = local_state.query(
            "SELECT metadata -> 'samples' FROM analyses WHERE application = 'summarise' "
            "ORDER BY id DESC LIMIT 1"
        )[0][0]

        report = inv("local.report")
        assert report.returncode == 0, report.stderr
        html = (local_state.state / "local" / "reports" / "qc_report.html").read_text()

        added = inv("users.add", "-e", "local", "viewer", "--role", "analyst")
        assert added.returncode == 0, added.stderr
        token = added.stdout.strip().splitlines()[-1]
        port = free_port()
        console = subprocess.Popen(
            [str(Path(sys.executable).with_name("inv")), "console", "-e", "local",
             "--address", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT, env=local_state.variables, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for_port(port, timeout=60, process=console)

        def page(path: str) -> requests.Response:
            answer = requests.get(f"http://127.0.0.1:{port}{path}", timeout=60,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert answer.status_code == 200, (path, answer.status_code)
            return answer

        project_html = page(f"/catalog/projects/{project_id}").text
        project_api = page(f"/api/catalog/projects/{project_id}").json()
        experiment_html = {a: page(f"/catalog/experiments/{i}").text for a, i in ids.items()}
        sample_html = {a: page(f"/catalog/samples/{samples[a]}").text for a in ids}
    finally:
        if console is not None:
            stop_process(console)
        down = inv("local.down")
    assert down.returncode == 0, down.stderr

    accessions = sorted(ids)
    assert accessions == ["VIEW-HEART-RUN1", "VIEW-LIVER-RUN1", "VIEW-LUNG-RUN1"]
    assert sorted(recorded) == accessions and sorted(matrix_samples) == accessions
    expected = {a: {"rate": str(rate), "type": kind} for a, (rate, kind) in recorded.items()}
    assert {kind for _, kind in recorded.values()} == {"U", "IU"}

    # the report: every sample's recorded mapping rate and library type, one heatmap
    assert rnaseq_table(html) == expected
    (labels,) = heatmap_labels(html)
    assert sorted(t for t in labels if t.startswith("VIEW-")) == sorted(accessions * 2)

    # the console: the project page holds all three and the heatmap, each experiment and
    # sample page its own row, each experiment page its project's heatmap
    assert rnaseq_table(project_html) == expected
    (labels,) = heatmap_labels(project_html)
    assert sorted(t for t in labels if t.startswith("VIEW-")) == sorted(accessions * 2)
    for accession in accessions:
        assert rnaseq_table(experiment_html[accession]) == {accession: expected[accession]}
        assert rnaseq_table(sample_html[accession]) == {accession: expected[accession]}
        (labels,) = heatmap_labels(experiment_html[accession])
        assert sorted(t for t in labels if t.startswith("VIEW-")) == sorted(accessions * 2)
    (heatmap,) = project_api["heatmaps"]
    assert sorted(heatmap["samples"]) == accessions
    correlation = heatmap["correlation"]
    assert [correlation[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert all(-1 <= value <= 1 for row in correlation for value in row)
