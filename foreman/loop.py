"""The dispatch loop: one leader per database, the others standing by.

Leadership is a PostgreSQL session advisory lock held on the foreman's control connection: if
the leader dies, its connection closes, the lock is released, and a standby's next try takes
it. The leader wakes on NOTIFY `refinery_jobs` (fired when jobs are inserted) or its poll
interval, and on every wake claims, submits, settles errored jobs and, when due, reconciles
running ones. Once a minute it also records the metrics' rollup and prunes old history.
Every foreman, leader or standby, serves `/metrics` (foreman.exporter). SIGTERM stops it after
the current round, leaving running workers alone. A foreman whose embedded database was
stopped on purpose (`inv local.down`) exits instead of reconnecting: reconnecting would start
the server again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time
import uuid
from dataclasses import dataclass

import psycopg2
from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json

from common import db
from common.embedded import EnvironmentStopped
from common.environments import Environment
from common.errors import DatabaseError, RefineryError, first_line
from common.metrics import Snapshot, collect, prune_history, write_rollup
from common.settings.jobs import ForemanSettings
from common.sql import query
from foreman.dispatch import (
    dispatch_pending_jobs,
    reconcile_active_jobs,
    settle_errored_jobs,
    settle_waiting_jobs,
)
from foreman.executors import executor_for
from foreman.executors.base import Executor
from foreman.exporter import MetricsServer, serve_metrics

log = logging.getLogger(__name__)
LEADER_LOCK_KEY = 0x5EF1_0004
NOTIFY_CHANNEL = "refinery_jobs"
_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError, DatabaseError)


@dataclass
class ForemanReport:
    """What a foreman did before it stopped."""

    foreman_id: str
    dispatched: int = 0
    lost: int = 0
    retried: int = 0
    failed: int = 0
    was_leader: bool = False


class Foreman:
    """One foreman process: leader or standby for one environment's database."""

    def __init__(
        self,
        env: Environment,
        *,
        executor: Executor | None = None,
        settings: ForemanSettings | None = None,
    ) -> None:
        self.env = env
        self.settings = settings or ForemanSettings.for_environment(env)
        self.executor = executor or executor_for(env)
        self.foreman_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.report = ForemanReport(self.foreman_id)
        self._stopping = False
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._control: Connection | None = None
        self._work: Connection | None = None
        self._leader = False
        self._last_failure: str | None = None
        self._rollup_slot = -1
        self._metrics_server: MetricsServer | None = None
        self._published: Snapshot | None = None
        self._cloudwatch = None
        self._connected_once = False

    # -- stopping -------------------------------------------------------------------------
    def request_stop(self, *_: object) -> None:
        """Stop after the current round (safe to call from a signal handler)."""
        self._stopping = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_write, b"x")

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    # -- the loop -------------------------------------------------------------------------
    def run(self, *, stop_when_idle: bool = False) -> ForemanReport:
        """Lead or stand by until asked to stop (or, with stop_when_idle, until idle)."""
        last_beat = last_reconcile = 0.0
        self._refuse_when_stopped()
        self._metrics_server = serve_metrics(
            self.env, self.settings.metrics_address, self.take_snapshot
        )
        try:
            while not self._stopping:
                try:
                    self._ensure_connected()
                    if not self._leader and not self._try_lead():
                        if time.monotonic() - last_beat >= self.settings.heartbeat_seconds:
                            self._beat("standby")
                            last_beat = time.monotonic()
                        self._wait(self.settings.takeover_seconds)
                        continue
                    reconcile = time.monotonic() - last_reconcile >= self.settings.reconcile_seconds
                    if reconcile:
                        last_reconcile = time.monotonic()
                    dispatched = self._round(reconcile=reconcile)
                    if time.monotonic() - last_beat >= self.settings.heartbeat_seconds:
                        self._beat("leader")
                        last_beat = time.monotonic()
                    self._rollup_when_due()
                    if stop_when_idle and not dispatched and not self._pending_exists():
                        break
                    self.executor.tend()
                    if not dispatched:
                        self._wait(self.settings.poll_seconds)
                except EnvironmentStopped:
                    if not self._connected_once:
                        raise  # started while stopped: the caller says so in one line
                    log.warning("%s is stopped (inv local.down); the foreman exits", self.env.name)
                    break
                except _CONNECTION_ERRORS as exc:
                    log.error(
                        "database connection lost (%s); standing down",
                        first_line(exc),
                        extra=self._log_extra(),
                    )
                    self._disconnect()
                    self._wait(self.settings.takeover_seconds)
                except Exception as exc:
                    # An executor's API can fail (network, throttling): log it, keep leading,
                    # and try again after the poll interval rather than dying.
                    self._log_round_failure(exc)
                    self._rollback_work()
                    self._wait(self.settings.poll_seconds)
                else:
                    self._last_failure = None
        finally:
            self._shutdown()
        return self.report

    def _refuse_when_stopped(self) -> None:
        """Connect before anything starts, so a foreman of a stopped environment (`inv
        local.down`) is refused in one line rather than after binding its metrics port; a
        database that is merely unreachable is the loop's to retry."""
        try:
            self._ensure_connected()
        except EnvironmentStopped:
            self._shutdown()
            raise
        except _CONNECTION_ERRORS:
            self._disconnect()

    def _log_extra(self) -> dict[str, str]:
        """The structured fields of every line this foreman logs."""
        return {"env": self.env.name, "foreman_id": self.foreman_id, "host": socket.gethostname()}

    def _log_round_failure(self, exc: Exception) -> None:
        """One line per failed round; the traceback only when the failure is new, not every
        poll interval while the same cause (an executor outage) persists. A RefineryError
        is a known condition whose message says what to do: never a traceback."""
        line = f"{type(exc).__name__}: {first_line(exc)}"
        extra = self._log_extra()
        if isinstance(exc, RefineryError) or line == self._last_failure:
            log.error(
                "foreman round failed (%s); retrying in %gs",
                line,
                self.settings.poll_seconds,
                extra=extra,
            )
        else:
            log.exception(
                "foreman round failed; retrying in %gs", self.settings.poll_seconds, extra=extra
            )
        self._last_failure = line

    def _round(self, *, reconcile: bool) -> int:
        """One round of work; returns how many jobs it dispatched."""
        conn = _connected(self._work)
        retried, failed = settle_errored_jobs(conn, self.env, self.settings)
        self.report.retried += retried
        self.report.failed += failed
        _released, failed = settle_waiting_jobs(conn, self.env)
        self.report.failed += failed
        dispatched = dispatch_pending_jobs(
            conn,
            self.env,
            self.executor,
            batch_size=self.settings.batch_size,
            should_stop=lambda: self._stopping,
        )
        self.report.dispatched += dispatched
        if dispatched:
            log.info("dispatched %d jobs", dispatched, extra=self._log_extra())
        if not reconcile:
            return dispatched
        outcome = reconcile_active_jobs(
            conn,
            self.executor,
            stale_after=self.settings.stale_after_seconds,
            submit_grace=self.settings.submit_grace_seconds,
        )
        self.report.lost += outcome.lost
        if outcome.lost:
            retried, failed = settle_errored_jobs(conn, self.env, self.settings)
            self.report.retried += retried
            self.report.failed += failed
        return dispatched

    # -- metrics ---------------------------------------------------------------------------
    def take_snapshot(self, conn: Connection) -> Snapshot:
        """The metrics layer's figures, with this foreman's executor limits as capacity."""
        return collect(
            conn,
            capacity=self.executor.capacity,
            stale_after_seconds=self.settings.stale_after_seconds,
        )

    def _rollup_when_due(self) -> None:
        """Once per `rollup_seconds` of wall-clock time: record the rollup, prune history."""
        slot = int(time.time() // self.settings.rollup_seconds)
        if slot == self._rollup_slot:
            return
        try:
            work = _connected(self._work)
            snapshot = self.take_snapshot(work)
            written = write_rollup(work, snapshot)
            pruned = prune_history(work)
            if self.settings.cloudwatch_namespace:
                self._publish_to_cloudwatch(snapshot)
        except _CONNECTION_ERRORS:
            raise
        except Exception:
            # History is worth less than dispatch: log it and try again next slot.
            log.exception("metrics rollup failed")
            self._rollback_work()
        else:
            log.debug("metrics rollup: %d rows written, %d pruned", written, pruned)
        self._rollup_slot = slot

    def _publish_to_cloudwatch(self, snapshot: Snapshot) -> None:
        from foreman.cloudwatch import cloudwatch_client, publish

        if self._cloudwatch is None:
            self._cloudwatch = cloudwatch_client(self.env)
        publish(
            self._cloudwatch,
            self.settings.cloudwatch_namespace,
            self.env.name,
            snapshot,
            self._published,
        )
        self._published = snapshot

    # -- leadership and connections --------------------------------------------------------
    def _ensure_connected(self) -> None:
        if self._control is None:
            self._control = db.connect(self.env, autocommit=True)
        if self._work is None:
            self._work = db.connect(self.env)
        self._connected_once = True

    def _try_lead(self) -> bool:
        with _connected(self._control).cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,))
            if not db.fetch_one(cur)[0]:
                return False
            cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            cur.execute(
                query(__file__, "dispatch.sql", "retire_previous_leaders"),
                {"foreman_id": self.foreman_id},
            )
        self._leader = True
        self.report.was_leader = True
        log.info(
            "foreman %s is the leader of %s",
            self.foreman_id,
            self.env.name,
            extra=self._log_extra(),
        )
        self._beat("leader")
        return True

    def _pending_exists(self) -> bool:
        work = _connected(self._work)
        with work.cursor() as cur:
            cur.execute(query(__file__, "dispatch.sql", "work_remains"))
            exists = db.fetch_one(cur)[0]
        work.commit()
        return exists

    def _beat(self, role: str) -> None:
        with _connected(self._control).cursor() as cur:
            cur.execute(
                query(__file__, "dispatch.sql", "beat"),
                {
                    "foreman_id": self.foreman_id,
                    "hostname": socket.gethostname(),
                    "pid": os.getpid(),
                    "version": _version(),
                    "role": role,
                    "dispatched_total": self.report.dispatched,
                    "api_usage": Json(self.executor.api_usage()),
                },
            )

    def _wait(self, timeout: float) -> None:
        """Sleep until NOTIFY (leader), a stop request, or `timeout` seconds."""
        if self._stopping:
            return
        readers: list[int | Connection] = [self._wake_read]
        if self._leader and self._control is not None:
            readers.append(self._control)
        ready, _, _ = select.select(readers, [], [], timeout)
        if self._control is not None and self._control in ready:
            self._control.poll()
            self._control.notifies.clear()
        if self._wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 64)

    def _rollback_work(self) -> None:
        if self._work is not None:
            with contextlib.suppress(Exception):
                self._work.rollback()

    def _disconnect(self) -> None:
        self._leader = False
        for conn in (self._control, self._work):
            if conn is not None:
                # A broken connection may fail to close; it is gone anyway.
                with contextlib.suppress(Exception):
                    conn.close()
        self._control = self._work = None

    def _shutdown(self) -> None:
        try:
            if self._control is not None:
                self._beat("stopped")
                with self._control.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock_all()")
        except _CONNECTION_ERRORS:
            pass
        self._disconnect()
        if self._metrics_server is not None:
            self._metrics_server.close()
        self.executor.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        log.info("foreman %s stopped", self.foreman_id, extra=self._log_extra())


def _connected(conn: Connection | None) -> Connection:
    """A connection `_ensure_connected` opened: every round starts by opening them."""
    if conn is None:
        raise DatabaseError("not connected to the database")
    return conn


def _version() -> str:
    """The release this foreman runs: REFINERY_VERSION (set by whatever started it, as the
    Batch job definitions set it for workers), else the installed package's version."""
    if os.environ.get("REFINERY_VERSION"):
        return os.environ["REFINERY_VERSION"]
    try:
        from importlib.metadata import version

        return version("refinery")
    except Exception:
        return ""
