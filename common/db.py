"""Connections to an environment's PostgreSQL.

`embedded` environments share the state folder's embedded cluster, one database each, created
on first use. `dsn` environments connect to a server whose password comes from an environment
variable, a 0600 secrets file or Secrets Manager. Subprocesses (pg_dump, psql) get the same
settings through libpq's PG* variables and the password through a 0600 file (`common.pgpass`)
— never in argv or in their environment.

This module is the one place a connection's address is decided: a private database
(`[database] tunnel = "foreman_host"`) is reached, inside an operator's task, through the
SSH tunnel common/tunnel.py opens — for psycopg2 and for pg_dump/psql alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from common import tunnel
from common.embedded import EmbeddedCluster
from common.environments import Environment, state_root
from common.errors import ConfigError, DatabaseError, first_line
from common.files import private_file


def embedded_cluster() -> EmbeddedCluster:
    """The embedded cluster of the current state folder."""
    return EmbeddedCluster(state_root() / "postgres")


_Row_co = TypeVar("_Row_co", covariant=True)


class _RowSource(Protocol[_Row_co]):
    """A cursor, as far as `fetch_one` needs one (plain or RealDictCursor)."""

    def fetchone(self) -> _Row_co | None: ...


def fetch_one(cur: _RowSource[_Row_co]) -> _Row_co:
    """The row a statement that always returns one (COUNT, INSERT … RETURNING, now()) gave;
    a missing row is a DatabaseError rather than a TypeError further on."""
    row = cur.fetchone()
    if row is None:
        raise DatabaseError("the database returned no row where the statement always gives one")
    return row


def connection_params(env: Environment, *, dbname: str | None = None) -> dict[str, Any]:
    """Keyword arguments for psycopg2.connect (includes the password: never log them)."""
    settings = env.database
    if settings.kind == "embedded":
        address = embedded_cluster().address()
        return {
            "host": address.host,
            "port": address.port,
            "user": address.user,
            "password": address.password,
            "dbname": dbname or settings.name,
        }
    host, port = database_host(env), settings.port
    if tunnel.wants_tunnel(env):
        host, port = tunnel.local_endpoint(env, host, port)
    return {
        "host": host,
        "port": port,
        "user": settings.user,
        "password": database_password(env),
        "dbname": dbname or settings.name,
        "sslmode": settings.sslmode,
    }


def database_host(env: Environment) -> str:
    """The configured host, or the Terraform output it names (`terraform:database_endpoint`)."""
    return _resolve(env, env.database.host, "a host name")


def database_password(env: Environment) -> str:
    """The password of a `dsn` environment: its variable, its 0600 secrets file, or its
    Secrets Manager secret (`database.password_secret`, an ARN or `terraform:<output>`)."""
    settings = env.database
    value = os.environ.get(settings.password_env)
    if value:
        return value
    if settings.password_file:
        path = Path(settings.password_file).expanduser()
        if not path.is_absolute():
            path = env.state_dir / path
        return private_file(str(path), "database password file").read_text().strip()
    if settings.password_secret:
        from common.secrets import secret_password

        return secret_password(env, _resolve(env, settings.password_secret, "a secret ARN"))
    raise ConfigError(
        f"no database password for environment {env.name!r}: "
        f"set {settings.password_env}, database.password_file or database.password_secret"
    )


def _resolve(env: Environment, value: str, what: str) -> str:
    """`value`, or the Terraform output it names (`terraform:<output>`), which must be text."""
    resolved = env.resolve(value)
    if not isinstance(resolved, str) or not resolved:
        raise ConfigError(f"{env.name}: Terraform output {value} is not {what}")
    return resolved


def libpq_environment(env: Environment, *, dbname: str | None = None) -> dict[str, str]:
    """PG* variables that tell pg_dump, psql & co. where the database is — without the
    password, which a child tool gets from `common.pgpass.libpq_child_environment`."""
    params = connection_params(env, dbname=dbname)
    mapping = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "dbname": "PGDATABASE",
        "sslmode": "PGSSLMODE",
    }
    return {mapping[key]: str(value) for key, value in params.items() if key in mapping}


def connect(
    env: Environment, *, autocommit: bool = False, dbname: str | None = None
) -> psycopg2.extensions.connection:
    """A new connection to the environment's database (created first when embedded)."""
    params = connection_params(env, dbname=dbname)
    try:
        conn = psycopg2.connect(
            **params, connect_timeout=10, application_name=f"refinery:{env.name}"
        )
    except psycopg2.OperationalError as exc:
        missing = f'database "{params["dbname"]}" does not exist'
        if env.database.kind == "embedded" and missing in str(exc) and dbname is None:
            create_database(env, str(params["dbname"]))
            return connect(env, autocommit=autocommit)
        raise DatabaseError(
            f"cannot connect to the {env.name} database at {params['host']}:{params['port']}: "
            f"{first_line(exc, 'connection failed')}"
        ) from None
    conn.autocommit = autocommit
    return conn


def create_database(env: Environment, name: str, *, template: str | None = None) -> None:
    """CREATE DATABASE `name` (optionally from `template`) on the environment's server."""
    with maintenance_connection(env) as conn, conn.cursor() as cur:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with suppress(psycopg2.errors.DuplicateDatabase):
            cur.execute(statement)


def drop_database(env: Environment, name: str) -> None:
    """DROP DATABASE `name` if it exists, terminating its sessions first."""
    with maintenance_connection(env) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def connection(
    env: Environment, *, autocommit: bool = False, dbname: str | None = None
) -> Iterator[Connection]:
    """A connection to the environment's database, closed when the block ends however it
    ends: the one way to hold a connection for a while (`transaction` also commits)."""
    conn = connect(env, autocommit=autocommit, dbname=dbname)
    try:
        yield conn
    finally:
        conn.close()


def maintenance_connection(env: Environment) -> AbstractContextManager[Connection]:
    """An autocommit connection to the `postgres` database, for CREATE/DROP DATABASE."""
    return connection(env, autocommit=True, dbname="postgres")


@contextmanager
def transaction(env: Environment) -> Iterator[Connection]:
    """A connection whose work commits on success and rolls back on any error."""
    with connection(env) as conn:
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
