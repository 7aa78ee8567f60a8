"""The search engine over a planted catalog: facet counts equal SQL's, ranking and the query
language behave as documented, and every write is in the next search."""

from __future__ import annotations

import random

import pytest

from common.search.index import index_home
from common.search.query import search

pytestmark = pytest.mark.integration
SAMPLES = {"entity": "sample"}
PROJECTS = {"entity": "project"}
TISSUES = ("liver", "kidney", "retina", "tonsil")


def _plant(conn, *, samples: int = 120, seed: int = 7) -> None:
    """Three projects; samples with a tissue and, for a random third of them, the diagnosis
    glioma in their metadata; an experiment for every fifth sample."""
    rng = random.Random(seed)
    with conn.cursor() as cur:
        for number in range(3):
            cur.execute(
                "INSERT INTO projects (source, accession, title) VALUES ('test', %s, %s)"
                " RETURNING id",
                (f"PRJT{number}", f"planted project {number}"),
            )
            project = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO individuals (project_id, name, species) VALUES (%s, %s,"
                " 'Homo sapiens') RETURNING id",
                (project, f"IND{number}"),
            )
            individual = cur.fetchone()[0]
            for item in range(samples // 3):
                diagnosis = "glioma" if rng.random() < 1 / 3 else "healthy"
                cur.execute(
                    "INSERT INTO samples (individual_id, name, tissue, metadata)"
                    " VALUES (%s, %s, %s, jsonb_build_object('diagnosis', %s::text)) RETURNING id",
                    (individual, f"SMP{number}x{item}", rng.choice(TISSUES), diagnosis),
                )
                sample = cur.fetchone()[0]
                if item % 5 == 0:
                    cur.execute(
                        "INSERT INTO aliquots (sample_id, name) VALUES (%s, %s) RETURNING id",
                        (sample, f"AL{number}x{item}"),
                    )
                    cur.execute(
                        "INSERT INTO experiments (aliquot_id, accession, platform,"
                        " library_layout) VALUES (%s, %s, 'ILLUMINA', 'PAIRED')",
                        (cur.fetchone()[0], f"EXP{number}x{item}"),
                    )
    conn.commit()


def _sql_counts(conn, facet_sql: str) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute(facet_sql)
        rows = dict(cur.fetchall())
    conn.rollback()
    return rows


def test_facet_counts_equal_what_sql_counts_on_a_planted_catalog(conn):
    _plant(conn)
    result = search(conn, "glioma", limit=5)
    matched = (
        "FROM samples s JOIN individuals i ON i.id = s.individual_id"
        " JOIN projects p ON p.id = i.project_id WHERE s.metadata ->> 'diagnosis' = 'glioma'"
    )
    by_tissue = _sql_counts(conn, f"SELECT s.tissue, count(*) {matched} GROUP BY 1")
    by_project = _sql_counts(conn, f"SELECT p.accession, count(*) {matched} GROUP BY 1")
    total = sum(by_tissue.values())
    assert 20 < total < 100  # the plant is what the test thinks it is
    assert result.total == total
    assert {v["value"]: v["hits"] for v in result.facets["tissue"]} == by_tissue
    assert {v["value"]: v["hits"] for v in result.facets["project"]} == by_project
    assert result.facets["entity"] == [{"value": "sample", "hits": total}]
    assert "application" not in result.facets  # samples have none: no empty value counted
    # a filter narrows the hits and the counts alike
    tissue = max(by_tissue, key=lambda name: by_tissue[name])
    narrowed = search(conn, "glioma", filters={"tissue": tissue}, limit=200)
    assert narrowed.total == len(narrowed.hits) == by_tissue[tissue]
    assert {hit["tissue"] for hit in narrowed.hits} == {tissue}


def test_pages_hold_the_next_hits_and_never_repeat_one(conn):
    _plant(conn)
    first = search(conn, "glioma", limit=10)
    second = search(conn, "glioma", limit=10, offset=10)
    assert len(first.hits) == len(second.hits) == 10
    seen = [(hit["entity"], hit["entity_id"]) for hit in first.hits + second.hits]
    assert len(set(seen)) == 20
    assert [hit["rank"] for hit in first.hits] == sorted(
        (hit["rank"] for hit in first.hits), reverse=True
    )


def test_a_name_outranks_the_same_word_elsewhere_and_the_query_language_works(conn):
    _plant(conn, samples=30)
    with conn.cursor() as cur:
        cur.execute(
            'UPDATE samples SET metadata = metadata || \'{"note": "like SMP1x2"}\''
            " WHERE name = 'SMP0x1'"
        )
    conn.commit()
    hits = search(conn, "SMP1x2").hits
    assert [hit["title"] for hit in hits[:2]] == ["SMP1x2", "SMP0x1"]
    assert search(conn, "SMP1x2", filters={"entity": "sample"}).total == 2
    both = search(conn, "glioma kidney", filters={"entity": "sample"}, limit=200)
    assert both.hits and all(hit["tissue"] == "kidney" for hit in both.hits)
    either = search(conn, "glioma or healthy", filters={"entity": "sample"}).total
    assert either == 30
    not_kidney = search(conn, "glioma -kidney", limit=200)
    assert not_kidney.total == search(conn, "glioma").total - both.total
    assert search(conn, '"planted project 2"', filters={"entity": "project"}).total == 1
    assert search(conn, "tissue:kidney").total == search(conn, "tissue kidney").total


def test_every_write_is_in_the_next_search_and_a_deletion_leaves_it(conn):
    _plant(conn, samples=30)
    assert search(conn, "medulloblastoma").total == 0
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE samples SET tissue = 'cerebellum',"
            " metadata = '{\"diagnosis\": \"medulloblastoma\"}' WHERE name = 'SMP2x3'"
            " RETURNING id"
        )
        (sample_id,) = cur.fetchone()
    conn.commit()
    found = search(conn, "medulloblastoma")
    assert [(hit["entity_id"], hit["tissue"]) for hit in found.hits] == [(sample_id, "cerebellum")]
    with conn.cursor() as cur:  # a project's new title reaches its samples' documents
        cur.execute("UPDATE projects SET title = 'pediatric tumours' WHERE accession = 'PRJT2'")
    conn.commit()
    assert search(conn, "pediatric", filters={"entity": "sample"}).total == 10
    with conn.cursor() as cur:
        cur.execute("DELETE FROM experiments")
        cur.execute("DELETE FROM aliquots")
        cur.execute("DELETE FROM samples WHERE id = %s", (sample_id,))
    conn.commit()
    assert search(conn, "medulloblastoma").total == 0
    assert search(conn, "EXP0x0").total == 0


def test_an_uncommitted_write_is_not_lost_when_it_commits_after_a_search(conn, env):
    """The horizon is the oldest running transaction: a write that began before a search and
    committed after it is applied by the next search."""
    from common import db

    _plant(conn, samples=3)
    search(conn, "anything")
    writer = db.connect(env)
    try:
        with writer.cursor() as cur:
            cur.execute("UPDATE samples SET tissue = 'appendix' WHERE name = 'SMP0x0'")
        assert search(conn, "appendix", filters=SAMPLES).total == 0  # not committed yet
        with conn.cursor() as cur:  # a later transaction commits first
            cur.execute("UPDATE samples SET tissue = 'thymus' WHERE name = 'SMP1x0'")
        conn.commit()
        assert search(conn, "thymus", filters=SAMPLES).total == 1
        writer.commit()
    finally:
        writer.close()
    assert search(conn, "appendix", filters=SAMPLES).total == 1


def test_the_index_lives_under_the_environments_state_folder(conn, env):
    _plant(conn, samples=3)
    search(conn, "glioma")
    home = index_home(conn)
    assert home.root == env.state_dir / "search" / env.database.name
    assert home.generation() is not None and home.generation().is_dir()


def test_a_database_swapped_in_under_the_same_name_gets_its_own_index(make_env, tmp_path):
    """What a staging refresh does: another database renamed to the live one's name."""
    from common import db

    env = make_env("swapped")
    live = env.database.name
    conn = db.connect(env)
    try:
        _plant(conn, samples=3)
        assert search(conn, "PRJT0", filters=PROJECTS).total == 1
    finally:
        conn.close()
    _as_admin(env, f'CREATE DATABASE "{live}_new" TEMPLATE "{live}"')
    other = db.connect(env, dbname=f"{live}_new")
    try:
        with other.cursor() as cur:
            cur.execute("ALTER TABLE projects DISABLE TRIGGER USER")  # no notes: only the swap says
            cur.execute("UPDATE projects SET accession = 'PRJSWAP' WHERE accession = 'PRJT0'")
            cur.execute("ALTER TABLE projects ENABLE TRIGGER USER")
        other.commit()
    finally:
        other.close()
    _as_admin(env, f'ALTER DATABASE "{live}" RENAME TO "{live}_old"')
    _as_admin(env, f'ALTER DATABASE "{live}_new" RENAME TO "{live}"')
    conn = db.connect(env)
    try:
        assert search(conn, "PRJSWAP", filters=PROJECTS).total == 1
        assert search(conn, "PRJT0", filters=PROJECTS).total == 0
    finally:
        conn.close()


def _as_admin(env, statement: str) -> None:
    from common import db

    admin = db.connect(env, dbname="postgres")
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(statement)
    finally:
        admin.close()


def test_a_copy_not_caught_up_for_six_days_is_built_again(conn):
    import json
    import time

    _plant(conn, samples=3)
    search(conn, "glioma")
    home = index_home(conn)
    before = home.generation()
    state_file = before / "refinery-search.json"
    state = json.loads(state_file.read_text())
    state["caught_up_at"] = time.time() - 6.5 * 86_400
    state_file.write_text(json.dumps(state))
    assert search(conn, "PRJT1", filters=PROJECTS).total == 1
    assert home.generation() != before and not before.exists()
