"""Named SQL queries, kept in `.sql` files next to the code that runs them.

A file holds several queries, each under a `-- name: query_name --` header. Queries are read
once and looked up by name, so a typo in a name fails loudly at first use.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*--\s*$", re.MULTILINE)


def parse_named_queries(text: str) -> dict[str, str]:
    """Split `text` into {name: query} by its `-- name: ... --` headers."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for index in range(1, len(parts), 2):
        name, body = parts[index], parts[index + 1].strip()
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body
    return queries


@cache
def queries_in(path: str) -> dict[str, str]:
    """All named queries in the `.sql` file at `path` (cached)."""
    return parse_named_queries(Path(path).read_text())


def query(module_file: str, filename: str, name: str) -> str:
    """The query `name` from `filename`, which sits beside `module_file`."""
    queries = queries_in(str(Path(module_file).with_name(filename)))
    try:
        return queries[name]
    except KeyError:
        raise KeyError(f"no query named {name!r} in {filename}") from None
