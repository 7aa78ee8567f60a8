"""A GEO series' Affymetrix arrays: each sample with a raw CEL file, catalogued for RMA, or
with only its submitter's processed table, catalogued for conversion to genes.

A sample is an Affymetrix array when its platform's `^PLATFORM` block in the family file names
Affymetrix (`!Platform_manufacturer`, or the title GEO gives such platforms, "[HG-U133A]
Affymetrix Human Genome U133A Array"). Its raw file is the `!Sample_supplementary_file_N`
ending in `.CEL` or `.CEL.gz`. GEO's supplementary files live in GEO's download area, which
`[geo] base_url` names (`ftp://ftp.ncbi.nlm.nih.gov/geo/samples/…` is read from
`<base_url>/samples/…`, over HTTPS by default). A sample with no CEL file but a table of its
own (`!Sample_data_row_count` above 0) has that table downloaded as text from GEO's accession
viewer (`[geo] query_url`), as `<GSM>_table.txt`; its chip is the one GEO's platform title
names in brackets ("[HG-U133A] …").

Each such sample is one experiment under the series (project `GSE…`; individual, sample,
aliquot and experiment `GSM…`) with the one file, its `platform` GEO's `GPL…`, and
`metadata.array` saying what the platform is and what the file is (`raw`: `CEL` or `table`) —
which is how the download handler knows to queue the `affy` application once the last CEL file
of the series on that platform is stored, or a table's `geo_table` conversion once it is.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlparse

from common.settings.jobs import GeoSettings
from workers.surveyors.catalog_writer import SurveyedFile, SurveyedRun

if TYPE_CHECKING:
    from workers.surveyors.geo import GeoSample, GeoSeries

GEO_HOST = "ftp.ncbi.nlm.nih.gov"
CEL_SUFFIXES = (".cel", ".cel.gz")
_BRACKETED = re.compile(r"^\s*\[([^\]]+)\]")


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


def chip_of_platform(platform: dict[str, str]) -> str:
    """The chip GEO's platform title names in brackets ("[HG-U133A] Affymetrix …"), or ""."""
    match = _BRACKETED.match(platform.get("title", ""))
    return match.group(1).strip() if match else ""


def table_url(query_url: str, sample: str) -> str:
    """Where GEO's accession viewer gives the sample's own table as text."""
    query = urlencode({"acc": sample, "targ": "self", "form": "text", "view": "data"})
    return f"{query_url}?{query}"


def array_run(series: GeoSeries, sample: GeoSample, settings: GeoSettings) -> SurveyedRun | None:
    """The sample as an experiment with its CEL file (or, lacking one, its own table), or None
    when it is not an Affymetrix array or has neither."""
    platform = series.platform_fields.get(sample.platform_id)
    if platform is None or not is_affymetrix(platform):
        return None
    url = cel_file(sample)
    array: dict[str, Any] = {
        "platform": sample.platform_id,
        "manufacturer": "Affymetrix",
        "title": platform.get("title", ""),
        "raw": "CEL",
    }
    if url is not None:
        name, source = PurePosixPath(urlparse(url).path).name, download_url(url, settings.base_url)
    elif sample.table_rows > 0:
        name = f"{sample.accession}_table.txt"
        source = table_url(settings.query_url, sample.accession)
        array.update(raw="table", chip=chip_of_platform(platform), rows=sample.table_rows)
    else:
        return None
    return SurveyedRun(
        project=series.accession,
        project_title=series.title,
        individual=sample.accession,
        sample=sample.accession,
        aliquot=sample.accession,
        experiment=sample.accession,
        files=(SurveyedFile(name=name, source_url=source),),
        species=sample.organism,
        tissue=sample.characteristics.get("tissue", ""),
        sample_metadata={"geo": sample.metadata()},
        platform=sample.platform_id,
        metadata={"array": array},
    )
