"""`jobs.survey`: validates the source before queueing, prints the job id."""

from __future__ import annotations

import json
import re

import pytest
from invoke import Context
from invoke.exceptions import Exit

from ops.jobs.tasks_survey import survey
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import count_rows

pytestmark = pytest.mark.integration


def test_a_delivery_folder_is_queued_as_a_delivery_survey(env, conn, tmp_path, capsys):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10)
    survey(Context(), str(delivery.folder), env=env.name, json=True)
    printed = json.loads(capsys.readouterr().out)
    with conn.cursor() as cur:
        cur.execute("SELECT kind, state, payload FROM jobs WHERE id = %s", (printed["job_id"],))
        kind, state, payload = cur.fetchone()
    conn.commit()
    assert (kind, state) == ("survey", "pending")
    assert payload == {"source": "delivery", "location": str(delivery.folder.resolve())}


def test_an_accession_is_queued_as_an_ena_survey(env, conn, capsys):
    survey(Context(), "PRJEB12345", env=env.name)
    out = capsys.readouterr().out
    assert re.search(r"survey job \d+ queued for ena PRJEB12345", out)


@pytest.mark.parametrize("source", ["SRR12", "./no/such/folder"])
def test_bad_sources_are_refused_before_anything_is_queued(env, conn, source):
    with pytest.raises(Exit) as caught:
        survey(Context(), source, env=env.name)
    assert caught.value.code == 2
    assert str(caught.value.message).startswith("error: ") and "\n" not in caught.value.message
    assert count_rows(conn, "jobs") == {"jobs": 0}
