"""`inv db.schema-diagram`: drawn from the live catalog, grouped by area, deterministic."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import ValidationError
from ops.db.schema_diagram import COMMITTED_DIAGRAM, render, schema_dot, table_areas

REPO = Path(__file__).resolve().parents[3]
INV = Path(sys.executable).with_name("inv")


def test_the_committed_diagram_matches_the_migrations(conn):
    fresh = schema_dot(conn)
    assert fresh == COMMITTED_DIAGRAM.read_text(), (
        "docs/schema.dot no longer matches the migrations: run "
        "`inv db.schema-diagram -e local --format dot --output docs/schema.dot` and commit it"
    )


def test_tables_are_grouped_by_the_migration_that_created_them(conn):
    areas = table_areas()
    assert areas["jobs"] == "jobs"
    assert areas["samples"] == "catalog"
    text = schema_dot(conn)
    catalog_cluster = text.split('label="catalog"', 1)[1].split("  }", 1)[0]
    assert "samples [label=" in catalog_cluster
    assert "jobs [label=" not in catalog_cluster


def test_foreign_keys_are_edges_between_column_ports(conn):
    text = schema_dot(conn)
    assert 'samples:"individual_id" -> individuals:"id"' in text


def test_the_diagram_is_the_same_every_time(conn):
    assert schema_dot(conn) == schema_dot(conn)


def test_svg_is_rendered_by_graphviz(conn, tmp_path):
    target = render(schema_dot(conn), tmp_path / "schema.svg", "svg")
    content = target.read_text()
    assert content.lstrip().startswith(("<?xml", "<svg"))
    assert "individuals" in content
    assert not list(tmp_path.glob(".*partial"))


def test_an_unknown_format_is_refused(conn, tmp_path):
    with pytest.raises(ValidationError, match="unknown format"):
        render(schema_dot(conn), tmp_path / "schema.png", "png")
    assert not list(tmp_path.iterdir())


def test_the_task_writes_the_diagram_through_inv(env, tmp_path):
    target = tmp_path / "schema.dot"
    result = subprocess.run(
        [INV, "db.schema-diagram", "-e", env.name, "--format", "dot", "--output", str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text() == COMMITTED_DIAGRAM.read_text()
    bad = subprocess.run(
        [INV, "db.schema-diagram", "-e", env.name, "--format", "gif"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "unknown format" in bad.stderr


def _inv(*args, **kwargs):
    return subprocess.run(
        [INV, *args], cwd=REPO, capture_output=True, timeout=120, check=False, **kwargs
    )


def test_a_folder_as_output_is_refused_before_anything_is_written(env, tmp_path):
    folder = tmp_path / "diagrams"
    folder.mkdir()
    result = _inv("db.schema-diagram", "-e", env.name, "--output", str(folder))
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        f"error: --output {folder} is a folder: name the file to write, e.g. {folder}/schema.svg"
    ]
    assert sorted(tmp_path.iterdir()) == [folder] and not list(folder.iterdir())


@pytest.mark.parametrize("fmt", ["dot", "svg"])
def test_a_dash_writes_the_diagram_to_standard_output(env, fmt):
    before = set(REPO.iterdir())
    result = _inv("db.schema-diagram", "-e", env.name, "--format", fmt, "--output", "-")
    assert result.returncode == 0, result.stderr
    if fmt == "dot":
        assert result.stdout.decode() == COMMITTED_DIAGRAM.read_text()
    else:
        assert result.stdout.lstrip().startswith((b"<?xml", b"<svg"))
    assert set(REPO.iterdir()) == before  # no file named "-"


@pytest.mark.parametrize("fmt", ["dot", "svg"])
def test_a_write_that_fails_half_way_leaves_no_partial_and_says_what_failed(env, tmp_path, fmt):
    """A file-size limit (RLIMIT_FSIZE) stops the write after 1 KB, as a full disk would."""
    target = tmp_path / f"schema.{fmt}"

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    result = _inv("db.schema-diagram", "-e", env.name, "--format", fmt, "--output", str(target),
                  preexec_fn=small_files)  # fmt: skip
    assert result.returncode in (1, 7)
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr.decode()
    assert lines[0].startswith(f"error: could not write the {fmt} diagram to {target}: ")
    assert list(tmp_path.iterdir()) == []
