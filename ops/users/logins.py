"""People's database logins: one LOGIN role per person, member of one group role, and their
console API token.

The generated password is returned once to be shown to the person and sent to the server only
as a SCRAM-SHA-256 verifier computed here, so the plaintext never reaches the server's logs,
argv or any file. The API token (for `inv console` and its JSON API) is likewise shown once
and stored only as its SHA-256 (`api_tokens`); `rotate_token` replaces it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import psycopg2.errors
from psycopg2 import sql

from common.db import connection
from common.environments import Environment
from common.errors import RefineryError, ValidationError, first_line
from common.inputs import displayable, excerpt
from common.sql import query

ROLES = {
    "analyst": "refinery_analyst",
    "engineer": "refinery_engineer",
    "admin": "refinery_admin",
}
_NAME = re.compile(r"[a-z][a-z0-9_]{1,40}", re.ASCII)
SCRAM_ITERATIONS = 4096


@dataclass(frozen=True)
class User:
    name: str
    role: str
    can_login: bool


def scram_sha256_verifier(password: str, *, salt: bytes | None = None) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name or "") or name.startswith(("refinery_", "pg_")):
        raise ValidationError(
            f"invalid user name {excerpt(name or '')}: lower-case letters, digits and _, "
            "2-41 characters,"
            " not starting with refinery_ or pg_"
        )
    return name


TOKEN_PREFIX = "rfy_"


@dataclass(frozen=True)
class NewUser:
    """What `add_user` made: both secrets, to be shown once."""

    name: str
    role: str
    password: str
    token: str


def new_token() -> str:
    """A fresh API token: 32 random bytes, with a prefix that makes a leaked one recognisable."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(env: Environment, name: str, role: str) -> NewUser:
    """Create `name` as a LOGIN role in `role`'s group, with an API token of the same role;
    returns the generated password and token."""
    _check_name(name)
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    password = secrets.token_urlsafe(24)
    token = new_token()
    with connection(env) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
            if cur.fetchone():
                raise ValidationError(
                    f"user {name!r} already exists: remove it first or pick another"
                )
            cur.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                    sql.Identifier(name),
                    sql.Literal(scram_sha256_verifier(password)),
                    sql.Identifier(ROLES[role]),
                )
            )
            cur.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(conn.info.dbname), sql.Identifier(name)
                )
            )
            cur.execute(
                query(__file__, "users.sql", "save_token"),
                {"name": name, "role": role, "digest": token_digest(token)},
            )
        conn.commit()
    return NewUser(name, role, password, token)


def rotate_token(env: Environment, name: str) -> str:
    """Replace `name`'s API token (the old one stops working at once); returns the new one."""
    _check_name(name)
    users = {user.name: user for user in list_users(env)}
    if name not in users:
        raise ValidationError(f"{name!r} is not a Refinery user (see inv users.list)")
    token = new_token()
    with connection(env) as conn:
        with conn.cursor() as cur:
            cur.execute(
                query(__file__, "users.sql", "save_token"),
                {"name": name, "role": users[name].role, "digest": token_digest(token)},
            )
        conn.commit()
    return token


def list_users(env: Environment) -> list[User]:
    with connection(env) as conn, conn.cursor() as cur:
        cur.execute(query(__file__, "users.sql", "list_users"), {"groups": list(ROLES.values())})
        group_to_role = {group: role for role, group in ROLES.items()}
        return [User(name, group_to_role[group], login) for name, group, login in cur.fetchall()]


class RoleDropBlocked(RefineryError):
    """A person's access was revoked but their role owns (or holds rights on) something, so
    the role itself stays until a person decides where that goes."""


def remove_user(env: Environment, name: str) -> None:
    """Revoke a person's access, then drop their role; refuses roles that are not Refinery users.

    The API token goes first, with the database login and CONNECT, in one transaction: when
    the role cannot be dropped (it owns a table, holds a grant), that much is committed anyway
    — the person can no longer sign in anywhere — and the error names what blocks the drop.
    """
    _check_name(name)
    if name not in {user.name for user in list_users(env)}:
        raise ValidationError(f"{name!r} is not a Refinery user (see inv users.list)")
    with connection(env) as conn:
        with conn.cursor() as cur:
            cur.execute(query(__file__, "users.sql", "delete_token"), {"name": name})
            cur.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(name)))
            cur.execute(
                sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(
                    sql.Identifier(conn.info.dbname), sql.Identifier(name)
                )
            )
            cur.execute("SAVEPOINT drop_role")
            try:
                cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
            except psycopg2.errors.DependentObjectsStillExist:
                cur.execute("ROLLBACK TO SAVEPOINT drop_role")
                cur.execute(query(__file__, "users.sql", "role_dependencies"), {"name": name})
                blockers = [row[0] for row in cur.fetchall()]
                conn.commit()
                raise RoleDropBlocked(
                    f"revoked {name}'s API token and login, but cannot drop role {name}: "
                    f"{_describe(blockers)}; reassign or drop those "
                    f"(REASSIGN OWNED BY {name} TO …; DROP OWNED BY {name}), "
                    "then run inv users.remove again"
                ) from None
            except psycopg2.Error as exc:  # any other refusal: the revocation still stands
                cur.execute("ROLLBACK TO SAVEPOINT drop_role")
                conn.commit()
                raise RoleDropBlocked(
                    f"revoked {name}'s API token and login, but cannot drop role {name}: "
                    f"{first_line(exc)}"
                ) from None
        conn.commit()


def _describe(blockers: list[str]) -> str:
    """What keeps a role alive, in a few words: the first objects and how many more."""
    if not blockers:
        return "it still owns objects or holds privileges in another database"
    shown = ", ".join(displayable(b) for b in blockers[:3])
    more = f" and {len(blockers) - 3} more" if len(blockers) > 3 else ""
    return f"it {shown}{more}"
