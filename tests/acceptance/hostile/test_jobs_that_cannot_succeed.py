"""Jobs that can only fail are not queued, and failures no retry can fix are not retried.

A real foreman runs real worker processes on a delivery whose FASTQ files are empty or cut
off: QC fails each at once, on its first attempt, with the reason. `analyses.run` refuses
an unknown application and an experiment whose files are not stored yet, queueing nothing.
"""

from __future__ import annotations

import signal

import pytest

from common import db
from tests.acceptance.hostile.conftest import assert_refused, run_inv
from tests.integration.lake.conftest import Catalog
from tests.support.foreman import fetch, make_foreman_env, start_foreman, wait_until

pytestmark = pytest.mark.acceptance

SHEET = (
    "project,sample_id,individual,species,tissue,run_id,read1\n"
    "P1,EMPTY,I1,Homo sapiens,blood,R1,empty.fq\n"
    "P1,CUT,I2,Homo sapiens,blood,R1,cut.fq\n"
    "P1,GOOD,I3,Homo sapiens,blood,R1,good.fq\n"
)


def test_empty_and_truncated_fastq_fail_qc_at_once_with_their_reason(
    make_env, tmp_path, session_dirs
):
    env = make_foreman_env(make_env, "cannotsucceed", retry_delay_seconds=0)
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    (delivery / "samplesheet.csv").write_text(SHEET)
    (delivery / "empty.fq").write_bytes(b"")
    (delivery / "cut.fq").write_bytes(b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n")
    (delivery / "good.fq").write_bytes(b"@r1\nACGT\n+\nIIII\n")
    queued = run_inv("jobs.survey", "-e", env.name, str(delivery))
    assert queued.returncode == 0, queued.stderr

    foreman = start_foreman(env, session_dirs["logs"])
    try:
        processes = wait_until(lambda: _ended(_process_jobs(env), 3), timeout=180,
                               what="three QC jobs to end")  # fmt: skip
    finally:
        foreman.send_signal(signal.SIGTERM)
        foreman.wait(timeout=60)

    outcome = {sample: (state, attempt, reason) for sample, state, attempt, reason in processes}
    assert outcome["GOOD"][:2] == ("succeeded", 1)
    assert outcome["EMPTY"] == (
        "failed", 1,
        "not retried, it cannot succeed: MalformedFastq: empty.fq: no reads (the file is empty)",
    )  # fmt: skip
    assert outcome["CUT"][:2] == ("failed", 1)
    assert outcome["CUT"][2].startswith("not retried, it cannot succeed: MalformedFastq: cut.fq:")
    attempts = fetch(env, "SELECT count(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id "
                          "WHERE j.kind = 'process'")  # fmt: skip
    assert attempts == [(3,)]  # one attempt each: nothing was retried


def _ended(rows: list[tuple], count: int) -> list[tuple] | None:
    ended = [row for row in rows if row[1] in ("succeeded", "failed")]
    return ended if len(ended) == count else None


def _process_jobs(env) -> list[tuple[str, str, int, str | None]]:
    return fetch(
        env,
        "SELECT split_part(e.accession, '-', 2), j.state, j.attempt, j.failure_reason "
        "FROM jobs j JOIN experiments e ON e.id = (j.payload->'experiment_ids'->>0)::bigint "
        "WHERE j.kind = 'process' ORDER BY e.accession",
    )


def test_analyses_run_refuses_jobs_that_could_only_fail(make_env, tmp_path):
    env = make_env("runrefuses")
    conn = db.connect(env)
    try:
        catalog = Catalog(env, conn, tmp_path)
        stored = catalog.experiment("ERX1", files=1)
        waiting = catalog.experiment("ERX2", files=1)
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO files (kind, experiment_id, name, lake_key) "
                "VALUES ('original', %s, 'r2.fastq.gz', 'raw/ena-PRJ1/ERX2/r2.fastq.gz')",
                (waiting,),
            )
        conn.commit()
        bare = catalog.experiment("ERX3", files=0)
    finally:
        conn.close()

    cases = {
        ("no_such_app", stored): "error: unknown application 'no_such_app' (known: ",
        ("no_op", waiting): "error: experiment ERX2: 1 of its 2 files not yet stored in the lake",
        ("no_op", bare): "error: experiment ERX3: no files in the catalog yet",
    }
    for (application, experiment), start in cases.items():
        line = assert_refused(
            run_inv("analyses.run", "-e", env.name, application, "--experiment", str(experiment))
        )
        assert line.startswith(start), line
    assert fetch(env, "SELECT count(*) FROM jobs") == [(0,)]
    accepted = run_inv("analyses.run", "-e", env.name, "no_op", "--experiment", str(stored))
    assert accepted.returncode == 0, accepted.stderr
    assert fetch(env, "SELECT count(*) FROM jobs") == [(1,)]
