"""Sealing makes results read-only and the bot's for real; re-runs never delete in place."""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess

import pytest

from common import db
from common.errors import ValidationError
from common.lake import FilesystemLake, open_lake
from common.lake.layout import analysis_prefix
from foreman.jobs import get_job
from ops.analyses.run import request_run
from ops.analyses.seal import (
    S3_PROTECTED,
    S3_UNPROTECTED,
    results_sha256,
    seal_finished_analyses,
)
from ops.lake.check import check_lake
from tests.integration.lake.conftest import Catalog
from tests.support.bucket_policy import policy_json, render_statements
from tests.support.buckets import create_lake_bucket

pytestmark = pytest.mark.integration
BOT, ANALYST = "refinery-bot", "refinery-ana1"


def _system_user(name: str) -> pwd.struct_passwd:
    """Create the OS user (we run as root in tests, as the bot host would be set up)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],
                       check=True)  # fmt: skip
        return pwd.getpwnam(name)


@pytest.fixture
def seal_catalog(make_env, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("sealing tests change file ownership: run the suite as root")
    env = make_env("seal", identity={"bot_user": BOT})
    conn = db.connect(env)
    yield Catalog(env, conn, tmp_path)
    conn.close()


def _row(conn, analysis_id):
    with conn.cursor() as cur:
        cur.execute(
            "SELECT status, results_bytes, results_sha256, sealed_at FROM analyses WHERE id = %s",
            (analysis_id,),
        )
        row = cur.fetchone()
    conn.commit()
    return row


def test_sealing_locks_results_hands_them_to_the_bot_and_records_checksums(seal_catalog):
    bot, analyst = _system_user(BOT), _system_user(ANALYST)
    experiment = seal_catalog.experiment("ERX20", files=1)
    by_analyst = seal_catalog.analysis([experiment], run_by=ANALYST, files=2)
    by_bot = seal_catalog.analysis([experiment], run_by=BOT, application="other", files=1)
    lake = open_lake(seal_catalog.env)
    assert isinstance(lake, FilesystemLake)
    folder = lake.root / analysis_prefix(by_analyst)
    for path in [folder, *folder.iterdir()]:
        os.chown(path, analyst.pw_uid, analyst.pw_gid)
        os.chmod(path, 0o775 if path.is_dir() else 0o664)  # group-writable, as analysts leave it
    bot_folder = lake.root / analysis_prefix(by_bot)
    for path in [bot_folder, *bot_folder.iterdir()]:
        os.chown(path, bot.pw_uid, bot.pw_gid)

    dry = seal_finished_analyses(seal_catalog.env, execute=False)
    assert {s.analysis_id for s in dry.sealed} == {by_analyst, by_bot}
    assert _row(seal_catalog.conn, by_analyst)[0] == "FINISHED"
    assert folder.stat().st_uid == analyst.pw_uid

    report = seal_finished_analyses(seal_catalog.env)
    ownership = {s.analysis_id: s.ownership for s in report.sealed}
    assert ownership == {by_analyst: "transferred", by_bot: "in place"}
    for path in [folder, *folder.iterdir(), bot_folder, *bot_folder.iterdir()]:
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (bot.pw_uid, bot.pw_gid), path
        assert stat.S_IMODE(st.st_mode) & 0o222 == 0, f"{path} still writable"
    status, size, checksum, sealed_at = _row(seal_catalog.conn, by_analyst)
    per_file = {
        f"{analysis_prefix(by_analyst)}{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
    }
    assert status == "SUCCEEDED" and sealed_at is not None
    assert size == sum(p.stat().st_size for p in folder.iterdir())
    assert checksum == results_sha256(per_file)
    assert seal_finished_analyses(seal_catalog.env).sealed == []  # nothing left to seal
    assert check_lake(seal_catalog.env, checksums=True).in_sync


def test_an_analysis_with_missing_results_is_not_sealed(seal_catalog):
    _system_user(BOT)
    experiment = seal_catalog.experiment("ERX21", files=1)
    analysis = seal_catalog.analysis([experiment], files=1)
    lake = open_lake(seal_catalog.env)
    lake.delete(next(lake.list(analysis_prefix(analysis))).key)
    report = seal_finished_analyses(seal_catalog.env)
    assert report.sealed == [] and report.refused[0][0] == analysis
    assert _row(seal_catalog.conn, analysis)[0] == "FINISHED"


def test_sealing_on_s3_records_checksums_and_says_when_nothing_protects_them(
    moto_server, make_env, tmp_path
):
    env = make_env(
        "seals3",
        lake={"backend": "s3", "bucket": "seal-s3", "prefix": "", "root": ""},
        aws={"endpoint_url": moto_server.endpoint_url},
    )
    create_lake_bucket(open_lake(env))
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX22", files=1)
    analysis = catalog.analysis([experiment], files=2)
    report = seal_finished_analyses(catalog.env)
    # This bucket has no policy: the report says so rather than promise one.
    assert [s.ownership for s in report.sealed] == [S3_UNPROTECTED]
    status, size, checksum, _ = _row(catalog.conn, analysis)
    assert status == "SUCCEEDED" and size > 0 and len(checksum) == 64
    conn.close()


def test_on_s3_the_stacks_bucket_policy_refuses_to_overwrite_or_delete_a_sealed_result(
    moto_server, make_env, tmp_path
):
    """The policy rendered from infrastructure/modules/s3_bucket, on the emulator's bucket.
    The emulator enforces a bucket policy's actions and resources but not its principal
    condition (it refuses the bot as well): that the bot is exempt is tested statically
    (tests/unit/terraform/test_sealed_results_policy.py)."""
    env = make_env(
        "seals3p",
        lake={"backend": "s3", "bucket": "seal-s3-protected", "prefix": "", "root": ""},
        aws={"endpoint_url": moto_server.endpoint_url},
    )
    lake = open_lake(env)
    create_lake_bucket(lake)
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX24", files=1)
    analysis = catalog.analysis([experiment], files=1)
    statements = render_statements(
        "write_protected",
        bucket="seal-s3-protected",
        prefixes=["analyses/"],
        writers=["arn:aws:iam::123456789012:role/refinery-sandbox-batch-job"],
    )
    lake.client.put_bucket_policy(Bucket="seal-s3-protected", Policy=policy_json(statements))
    report = seal_finished_analyses(catalog.env)
    assert [s.ownership for s in report.sealed] == [S3_PROTECTED]
    [result] = list(lake.list(analysis_prefix(analysis)))
    before = lake.client.get_object(Bucket="seal-s3-protected", Key=result.key)["Body"].read()
    with pytest.raises(Exception, match=r"403|Forbidden|AccessDenied"):
        lake.client.put_object(Bucket="seal-s3-protected", Key=result.key, Body=b"changed")
    with pytest.raises(Exception, match=r"403|Forbidden|AccessDenied"):
        lake.client.delete_object(Bucket="seal-s3-protected", Key=result.key)
    after = lake.client.get_object(Bucket="seal-s3-protected", Key=result.key)["Body"].read()
    assert after == before
    lake.client.put_object(Bucket="seal-s3-protected", Key="raw/elsewhere", Body=b"ok")
    assert _row(catalog.conn, analysis)[0] == "SUCCEEDED"
    conn.close()


def test_run_creates_the_agreed_job_and_refuses_to_redo_sealed_results(seal_catalog):
    _system_user(BOT)
    experiment = seal_catalog.experiment("ERX23", files=1)
    request = request_run(seal_catalog.env, "fastq_qc", [experiment], run_by="ana")
    job = get_job(seal_catalog.conn, request.job_id)
    assert job.kind == "process"
    assert job.payload == {
        "application": "fastq_qc",
        "experiment_ids": [experiment],
        "run_by": "ana",
    }

    sealed = seal_catalog.analysis([experiment], status="SUCCEEDED", files=2)
    with pytest.raises(ValidationError, match="--force"):
        request_run(seal_catalog.env, "fastq_qc", [experiment], run_by="ana")
    lake = open_lake(seal_catalog.env)
    forced = request_run(seal_catalog.env, "fastq_qc", [experiment], run_by="ana", force=True)
    [(trashed_id, trash)] = forced.trashed
    assert trashed_id == sealed and trash.startswith(f".trash/analyses/{sealed}-")
    assert not (lake.root / analysis_prefix(sealed)).exists()
    assert len(list((lake.root / trash).iterdir())) == 2  # moved, not deleted
    assert check_lake(seal_catalog.env).in_sync
    # the trashed analysis no longer blocks: a second forced run is not needed
    request_run(seal_catalog.env, "fastq_qc", [experiment], run_by="ana")


def test_run_rejects_unknown_experiments_and_bad_names(seal_catalog):
    with pytest.raises(ValidationError, match="unknown experiment"):
        request_run(seal_catalog.env, "fastq_qc", [999999])
    with pytest.raises(ValidationError, match="invalid application"):
        request_run(seal_catalog.env, "rm -rf", [1])


@pytest.mark.slow
def test_inv_seal_and_run_render_and_refuse_cleanly(seal_catalog):
    import json
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    _system_user(BOT)
    experiment = seal_catalog.experiment("ERX24", files=1)
    analysis = seal_catalog.analysis([experiment], files=1)
    inv = [sys.executable, "-m", "invoke"]
    seal = [*inv, "analyses.seal", "-e", seal_catalog.env.name]
    dry = subprocess.run([*seal, "--dry-run", "--json"], cwd=repo, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    body = json.loads(dry.stdout)
    assert body["executed"] is False and [s["analysis_id"] for s in body["sealed"]] == [analysis]
    assert _row(seal_catalog.conn, analysis)[0] == "FINISHED"
    sealed = subprocess.run([*inv, "analyses.seal", "-e", seal_catalog.env.name],
                            cwd=repo, capture_output=True, text=True)  # fmt: skip
    assert sealed.returncode == 0 and "sealed 1 analyses" in sealed.stdout
    run = [
        *inv,
        "analyses.run",
        "-e",
        seal_catalog.env.name,
        "fastq_qc",
        "--experiment",
        str(experiment),
    ]
    refused = subprocess.run(run, cwd=repo, capture_output=True, text=True)
    assert refused.returncode != 0 and refused.stderr.startswith(
        "error: fastq_qc already SUCCEEDED"
    )
    other = subprocess.run(
        [*inv, "analyses.run", "-e", seal_catalog.env.name, "no_op", "--experiment",
         str(experiment)], cwd=repo, capture_output=True, text=True,
    )  # fmt: skip
    assert other.returncode == 0 and "job " in other.stdout, other.stderr


def test_sealed_results_location_stays_lake_relative_and_old_rows_are_fixed(seal_catalog):
    from foreman.migrations import MIGRATIONS_DIR

    _system_user(BOT)
    experiment = seal_catalog.experiment("ERX29", files=1)
    analysis = seal_catalog.analysis([experiment], run_by=BOT, files=1)
    seal_finished_analyses(seal_catalog.env)
    conn = seal_catalog.conn
    with conn.cursor() as cur:
        cur.execute("SELECT status, results_location FROM analyses WHERE id = %s", (analysis,))
        assert cur.fetchone() == ("SUCCEEDED", f"analyses/{analysis}/")
        # A row sealed before the fix, with the lake's host path in front: the migration
        # gives it its lake-relative location back and leaves trashed results alone.
        lake_root = open_lake(seal_catalog.env).name
        cur.execute(
            "UPDATE analyses SET results_location = %s WHERE id = %s",
            (f"{lake_root}/analyses/{analysis}/", analysis),
        )
        other = seal_catalog.analysis([experiment], run_by=BOT, application="x", files=0)
        cur.execute(
            "UPDATE analyses SET status = 'SUCCEEDED', results_location = %s WHERE id = %s",
            (f".trash/analyses/{other}-20261121T000000Z/", other),
        )
        cur.execute((MIGRATIONS_DIR / "0008_lake_relative_results.sql").read_text())
        cur.execute(
            "SELECT id, results_location FROM analyses WHERE id IN (%s, %s) ORDER BY id",
            (analysis, other),
        )
        assert cur.fetchall() == [
            (analysis, f"analyses/{analysis}/"),
            (other, f".trash/analyses/{other}-20261121T000000Z/"),
        ]
    conn.commit()
