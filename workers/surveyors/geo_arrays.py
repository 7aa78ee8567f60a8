"""A GEO series' Affymetrix arrays: each sample with a raw CEL file, catalogued for RMA.

A sample is an Affymetrix array when its platform's `^PLATFORM` block in the family file names
Affymetrix (`!Platform_manufacturer`, or the title GEO gives such platforms, "[HG-U133A]
Affymetrix Human Genome U133A Array"). Its raw file is the `!Sample_supplementary_file_N`
ending in `.CEL` or `.CEL.gz`. GEO's supplementary files live in GEO's download area, which
`[geo] base_url` names (`ftp://ftp.ncbi.nlm.nih.gov/geo/samples/…` is read from
`<base_url>/samples/…`, over HTTPS by default).

Each such sample is one experiment under the series (project `GSE…`; individual, sample,
aliquot and experiment `GSM…`) with the one CEL file, its `platform` GEO's `GPL…`, and
`metadata.array` saying what the platform is — which is how the download handler knows to
queue the `affy` application once the last array of the series on that platform is stored.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun

if TYPE_CHECKING:
    from workers.surveyors.geo import GeoSample, GeoSeries

GEO_HOST = "ftp.ncbi.nlm.nih.gov"
CEL_SUFFIXES = (".cel", ".cel.gz")


def is_affymetrix(platform: dict[str, str]) -> bool:
    """Whether GEO's description of a platform names Affymetrix as its maker."""
    text = f"{platform.get('manufacturer', '')} {platform.get('title', '')}".lower()
    return "affymetrix" in text


def download_url(url: str, base_url: str) -> str:
    """Where to fetch a file GEO lists in its download area: under `base_url`."""
    parsed = urlparse(url)
    path = parsed.path
    if parsed.hostname == GEO_HOST and path.startswith("/geo/"):
        return base_url.rstrip("/") + path[len("/geo") :]
    return url


def cel_file(sample: GeoSample) -> str | None:
    """The sample's raw CEL file as GEO lists it, if it has one."""
    for url in sample.supplementary_files:
        if PurePosixPath(urlparse(url).path).name.lower().endswith(CEL_SUFFIXES):
            return url
    return None


def array_run(series: GeoSeries, sample: GeoSample, base_url: str) -> SurveyedRun | None:
    """The sample as an experiment with its CEL file, or None when it is not an Affymetrix
    array with a raw file."""
    platform = series.platform_fields.get(sample.platform_id)
    url = cel_file(sample)
    if platform is None or not is_affymetrix(platform) or url is None:
        return None
    array: dict[str, Any] = {
        "platform": sample.platform_id,
        "manufacturer": "Affymetrix",
        "title": platform.get("title", ""),
        "raw": "CEL",
    }
    return SurveyedRun(
        project=series.accession,
        project_title=series.title,
        individual=sample.accession,
        sample=sample.accession,
        aliquot=sample.accession,
        experiment=sample.accession,
        files=(
            SurveyedFile(
                name=PurePosixPath(urlparse(url).path).name,
                source_url=download_url(url, base_url),
            ),
        ),
        species=sample.organism,
        tissue=sample.characteristics.get("tissue", ""),
        sample_metadata={"geo": sample.metadata()},
        platform=sample.platform_id,
        metadata={"array": array},
    )
