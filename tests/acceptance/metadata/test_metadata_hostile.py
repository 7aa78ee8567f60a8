"""`inv metadata.sync` against a REDCap that misbehaves: it drips its answers, dies under the
sync, sends values no catalog should hold or answers of the wrong shape; and a sample that
`inv data.delete` removed stays removed.

All through `inv` in a subprocess, against the loopback REDCap stand-in (tests/support/redcap.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from common import db
from common.environments import REPO_ROOT
from common.errors import ExitCode
from common.projects import add_project
from ops.metadata.runs import ABANDONED_REASON
from tests.acceptance.metadata.test_metadata_cli import INV, _inv
from tests.support.environments import write_environment
from tests.support.metadata_fixtures import fill
from tests.support.redcap import TOKEN

pytestmark = pytest.mark.acceptance


@pytest.fixture
def sync_env(make_env, redcap, monkeypatch):
    """`make(**metadata)`: an environment whose [metadata] points at the stand-in, with its
    project added; options override the section (a short deadline, say)."""
    monkeypatch.setenv("REFINERY_REDCAP_TOKEN", TOKEN)

    def make(**options):
        env = make_env("mdh", metadata={
            "project": "CRC", "redcap_url": redcap.url, "batch_size": 2, "overlap_minutes": 0,
            **options,
        })  # fmt: skip
        with db.transaction(env) as conn:
            add_project(conn, "CRC", title="Colorectal cohort", owner="lab-crc", schema_version=1)
        return env

    return make


def _runs(env) -> list[tuple[str, str | None]]:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT state, error FROM metadata_sync_runs ORDER BY id")
        return cur.fetchall()


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


def _rows(env, statement: str) -> list[tuple]:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return cur.fetchall()


def test_a_server_that_drips_its_answer_is_given_up_at_the_deadline(sync_env, redcap):
    env = sync_env(request_deadline_seconds=3)
    fill(redcap.project)
    redcap.project.drip_seconds = 1.0  # a byte a second: no read ever waits 120 s
    started = time.monotonic()
    result = _inv("metadata.sync", "-e", env.name, "--execute")
    elapsed = time.monotonic() - started
    assert result.returncode == ExitCode.FAILURE, result.stderr
    line = _one_error_line(result)
    assert "did not finish answering the metadata export within 3 s" in line, line
    assert elapsed < 30, elapsed  # inv's own start-up included; without a deadline: forever
    [(state, error)] = _runs(env)
    assert state == "failed" and "did not finish answering" in error


def _start_sync(env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [INV, "metadata.sync", "-e", env.name, *args], cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def _wait_for_a_request(redcap, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not redcap.project.requests and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    assert redcap.project.requests, "the sync never asked REDCap anything"
    time.sleep(0.5)  # well inside the dripping answer


@pytest.mark.parametrize(
    ("sent", "state", "reason"),
    [
        (signal.SIGKILL, "abandoned", ABANDONED_REASON),
        (signal.SIGTERM, "interrupted", "interrupted by SIGTERM"),
        (signal.SIGINT, "interrupted", "interrupted by Ctrl-C (SIGINT)"),
    ],
)
def test_a_run_stopped_mid_request_is_recorded_so_and_the_next_run_says_so(
    sync_env, redcap, sent, state, reason
):
    env = sync_env()
    fill(redcap.project)
    redcap.project.drip_seconds = 1.0
    sync = _start_sync(env, "--execute")
    try:
        _wait_for_a_request(redcap, sync)
        os.kill(sync.pid, sent)
        _, stderr = sync.communicate(timeout=60)
    finally:
        if sync.poll() is None:
            sync.kill()
            sync.wait()
    if sent == signal.SIGKILL:
        assert sync.returncode == -signal.SIGKILL
        assert _runs(env) == [("running", None)]  # nobody could write anything
    else:
        expected = ExitCode.TERMINATED if sent == signal.SIGTERM else ExitCode.INTERRUPTED
        assert sync.returncode == expected, stderr
        assert "Traceback" not in stderr
        assert _runs(env) == [(state, reason)]
    redcap.project.drip_seconds = 0.0
    again = _inv("metadata.sync", "-e", env.name)
    assert again.returncode == 0, again.stderr
    assert f"was {state}: {reason}" in again.stdout, again.stdout
    assert _runs(env) == [(state, reason), ("dry-run", None)]


def test_nul_control_characters_and_huge_values_quarantine_their_record_only(sync_env, redcap):
    env = sync_env()
    fill(redcap.project)
    redcap.project.put("S2", diagnosis="CRC\x00; DROP")
    redcap.project.put("S3", tissue="\x1b]8;;http://127.0.0.1:1/\x1b\\tumour")
    redcap.project.put("S4", tissue="t" * 20_000_000)  # 20 MB
    result = _inv("metadata.sync", "-e", env.name, "--execute")
    assert result.returncode == 0, result.stderr
    assert _rows(env, "SELECT name FROM samples ORDER BY name") == [("S1",)]
    held = dict(_rows(env, "SELECT record_id, reasons FROM metadata_quarantine"))
    assert sorted(held) == ["S2", "S3", "S4"]
    assert held["S2"] == ["record S2: field diagnosis contains a NUL byte: 'CRC\\x00; DROP'"]
    assert held["S3"][0].startswith("record S3: field tissue contains a control character")
    assert held["S4"][0].startswith(
        "record S4: field tissue is too long (20,000,000 characters, at most 10,000)"
    )
    [(size,)] = _rows(env, "SELECT max(length(record::text)) FROM metadata_quarantine")
    assert size < 2_000  # the 20 MB value is not kept, only a displayable excerpt
    shown = _inv("metadata.quarantine", "-e", env.name)
    assert "S2" in shown.stdout and "\x00" not in shown.stdout and "\x1b" not in shown.stdout


@pytest.mark.parametrize(
    ("content", "answer", "message"),
    [
        ("metadata", [{"form_name": "x"}], "REDCap's data dictionary: row 1 has no field_name"),
        ("metadata", {"fields": []}, "answered the metadata export with an object, not a list"),
        ("record", ["S1", {"sample_id": "S2"}], "REDCap's record export: row 1 is a string 'S1'"),
    ],
)  # fmt: skip
def test_an_answer_of_the_wrong_shape_is_one_line_naming_it(
    sync_env, redcap, content, answer, message
):
    env = sync_env()
    fill(redcap.project)
    redcap.project.answers[content] = answer
    result = _inv("metadata.sync", "-e", env.name, "--execute")
    assert result.returncode == ExitCode.FAILURE, result.stderr
    line = _one_error_line(result)
    assert message in line, line
    assert "AttributeError" not in line and "KeyError" not in line
    [(state, error)] = _runs(env)
    assert state == "failed" and message in error
    assert _rows(env, "SELECT count(*) FROM samples") == [(0,)]


def _add_experiment(env, sample: str, accession: str) -> None:
    with db.transaction(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM samples WHERE name = %s", (sample,))
        [(sample_id,)] = cur.fetchall()
        cur.execute(
            "INSERT INTO aliquots (sample_id, name) VALUES (%s, %s) RETURNING id",
            (sample_id, f"al-{sample}"),
        )
        cur.execute(
            "INSERT INTO experiments (aliquot_id, accession) VALUES (%s, %s)",
            (cur.fetchone()[0], accession),
        )


@pytest.mark.slow
def test_a_deleted_sample_is_not_synced_back_until_restored_on_purpose(sync_env, redcap):
    env = sync_env()
    redcap.project.put("S1", individual_id="PT1", species="Homo sapiens", tissue="tumour")
    redcap.project.put("S2", individual_id="PT2", species="Homo sapiens", tissue="blood")
    assert _inv("metadata.sync", "-e", env.name, "--execute").returncode == 0
    _add_experiment(env, "S2", "ERX900")
    deleted = _inv("data.delete", "-e", env.name, "--experiment", "ERX900", "--execute")
    assert deleted.returncode == 0, deleted.stderr
    assert _rows(env, "SELECT name FROM individuals ORDER BY name") == [("PT1",)]
    redcap.project.put("S2", tissue="blood, again")  # the source changes it: still deleted

    again = _inv("metadata.sync", "-e", env.name, "--execute")
    assert again.returncode == 0, again.stderr
    assert "skipped: records of deleted samples" in again.stdout
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert f"sample S2 deleted on {today} by data.delete (experiment ERX900)" in again.stdout
    assert _rows(env, "SELECT name FROM samples ORDER BY name") == [("S1",)]
    assert _rows(env, "SELECT name FROM individuals ORDER BY name") == [("PT1",)]

    unknown = _inv("metadata.sync", "-e", env.name, "--restore-deleted", "S1")
    assert unknown.returncode == ExitCode.USAGE
    assert "no record of a deleted sample or individual of CRC has that id" in _one_error_line(
        unknown
    )
    # a sample never seen before, of an individual that was deleted, is skipped too
    redcap.project.put("S5", individual_id="PT2", species="Homo sapiens", tissue="blood")
    dry = _inv("metadata.sync", "-e", env.name)
    assert "individual PT2 deleted on" in dry.stdout, dry.stdout

    restored = _inv(
        "metadata.sync", "-e", env.name, "--execute",
        "--restore-deleted", "S2", "--restore-deleted", "S5",
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert "restored after deletion: S2, S5" in restored.stdout
    assert _rows(env, "SELECT name FROM samples ORDER BY name") == [("S1",), ("S2",), ("S5",)]
    assert _rows(env, "SELECT count(*) FROM deleted_entities WHERE restored_at IS NULL") == [(0,)]
    later = _inv("metadata.sync", "-e", env.name)
    assert "skipped" not in later.stdout


def test_a_deadline_that_is_not_a_positive_number_is_refused(session_dirs, redcap):
    write_environment(session_dirs["environments"], "mdzero", {
        "database": {"kind": "embedded", "name": "unused"},
        "lake": {"backend": "filesystem", "root": "lake"},
        "executor": {"kind": "null"},
        "metadata": {"project": "CRC", "redcap_url": redcap.url, "request_deadline_seconds": 0},
    })  # fmt: skip
    result = _inv("metadata.sync", "-e", "mdzero")
    assert result.returncode == ExitCode.USAGE
    assert "request_deadline_seconds must be a positive number" in _one_error_line(result)
