"""`inv jobs.survey -e ENV --file LIST`: one survey per line — a folder, an accession, an
`s3://` delivery on the AWS emulator — through the same path as a single survey, or none."""

from __future__ import annotations

import json

import boto3
import pytest

from common.errors import ExitCode
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import count_rows
from tests.support.batch_cloud import upload
from tests.support.inv import one_error_line, run_inv

pytestmark = pytest.mark.integration


def _queued_payloads(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT kind, state, payload FROM jobs ORDER BY id")
        rows = cur.fetchall()
    conn.commit()
    return rows


def test_a_list_with_a_folder_an_accession_and_an_s3_delivery_queues_one_survey_each(
    env, conn, tmp_path, moto_server
):
    folder = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10).folder
    boto3.client("s3").create_bucket(Bucket="deliveries")
    in_s3 = upload(write_demo_delivery(tmp_path / "s3", samples=1, reads=10).folder,
                   "deliveries", "core/run-1/")  # fmt: skip
    listing = tmp_path / "sources.txt"
    listing.write_text(f"# spring surveys\n{folder}\n\nPRJEB12345\n  {in_s3}  \n")
    result = run_inv("jobs.survey", "-e", env.name, "--file", str(listing), "--json")
    assert result.returncode == 0, result.stderr
    assert [entry["line"] for entry in json.loads(result.stdout)] == [2, 4, 5]
    assert _queued_payloads(conn) == [
        ("survey", "pending", {"source": "delivery", "location": str(folder.resolve())}),
        ("survey", "pending", {"source": "ena", "accession": "PRJEB12345"}),
        ("survey", "pending", {"source": "delivery", "location": "s3://deliveries/core/run-1/"}),
    ]


def test_a_list_in_s3_is_read_from_the_bucket(env, conn, moto_server):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="survey-lists")
    s3.put_object(Bucket="survey-lists", Key="spring/sources.txt", Body=b"SRR9320616\nERP000001\n")
    result = run_inv(
        "jobs.survey", "-e", env.name, "--file", "s3://survey-lists/spring/sources.txt"
    )
    assert result.returncode == 0, result.stderr
    assert "2 survey jobs queued" in result.stdout
    assert [row[2]["accession"] for row in _queued_payloads(conn)] == ["SRR9320616", "ERP000001"]


def test_bad_lines_refuse_the_whole_list_naming_every_bad_line(env, conn, tmp_path, moto_server):
    delivery = write_demo_delivery(tmp_path / "delivery", samples=1, reads=10).folder
    boto3.client("s3").create_bucket(Bucket="empty-deliveries")
    listing = tmp_path / "sources.txt"
    listing.write_text(
        f"{delivery}\nSRR12\nPRJEB12345\n./no/such/folder\nPRJEB12345\n"
        "s3://empty-deliveries/nothing/\n"
    )
    result = run_inv("jobs.survey", "-e", env.name, "--file", str(listing))
    assert result.returncode == ExitCode.USAGE
    line = one_error_line(result)
    assert "4 bad lines, nothing queued" in line
    assert "line 2: " in line and "SRR12" in line
    assert "line 4: delivery folder ./no/such/folder does not exist" in line
    assert "line 5: PRJEB12345 repeats line 3" in line
    assert "line 6: delivery s3://empty-deliveries/nothing/ does not exist or is empty" in line
    assert count_rows(conn, "jobs") == {"jobs": 0}


@pytest.mark.parametrize(
    ("file", "source", "message"),
    [
        ("missing.txt", "", "does not exist or is not a file"),
        ("empty.txt", "", "no sources listed"),
        ("empty.txt", "PRJEB12345", "give a source or --file LIST, not both"),
        ("", "", "inv jobs.survey needs SOURCE or --file"),
    ],
)
def test_a_list_that_cannot_be_used_queues_nothing(env, conn, tmp_path, file, source, message):
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    args = ["--file", str(tmp_path / file)] if file else []
    result = run_inv("jobs.survey", "-e", env.name, *([source] if source else []), *args)
    assert result.returncode == ExitCode.USAGE
    assert message in one_error_line(result)
    assert count_rows(conn, "jobs") == {"jobs": 0}


def test_waiting_for_a_survey_no_foreman_runs_says_so_in_one_line(env, conn):
    result = run_inv("jobs.survey", "-e", env.name, "PRJEB12345", "--wait", "--timeout", "2")
    assert result.returncode == ExitCode.FAILURE
    line = one_error_line(result)
    assert line.startswith("error: 1 jobs of survey ")
    assert "still unfinished after 2 s; is the foreman running?" in line
    assert [row[:2] for row in _queued_payloads(conn)] == [("survey", "pending")]  # queued
