"""What the QC report and the console show of RNA-seq: each sample's mapping rate and library
type, and each project's sample-to-sample correlation heatmap.

`quantification_rows` reads the numbers the salmon analyses recorded (the newest finished
result per experiment), so a page shows exactly what the analysis holds. `correlation_heatmaps`
takes each project's newest gene-level summary (refine.bio's "experiment": a study and its
samples), correlates its samples by Pearson's r of log2(TPM + 1) over every gene, and draws the
matrix as an SVG whose text stays text (so the sample labels are readable, searchable and
testable), embedded by the pages as a `data:` image: no markup of ours or of a sample's name
goes into the page unescaped.
"""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

import numpy as np
from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.errors import StorageError
from common.lake import Lake
from common.sql import query


def _rows(conn: Connection, name: str, ids: list[int] | None) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(query(__file__, "rnaseq_view.sql", name), {"ids": ids})
        return [dict(row) for row in cur.fetchall()]


def quantification_rows(
    conn: Connection, experiment_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Per quantified experiment (of `experiment_ids`, or all): experiment, sample, project,
    analysis id, percent_mapped, library_type, reads, mapped — as the analysis recorded them."""
    return _rows(conn, "quantifications", experiment_ids)


def correlation_heatmaps(
    conn: Connection, lake: Lake, project_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Per project with a gene-level summary (of `project_ids`, or all): title, project,
    analysis id, samples (the matrix's columns, in order), correlation (Pearson's r of log2
    TPM + 1, rounded) and the heatmap as base64 SVG (`svg`)."""
    heatmaps = []
    for matrix in _rows(conn, "gene_matrices", project_ids):
        try:
            samples, tpm = read_tpm_matrix(lake, matrix["lake_key"])
        except (StorageError, OSError, ValueError):
            continue  # a matrix the lake cannot give back shows no heatmap, not an error page
        correlation = sample_correlation(tpm)
        title = f"Sample correlation, {matrix['project']} (Pearson r of log2 TPM+1)"
        heatmaps.append(
            {
                "title": title,
                "project": matrix["project"],
                "analysis_id": matrix["analysis_id"],
                "samples": samples,
                "correlation": [[round(float(v), 4) for v in row] for row in correlation],
                "svg": heatmap_svg(title, samples, correlation),
            }
        )
    return heatmaps


def read_tpm_matrix(lake: Lake, key: str) -> tuple[list[str], np.ndarray]:
    """(samples, genes × samples TPM) of a gene_tpm.tsv (first column the gene)."""
    with lake.open_read(key) as handle:
        rows = list(csv.reader(io.TextIOWrapper(handle, encoding="utf-8"), delimiter="\t"))
    if not rows or len(rows[0]) < 2:
        raise ValueError(f"{key}: not a gene matrix")
    samples = rows[0][1:]
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=float)
    return samples, values.reshape(len(rows) - 1, len(samples))


def sample_correlation(tpm: np.ndarray) -> np.ndarray:
    """samples × samples Pearson's r of log2(TPM + 1); NaN where a sample does not vary."""
    logged = np.log2(np.asarray(tpm, dtype=float) + 1.0)
    if logged.shape[1] == 1:
        return np.ones((1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.atleast_2d(np.corrcoef(logged, rowvar=False))


def heatmap_svg(title: str, samples: list[str], correlation: np.ndarray) -> str:
    """The correlation matrix as a labelled heatmap, base64 SVG with text kept as text."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    size = 2.5 + 0.45 * len(samples)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "refinery"}):
        figure, axis = plt.subplots(figsize=(size + 1.2, size))
        image = axis.imshow(np.ma.masked_invalid(correlation), cmap="viridis", vmin=None)
        axis.set_xticks(range(len(samples)), samples, rotation=90, fontsize="small")
        axis.set_yticks(range(len(samples)), samples, fontsize="small")
        axis.set_title(title, fontsize="small")
        figure.colorbar(image, ax=axis, label="Pearson r")
        buffer = io.StringIO()
        figure.tight_layout()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(figure)
    return base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
