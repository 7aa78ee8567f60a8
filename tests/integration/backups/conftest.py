"""Fixtures for backup tests: an environment with catalog rows, and a way to read them back."""

from __future__ import annotations

import pytest

from common import db

TABLES = ("projects", "individuals", "samples")


def fill_catalog(env, projects: int = 30) -> None:
    with db.transaction(env) as conn, conn.cursor() as cur:
        for number in range(projects):
            cur.execute(
                "INSERT INTO projects (source, accession, title) VALUES ('ena', %s, %s) "
                "RETURNING id",
                (f"PRJEB{number:05d}", f"project {number} ünïcode ' \" \\ tab\t"),
            )
            project_id = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO individuals (project_id, name) VALUES (%s, 'i1') RETURNING id",
                (project_id,),
            )
            individual_id = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO samples (individual_id, name, metadata) VALUES (%s, 's1', %s)",
                (individual_id, '{"depth": 30, "nested": {"a": [1, 2]}}'),
            )


def catalog_contents(env) -> dict[str, list[tuple]]:
    conn = db.connect(env)
    try:
        contents = {}
        with conn.cursor() as cur:
            for table in TABLES:
                cur.execute(f"SELECT * FROM {table} ORDER BY id")
                contents[table] = cur.fetchall()
        return contents
    finally:
        conn.close()


def flip_one_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def filled_env(make_env):
    environment = make_env()
    fill_catalog(environment)
    return environment
