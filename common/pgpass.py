"""The database password for child tools (pg_dump, pg_restore, psql, pgbench): a 0600 file.

A password in a child's environment (`PGPASSWORD`) is readable by anyone who may read
`/proc/<pid>/environ` of that process, and it is inherited by whatever the tool starts in turn.
libpq also reads a password file named by `PGPASSFILE`; this module writes one, readable by
this user only, for as long as the child runs, and removes it afterwards — even when the child
fails or we are interrupted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from common.db import connection_params, libpq_environment
from common.environments import Environment


def pgpass_line(host: str, port: object, user: str, password: str) -> str:
    """One `host:port:database:user:password` line; any database of this server matches."""

    def escaped(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:")

    return ":".join((escaped(host), escaped(port), "*", escaped(user), escaped(password))) + "\n"


@contextmanager
def libpq_child_environment(env: Environment, *, dbname: str | None = None) -> Iterator[dict]:
    """PG* variables for a child tool, the password in a 0600 `PGPASSFILE` removed on exit."""
    params = connection_params(env, dbname=dbname)
    variables = libpq_environment(env, dbname=dbname)
    descriptor, path = tempfile.mkstemp(prefix="refinery-pgpass-")  # created 0600
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(
                pgpass_line(
                    str(params["host"]), params["port"], str(params["user"]),
                    str(params["password"]),
                )
            )  # fmt: skip
        yield {**variables, "PGPASSFILE": path}
    finally:
        os.unlink(path)
