"""`inv search.*`: rebuild an environment's search index, and search from the command line."""

from __future__ import annotations

from invoke import Collection, Context

from common.errors import ValidationError
from ops.taskkit import ENV_HELP, JSON_HELP, console, environment, print_json, print_table, task


@task(help={"env": ENV_HELP, "json": JSON_HELP})
def rebuild(c: Context, env: str, json: bool = False) -> None:
    """Build the search index again from the whole catalog, and drop notes it no longer needs."""
    from common import db
    from common.search.index import forget_old_changes, index_home, rebuild_index

    settings = environment(env)
    with db.connection(settings) as conn:
        with console.status("indexing…") as status:
            built = rebuild_index(
                conn,
                index_home(conn),
                progress=lambda done: status.update(f"indexing… {done:,} documents"),
            )
        forgotten = forget_old_changes(conn)
    if json:
        print_json({**built.__dict__, "notes_forgotten": forgotten})
        return
    console.print(
        f"{settings.name}: indexed {built.documents:,} documents in {built.seconds:.1f} s "
        f"({forgotten:,} old change notes dropped)"
    )


@task(
    iterable=["filter"],
    help={
        "env": ENV_HELP,
        "text": 'what to look for: words, "a phrase", or between words, -word to exclude',
        "filter": "FACET=VALUE (entity, project, tissue, application or status); repeatable",
        "limit": "hits to show (default 20, at most 200)",
        "json": JSON_HELP,
    },
)
def find(
    c: Context, env: str, text: str, filter: list[str], limit: int = 20, json: bool = False
) -> None:
    """Search the catalog as the console does: the best hits and the facet counts."""
    from common import db
    from common.search.query import search

    filters = {}
    for item in filter:
        facet, equals, value = item.partition("=")
        if not equals or not value:
            raise ValidationError(f"--filter takes FACET=VALUE, not {item!r}")
        filters[facet] = value
    with db.connection(environment(env)) as conn:
        conn.set_session(readonly=True)
        result = search(conn, text, filters=filters, limit=int(limit))
    if json:
        print_json(result.as_dict())
        return
    rows = [(hit["entity"], hit["entity_id"], hit["title"], hit["subtitle"], hit["rank"])
            for hit in result.hits]  # fmt: skip
    print_table(f"{result.total:,} matches", ("entity", "id", "title", "", "rank"), rows)
    for facet, values in result.facets.items():
        console.print(f"{facet}: " + ", ".join(f"{v['value']} ({v['hits']})" for v in values))


ns = Collection("search")
ns.add_task(rebuild)
ns.add_task(find)
