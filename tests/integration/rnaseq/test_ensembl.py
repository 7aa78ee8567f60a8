"""An organism's genome and GTF are found through Ensembl's REST API (answers served on
loopback from `tests/support/fixtures/ensembl/`), for vertebrates and Ensembl Genomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings.jobs import RnaSeqSettings
from tests.integration.workers.servers import LoopbackHttpServer
from workers.processors.ensembl import EnsemblUnavailable, resolve_release

pytestmark = [pytest.mark.integration, pytest.mark.salmon]
FIXTURES = Path(__file__).parents[2] / "support" / "fixtures" / "ensembl"


@pytest.fixture
def ensembl():
    server = LoopbackHttpServer().start()
    for name in ("homo_sapiens", "arabidopsis_thaliana"):
        server.state.files[f"/rest/info/genomes/{name}"] = (
            FIXTURES / f"info_genomes_{name}.json"
        ).read_bytes()
    server.state.files["/rest/info/data"] = (FIXTURES / "info_data.json").read_bytes()
    server.state.files["/rest/info/eg_version"] = (FIXTURES / "info_eg_version.json").read_bytes()
    settings = RnaSeqSettings(
        ensembl_rest_url=server.url("/rest"),
        ensembl_ftp_url=server.url("/ftp"),
        ensembl_genomes_ftp_url=server.url("/genomes"),
        timeout_seconds=10,
    )
    yield server, settings
    server.stop()


def test_a_vertebrate_resolves_to_the_newest_release_genome_and_gtf(ensembl):
    server, settings = ensembl
    found = resolve_release(settings, "Homo sapiens", None, None)
    assert (found.division, found.release, found.assembly) == ("EnsemblVertebrates", 113, "GRCh38")
    assert found.genome_url == server.url(
        "/ftp/release-113/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.toplevel.fa.gz"
    )
    assert found.gtf_url == server.url(
        "/ftp/release-113/gtf/homo_sapiens/Homo_sapiens.GRCh38.113.gtf.gz"
    )


def test_a_plant_resolves_on_ensembl_genomes_with_its_own_release(ensembl):
    server, settings = ensembl
    found = resolve_release(settings, "Arabidopsis thaliana", "EnsemblPlants", None)
    assert found.release == 60
    assert found.gtf_url == server.url(
        "/genomes/plants/release-60/gtf/arabidopsis_thaliana/Arabidopsis_thaliana.TAIR10.60.gtf.gz"
    )
    pinned = resolve_release(settings, "Arabidopsis thaliana", None, 58)
    assert "/release-58/" in pinned.genome_url


def test_an_unknown_organism_or_the_wrong_division_is_refused(ensembl):
    _, settings = ensembl
    with pytest.raises(EnsemblUnavailable, match="does not know the organism"):
        resolve_release(settings, "No such thing", None, None)
    with pytest.raises(
        EnsemblUnavailable, match="in EnsemblVertebrates on Ensembl, not EnsemblPlants"
    ):
        resolve_release(settings, "Homo sapiens", "EnsemblPlants", None)
