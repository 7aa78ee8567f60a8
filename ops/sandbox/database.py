"""The sandbox's stand-in for RDS: an embedded PostgreSQL cluster of its own.

It listens on 127.0.0.1 at `[database] port` (the address the stack's `database_endpoint`
output names), and — like RDS's master user — the platform's login (`[database] user`) owns
the platform's database, may create databases (restores build beside the live one) and
roles (`inv users.add`), but is no superuser. Its password is generated once, kept in a
0600 file of the sandbox's state folder, and published as the stack's master secret on the
emulator, where every process of the sandbox reads it.
"""

from __future__ import annotations

import secrets
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from common.embedded import EmbeddedCluster
from common.environments import Environment
from ops.sandbox.processes import SandboxError, port_open

PASSWORD_FILE = "database-password"


@dataclass(frozen=True)
class StandIn:
    """The running stand-in: where it listens and the platform login's password."""

    port: int
    password: str


def cluster(env: Environment) -> EmbeddedCluster:
    return EmbeddedCluster(env.state_dir / "postgres")


def start_database(env: Environment, *, empty: bool = False) -> StandIn:
    """Start the cluster on its port, create the login and the database: idempotent.

    `empty`: drop the platform's database first (a new emulator is a new, empty account:
    a catalog that names its buckets' old objects would describe nothing that exists).
    """
    stand_in = cluster(env)
    port = env.database.port
    if not stand_in.is_running():
        if port_open(port):
            raise SandboxError(
                f"127.0.0.1:{port} ([database] port of {env.path.name}) is taken by another "
                "program: stop it, or change the port there and in the stack's tfvars"
            )
        stand_in.base_dir.mkdir(parents=True, exist_ok=True)
        stand_in.port_file.write_text(str(port))
    address = stand_in.address()
    if address.port != port:
        raise SandboxError(f"the sandbox database runs on port {address.port}, not {port}")
    password = _platform_password(env.state_dir / PASSWORD_FILE)
    user, name = env.database.user, env.database.name
    conn = psycopg2.connect(
        host=address.host,
        port=address.port,
        user=address.user,
        password=address.password,
        dbname="postgres",
        connect_timeout=10,
    )
    conn.autocommit = True
    with closing(conn), conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(
            sql.SQL(verb + " ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
        if empty:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(user)
                )
            )
    return StandIn(port, password)


def stop_database(env: Environment) -> bool:
    return cluster(env).stop()


def database_running(env: Environment) -> bool:
    return cluster(env).is_running()


def _platform_password(path: Path) -> str:
    """The login's password: generated on first use, then always the same (0600 file)."""
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(password)
    return password
