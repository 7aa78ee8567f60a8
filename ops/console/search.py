"""Search across projects, samples, experiments and analyses: PostgreSQL full-text search.

The index is `search_documents` (migration 0021): one row per catalog entity, its text
weighted by field so a word in a name or accession outranks the same word in metadata, with
the facet columns beside it. Triggers rewrite a row in the same transaction as the change it
reflects, so a search never sees a stale catalog. Queries use `websearch_to_tsquery` (quoted
phrases, `or`, `-word`), rank with `ts_rank_cd`, and count facets over every match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.errors import ValidationError
from common.sql import query

FACETS = ("entity", "project", "tissue", "application", "status")
ENTITIES = ("project", "sample", "experiment", "analysis")
MAX_QUERY = 200


@dataclass
class SearchResult:
    text: str
    filters: dict[str, str]
    total: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def search(
    conn: Connection,
    text: str,
    *,
    filters: dict[str, str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """The best `limit` hits for `text` (after `offset`), with facet counts."""
    text = (text or "").strip()
    if len(text) > MAX_QUERY:
        raise ValidationError(f"a search is at most {MAX_QUERY} characters")
    chosen = {key: value for key, value in (filters or {}).items() if value}
    unknown = sorted(set(chosen) - set(FACETS))
    if unknown:
        raise ValidationError(f"unknown facet {unknown[0]!r} (one of {', '.join(FACETS)})")
    if "entity" in chosen and chosen["entity"] not in ENTITIES:
        raise ValidationError(f"unknown entity {chosen['entity']!r}")
    result = SearchResult(text=text, filters=chosen)
    if not text:
        return result
    params = {"text": text, "limit": max(1, min(limit, 200)), "offset": max(0, offset)}
    params.update({facet: chosen.get(facet) for facet in FACETS})
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(query(__file__, "search.sql", "search"), params)
        rows = [dict(row) for row in cur.fetchall()]
        cur.execute(query(__file__, "search.sql", "facets"), params)
        for row in cur.fetchall():
            result.facets.setdefault(row["facet"], []).append(
                {"value": row["value"], "hits": row["hits"]}
            )
    conn.rollback()
    result.total = int(rows[0]["total"]) if rows else 0
    for hit in rows:
        hit.pop("total")
        hit["rank"] = round(float(hit["rank"]), 4)
    result.hits = rows
    return result


def ilike_samples(conn: Connection, word: str, *, limit: int = 20) -> list[tuple[int, str, int]]:
    """The naive peer of `search` (for the benchmark): (id, name, total matches) of samples
    whose fields contain `word`."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    with conn.cursor() as cur:
        cur.execute(
            query(__file__, "search.sql", "ilike_samples"),
            {"pattern": f"%{escaped}%", "limit": limit},
        )
        rows = cur.fetchall()
    conn.rollback()
    return rows
