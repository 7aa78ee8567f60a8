"""`inv arrays.*`: the Affymetrix chips the platform can normalise."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, task


@task(
    help={
        "env": ENV_HELP,
        "cdf": "the chip's CDF file (text or binary), as Affymetrix publishes it",
        "genes": "its probe-to-gene table: TSV with the header probe_set<TAB>gene",
        "json": JSON_HELP,
    }
)
def chip(c: Context, env: str, cdf: str, genes: str, json: bool = False) -> None:
    """Add an Affymetrix chip: its CDF made into a chip definition (makecdfenv), with its
    probe-to-gene table, stored in the lake for the affy application."""
    from ops.arrays.chips import add_chip

    result = add_chip(environment(env), cdf, genes)
    if json:
        print_json(result.__dict__)
        return
    share = result.probe_sets_mapped / result.probe_sets if result.probe_sets else 0.0
    what = (f"chip {result.chip} ({result.package}): {result.probe_sets} probe sets, "
            f"{result.probe_sets_mapped} ({share:.1%}) mapped to {result.genes} genes")  # fmt: skip
    if result.added:
        console.print(f"added {what} → {result.prefix}")
    else:
        console.print(f"{what} is already known, from the same files; changed nothing")


ns = Collection("arrays")
ns.add_task(chip)
