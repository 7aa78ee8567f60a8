"""`inv projects.*`: a project set up on purpose, listed and shown with what it holds."""

from __future__ import annotations

import json

import pytest
from invoke import Context
from invoke.exceptions import Exit

from ops.local.demo_data import write_demo_delivery
from ops.projects.tasks import add, list_, show
from tests.integration.workers.jobrunner import count_rows, enqueue_and_run

pytestmark = pytest.mark.integration


def _json(capsys, task, *args, **kwargs):
    capsys.readouterr()
    task(Context(), *args, json=True, **kwargs)
    return json.loads(capsys.readouterr().out)


def test_a_project_is_added_listed_and_shown_with_counts_of_what_it_holds(
    env, conn, tmp_path, capsys
):
    created = _json(capsys, add, env.name, "DEMO", title="Demo cohort", owner="lab-genomics")
    assert (created["code"], created["owner"], created["schema_version"]) == (
        "DEMO",
        "lab-genomics",
        2,  # the newest metadata record schema
    )
    delivery = write_demo_delivery(tmp_path / "delivery", samples=3, reads=10)
    enqueue_and_run(
        env,
        conn,
        "survey",
        {"source": "delivery", "location": str(delivery.folder)},
        tmp_path / "scratch",
    )
    listed = _json(capsys, list_, env.name)
    assert [
        (
            p["code"],
            p["title"],
            p["individuals"],
            p["samples"],
            p["experiments"],
            p["files"],
            p["analyses"],
        )
        for p in listed
    ] == [("DEMO", "Demo cohort", 2, 3, 3, 6, 0)]
    shown = _json(capsys, show, env.name, "DEMO")
    assert [(i["kind"], i["schema_version"]) for i in shown["imports"]] == [("sample_sheet", 1)]
    assert [s["sample"] for s in shown["samples"]] == ["S1", "S2", "S3"]
    show(Context(), env.name, "DEMO")
    table = capsys.readouterr().out
    assert "lab-genomics" in table and "metadata schema v2" in table and "S3" in table


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            ("DEMO",),
            {"title": "t", "owner": "o", "schema_version": "7"},
            "unknown metadata_record schema version '7'",
        ),
        (("DE MO",), {"title": "t", "owner": "o"}, "may only hold letters"),
        (("DEMO",), {"title": "", "owner": "o"}, "needs a --title and an --owner"),
    ],
)
def test_a_bad_project_is_one_line_and_adds_nothing(env, conn, args, kwargs, message):
    with pytest.raises(Exit) as caught:
        add(Context(), env.name, *args, **kwargs)
    assert message in caught.value.message and "\n" not in caught.value.message
    assert count_rows(conn, "projects") == {"projects": 0}


def test_a_project_is_added_once_and_an_unknown_one_is_not_shown(env, conn):
    add(Context(), env.name, "DEMO", title="t", owner="o", schema_version="1")
    with pytest.raises(Exit, match="already exists"):
        add(Context(), env.name, "DEMO", title="t", owner="o")
    with pytest.raises(Exit, match="no project NOPE"):
        show(Context(), env.name, "NOPE")
