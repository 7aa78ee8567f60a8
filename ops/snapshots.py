"""The metrics layer's snapshot of one environment, as `inv jobs.top`, the console and the
CloudWatch publisher take it: the same figures the foreman serves on `/metrics`, with the
capacity the environment's executor applies and the foreman's staleness threshold."""

from __future__ import annotations

from typing import Any

import psycopg2.errors
from psycopg2.extensions import connection as Connection

from common import db
from common.environments import Environment
from common.errors import DatabaseError, first_line
from common.metrics import Snapshot, collect, history
from common.settings.jobs import ForemanSettings
from foreman.executors import executor_for


class SnapshotSource:
    """Takes snapshots of one environment; holds its connection and executor limits."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.settings = ForemanSettings.for_environment(env)
        executor = executor_for(env)
        try:
            self._capacity: dict[str, int] = {}
            self._executor_capacity = executor.capacity
        finally:
            executor.close()
        self._conn: Connection | None = None

    def capacity(self, queue: str) -> int:
        if queue not in self._capacity:
            self._capacity[queue] = int(self._executor_capacity(queue))
        return self._capacity[queue]

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = db.connect(self.env)
        return self._conn

    def take(self) -> Snapshot:
        try:
            return collect(
                self._connection(),
                capacity=self.capacity,
                stale_after_seconds=self.settings.stale_after_seconds,
            )
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.UndefinedFunction) as exc:
            self.close()
            raise DatabaseError(
                f"the {self.env.name} database lacks the metrics schema "
                f"({first_line(exc, 'missing table')}); run inv db.migrate -e {self.env.name}"
            ) from None
        except Exception:
            self.close()
            raise

    def history(self, minutes: int = 60, **filters: Any) -> list[dict[str, Any]]:
        try:
            return history(self._connection(), minutes=minutes, **filters)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
