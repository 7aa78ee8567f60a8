"""Anonymising personal columns of a copy of production, by the rules of one file.

Values are replaced by a keyed hash (HMAC-SHA256) computed inside PostgreSQL: one value gives
one pseudonym in every table, so joins and lookups on it still hold, while the key — random per
refresh unless a fixed one is configured — is never stored, logged or shown. HMAC is built
from the core `sha256()` function (no extension needed): the padded key is xored with the
inner and outer pads here and travels as query parameters.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import cursor as Cursor

from ops.staging.errors import RefreshError

METHODS = ("hmac", "email", "null", "blank")
_TEXT_TYPES = {"text", "character varying", "character", "citext"}
_BLOCK = 64  # SHA-256's block size, in bytes


@dataclass(frozen=True)
class Rule:
    """One personal value: a column, or one key of a jsonb column, and its method."""

    table: str
    column: str
    key: str | None
    method: str

    @property
    def label(self) -> str:
        return ".".join(part for part in (self.table, self.column, self.key) if part)


@dataclass(frozen=True)
class Rules:
    """The rules file, read; `key_variable` names the fixed key, if one is configured."""

    path: Path
    rules: tuple[Rule, ...]
    key_variable: str | None


def read_rules(path: Path) -> Rules:
    """Read and check the rules file; every mistake is one line naming the entry."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RefreshError(f"anonymisation rules {path} do not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RefreshError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"key", "columns"})
    if unknown:
        raise RefreshError(f"{path}: unknown section [{unknown[0]}]")
    columns = data.get("columns", {})
    if not isinstance(columns, dict) or not columns:
        raise RefreshError(f"{path}: [columns] must list the personal columns")
    rules = []
    for name, method in columns.items():
        parts = name.split(".")
        if len(parts) not in (2, 3) or not all(parts):
            raise RefreshError(f"{path}: {name!r} must be table.column or table.column.key")
        if method not in METHODS:
            raise RefreshError(f"{path}: {name} = {method!r}: the method is one of {METHODS}")
        rules.append(Rule(parts[0], parts[1], parts[2] if len(parts) == 3 else None, method))
    key = data.get("key", {})
    variable = key.get("env") if isinstance(key, dict) else None
    if variable is not None and (not isinstance(variable, str) or not variable):
        raise RefreshError(f"{path}: key.env must name an environment variable")
    return Rules(path, tuple(rules), variable)


def hmac_key(rules: Rules) -> tuple[bytes, str]:
    """(the key, where it came from): the configured variable, or a fresh random key."""
    if rules.key_variable is None:
        return secrets.token_bytes(32), "random, for this refresh only"
    value = os.environ.get(rules.key_variable)
    if not value:
        raise RefreshError(
            f"{rules.path} takes the key from {rules.key_variable}, which is not set; set it "
            "(or remove key.env for a random key per refresh)"
        )
    return value.encode(), f"from {rules.key_variable}"


def pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's (inner, outer) padded keys for SHA-256 (RFC 2104)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym_sql(value: sql.Composable) -> sql.Composable:
    """SQL for the pseudonym of the text `value`, given %(inner)s and %(outer)s parameters."""
    digest = sql.SQL(
        "encode(sha256(%(outer)s || sha256(%(inner)s || convert_to({}, 'UTF8'))), 'hex')"
    ).format(value)
    return sql.SQL("'anon-' || left({}, 16)").format(digest)


def apply_rules(conn: Connection, rules: Rules, key: bytes) -> dict[str, int]:
    """Apply every rule in the caller's transaction; {rule: rows changed}."""
    inner, outer = pads(key)
    changed = {}
    with conn.cursor() as cur:
        for rule in rules.rules:
            statement = _statement(cur, rule)
            cur.execute(statement, {"inner": inner, "outer": outer, "key": rule.key})
            changed[rule.label] = cur.rowcount
    return changed


def _statement(cur: Cursor, rule: Rule) -> sql.Composed:
    data_type = _column_type(cur, rule)
    table, column = sql.Identifier(rule.table), sql.Identifier(rule.column)
    if rule.key is not None:
        if data_type != "jsonb":
            raise RefreshError(f"anonymising {rule.label}: {rule.column} is {data_type}, not jsonb")
        value = sql.SQL("{} ->> %(key)s").format(column)
        replacement = {
            "hmac": sql.SQL("to_jsonb({})").format(pseudonym_sql(value)),
            "email": sql.SQL("to_jsonb({} || '@example.invalid')").format(pseudonym_sql(value)),
            "null": sql.SQL("'null'::jsonb"),
            "blank": sql.SQL("'\"\"'::jsonb"),
        }[rule.method]
        return sql.SQL(
            "UPDATE {table} SET {column} = jsonb_set({column}, ARRAY[%(key)s], {new}) "
            "WHERE jsonb_typeof({column}) = 'object' AND {column} ? %(key)s "
            "AND {column} -> %(key)s <> 'null'::jsonb"
        ).format(table=table, column=column, new=replacement)
    if rule.method in ("hmac", "email") and data_type not in _TEXT_TYPES:
        raise RefreshError(f"anonymising {rule.label}: {rule.method} needs text, not {data_type}")
    value = sql.SQL("{}::text").format(column)
    replacement = {
        "hmac": pseudonym_sql(value),
        "email": sql.SQL("{} || '@example.invalid'").format(pseudonym_sql(value)),
        "null": sql.SQL("NULL"),
        "blank": sql.SQL("'{}'::jsonb" if data_type in ("json", "jsonb") else "''"),
    }[rule.method]
    return sql.SQL("UPDATE {table} SET {column} = {new} WHERE {column} IS NOT NULL").format(
        table=table, column=column, new=replacement
    )


def _column_type(cur: Cursor, rule: Rule) -> str:
    cur.execute(
        "SELECT data_type, udt_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
        (rule.table, rule.column),
    )
    row = cur.fetchone()
    if row is None:
        raise RefreshError(
            f"anonymisation rule {rule.label}: there is no column {rule.table}.{rule.column} in "
            "the copy; fix the rules file before refreshing"
        )
    data_type, udt = row
    return udt if data_type == "USER-DEFINED" else data_type
