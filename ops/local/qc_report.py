"""The QC report: per-sample FASTQ statistics from the catalog and each analysis's qc.json.

`qc_rows(env)` gives one row per experiment (its newest finished fastq_qc analysis, or no
numbers yet); `qc_table(rows)` renders them for the terminal; `write_qc_report(env, path)`
writes a self-contained HTML page with the table and plots (PNG, embedded as base64), and
for RNA-seq each sample's mapping rate and library type and each project's sample-to-sample
correlation heatmap (ops/analyses/rnaseq_view.py).
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment as Templates
from jinja2 import FileSystemLoader, select_autoescape
from rich.table import Table

from common import catalog
from common.db import connection
from common.environments import Environment
from common.errors import StorageError
from common.lake import open_lake
from ops.analyses.rnaseq_view import correlation_heatmaps, quantification_rows

TEMPLATE = "qc_report.html.j2"
ROW_FIELDS = (
    "project",
    "individual",
    "sample",
    "tissue",
    "experiment",
    "library_layout",
    "analysis_id",
    "reads",
    "bases",
    "gc_percent",
    "mean_quality",
    "mean_length",
    "metadata",
)
# Shown in their own columns already, so left out of the merged metadata column.
_OWN_COLUMNS = {"species", "tissue"}


def _qc_records(
    env: Environment, experiment_ids: set[int] | None = None
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(row, the experiment's qc.json totals or None) for every catalogued experiment (or
    only those in `experiment_ids`)."""
    with connection(env) as conn:
        results = catalog.qc_results(conn)
    if experiment_ids is not None:
        results = [r for r in results if r["experiment_id"] in experiment_ids]
    lake = open_lake(env)
    documents: dict[str, dict[str, Any]] = {}
    records = []
    for result in results:
        totals = None
        key = result["qc_key"]
        if key:
            if key not in documents:
                try:
                    with lake.open_read(key) as handle:
                        documents[key] = json.load(handle)
                except (StorageError, ValueError):
                    documents[key] = {}
            entry = documents[key].get("experiments", {}).get(str(result["experiment_id"]))
            totals = entry["total"] if entry else None
        row = {
            "project": result["project"],
            "individual": result["individual"],
            "sample": result["sample"],
            "tissue": result["tissue"],
            "experiment": result["experiment"],
            "library_layout": result["library_layout"],
            "analysis_id": result["analysis_id"] if totals else None,
            "metadata": merged_metadata(result["sample_metadata"]),
        }
        for name in ("reads", "bases", "gc_percent", "mean_quality", "mean_length"):
            row[name] = totals.get(name) if totals else None
        records.append((row, totals))
    return records


def merged_metadata(metadata: dict[str, Any] | None) -> str:
    """The individual's and sample's merged metadata (a sample sheet's, a metadata sync's) as
    `key=value` pairs, for one table cell."""
    return ", ".join(
        f"{key}={value}"
        for key, value in sorted((metadata or {}).items())
        if key not in _OWN_COLUMNS
    )


def qc_rows(env: Environment) -> list[dict[str, Any]]:
    """One row per experiment: who it is and its QC numbers (None while not yet computed)."""
    return [row for row, _totals in _qc_records(env)]


def qc_plots(env: Environment, experiment_ids: set[int]) -> list[dict[str, str]]:
    """The report's plots (title, base64 PNG) for these experiments' finished QC only."""
    done = [(row, totals) for row, totals in _qc_records(env, experiment_ids) if totals]
    return _plots(done) if done else []


def qc_table(rows: list[dict[str, Any]], *, title: str = "Per-sample QC") -> Table:
    """The rows as a rich table."""
    table = Table(title=title)
    for column in ("sample", "individual", "tissue", "experiment"):
        table.add_column(column)
    for column in ("reads", "bases", "GC %", "mean Q", "mean length"):
        table.add_column(column, justify="right")
    table.add_column("metadata")
    for row in rows:
        table.add_row(
            row["sample"],
            row["individual"],
            row["tissue"],
            row["experiment"],
            _number(row["reads"]),
            _number(row["bases"]),
            _number(row["gc_percent"], 1),
            _number(row["mean_quality"], 1),
            _number(row["mean_length"], 1),
            row["metadata"],
        )
    return table


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def write_qc_report(env: Environment, path: str | Path) -> Path:
    """Write the HTML QC report of `env` to `path` (atomically) and return the path."""
    records = _qc_records(env)
    done = [(row, totals) for row, totals in records if totals]
    with connection(env) as conn:
        quantifications = quantification_rows(conn)
        heatmaps = correlation_heatmaps(conn, open_lake(env))
    templates = Templates(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html", "j2"]),
    )
    html = templates.get_template(TEMPLATE).render(
        environment=env.name,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        rows=[row for row, _ in records],
        pending=len(records) - len(done),
        plots=_plots(done) if done else [],
        quantifications=quantifications,
        heatmaps=heatmaps,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(html)
    partial.replace(target)
    return target


def _plots(done: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    samples = [row["sample"] for row, _ in done]
    # A sample sequenced on several runs is labelled by experiment, so bars stay distinct.
    labels = [
        row["sample"] if samples.count(row["sample"]) == 1 else row["experiment"] for row, _ in done
    ]
    plots = []

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, name, title in zip(
        axes,
        ("reads", "gc_percent", "mean_quality"),
        ("Reads", "GC %", "Mean Phred quality"),
        strict=True,
    ):
        axis.bar(labels, [row[name] for row, _ in done], color="#4C72B0")
        axis.set_title(title)
        axis.tick_params(axis="x", rotation=45)
    plots.append(_png("Per-sample summary", figure, plt))

    for key, title, xlabel in (
        ("read_mean_quality_histogram", "Per-read mean quality", "mean Phred quality"),
        ("read_gc_percent_histogram", "Per-read GC content", "GC %"),
        ("length_distribution", "Read length distribution", "read length"),
    ):
        figure, axis = plt.subplots(figsize=(9, 3.6))
        for label, (_row, totals) in zip(labels, done, strict=True):
            values = totals.get(key) or {}
            if isinstance(values, dict):
                points = sorted((int(x), y) for x, y in values.items())
                xs, ys = [x for x, _ in points], [y for _, y in points]
            else:
                xs, ys = list(range(len(values))), values
            total = sum(ys) or 1
            axis.plot(xs, [100 * y / total for y in ys], label=label)
        axis.set_title(title)
        axis.set_xlabel(xlabel)
        axis.set_ylabel("% of reads")
        if key == "length_distribution":
            axis.set_yscale("symlog", linthresh=0.1)  # trimmed reads are few but telling
        axis.legend(fontsize="small", ncol=2)
        plots.append(_png(title, figure, plt))
    return plots


def _png(title: str, figure: Any, plt: Any) -> dict[str, str]:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return {"title": title, "data": base64.b64encode(buffer.getvalue()).decode("ascii")}
