"""Which files make an organism's transcriptome on Ensembl: resolved through its REST API.

`GET /info/genomes/<species>` names the assembly and the division; the release is the one
asked for, else the newest (`/info/data` for vertebrates, `/info/eg_version` for Ensembl
Genomes). The genome (`dna.toplevel`) and GTF then sit at fixed paths on the division's file
server. Both base URLs are `[rnaseq]` settings, so tests serve recorded answers on loopback.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from common.errors import ValidationError
from common.settings.jobs import RnaSeqSettings

# Ensembl Genomes divisions and their folder on its file server.
GENOMES_DIVISIONS = {
    "EnsemblPlants": "plants",
    "EnsemblFungi": "fungi",
    "EnsemblMetazoa": "metazoa",
    "EnsemblProtists": "protists",
}
DIVISIONS = ("EnsemblVertebrates", *GENOMES_DIVISIONS)


class EnsemblUnavailable(ValidationError):
    """Ensembl does not know the organism, or could not be asked."""


@dataclass(frozen=True)
class EnsemblRelease:
    organism: str
    division: str
    release: int
    assembly: str
    genome_url: str
    gtf_url: str


def _get(settings: RnaSeqSettings, path: str) -> Any:
    url = settings.ensembl_rest_url.rstrip("/") + path
    request = urllib.request.Request(url, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 404):
            return None
        raise EnsemblUnavailable(f"Ensembl answered {exc.code} for {path}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EnsemblUnavailable(f"cannot ask Ensembl ({path}): {exc}") from None


def resolve_release(
    settings: RnaSeqSettings, organism: str, division: str | None, release: int | None
) -> EnsemblRelease:
    """The genome and GTF URLs of `organism` in `release` (default: the newest)."""
    species = organism.strip().lower().replace(" ", "_")
    info = _get(settings, f"/info/genomes/{urllib.parse.quote(species)}")
    if not isinstance(info, dict) or "assembly_name" not in info:
        raise EnsemblUnavailable(f"Ensembl does not know the organism {organism!r}")
    found = str(info.get("division") or "EnsemblVertebrates")
    if division is not None and division != found:
        raise EnsemblUnavailable(f"{organism} is in {found} on Ensembl, not {division}")
    if release is None:
        if found in GENOMES_DIVISIONS:
            answer = _get(settings, "/info/eg_version")
            release = int((answer or {}).get("version", 0))
        else:
            answer = _get(settings, "/info/data")
            release = int(max((answer or {}).get("releases", [0])))
        if release <= 0:
            raise EnsemblUnavailable("Ensembl did not say which release is current")
    name = str(info.get("name") or species)
    stem = f"{name[:1].upper()}{name[1:]}.{info['assembly_name']}"
    if found in GENOMES_DIVISIONS:
        base = f"{settings.ensembl_genomes_ftp_url.rstrip('/')}/{GENOMES_DIVISIONS[found]}"
    else:
        base = settings.ensembl_ftp_url.rstrip("/")
    base = f"{base}/release-{release}"
    return EnsemblRelease(
        organism=organism,
        division=found,
        release=release,
        assembly=str(info["assembly_name"]),
        genome_url=f"{base}/fasta/{name}/dna/{stem}.dna.toplevel.fa.gz",
        gtf_url=f"{base}/gtf/{name}/{stem}.{release}.gtf.gz",
    )
