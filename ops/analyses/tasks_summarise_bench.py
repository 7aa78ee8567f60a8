"""`inv bench.summarise`: an experiment's gene-level summary against R's tximport on the same
files in the same run (see ops/analyses/summarise_bench.py). Exported as the Task `summarise`;
the `bench` collection adds it."""

from __future__ import annotations

from invoke import Context

from ops.benchkit import render
from ops.taskkit import JSON_HELP, task


@task(
    name="summarise",
    bounds={"samples": (1, 5_000), "transcripts": (10, 500_000), "repeats": (1, 20)},
    help={
        "samples": "samples (quant.sf files) in the synthetic experiment",
        "transcripts": "transcripts per quant.sf (genes of 1–5 transcripts)",
        "counts": "countsFromAbundance: lengthScaledTPM (the default) or no",
        "repeats": "runs per contender (the best is kept)",
        "json": JSON_HELP,
    },
)
def summarise_bench(
    c: Context,
    samples: int = 100,
    transcripts: int = 40_000,
    counts: str = "lengthScaledTPM",
    repeats: int = 3,
    json: bool = False,
) -> None:
    """Benchmark the gene-level summary (tximport's job) against R's tximport."""
    from ops.analyses.summarise_bench import run_summarise_bench

    result = run_summarise_bench(
        samples=int(samples),
        transcripts=int(transcripts),
        counts_from_abundance=counts,
        repeats=int(repeats),
    )
    render(
        "gene-level summary vs R's tximport (best of repeats)",
        [result.comparison],
        as_json=json,
        details=result.details,
    )
