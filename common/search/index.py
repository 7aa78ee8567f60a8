"""The search index of one catalog: a tantivy (BM25) index on the disk of the machine that
searches, kept in step with the catalog by the searcher itself.

Where: `<state root>/<environment>/search/<database>/` — on `local` beside the embedded
database; on a cloud environment on the disk of the host that serves the console or runs
`inv search.*` (the foreman host, for the console there). Every such copy is a cache of the
catalog: `rebuild_index` makes one from `search_texts` and `catch_up` brings it up to date.

How it stays in step: the catalog's triggers note each changed entity in `search_changes`
(migration 0060) with the writing transaction's id. Before answering, a search applies the
notes of every transaction from its index's horizon on (the oldest transaction still running
when it last caught up) and moves the horizon to now's. A change committed before a search
started is therefore in that search's answer — no daemon, no lost NOTIFY, and any number of
machines can each keep their own copy, since the notes are read, never consumed. Notes
older than `KEPT_DAYS` are deleted by `inv search.rebuild`; a copy not caught up for longer
than that is rebuilt rather than caught up, and so is one whose database was swapped for
another of the same name (its oid is kept with the horizon).

A rebuild writes a new generation folder and then swaps the `current` link to it, so a
search running meanwhile reads the old one whole. One process at a time writes (a file lock).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2.extensions import connection as Connection

from common import db
from common.db import fetch_one
from common.environments import Environment, state_root
from common.errors import ConfigError, RefineryError
from common.failpoints import failpoint
from common.sql import query

log = logging.getLogger(__name__)

FACETS = ("entity", "project", "tissue", "application", "status")
# The words of a document by weight: a word in a name or accession counts most.
WEIGHTS = {"names": 1.0, "traits": 0.4, "metadata": 0.2, "context": 0.1}
SHOWN = ("title", "subtitle")
KEPT_DAYS = 7
_APPLICATION_PREFIX = "refinery:"
_WRITER_HEAP = 128 * 1024 * 1024
_STATE_FILE = "refinery-search.json"
_opened: dict[Path, Any] = {}  # generation folder -> tantivy.Index, kept open per process

Progress = Callable[[int], None]


@dataclass(frozen=True)
class IndexHome:
    """The folder holding one catalog's index generations."""

    root: Path

    @property
    def current(self) -> Path:
        return self.root / "current"

    def generation(self) -> Path | None:
        """The generation searches read, or None before the first build."""
        try:
            return self.root / os.readlink(self.current)
        except FileNotFoundError:
            return None


@dataclass(frozen=True)
class Rebuilt:
    documents: int
    seconds: float
    folder: str


def index_home(conn: Connection) -> IndexHome:
    """The index of the catalog `conn` reaches: connections made by `common.db.connect` name
    their environment (application_name `refinery:<env>`); the database name separates a
    benchmark's or a refresh's database from the environment's own."""
    params = conn.get_dsn_parameters()
    application = params.get("application_name", "")
    if not application.startswith(_APPLICATION_PREFIX):
        raise ConfigError("search needs a connection made by common.db.connect")
    environment = application.removeprefix(_APPLICATION_PREFIX)
    return IndexHome(state_root() / environment / "search" / params["dbname"])


def tantivy_schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("key", tokenizer_name="raw", index_option="basic")
    for facet in FACETS:
        builder.add_text_field(facet, stored=True, fast=True, tokenizer_name="raw")
    builder.add_unsigned_field("entity_id", stored=True)
    for field in SHOWN:
        builder.add_text_field(field, stored=True, tokenizer_name="raw", index_option="basic")
    for field in WEIGHTS:
        builder.add_text_field(field, tokenizer_name="en_stem")
    return builder.build()


def open_index(home: IndexHome, conn: Connection) -> Any:
    """The current generation, caught up with the catalog (built first if there is none, or
    if it is too old or of another database)."""
    with _writing(home):
        generation = home.generation()
        if generation is None or not _caught_up(conn, generation):
            generation = _rebuilt_generation(conn, home)
    index = _opened.get(generation)
    if index is None:
        import tantivy

        index = _opened[generation] = tantivy.Index.open(str(generation))
    index.reload()
    return index


def _caught_up(conn: Connection, generation: Path) -> bool:
    state = _read_state(generation)
    if state is None or _too_old(state):
        return False
    return catch_up(conn, generation, state) is not None


def _rebuilt_generation(conn: Connection, home: IndexHome) -> Path:
    rebuild_index(conn, home, locked=True)
    generation = home.generation()
    assert generation is not None
    return generation


def catch_up(conn: Connection, generation: Path, state: dict[str, Any]) -> int | None:
    """Apply the changes noted since the generation's horizon; how many entities changed, or
    None when the generation is of another database (it must be built again).

    Notes of transactions at or past the horizon are read again next time (one of them may
    still have been running); those already applied (`applied`) are skipped."""
    with conn.cursor() as cur:
        cur.execute(query(__file__, "search.sql", "horizon"))
        horizon, database = fetch_one(cur)
        if database != state.get("database"):
            return None
        cur.execute(query(__file__, "search.sql", "changed_since"), {"since": state["since"]})
        notes = cur.fetchall()
        applied = set(state.get("applied", []))
        changed = sorted({(entity, entity_id) for xid, entity, entity_id in notes
                          if xid not in applied})  # fmt: skip
        rows = []
        if changed:
            entities, ids = zip(*changed, strict=True)
            cur.execute(query(__file__, "search.sql", "documents_of"),
                        {"entities": list(entities), "ids": list(ids)})  # fmt: skip
            rows = cur.fetchall()
    if changed:
        import tantivy

        index = _opened.get(generation) or tantivy.Index.open(str(generation))
        writer = index.writer(_WRITER_HEAP, 1)
        for entity, entity_id in changed:  # gone, or about to be written again
            writer.delete_documents_by_term("key", f"{entity}:{entity_id}")
        for row in rows:
            writer.add_document(_document(row))
        writer.commit()
        writer.wait_merging_threads()
    recent = sorted({xid for xid, _, _ in notes if int(xid) >= int(horizon)})
    if changed or horizon != state["since"] or recent != state.get("applied", []):
        _write_state(generation, horizon, database, recent)
    return len(changed)


def rebuild_index(
    conn: Connection,
    home: IndexHome,
    *,
    progress: Progress = lambda documents: None,
    locked: bool = False,
) -> Rebuilt:
    """A new generation from every document of the catalog, then swapped in."""
    if not locked:
        with _writing(home):
            return rebuild_index(conn, home, progress=progress, locked=True)
    started = time.perf_counter()
    folder = home.root / f"generation-{time.time_ns()}"
    folder.mkdir(parents=True)
    try:
        documents = _build_generation(conn, folder, progress)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # half a generation is never swapped in
        raise
    _swap_in(home, folder)
    return Rebuilt(documents, time.perf_counter() - started, str(folder))


def _build_generation(conn: Connection, folder: Path, progress: Progress) -> int:
    import tantivy

    conn.rollback()
    with conn.cursor() as cur:  # one snapshot: the horizon and the documents agree
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute(query(__file__, "search.sql", "horizon"))
        horizon, database = fetch_one(cur)
    index = tantivy.Index(tantivy_schema(), path=str(folder))
    writer = index.writer(_WRITER_HEAP, 2)
    documents = 0
    try:
        for row in _every_document(conn):
            writer.add_document(_document(row))
            documents += 1
            failpoint("search.rebuild.document")
            if documents % 50_000 == 0:
                progress(documents)
    except BaseException:
        writer.rollback()
        del writer, index  # its threads and files go now, before the folder is removed
        raise
    writer.commit()
    writer.wait_merging_threads()
    conn.rollback()
    _write_state(folder, horizon, database)
    return documents


def reindex_after_restore(env: Environment) -> int | None:
    """Build the index of a restored catalog again (the one on disk describes the catalog
    that was replaced); how many documents it holds. When it cannot be built now (the
    restored catalog needs migrations first), the old index is removed instead, and the next
    search builds one from whatever the catalog is then."""
    home: IndexHome | None = None
    try:
        with db.connection(env) as conn:
            home = index_home(conn)
            return rebuild_index(conn, home).documents
    except (psycopg2.Error, RefineryError, OSError) as exc:
        log.warning("search index not rebuilt after the restore: %s", exc, extra={"env": env.name})
        home = home or IndexHome(state_root() / env.name / "search" / env.database.name)
        with _writing(home):
            home.current.unlink(missing_ok=True)
            for old in home.root.glob("generation-*"):
                _opened.pop(old, None)
                shutil.rmtree(old, ignore_errors=True)
        return None


def forget_old_changes(conn: Connection) -> int:
    """Delete notes older than any copy may be behind; how many were deleted."""
    with conn.cursor() as cur:
        cur.execute(query(__file__, "search.sql", "forget_old_changes"), {"days": KEPT_DAYS})
        deleted = cur.rowcount
    conn.commit()
    return deleted


def _every_document(conn: Connection) -> Iterator[tuple[Any, ...]]:
    with conn.cursor(name="search_rebuild") as cur:
        cur.itersize = 20_000
        cur.execute(query(__file__, "search.sql", "every_document"))
        yield from cur


def _document(row: Iterable[Any]) -> Any:
    import tantivy

    entity, entity_id, title, subtitle, *rest = row
    fields = dict(zip(("project", "tissue", "application", "status", *WEIGHTS), rest, strict=True))
    return tantivy.Document(
        key=f"{entity}:{entity_id}",
        entity=entity,
        entity_id=int(entity_id),
        title=title,
        subtitle=subtitle,
        **{name: value or "" for name, value in fields.items()},
    )


@contextmanager
def _writing(home: IndexHome) -> Iterator[None]:
    home.root.mkdir(parents=True, exist_ok=True)
    with open(home.root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _swap_in(home: IndexHome, folder: Path) -> None:
    link = home.root / "current.next"
    link.unlink(missing_ok=True)
    link.symlink_to(folder.name)
    os.replace(link, home.current)
    for old in home.root.glob("generation-*"):
        if old != folder:
            _opened.pop(old, None)
            shutil.rmtree(old, ignore_errors=True)


def _read_state(generation: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((generation / _STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state if isinstance(state, dict) and "since" in state else None


def _write_state(
    generation: Path, horizon: str, database: str, applied: list[str] | None = None
) -> None:
    scratch = generation / f"{_STATE_FILE}.next"
    state = {"since": horizon, "database": database, "applied": applied or [],
             "caught_up_at": time.time()}  # fmt: skip
    scratch.write_text(json.dumps(state))
    os.replace(scratch, generation / _STATE_FILE)


def _too_old(state: dict[str, Any]) -> bool:
    return time.time() - float(state.get("caught_up_at", 0)) > (KEPT_DAYS - 1) * 86_400
