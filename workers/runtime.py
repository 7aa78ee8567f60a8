"""Running one attempt of one job: the body of `python -m workers run-job JOB_ID`.

The attempt is started (dispatched → running), kept alive by a heartbeat thread, and ended in
the same transaction as the handler's own catalog writes: either both commit or neither does.
The heartbeat means progress: while a transfer is watched (`workers.progress`) and no byte
has moved for `[workers] stall_seconds`, the heartbeat thread records the attempt errored with
that reason and ends the process (EXIT_STALLED), whatever the handler is blocked in.
A handler error, a crash or SIGTERM leaves nothing half-written; the foreman sees the attempt
errored (or, after a kill -9, silent) and retries it — unless the error is permanent (see
`is_permanent`: malformed input, no handler), which the foreman fails at once with its
reason. Running the command again for an attempt that has already ended does nothing and
exits with EXIT_SUPERSEDED.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
from pathlib import Path

import psycopg2
from psycopg2.extensions import connection as Connection

from common import db
from common.environments import Environment
from common.errors import (
    ExitCode,
    JobError,
    PermanentJobError,
    RefineryError,
    ValidationError,
    first_line,
)
from common.lake import open_lake
from common.settings.jobs import ForemanSettings, WorkerSettings
from common.signals import leave_termination_signals_to_main_thread
from common.worker_identity import executor_job_id, worker_memory_mb
from foreman.jobs import Job, beat, finish_attempt, get_job, start_attempt
from foreman.submissions import resolve_member
from workers.cleanup import remove_dead_workers_leftovers, scratch_prefix
from workers.progress import TransferProgress
from workers.registry import JobContext, find_handler

log = logging.getLogger(__name__)
REASON_LIMIT = 500  # a failure reason is one short line: it fits a table cell

# The worker's exit statuses, from the one table (common.errors.ExitCode).
EXIT_SUCCEEDED = ExitCode.OK
EXIT_HANDLER_FAILED = ExitCode.FAILURE
EXIT_USAGE = ExitCode.USAGE
EXIT_SUPERSEDED = ExitCode.SUPERSEDED
EXIT_STALLED = ExitCode.STALLED
EXIT_TERMINATED = ExitCode.TERMINATED


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives, so the attempt can be marked errored."""


def resolve_submission(env: Environment, token: str, index: int) -> tuple[int, int]:
    """(job id, attempt) that the foreman recorded at `index` of submission `token`."""
    with db.connection(env) as conn:
        return resolve_member(conn, token, index)


class Connections:
    """Where an attempt's two connections come from: the control connection (the attempt's
    start, its errors) and the work connection (the handler's transaction). Opened when
    asked for; `open_ahead` opens both at once, for a spare worker to hold while it waits for
    its job, so the job does not wait for them (each costs a SCRAM handshake, ~8 ms on a
    local cluster). One that broke while it waited (a restarted database, an idle timeout)
    is replaced when taken."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._ready: list[Connection] = []

    def open_ahead(self) -> Connections:
        """Both connections now; none when the database does not answer yet (the job then
        connects itself, and says why it cannot)."""
        with contextlib.suppress(RefineryError):
            self._ready = [db.connect(self.env), db.connect(self.env)]
        return self

    def take(self) -> Connection:
        while self._ready:
            conn = self._ready.pop(0)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                conn.rollback()
                return conn
            except psycopg2.Error:
                conn.close()
        return db.connect(self.env)


def run_job(
    env: Environment,
    job_id: int,
    *,
    attempt: int | None = None,
    connections: Connections | None = None,
) -> int:
    """Run the current attempt of `job_id` (only if it is `attempt`, when given); returns the
    process exit code."""
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    connections = connections or Connections(env)
    with contextlib.closing(connections.take()) as control:
        try:
            current = get_job(control, job_id)
            if attempt is not None and current.attempt != attempt:
                raise JobError(
                    f"job {job_id} is on attempt {current.attempt}, not {attempt}; not running it"
                )
            job = start_attempt(control, current, worker_id, executor_job_id=executor_job_id())
        except JobError as exc:
            log.warning(
                "not running job %s: %s", job_id, exc, extra={"job_id": job_id, "env": env.name}
            )
            return EXIT_SUPERSEDED
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        transfers = TransferProgress()
        heartbeat = Heartbeat(env, job, transfers)
        heartbeat.start()
        try:
            return _run_attempt(env, job, control, connections, transfers)
        finally:
            signal.signal(signal.SIGTERM, previous)  # the attempt is recorded: default again
            heartbeat.stop()


def _run_attempt(
    env: Environment,
    job: Job,
    control: Connection,
    connections: Connections,
    transfers: TransferProgress,
) -> int:
    adapter = logging.LoggerAdapter(
        logging.getLogger("workers.job"),
        {"job_id": job.id, "attempt": job.attempt, "env": env.name, "host": socket.gethostname()},
    )
    work = None
    try:
        work = connections.take()
        registered = find_handler(job)
        if registered.application.nice:
            # This thread and every one or process it starts from here; the heartbeat,
            # started before, keeps its priority and so stays on time.
            os.nice(registered.application.nice)
        lake = open_lake(env)
        remove_dead_workers_leftovers(env, lake)
        with tempfile.TemporaryDirectory(prefix=scratch_prefix(job.id, os.getpid())) as scratch:
            context = JobContext(
                env=env,
                job=job,
                application=registered.application,
                conn=work,
                lake=lake,
                memory_mb=worker_memory_mb(env, job.memory_tier),
                scratch_dir=Path(scratch),
                log=adapter,
                transfers=transfers,
            )
            result = registered.run(context) or {}
            if not finish_attempt(work, job, succeeded=True, result=result):
                work.rollback()
                adapter.warning("attempt %s ended elsewhere; discarding its work", job.attempt)
                return EXIT_SUPERSEDED
            work.commit()
        adapter.info("job %s attempt %s succeeded", job.id, job.attempt)
        return EXIT_SUCCEEDED
    except Terminated:
        _record_error(work, control, job, "terminated by signal SIGTERM")
        return EXIT_TERMINATED
    except Exception as exc:
        reason = first_line(exc, typed=True, limit=REASON_LIMIT)
        permanent = is_permanent(exc)
        adapter.error(
            "job %s attempt %s failed%s: %s",
            job.id, job.attempt, " for good" if permanent else "", reason,
        )  # fmt: skip
        _record_error(work, control, job, reason, permanent=permanent)
        return EXIT_HANDLER_FAILED
    finally:
        if work is not None:
            work.close()


def is_permanent(exc: BaseException) -> bool:
    """Whether no retry of the attempt can succeed: the input is malformed (ValidationError,
    e.g. a truncated FASTQ or a bad payload), the job says so (PermanentJobError, e.g. no
    handler), or PostgreSQL refused the data itself (DataError). Anything else — a network
    error, a full disk, a busy archive — is transient and retried."""
    return isinstance(exc, ValidationError | PermanentJobError | psycopg2.DataError)


def _record_error(
    work: Connection | None, control: Connection, job: Job, reason: str, *, permanent: bool = False
) -> None:
    """Throw away the handler's transaction, then record the error in a fresh one."""
    if work is not None:
        with contextlib.suppress(Exception):  # the handler's connection may be what broke
            work.rollback()
    # Signals are ignored while the error is written, or a second SIGTERM would lose it.
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        finish_attempt(control, job, succeeded=False, reason=reason, permanent=permanent)
        control.commit()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


class Heartbeat:
    """A thread that refreshes the attempt's heartbeat on its own connection — as long as the
    attempt's watched transfers keep moving."""

    def __init__(
        self, env: Environment, job: Job, transfers: TransferProgress | None = None
    ) -> None:
        self.env = env
        self.job = job
        self._extra = {"job_id": job.id, "attempt": job.attempt, "env": env.name}
        self.transfers = transfers or TransferProgress()  # none watched: nothing can stall
        self.stall_seconds = WorkerSettings.for_environment(env).stall_seconds
        self.interval = min(
            ForemanSettings.for_environment(env).worker_heartbeat_seconds, self.stall_seconds
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        leave_termination_signals_to_main_thread()
        conn = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn = conn or db.connect(self.env)
                    stalled = self.transfers.stalled_for()
                    if stalled is not None and stalled[0] >= self.stall_seconds:
                        self._give_up(conn, *stalled)
                    if not beat(conn, self.job):
                        log.warning(
                            "job %s attempt is no longer running", self.job.id, extra=self._extra
                        )
                        return
                except Exception as exc:  # keep trying: a blip must not kill a long job
                    log.warning("heartbeat failed: %s", exc, extra=self._extra)
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    def _give_up(self, conn: Connection, seconds: float, what: str, moved: int) -> None:
        """Record the stall as the attempt's error, then end the process: the handler may be
        blocked where no exception reaches it (opening a FIFO, reading a hung mount)."""
        reason = (
            f"stalled: {what} moved no byte for {seconds:.0f} s "
            f"(after {moved} bytes; [workers] stall_seconds = {self.stall_seconds:g})"
        )
        log.error("job %s attempt %s %s", self.job.id, self.job.attempt, reason,
                  extra={"job_id": self.job.id})  # fmt: skip
        try:
            with conn.cursor() as cur:
                cur.execute("SET lock_timeout = '10s'")
            finish_attempt(conn, self.job, succeeded=False, reason=reason)
            conn.commit()
        finally:
            logging.shutdown()
            os._exit(EXIT_STALLED)
