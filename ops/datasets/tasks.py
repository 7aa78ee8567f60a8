"""`inv datasets.*`: data out — datasets on request, QN targets, compendia, their links."""

from __future__ import annotations

from typing import Any

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


def _request_line(request: dict[str, Any]) -> str:
    if request.get("build"):
        return f"{request['build']} of {request.get('organism', '')}"
    what = (
        f"experiments {', '.join(request['experiments'])}"
        if request["experiments"]
        else f"search {request['search']!r}"
        if request["search"]
        else f"{len(request['samples'])} samples"
    )
    options = [f"by {request['aggregate']}", f"scale {request['scale']}"]
    options += ["QN"] if request["quantile_normalize"] else []
    options += ["raw"] if request["include_raw"] else []
    return f"{what} ({', '.join(options)})"


def _link_line(env_name: str, row: dict[str, Any]) -> str:
    """Whether the recorded link still works, and how to renew one that has expired."""
    from datetime import UTC, datetime

    expires = row["link_expires_at"]
    if expires is None:
        return "link does not expire (a path on a folder lake)"
    expires = expires.astimezone(UTC)
    renew = f"inv datasets.link -e {env_name} {row['id']}"
    if expires <= datetime.now(UTC):
        return f"link expired {expires:%Y-%m-%d %H:%M} UTC; a new one: {renew}"
    return f"link expires {expires:%Y-%m-%d %H:%M} UTC (renew: {renew})"


@task(
    iterable=["experiments", "samples"],
    help={
        "env": ENV_HELP,
        "experiments": "experiment (project accession, as in analyses.summarise); repeat or "
        "separate with commas",
        "samples": "sample id (repeat for several)",
        "search": "a search (as the console's); the samples it finds",
        "aggregate": "one matrix per experiment (default), species or all",
        "scale": "scale each gene: none (default), minmax, standard or robust",
        "quantile_normalize": "quantile-normalise to the organism's newest QN target",
        "include_raw": "add the values before normalisation and scaling",
        "json": JSON_HELP,
    },
)
def create(
    c: Context,
    env: str,
    experiments: list[str] | None = None,
    samples: list[str] | None = None,
    search: str | None = None,
    aggregate: str = "experiment",
    scale: str = "none",
    quantile_normalize: bool = False,
    include_raw: bool = False,
    json: bool = False,
) -> None:
    """Ask for a dataset: its samples joined per group, normalised, zipped with metadata."""
    from ops.datasets.service import create_dataset

    queued = create_dataset(
        environment(env),
        experiments=experiments or [],
        samples=samples or [],
        search=search,
        aggregate=aggregate,
        scale=scale,
        quantile_normalize=quantile_normalize,
        include_raw=include_raw,
    )
    if json:
        print_json(queued.__dict__)
        return
    console.print(f"dataset {queued.dataset_id}: queued job {queued.job_id}")


@task(
    help={"env": ENV_HELP, "limit": "at most this many, newest first", "json": JSON_HELP},
    read_only=True,
)
def list_(c: Context, env: str, limit: int = 50, json: bool = False) -> None:
    """Datasets and compendia asked for, newest first, with where each stands."""
    from ops.datasets.service import list_datasets, list_targets

    rows, targets = list_datasets(environment(env), limit), list_targets(environment(env))
    if json:
        print_json({"datasets": rows, "qn_targets": targets})
        return
    print_table(
        f"datasets in {env}",
        ("id", "kind", "state", "job", "request", "by", "bytes", "asked"),
        (
            (
                r["id"],
                r["kind"],
                r["state"],
                f"{r['job_id']} {r['job_state']}",
                _request_line(r["request"]),
                r["requested_by"],
                r["archive_bytes"],
                f"{r['created_at']:%Y-%m-%d %H:%M}",
            )
            for r in rows
        ),
    )
    if targets:
        print_table(
            "QN targets",
            ("id", "organism", "version", "samples", "genes", "sha256"),
            (
                (t["id"], t["organism"], t["version"], t["samples"], t["genes"], t["sha256"][:16])
                for t in targets
            ),
        )


@task(help={"env": ENV_HELP, "dataset_id": "the dataset", "json": JSON_HELP}, read_only=True)
def show(c: Context, env: str, dataset_id: str, json: bool = False) -> None:
    """One dataset: its request, state, archive, groups and what was left out and why."""
    from ops.datasets.service import show_dataset

    row = show_dataset(environment(env), dataset_id)
    if json:
        print_json(row)
        return
    console.print(f"dataset {row['id']} ({row['kind']}): {_request_line(row['request'])}")
    console.print(
        f"state {row['state']}; job {row['job_id']} {row['job_state']}"
        + (f": {row['failure_reason']}" if row["failure_reason"] else "")
    )
    if row["state"] == "ready":
        console.print(
            f"archive {row['archive_key']} ({row['archive_bytes']} bytes, sha256 "
            f"{row['archive_sha256']})"
        )
        console.print(_link_line(env, row))
    contents = row["contents"] or {}
    groups = contents.get("groups", {})
    if groups:
        print_table(
            "groups",
            ("group", "samples", "genes"),
            ((g, len(v["samples"]), v["genes"]) for g, v in groups.items()),
        )
    for key in ("imputed", "low_expression_genes"):
        if key in contents:
            console.print(f"{key.replace('_', ' ')}: {contents[key]}")
    for title, key in (("left out", "left_out"), ("genes dropped", "dropped_genes")):
        if contents.get(key):
            print_table(title, ("what", "reason"), sorted(contents[key].items()))


@task(help={"env": ENV_HELP, "dataset_id": "the dataset", "json": JSON_HELP})
def link(c: Context, env: str, dataset_id: str, json: bool = False) -> None:
    """A (new) link to a dataset's archive: a path on a folder lake, a presigned URL on S3."""
    from ops.datasets.service import renew_link

    answer = renew_link(environment(env), dataset_id)
    if json:
        print_json(answer)
        return
    console.print(answer["link"])
    expires = answer["expires_at"]
    console.print(
        f"sha256 {answer['sha256']}; "
        + (f"expires {expires:%Y-%m-%d %H:%M} UTC" if expires else "does not expire")
    )


@task(
    name="qn-target",
    help={"env": ENV_HELP, "organism": "scientific name, as catalogued", "json": JSON_HELP},
)
def qn_target(c: Context, env: str, organism: str, json: bool = False) -> None:
    """Queue a new version of an organism's quantile-normalisation target."""
    from ops.datasets.service import queue_organism

    queued = queue_organism(environment(env), "qn_target", organism)
    if json:
        print_json(queued.__dict__)
        return
    console.print(f"queued job {queued.job_id}: QN target of {organism}")


@task(help={"env": ENV_HELP, "organism": "scientific name, as catalogued", "json": JSON_HELP})
def compendium(c: Context, env: str, organism: str, json: bool = False) -> None:
    """Queue an organism's compendium: every processed sample, log2, imputed, normalised."""
    from ops.datasets.service import queue_organism

    queued = queue_organism(environment(env), "compendium", organism)
    if json:
        print_json(queued.__dict__)
        return
    console.print(
        f"dataset {queued.dataset_id}: queued job {queued.job_id} (compendium of {organism})"
    )


ns = Collection("datasets")
ns.add_task(create)
ns.add_task(list_, name="list")
ns.add_task(show)
ns.add_task(link)
ns.add_task(qn_target)
ns.add_task(compendium)
