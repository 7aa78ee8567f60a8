"""Fixtures for the lake area: catalog rows with real files in a real lake (folder or moto S3)."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from common import db
from common.lake import open_lake
from common.lake.layout import computed_file_key, original_file_key
from tests.support.buckets import create_lake_bucket

_bucket_counter = itertools.count()


@dataclass
class Catalog:
    """A small catalog: one project, experiments with original files, analyses with results."""

    env: object
    conn: object
    tmp: Path
    experiments: dict[str, int] = field(default_factory=dict)
    aliquots: dict[str, int] = field(default_factory=dict)

    def _one(self, sql: str, params: tuple) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            value = cur.fetchone()[0]
        self.conn.commit()
        return value

    def project(self) -> int:
        return self._one(
            "INSERT INTO projects (source, accession) VALUES ('ena', 'PRJ1')"
            " ON CONFLICT (source, accession) DO UPDATE SET title = '' RETURNING id",
            (),
        )

    def experiment(self, accession: str, *, aliquot: str | None = None, files: int = 2) -> int:
        project = self.project()
        name = aliquot or f"al-{accession}"
        if name not in self.aliquots:
            individual = self._one(
                "INSERT INTO individuals (project_id, name) VALUES (%s, %s) RETURNING id",
                (project, f"ind-{name}"),
            )
            sample = self._one(
                "INSERT INTO samples (individual_id, name) VALUES (%s, %s) RETURNING id",
                (individual, f"s-{name}"),
            )
            self.aliquots[name] = self._one(
                "INSERT INTO aliquots (sample_id, name) VALUES (%s, %s) RETURNING id",
                (sample, name),
            )
        experiment = self._one(
            "INSERT INTO experiments (aliquot_id, accession) VALUES (%s, %s) RETURNING id",
            (self.aliquots[name], accession),
        )
        self.experiments[accession] = experiment
        for index in range(files):
            key = original_file_key("ena", "PRJ1", accession, f"r{index}.fastq.gz")
            self.store(
                "original", key, f"{accession}-{index}".encode() * 50, experiment_id=experiment
            )
        return experiment

    def analysis(self, experiments: list[int], *, run_by: str = "ana", status: str = "FINISHED",
                 application: str = "fastq_qc", files: int = 2) -> int:  # fmt: skip
        analysis = self._one(
            "INSERT INTO analyses (application, application_version, status, run_by)"
            " VALUES (%s, '1', %s, %s) RETURNING id",
            (application, status, run_by),
        )
        with self.conn.cursor() as cur:
            for experiment in experiments:
                cur.execute("INSERT INTO analysis_targets VALUES (%s, %s)", (analysis, experiment))
        self.conn.commit()
        for index in range(files):
            key = computed_file_key(analysis, f"report{index}.txt")
            self.store("computed", key, f"analysis {analysis} {index}\n".encode() * 10,
                       analysis_id=analysis)  # fmt: skip
        return analysis

    def store(self, kind: str, key: str, data: bytes, **owner: int) -> None:
        source = self.tmp / f"src-{hashlib.md5(key.encode()).hexdigest()}"
        source.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        open_lake(self.env).put_file(key, source, sha256=sha)
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO files (kind, experiment_id, analysis_id, name, lake_key, size_bytes,"
                " sha256, stored_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
                (kind, owner.get("experiment_id"), owner.get("analysis_id"), key.rsplit("/", 1)[-1],
                 key, len(data), sha),
            )  # fmt: skip
        self.conn.commit()


@pytest.fixture(params=["filesystem", "s3"])
def lake_env(request, make_env):
    """An environment whose lake is a folder, or a fresh bucket on the moto server."""
    if request.param == "filesystem":
        return make_env("lk")
    server = request.getfixturevalue("moto_server")
    bucket = f"lake-{next(_bucket_counter)}"
    env = make_env(
        "lk",
        lake={"backend": "s3", "bucket": bucket, "prefix": "data", "root": ""},
        aws={"region": "us-east-1", "endpoint_url": server.endpoint_url},
    )
    create_lake_bucket(open_lake(env))
    return env


@pytest.fixture
def catalog(lake_env, tmp_path):
    conn = db.connect(lake_env)
    yield Catalog(lake_env, conn, tmp_path)
    conn.close()
