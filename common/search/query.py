"""Search across projects, samples, experiments and analyses: BM25 over a tantivy index.

`search(conn, text, filters=…)` is what the console's pages, its JSON API and the datasets
use. The query language is a web search's: words must all match, `"quoted phrases"`, `or`
between words, `-word` to exclude. Only the best `limit` hits are ranked (the engine skips
documents that cannot reach the top); the facets count every match without ranking it. The
index itself, where it lives and how it keeps up with the catalog: `common.search.index`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from psycopg2.extensions import connection as Connection

from common.errors import ValidationError
from common.search.index import FACETS, WEIGHTS, index_home, open_index

__all__ = ["ENTITIES", "FACETS", "MAX_QUERY", "SearchResult", "search"]

ENTITIES = ("project", "sample", "experiment", "analysis")
MAX_QUERY = 200
MAX_LIMIT = 200
FACET_VALUES = 10  # the most common values of each facet
# A quoted phrase (perhaps excluded), or a run of other characters.
_PIECE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")
# Words that say nothing on their own; a question's loose words all must match, so these are
# left out of it (inside a quoted phrase they stay).
_FILLERS = frozenset(("a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "the",
                      "to", "with"))  # fmt: skip


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
    chosen = checked_filters(text, filters)
    result = SearchResult(text=text, filters=chosen)
    query_text = engine_query(text)
    if not query_text:
        return result
    index = open_index(index_home(conn), conn)
    conn.rollback()
    query = _with_filters(index, query_text, chosen)
    searcher = index.searcher()
    found = searcher.search(
        query, max(1, min(limit, MAX_LIMIT)), count=False, offset=max(0, offset)
    )
    for score, address in found.hits:
        doc = searcher.doc(address)
        hit = {name: doc.get_first(name) for name in ("entity", "entity_id", "title", "subtitle")}
        hit.update({name: doc.get_first(name) for name in FACETS[1:]})
        hit["rank"] = round(float(score), 4)
        result.hits.append(hit)
    counted = searcher.aggregate(
        query, {name: {"terms": {"field": name, "size": 1000}} for name in FACETS}
    )
    for name in FACETS:
        buckets = sorted(
            ((bucket["key"], int(bucket["doc_count"])) for bucket in counted[name]["buckets"]),
            key=lambda pair: (-pair[1], pair[0]),
        )
        values = [{"value": key, "hits": hits} for key, hits in buckets if key != ""]
        if name == "entity":
            result.total = sum(item["hits"] for item in values)
        if values:
            result.facets[name] = values[:FACET_VALUES]
    return result


def checked_filters(text: str, filters: dict[str, str] | None) -> dict[str, str]:
    """The filters that are set, after refusing what the search cannot answer."""
    if len(text) > MAX_QUERY:
        raise ValidationError(f"a search is at most {MAX_QUERY} characters")
    chosen = {key: value for key, value in (filters or {}).items() if value}
    unknown = sorted(set(chosen) - set(FACETS))
    if unknown:
        raise ValidationError(f"unknown facet {unknown[0]!r} (one of {', '.join(FACETS)})")
    if "entity" in chosen and chosen["entity"] not in ENTITIES:
        raise ValidationError(f"unknown entity {chosen['entity']!r}")
    return chosen


def engine_query(text: str) -> str:
    """`text` in the engine's query language, built only from words, so nothing a person
    types can name a field or reach the engine's own syntax."""
    parts: list[str] = []
    for match in _PIECE.finditer(text):
        negated, phrase, loose = match.groups()
        if loose is not None and loose.lower() == "or":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        if loose is not None and loose.startswith("-"):
            negated, loose = "-", loose[1:]
        words = [word.lower() for word in _WORD.findall(phrase if loose is None else loose)]
        if loose is not None and not negated and words and set(words) <= _FILLERS:
            continue
        if not words:
            continue
        term = words[0] if len(words) == 1 else '"' + " ".join(words) + '"'
        parts.append(f"{negated or ''}{term}")
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


def _with_filters(index: Any, query_text: str, chosen: dict[str, str]) -> Any:
    import tantivy

    query = index.parse_query(
        query_text, list(WEIGHTS), field_boosts=WEIGHTS, conjunction_by_default=True
    )
    if not chosen:
        return query
    schema = index.schema
    clauses = [(tantivy.Occur.Must, query)]
    for name, value in chosen.items():  # filters narrow; they add nothing to the score
        term = tantivy.Query.term_query(schema, name, value)
        clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(term, 0.0)))
    return tantivy.Query.boolean_query(clauses)
