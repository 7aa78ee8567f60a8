"""`inv data.export`: a project as a BagIt bag that validates, resumable after an interruption,
one experiment alone, and to S3 with every object checked."""

from __future__ import annotations

import csv
import json

import bagit
import boto3
import pytest
from invoke import Context
from invoke.exceptions import Exit

from common.lake import open_lake
from ops.data.export import export_project
from ops.data.tasks import export
from ops.local.demo_data import write_demo_delivery
from tests.integration.workers.jobrunner import enqueue_and_run, run_all_pending

pytestmark = pytest.mark.integration


@pytest.fixture
def processed(env, conn, tmp_path):
    """Two demo samples surveyed, downloaded and QC'd: 4 original files and their QC."""
    delivery = write_demo_delivery(tmp_path / "delivery", samples=2, reads=50)
    enqueue_and_run(
        env,
        conn,
        "survey",
        {"source": "delivery", "location": str(delivery.folder)},
        tmp_path / "scratch",
    )
    run_all_pending(env, conn, tmp_path / "scratch")
    return env


def test_a_project_export_is_a_bag_that_validates(processed, tmp_path, capsys):
    export(Context(), processed.name, "DEMO", str(tmp_path / "out"), json=True)
    report = json.loads(capsys.readouterr().out)
    bag = bagit.Bag(str(tmp_path / "out" / "DEMO"))
    bag.validate()  # every checksum, every file
    payload = sorted(path for path in bag.payload_files())
    originals = [p for p in payload if p.startswith("data/original/")]
    computed = [p for p in payload if p.startswith("data/computed/")]
    assert len(originals) == 4 and computed and report["files_missing"] == []
    assert "data/metadata/samples.csv" in payload and "data/metadata/project.json" in payload
    assert report["files_copied"] == len(originals) + len(computed)
    assert set(bag.entries[originals[0]]) == {"sha256"}
    with open(tmp_path / "out" / "DEMO" / "data/metadata/samples.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["sample"] for row in rows] == ["S1", "S2"]
    document = json.loads((tmp_path / "out/DEMO/data/metadata/project.json").read_text())
    assert {a["application"] for a in document["analyses"]} == {"fastq_qc"}
    assert bag.info["External-Identifier"] == "DEMO"


def test_an_interrupted_export_resumes_without_copying_finished_files_again(processed, tmp_path):
    lake = open_lake(processed)
    last = lake.path_for("raw/delivery-DEMO/DEMO-S2-RUN1_L001/S2_R2.fastq.gz")
    hidden = last.with_name("hidden")
    last.rename(hidden)  # the lake fails under the export, part way
    with pytest.raises(Exception, match="is missing"):
        export_project(processed, "DEMO", str(tmp_path / "out"))
    staging = tmp_path / "out" / "DEMO.partial"
    finished = {p: p.stat().st_ino for p in staging.rglob("*.fastq.gz")}
    assert len(finished) == 3 and not (tmp_path / "out" / "DEMO").exists()
    hidden.rename(last)
    report = export_project(processed, "DEMO", str(tmp_path / "out"))
    assert report.files_reused == 3 and report.files_copied >= 1
    bag_dir = tmp_path / "out" / "DEMO"
    for path, inode in finished.items():
        moved = bag_dir / "data" / path.relative_to(staging)
        assert moved.stat().st_ino == inode  # the same file, not a new copy
    bagit.Bag(str(bag_dir)).validate()


def test_one_experiment_exports_alone_and_bad_requests_are_one_line(processed, tmp_path):
    report = export_project(processed, "DEMO", str(tmp_path), experiment="DEMO-S1-RUN1_L001")
    bag = bagit.Bag(report.bag)
    bag.validate()
    assert sorted(p for p in bag.payload_files() if p.startswith("data/original/")) == [
        "data/original/DEMO-S1-RUN1_L001/S1_R1.fastq.gz",
        "data/original/DEMO-S1-RUN1_L001/S1_R2.fastq.gz",
    ]
    for args, message in (
        (("DEMO", str(tmp_path)), None),
        (("NOPE", str(tmp_path / "x")), "no project NOPE"),
    ):
        if message is None:
            export(Context(), processed.name, *args)  # the whole project beside it
            continue
        with pytest.raises(Exit, match=message):
            export(Context(), processed.name, *args)
    with pytest.raises(Exit, match="exists already"):
        export(Context(), processed.name, "DEMO", str(tmp_path))


def test_an_export_to_s3_uploads_the_validated_bag_and_checks_every_object(
    processed, tmp_path, moto_server
):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="exports")
    report = export_project(processed, "DEMO", "s3://exports/spring")
    assert report.bag == "s3://exports/spring/DEMO" and report.uploaded > 6
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(
        Bucket="exports", Prefix="spring/DEMO/"
    )
    keys = {item["Key"] for item in listed["Contents"]}
    assert {
        "spring/DEMO/bagit.txt",
        "spring/DEMO/manifest-sha256.txt",
        "spring/DEMO/data/metadata/samples.csv",
    } <= keys
    again = export_project(processed, "DEMO", "s3://exports/spring")
    assert again.uploaded == 0  # every object already there with its checksum


def test_an_export_through_inv_writes_the_bag_and_refuses_an_empty_destination(processed, tmp_path):
    from tests.support.inv import one_error_line, run_inv

    done = run_inv("data.export", "-e", processed.name, "DEMO", "--to", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    bagit.Bag(str(tmp_path / "out" / "DEMO")).validate()
    for empty in ("", "  "):
        refused = run_inv("data.export", "-e", processed.name, "DEMO", "--to", empty)
        assert refused.returncode == 2
        assert one_error_line(refused) == (
            "error: give --to a folder or s3://bucket/prefix to export into"
        )
    assert not (tmp_path / "DEMO").exists()


def test_a_second_export_of_the_same_bag_is_refused_while_the_first_runs(processed, tmp_path):
    """The first export is stood for by the test holding the bag's lock (its `.partial`
    folder, flocked as an export holds it)."""
    import fcntl
    import os

    from common.errors import ExitCode
    from tests.support.inv import one_error_line, run_inv

    staging = tmp_path / "out" / "DEMO.partial"
    staging.mkdir(parents=True)
    handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        second = run_inv("data.export", "-e", processed.name, "DEMO", "--to", str(tmp_path / "out"))
    finally:
        os.close(handle)
    assert second.returncode == ExitCode.LOCK_HELD
    assert one_error_line(second) == (
        f"error: another export of DEMO into {tmp_path / 'out'} is in progress "
        f"(in {staging}); wait for it to finish"
    )
    assert list(staging.iterdir()) == []  # nothing written into the first one's files
    again = run_inv("data.export", "-e", processed.name, "DEMO", "--to", str(tmp_path / "out"))
    assert again.returncode == 0, again.stderr
    twice = run_inv("data.export", "-e", processed.name, "DEMO", "--to", str(tmp_path / "out"))
    assert twice.returncode == 2 and "exists already" in one_error_line(twice)
