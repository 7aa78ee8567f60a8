"""`inv search.*` on the real path: a surveyed sample is in the next search, the rebuild task
makes an index of the whole catalog, a restore leaves an index of the restored catalog, and
bad questions get one line and a non-zero exit."""

from __future__ import annotations

import json

import pytest

from common import db
from common.search.index import index_home
from ops.local.demo_data import write_demo_delivery
from tests.support.foreman import FAST_FOREMAN, fetch, start_foreman, wait_until
from tests.support.inv import run_inv
from tests.support.services import stop_process

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]


def _find(env, text: str, *filters: str) -> dict:
    args = [arg for item in filters for arg in ("--filter", item)]
    result = run_inv("search.find", "-e", env.name, text, *args, "--json", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def _rebuild(env) -> dict:
    result = run_inv("search.rebuild", "-e", env.name, "--json", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def _indexed_keys(env) -> set[tuple[str, int]]:
    """What the index on disk holds, read as it is (no catching up first)."""
    import tantivy

    conn = db.connect(env)
    try:
        generation = index_home(conn).generation()
    finally:
        conn.close()
    assert generation is not None
    index = tantivy.Index.open(str(generation))
    searcher = index.searcher()
    found = searcher.search(tantivy.Query.all_query(), limit=10_000, count=True)
    keys = set()
    for _, address in found.hits:
        doc = searcher.doc(address)
        keys.add((doc.get_first("entity"), doc.get_first("entity_id")))
    assert found.count == len(keys)
    return keys


def _catalog_keys(env) -> set[tuple[str, int]]:
    return set(fetch(env, "SELECT entity, entity_id FROM search_texts"))


def test_a_surveyed_sample_is_found_by_the_next_search(make_env, tmp_path):
    env = make_env("searchsurvey", foreman=FAST_FOREMAN)
    built = _rebuild(env)
    assert built["documents"] == 0
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=40).folder
    survey = run_inv("jobs.survey", "-e", env.name, str(delivery), timeout=300)
    assert survey.returncode == 0, survey.stderr[-2000:]
    assert _find(env, "S2", "entity=sample")["total"] == 0
    foreman = start_foreman(env, tmp_path)
    try:
        wait_until(
            lambda: fetch(env, "SELECT count(*) FROM samples")[0][0] == 2,
            timeout=120,
            what="the survey wrote its two samples",
        )
    finally:
        stop_process(foreman)
    # the first search after the write finds it: no sleep, no rebuild in between
    found = _find(env, "S2", "entity=sample")
    assert [(hit["title"], hit["tissue"]) for hit in found["hits"]] == [("S2", "liver")]
    assert found["facets"]["project"] == [{"value": "DEMO", "hits": 1}]
    assert _indexed_keys(env) == _catalog_keys(env)


def test_inv_search_rebuild_indexes_every_document_of_the_catalog(make_env):
    env = make_env("searchrebuild")
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession, title) VALUES"
                    " ('test', 'PRJR1', 'rebuilt project') RETURNING id")  # fmt: skip
        project = cur.fetchone()[0]
        cur.execute("INSERT INTO individuals (project_id, name, species) VALUES"
                    " (%s, 'IND1', 'Mus musculus') RETURNING id", (project,))  # fmt: skip
        individual = cur.fetchone()[0]
        cur.executemany(
            "INSERT INTO samples (individual_id, name, tissue) VALUES (%s, %s, 'lung')",
            [(individual, f"RB{number}") for number in range(25)],
        )
        cur.execute("INSERT INTO search_changes (entity, entity_id, changed_at) VALUES"
                    " ('project', %s, now() - interval '8 days')", (project,))  # fmt: skip
    built = _rebuild(env)
    assert built["documents"] == 26
    assert built["notes_forgotten"] == 1  # only the note older than 7 days
    assert fetch(env, "SELECT count(*) FROM search_changes")[0][0] == 26  # the inserts' notes
    assert _indexed_keys(env) == _catalog_keys(env)
    again = _rebuild(env)  # a second build replaces the first
    assert again["folder"] != built["folder"] and again["documents"] == 26
    found = _find(env, "lung", "entity=sample", "project=PRJR1")
    assert found["total"] == 25 and len(found["hits"]) == 20
    plain = run_inv("search.find", "-e", env.name, "rebuilt", timeout=300)
    assert plain.returncode == 0 and "PRJR1" in plain.stdout


def test_after_a_restore_the_index_holds_the_restored_catalog(make_env):
    env = make_env("searchrestore")
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession, title) VALUES"
                    " ('test', 'PRJB1', 'backed up') RETURNING id")  # fmt: skip
        project = cur.fetchone()[0]
    assert _find(env, "backed")["total"] == 1
    backup = run_inv("db.backup", "-e", env.name, timeout=300)
    assert backup.returncode == 0, backup.stderr[-2000:]
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("UPDATE projects SET title = 'renamed later' WHERE id = %s", (project,))
        cur.execute("INSERT INTO projects (source, accession, title) VALUES"
                    " ('test', 'PRJL1', 'added later')")  # fmt: skip
    assert _find(env, "later")["total"] == 2  # the index has the work after the backup
    restored = run_inv("db.restore", "-e", env.name, "latest", "--execute", "--json", timeout=300)
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert _indexed_keys(env) == _catalog_keys(env) == {("project", project)}
    assert _find(env, "later")["total"] == 0
    assert [hit["title"] for hit in _find(env, "backed")["hits"]] == ["PRJB1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x" * 201], "a search is at most 200 characters"),
        (["liver", "--filter", "colour=red"], "unknown facet 'colour'"),
        (["liver", "--filter", "entity=planet"], "unknown entity 'planet'"),
        (["liver", "--filter", "tissue"], "--filter takes FACET=VALUE"),
    ],
)
def test_a_bad_question_gets_one_line_and_a_non_zero_exit(env, args, message):
    result = run_inv("search.find", "-e", env.name, *args, timeout=120)
    assert result.returncode == 2  # ExitCode for bad input
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_rebuild_that_fails_halfway_leaves_the_index_searches_read(make_env):
    env = make_env("searchhalf")
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO projects (source, accession, title) VALUES ('test', %s, 'kept')",
            [(f"PRJH{number}",) for number in range(5)],
        )
    built = _rebuild(env)
    failed = run_inv("search.rebuild", "-e", env.name, timeout=300,
                     env={"REFINERY_FAILPOINTS": "search.rebuild.document=error@3"})  # fmt: skip
    assert failed.returncode != 0
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    conn = db.connect(env)
    try:
        home = index_home(conn)
    finally:
        conn.close()
    assert str(home.generation()) == built["folder"]
    assert sorted(home.root.glob("generation-*")) == [home.generation()]
    assert _find(env, "kept", "entity=project")["total"] == 5
