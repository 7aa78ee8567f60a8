"""The refresh's building blocks on a real database: HMAC computed in SQL, rules applied,
foreign keys and row counts checked."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from psycopg2 import sql

from common import db
from common.environments import REPO_ROOT
from ops.staging.anonymise import Rule, Rules, apply_rules, pads, pseudonym_sql, read_rules
from ops.staging.checks import foreign_key_violations, row_count_differences
from ops.staging.errors import RefreshError

pytestmark = [pytest.mark.integration]


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"a much longer key than one block " * 3])
def test_the_sql_pseudonym_is_hmac_sha256_of_the_value(conn, key):
    inner, outer = pads(key)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT {}").format(pseudonym_sql(sql.SQL("%(value)s"))),
                    {"inner": inner, "outer": outer, "value": "Grace Hopper ü"})  # fmt: skip
        [value] = cur.fetchone()
    expected = hmac.new(key, "Grace Hopper ü".encode(), hashlib.sha256).hexdigest()[:16]
    assert value == f"anon-{expected}"


def test_the_shipped_rules_name_columns_that_exist_and_change_them(env, conn):
    rules = read_rules(REPO_ROOT / "infrastructure/anonymise.toml")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession) VALUES ('ena', 'P') RETURNING id")
        cur.execute("INSERT INTO individuals (project_id, name) VALUES (%s, 'Ada')",
                    (cur.fetchone()[0],))  # fmt: skip
        cur.execute("INSERT INTO jobs (kind, payload) VALUES ('process', '{\"run_by\": \"ada\"}'),"
                    " ('survey', '{\"source\": \"x\"}')")  # fmt: skip
    changed = apply_rules(conn, rules, b"key")
    assert changed == {"individuals.name": 1, "analyses.run_by": 0, "jobs.payload.run_by": 1}
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM individuals")
        assert cur.fetchone()[0].startswith("anon-")
        cur.execute("SELECT payload FROM jobs ORDER BY id")
        first, second = (row[0] for row in cur.fetchall())
    assert first["run_by"].startswith("anon-") and second == {"source": "x"}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule("individuals", "nickname", None, "hmac"), "no column individuals.nickname"),
        (Rule("jobs", "attempt", None, "hmac"), "hmac needs text, not integer"),
        (Rule("projects", "title", "x", "hmac"), "title is text, not jsonb"),
    ],
)
def test_a_rule_that_does_not_fit_the_schema_stops_the_refresh(conn, rule, message):
    with pytest.raises(RefreshError, match=message):
        apply_rules(conn, Rules(Path(__file__), (rule,), None), b"key")


def test_foreign_key_orphans_are_found_and_counted(env, conn):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession) VALUES ('ena', 'P') RETURNING id")
        project = cur.fetchone()[0]
        cur.execute("INSERT INTO individuals (project_id, name) VALUES (%s, 'i')", (project,))
        checked, broken = foreign_key_violations(conn)
        assert checked >= 8 and broken == []
        # What a careless copy could leave: the key unenforced and rows pointing nowhere.
        cur.execute("ALTER TABLE individuals DROP CONSTRAINT individuals_project_id_fkey")
        cur.execute("INSERT INTO individuals (project_id, name) VALUES (999999, 'x'), "
                    "(999998, 'y')")  # fmt: skip
        cur.execute("ALTER TABLE individuals ADD CONSTRAINT individuals_project_id_fkey "
                    "FOREIGN KEY (project_id) REFERENCES projects (id) NOT VALID")  # fmt: skip
        _, broken = foreign_key_violations(conn)
    assert broken == [{"constraint": "individuals_project_id_fkey", "table": "public.individuals",
                       "references": "public.projects", "orphan_rows": 2}]  # fmt: skip


def test_row_counts_are_compared_with_the_manifest(env, conn):
    with db.transaction(env) as writer, writer.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession) VALUES ('ena', 'P')")
    counts, problems = row_count_differences(
        conn, {"public.projects": {"rows": 2}, "public.gone": {"rows": 1}}
    )
    assert counts["public.projects"] == {"manifest": 2, "actual": 1}
    assert problems == ["table public.gone is missing",
                        "table public.projects has 1 rows, the backup had 2"]  # fmt: skip


def test_the_search_change_log_may_gain_rows_but_never_lose_them(env, conn):
    # Writing a project notes it for the search index: the log gains a row, as anonymising does.
    with db.transaction(env) as writer, writer.cursor() as cur:
        cur.execute("INSERT INTO projects (source, accession) VALUES ('ena', 'P')")
    counts, problems = row_count_differences(conn, {"public.search_changes": {"rows": 0}})
    assert counts["public.search_changes"]["actual"] >= 1 and problems == []
    _, problems = row_count_differences(conn, {"public.search_changes": {"rows": 1000}})
    assert problems and problems[0].startswith("table public.search_changes has ")
