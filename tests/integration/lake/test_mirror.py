"""lake.mirror moves only what changed and verifies it; lake.restore brings a lake back."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from common import db, failpoints
from common.environments import REPO_ROOT
from common.errors import StorageError
from common.failpoints import FailpointError
from common.lake import open_lake
from common.lake.s3 import S3Lake
from ops.lake.check import check_lake
from ops.lake.mirror import mirror_to_s3, restore_from_s3
from tests.integration.lake.conftest import Catalog
from tests.support.buckets import create_lake_bucket

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def fs_catalog(make_env, moto_server, tmp_path):
    env = make_env("mir", aws={"endpoint_url": moto_server.endpoint_url})
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX10", files=3)
    catalog.analysis([experiment], files=1)
    yield catalog
    conn.close()


def test_mirror_is_incremental_verified_and_restorable(fs_catalog, tmp_path):
    env = fs_catalog.env
    url = "s3://mirror-one/backup/lake"
    create_lake_bucket(S3Lake.from_url(url, env))
    first = mirror_to_s3(env, url)
    assert len(first.moved) == 4 and first.verified == 4 and first.unchanged == 0
    mirror = S3Lake.from_url(url, env)
    assert check_lake(env, checksums=True, lake=mirror).in_sync

    again = mirror_to_s3(env, url)
    assert again.moved == [] and again.unchanged == 4

    lake = open_lake(env)
    key = sorted(info.key for info in lake.list())[0]
    lake.path_for(key).write_bytes(b"changed content")
    changed = mirror_to_s3(env, url)
    assert [k for k, _ in changed.moved] == [key] and changed.unchanged == 3

    shutil.rmtree(lake.root / "raw")
    dry = restore_from_s3(env, url)
    assert sorted(k for k, _ in dry.moved) == sorted(
        k for k in _catalog_keys(env) if k.startswith("raw/")
    )
    assert not (lake.root / "raw").exists()  # a dry run changes nothing
    restored = restore_from_s3(env, url, execute=True)
    assert restored.verified == 3
    assert lake.path_for(key).read_bytes() == b"changed content"


def test_mirror_refuses_missing_bucket_and_bad_address(fs_catalog):
    with pytest.raises(StorageError, match="create it first"):
        mirror_to_s3(fs_catalog.env, "s3://no-such-bucket/x")
    with pytest.raises(StorageError, match="s3://BUCKET/PREFIX"):
        mirror_to_s3(fs_catalog.env, "/tmp/not-s3")


def test_inv_lake_mirror_prints_a_summary(fs_catalog):
    create_lake_bucket(S3Lake.from_url("s3://mirror-two/x", fs_catalog.env))
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "lake.mirror", "-e", fs_catalog.env.name,
         "--to", "s3://mirror-two/x"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "mirrored 4 objects" in result.stdout and "4 verified" in result.stdout


def _catalog_keys(env):
    conn = db.connect(env)
    with conn.cursor() as cur:
        cur.execute("SELECT lake_key FROM files")
        keys = [row[0] for row in cur.fetchall()]
    conn.close()
    return keys


def test_an_interrupted_large_upload_resumes_without_resending_parts(
    make_env, moto_server, tmp_path
):
    env = make_env("resume", aws={"endpoint_url": moto_server.endpoint_url})
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX11", files=0)
    big = os.urandom(11 * 1024 * 1024)  # three 5 MiB parts (S3's smallest part size)
    catalog.store("original", "raw/ena-PRJ1/ERX11/big.bam", big, experiment_id=experiment)
    url = "s3://mirror-resume/m"
    mirror = S3Lake.from_url(url, env)
    create_lake_bucket(mirror)
    chunk = 5 * 1024 * 1024
    with pytest.MonkeyPatch.context() as patch:  # fail as the second part is about to go
        patch.setenv(failpoints.VARIABLE, "lake.s3.upload_part=error@2")
        with pytest.raises(FailpointError, match=r"lake\.s3\.upload_part"):
            mirror_to_s3(env, url, chunk_bytes=chunk)
    assert mirror.stat("raw/ena-PRJ1/ERX11/big.bam") is None  # nothing half-visible
    resumed = mirror_to_s3(env, url, chunk_bytes=chunk)
    assert resumed.parts_sent == 2  # part 1 was already there
    assert resumed.verified == 1
    stored = mirror.stat("raw/ena-PRJ1/ERX11/big.bam")
    assert stored is not None and stored.sha256 == hashlib.sha256(big).hexdigest()
    assert check_lake(env, checksums=True, lake=mirror).in_sync
    conn.close()


# The process dies after its first part, with no chance to tidy up (SIGKILL, through the
# failpoint before the second part): what it had sent must be found again from what is on
# disk and in S3 alone.
_CRASHING_MIRROR = """
import sys
from common.environments import load_environment
from ops.lake.mirror import mirror_to_s3
mirror_to_s3(load_environment(sys.argv[1]), sys.argv[2], chunk_bytes=int(sys.argv[3]))
"""


def test_a_mirror_killed_mid_upload_resumes_in_the_next_process(make_env, moto_server, tmp_path):
    env = make_env("crash", aws={"endpoint_url": moto_server.endpoint_url})
    conn = db.connect(env)
    catalog = Catalog(env, conn, tmp_path)
    experiment = catalog.experiment("ERX12", files=0)
    big = os.urandom(11 * 1024 * 1024)
    catalog.store("original", "raw/ena-PRJ1/ERX12/big.bam", big, experiment_id=experiment)
    conn.close()
    url = "s3://mirror-crash/m"
    mirror = S3Lake.from_url(url, env)
    create_lake_bucket(mirror)
    chunk = 5 * 1024 * 1024
    killed = subprocess.run(
        [sys.executable, "-c", _CRASHING_MIRROR, env.name, url, str(chunk)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, failpoints.VARIABLE: "lake.s3.upload_part=kill@2"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert mirror.stat("raw/ena-PRJ1/ERX12/big.bam") is None
    resumed = mirror_to_s3(env, url, chunk_bytes=chunk)
    assert resumed.parts_sent == 2  # the killed process's part was kept and reused
    stored = mirror.stat("raw/ena-PRJ1/ERX12/big.bam")
    assert stored is not None and stored.sha256 == hashlib.sha256(big).hexdigest()


def test_inv_lake_restore_brings_the_lake_back_from_its_mirror(fs_catalog):
    from tests.support.inv import run_inv

    env = fs_catalog.env
    create_lake_bucket(S3Lake.from_url("s3://mirror-three/x", env))
    mirrored = run_inv("lake.mirror", "-e", env.name, "--to", "s3://mirror-three/x")
    assert mirrored.returncode == 0, mirrored.stderr
    lake = open_lake(env)
    shutil.rmtree(lake.root / "raw")
    dry = run_inv("lake.restore", "-e", env.name, "--from", "s3://mirror-three/x")
    assert dry.returncode == 0, dry.stderr
    assert not (lake.root / "raw").exists()  # a dry run changes nothing
    done = run_inv("lake.restore", "-e", env.name, "--from", "s3://mirror-three/x", "--execute")
    assert done.returncode == 0, done.stderr
    assert check_lake(env, checksums=True).in_sync
