"""`inv jobs.survey --file LIST`: one survey per line, from a local file or S3, or none at all."""

from __future__ import annotations

import json

import boto3
import pytest
from invoke import Context
from invoke.exceptions import Exit

from ops.jobs.survey import survey
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import count_rows

pytestmark = pytest.mark.integration


def _list(tmp_path, delivery):
    return f"# sources for the spring surveys\n{delivery}\n\nPRJEB12345\n  ERR2223563  \n"


def _queued_payloads(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT kind, state, payload FROM jobs ORDER BY id")
        rows = cur.fetchall()
    conn.commit()
    return rows


def test_every_line_of_a_local_list_becomes_one_survey_job(env, conn, tmp_path, capsys):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10).folder
    listing = tmp_path / "sources.txt"
    listing.write_text(_list(tmp_path, delivery))
    survey(Context(), env=env.name, file=str(listing), json=True)
    printed = json.loads(capsys.readouterr().out)
    assert [entry["line"] for entry in printed] == [2, 4, 5]
    assert _queued_payloads(conn) == [
        ("survey", "pending", {"source": "delivery", "location": str(delivery.resolve())}),
        ("survey", "pending", {"source": "ena", "accession": "PRJEB12345"}),
        ("survey", "pending", {"source": "ena", "accession": "ERR2223563"}),
    ]


def test_a_list_in_s3_is_read_from_the_bucket(env, conn, tmp_path, moto_server, capsys):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="survey-lists")
    s3.put_object(Bucket="survey-lists", Key="spring/sources.txt", Body=b"SRR9320616\nERP000001\n")
    survey(Context(), env=env.name, file="s3://survey-lists/spring/sources.txt")
    assert "2 survey jobs queued" in capsys.readouterr().out
    assert [row[2]["accession"] for row in _queued_payloads(conn)] == ["SRR9320616", "ERP000001"]


def test_one_bad_line_refuses_the_whole_list_naming_every_bad_line(env, conn, tmp_path):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10).folder
    listing = tmp_path / "sources.txt"
    listing.write_text(f"{delivery}\nSRR12\nPRJEB12345\n./no/such/folder\nPRJEB12345\n")
    with pytest.raises(Exit) as caught:
        survey(Context(), env=env.name, file=str(listing))
    message = caught.value.message
    assert caught.value.code == 2 and "\n" not in message
    assert "3 bad lines, nothing queued" in message
    assert "line 2: " in message and "SRR12" in message
    assert "line 4: delivery folder ./no/such/folder does not exist" in message
    assert "line 5: PRJEB12345 repeats line 3" in message
    assert count_rows(conn, "jobs") == {"jobs": 0}


@pytest.mark.parametrize(
    ("file", "source", "message"),
    [
        ("missing.txt", "", "does not exist or is not a file"),
        ("empty.txt", "", "no sources listed"),
        ("empty.txt", "PRJEB12345", "not both"),
    ],
)
def test_a_list_that_cannot_be_used_queues_nothing(env, conn, tmp_path, file, source, message):
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    with pytest.raises(Exit, match=message):
        survey(Context(), source, env=env.name, file=str(tmp_path / file))
    assert count_rows(conn, "jobs") == {"jobs": 0}
