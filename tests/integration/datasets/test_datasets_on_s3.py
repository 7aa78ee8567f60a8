"""Datasets on an S3 lake (the AWS emulator on loopback), through `inv` only.

The gene results come through the normal path: the RNA-seq chain runs on the S3 environment
itself — `inv index.build` from reference files in S3, `inv jobs.survey` of two deliveries in
S3 (experiments RNA1 and RNA2), run by `inv foreman.run` in the background — so salmon's
quantifications and the experiments' gene matrices are written to the S3 lake by the
processors, and the dataset job reads them from there. Then:

- `inv datasets.create` queues a dataset of both experiments; the foreman's dataset job writes
  its archive (zip + sha256 manifest) to the bucket;
- `inv datasets.link` gives a presigned URL that a plain HTTP GET (no AWS client, no
  credentials) downloads from the emulator: the bytes' sha256 is the one recorded, every
  member matches its manifest line, and the matrices hold the gene matrices' values;
- the link lasts the 7 days the setting states (the URL's `X-Amz-Expires`, the recorded and
  printed expiry); renewing gives a new URL with a later expiry, which downloads the same
  bytes;
- a link whose expiry has passed is reported as expired by `inv datasets.show`, with the
  command that renews it, and `inv datasets.link` renews it. The emulator does not enforce a
  presigned URL's expiry (real S3 answers 403 once it has passed), so the test moves the
  recorded expiry into the past, as seven days would, instead of waiting for it;
- a dataset job killed mid-write (SIGKILL at a failpoint, set on the foreman from outside)
  leaves no archive in the bucket; its re-run writes one that verifies.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import signal
import subprocess
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from common import db
from common.environments import REPO_ROOT
from ops.analyses.synthetic_reads import PlannedSample, make_organism, write_delivery
from tests.integration.workers.test_s3_delivery import upload_folder
from tests.support.buckets import new_lake_and_inbox
from tests.support.foreman import FAST_FOREMAN, wait_until
from tests.support.inv import INV, run_inv
from workers.datasets.archive import MANIFEST, verify_archive

pytestmark = [pytest.mark.integration, pytest.mark.salmon]

SEVEN_DAYS = 7 * 86400
ACTIVE = "('waiting', 'pending', 'dispatched', 'running', 'errored')"


def _ok(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    outcome = run_inv(*args, env=env, timeout=timeout)
    assert outcome.returncode == 0, (args, outcome.stdout[-1500:], outcome.stderr[-2500:])
    return outcome.stdout


def _query(env, sql: str) -> list[tuple]:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall() if cur.description else []


@contextmanager
def _foreman(env, log_dir: Path, variables: dict[str, str] | None = None) -> Iterator[None]:
    """`inv foreman.run -e ENV` in the background (its workers inherit `variables`)."""
    log = open(log_dir / f"foreman-{env.name}.log", "ab")  # noqa: SIM115 - closed below
    foreman = subprocess.Popen(
        [INV, "foreman.run", "-e", env.name], cwd=REPO_ROOT, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True, stdin=subprocess.DEVNULL,
        env={**os.environ, **(variables or {})},
    )  # fmt: skip
    try:
        yield
    finally:
        foreman.send_signal(signal.SIGTERM)
        foreman.wait(timeout=60)
        log.close()


def _quiet(env, timeout: float = 600) -> None:
    """Until no job is active (a gene matrix queued by the last sample's job included)."""
    wait_until(
        lambda: _query(env, f"SELECT count(*) FROM jobs WHERE state IN {ACTIVE}") == [(0,)],
        timeout=timeout,
        what="every job finished",
    )


def _download(url: str, to: Path) -> bytes:
    """A plain HTTP GET of `url`, as a browser or curl would do it."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        data = response.read()
    to.write_bytes(data)
    return data


def _created(env_name: str, experiments: str) -> int:
    answer = _ok("datasets.create", "-e", env_name, "--experiments", experiments, "--json")
    return int(json.loads(answer)["dataset_id"])


def _link(env_name: str, dataset_id: int) -> dict:
    return json.loads(_ok("datasets.link", "-e", env_name, str(dataset_id), "--json"))


def _matrix(archive: zipfile.ZipFile, name: str) -> dict[str, dict[str, float]]:
    rows = list(csv.DictReader(io.StringIO(archive.read(name).decode()), delimiter="\t"))
    return {s: {r["Gene"]: float(r[s]) for r in rows if r[s] != ""} for s in list(rows[0])[1:]}


@pytest.fixture
def s3_lake_env(make_env, moto_server):
    s3 = boto3.client("s3")
    lake, inbox = new_lake_and_inbox(s3)
    env = make_env(
        "datasetss3",
        lake={"backend": "s3", "bucket": lake},
        aws={"endpoint_url": moto_server.endpoint_url},
        foreman={**FAST_FOREMAN, "metrics_address": ""},
        executor={"kind": "local", "concurrency": 2},
    )
    return env, s3, lake, inbox


@pytest.mark.slow
def test_a_dataset_on_an_s3_lake_downloads_through_its_presigned_link_and_renews(
    s3_lake_env, session_dirs, tmp_path
):
    env, s3, lake, inbox = s3_lake_env
    organism = make_organism(21, genes=40)
    organism.write_genome(tmp_path / "reference")
    upload_folder(s3, tmp_path / "reference", inbox, "reference/")
    for project, names in (("RNA1", ("A1", "A2")), ("RNA2", ("B1", "B2"))):
        samples = [PlannedSample(n, seed=i + 1, fragments=4_000) for i, n in enumerate(names)]
        write_delivery(tmp_path / project, organism, samples, project=project)
        upload_folder(s3, tmp_path / project, inbox, f"{project}/")

    _ok("index.build", "-e", env.name, "--organism", organism.name,
        "--fasta", f"s3://{inbox}/reference/genome.fa.gz",
        "--gtf", f"s3://{inbox}/reference/annotation.gtf.gz")  # fmt: skip
    for project in ("RNA1", "RNA2"):
        _ok("jobs.survey", "-e", env.name, f"s3://{inbox}/{project}")
    logs = session_dirs["logs"]
    with _foreman(env, logs):
        _quiet(env)
    jobs = _query(env, "SELECT kind, payload->>'application', state FROM jobs ORDER BY id")
    assert all(state == "succeeded" for *_, state in jobs), str(jobs)
    matrices = _query(
        env,
        "SELECT p.accession, an.id FROM analyses an JOIN projects p "
        "ON p.id = (an.metadata->>'project_id')::bigint WHERE an.application = 'summarise'",
    )
    assert sorted(project for project, _ in matrices) == ["RNA1", "RNA2"], matrices

    dataset_id = _created(env.name, "RNA1,RNA2")
    with _foreman(env, logs):
        _quiet(env)
    ((state, key, sha256, size),) = _query(
        env,
        f"SELECT state, archive_key, archive_sha256, archive_bytes FROM datasets "
        f"WHERE id = {dataset_id}",
    )
    assert state == "ready"
    stored = s3.head_object(Bucket=lake, Key=key)  # the archive is in the bucket
    assert stored["ContentLength"] == size

    before = datetime.now(UTC)
    first = _link(env.name, dataset_id)
    url = first["link"]
    assert url.startswith("http://127.0.0.1:") and f"/{lake}/" in url
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(SEVEN_DAYS)]
    expires = datetime.fromisoformat(first["expires_at"])
    assert timedelta(0) <= expires - (before + timedelta(days=7)) < timedelta(minutes=2)
    assert first["sha256"] == sha256 and first["bytes"] == size
    data = _download(url, tmp_path / "first.zip")
    assert hashlib.sha256(data).hexdigest() == sha256
    assert verify_archive(tmp_path / "first.zip") == []
    with zipfile.ZipFile(tmp_path / "first.zip") as archive:
        manifest = archive.read(MANIFEST).decode().splitlines()
        names = set(archive.namelist())
        listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in manifest}
        assert set(listed) == names - {MANIFEST}
        for name, digest in listed.items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
        assert {"RNA1/RNA1.tsv", "RNA2/RNA2.tsv", "README.md", "LICENSE.TXT"} <= names
        for project, analysis_id in matrices:
            gene_matrix = io.BytesIO(
                s3.get_object(Bucket=lake, Key=f"analyses/{analysis_id}/gene_counts.tsv")[
                    "Body"
                ].read()
            )
            rows = list(csv.DictReader(io.TextIOWrapper(gene_matrix), delimiter="\t"))
            # The datasets' one scale: RNA-seq counts as log2(x + 1) (workers/datasets/sources.py).
            expected = {
                s: {r["Gene"]: math.log2(float(r[s]) + 1) for r in rows} for s in list(rows[0])[1:]
            }
            got = _matrix(archive, f"{project}/{project}.tsv")
            assert got.keys() == expected.keys()
            for run, values in got.items():
                assert values == pytest.approx({g: expected[run][g] for g in values}, rel=1e-9)

    shown = _ok("datasets.show", "-e", env.name, str(dataset_id))
    assert f"link expires {expires:%Y-%m-%d %H:%M} UTC" in shown

    # renewed: a new URL (signed later) with a later expiry, the same bytes
    renewed = _link(env.name, dataset_id)
    assert renewed["link"] != url
    assert datetime.fromisoformat(renewed["expires_at"]) > expires
    assert _download(renewed["link"], tmp_path / "renewed.zip") == data

    # expired: what `datasets.show` says once the recorded expiry has passed, and the renewal
    _query(env, f"UPDATE datasets SET link_expires_at = now() - interval '1 hour' "
                f"WHERE id = {dataset_id}")  # fmt: skip
    shown = _ok("datasets.show", "-e", env.name, str(dataset_id))
    assert "link expired" in shown and f"inv datasets.link -e {env.name} {dataset_id}" in shown
    again = _link(env.name, dataset_id)
    assert datetime.fromisoformat(again["expires_at"]) > datetime.now(UTC) + timedelta(days=6)
    assert _download(again["link"], tmp_path / "again.zip") == data
    assert "link expires" in _ok("datasets.show", "-e", env.name, str(dataset_id))

    # killed mid-write: no archive in the bucket; the re-run writes one that verifies
    killed = _created(env.name, "RNA1")
    ((job_id,),) = _query(env, f"SELECT job_id FROM datasets WHERE id = {killed}")
    killing = {"REFINERY_FAILPOINTS": "datasets.archive.member_written=kill"}
    with _foreman(env, logs, killing):
        _quiet(env)
    ((job_state, reason),) = _query(
        env, f"SELECT state, failure_reason FROM jobs WHERE id = {job_id}"
    )
    assert job_state == "failed" and reason, (job_state, reason)
    assert s3.list_objects_v2(Bucket=lake, Prefix=f"datasets/{killed}/")["KeyCount"] == 0
    _ok("jobs.retry", "-e", env.name, "--job-id", str(job_id))
    with _foreman(env, logs):
        _quiet(env)
    link = _link(env.name, killed)
    data = _download(link["link"], tmp_path / "rerun.zip")
    assert hashlib.sha256(data).hexdigest() == link["sha256"]
    assert verify_archive(tmp_path / "rerun.zip") == []
