"""A download whose source blocks fails with a stall reason and frees its slot (real processes).

The source is a FIFO that nobody writes to, swapped in for a file after the survey: opening it
blocks in the kernel, where no timeout reaches. The foreman and its worker processes are real.
"""

from __future__ import annotations

import os
import time

import pytest

from common import catalog, db
from foreman.jobs import enqueue_job
from tests.integration.workers.test_download import CONTENT, catalog_file
from tests.support.foreman import FAST_FOREMAN, fetch, start_foreman, wait_until
from tests.support.services import stop_process

pytestmark = pytest.mark.integration
STALL_SECONDS = 3


def test_a_download_from_a_fifo_that_never_delivers_fails_as_stalled_and_frees_its_slot(
    make_env, tmp_path
):
    env = make_env(
        "stall",
        executor={"kind": "local", "concurrency": 1},  # one slot: the next job needs it back
        foreman={**FAST_FOREMAN, "stale_after_seconds": 120},
        workers={"stall_seconds": STALL_SECONDS},
    )
    fifo = tmp_path / "core" / "reads.fastq"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    good = tmp_path / "core" / "other.fastq"
    good.write_bytes(CONTENT)
    conn = db.connect(env)
    try:
        stuck_file, experiment = catalog_file(conn, fifo.as_uri())
        good_file, _ = catalog.insert_original_file(
            conn, experiment, "other.fastq", "raw/delivery-P1/P1-S1-R1/other.fastq",
            source_url=good.as_uri(), size_bytes=len(CONTENT), source_md5=None,
        )  # fmt: skip
        stuck_job, _ = enqueue_job(conn, "download", {"file_id": stuck_file}, max_attempts=1)
        conn.commit()
        good_job, _ = enqueue_job(conn, "download", {"file_id": good_file}, max_attempts=1)
        conn.commit()
    finally:
        conn.close()
    foreman = start_foreman(env, tmp_path)
    try:
        started = wait_until(
            lambda: fetch(
                env, "SELECT started_at FROM jobs WHERE id = %s AND state = 'running'", (stuck_job,)
            ),
            timeout=60,
            what="the download from the FIFO started",
        )
        assert started
        began = time.monotonic()
        _state, reason, pid = wait_until(
            lambda: fetch(
                env,
                "SELECT state, failure_reason, executor_job_id FROM jobs "
                "WHERE id = %s AND state = 'failed'",
                (stuck_job,),
            ),
            timeout=STALL_SECONDS + 30,
            what="the stalled download failed",
        )[0]
        assert time.monotonic() - began < STALL_SECONDS + 15
        assert "stalled" in reason and "moved no byte" in reason and fifo.as_uri() in reason
        worker_pid = int(pid.split(":")[0])
        wait_until(
            lambda: not os.path.exists(f"/proc/{worker_pid}"),
            timeout=10,
            what="the stalled worker process ended",
        )
        # Its slot is free again: the other download (queued behind it) runs and succeeds.
        wait_until(
            lambda: fetch(
                env, "SELECT 1 FROM jobs WHERE id = %s AND state = 'succeeded'", (good_job,)
            ),
            timeout=60,
            what="the next download ran in the freed slot",
        )
        ((stuck_ended, good_started),) = fetch(
            env, "SELECT (SELECT ended_at FROM jobs WHERE id = %s), "
            "(SELECT started_at FROM jobs WHERE id = %s)", (stuck_job, good_job),
        )  # fmt: skip
        assert good_started >= stuck_ended  # it waited for the slot the stall held
        attempts = fetch(
            env, "SELECT outcome, reason FROM job_attempts WHERE job_id = %s", (stuck_job,)
        )
        assert attempts[0][0] == "errored" and "stalled" in attempts[0][1]
    finally:
        stop_process(foreman)
