"""The schema diagram: tables, columns and foreign keys read from the live catalog.

The diagram is made from `pg_catalog` of a migrated database, not from the SQL files, so it
shows what the migrations really produce. Tables are grouped by area, and an area is the
migration that created the table (`0002_jobs.sql` → "jobs"), so a new migration brings its
own group without anyone keeping a list. The DOT text is deterministic (sorted, no
timestamps): the copy kept in `docs/schema.dot` is compared with a fresh one by a test, and
Graphviz's `dot` renders it to SVG or PDF.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import CommandError, RefineryError, ValidationError
from common.shell import run_command
from common.sql import query

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

FORMATS = ("dot", "svg", "pdf")
COMMITTED_DIAGRAM = Path(__file__).resolve().parents[2] / "docs" / "schema.dot"
_CREATE_TABLE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:public\.)?\"?([a-z_][a-z0-9_]*)", re.I
)
_OTHER_AREA = "schema bookkeeping"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    primary_key: bool


@dataclass(frozen=True)
class ForeignKey:
    table: str
    columns: tuple[str, ...]
    referenced_table: str
    referenced_columns: tuple[str, ...]


def table_areas() -> dict[str, str]:
    """Table name → the area (migration name) that created it."""
    from foreman.migrations import all_migrations

    areas: dict[str, str] = {}
    for migration in all_migrations():
        area = migration.name.split("_", 1)[-1].replace("_", " ")
        for name in _CREATE_TABLE.findall(migration.sql):
            areas.setdefault(name.lower(), area)
    return areas


def _rows(conn: Connection, name: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query(__file__, "schema_diagram.sql", name))
        return cur.fetchall()


def schema_dot(conn: Connection) -> str:
    """The DOT text of the database's public schema, grouped by area."""
    columns: dict[str, list[Column]] = defaultdict(list)
    for table, name, type_, not_null, primary_key in _rows(conn, "diagram_columns"):
        columns[table].append(Column(name, type_, not_null, primary_key))
    tables = [row[0] for row in _rows(conn, "diagram_tables")]
    keys = [
        ForeignKey(table, tuple(cols), referenced, tuple(referenced_cols))
        for table, referenced, cols, referenced_cols in _rows(conn, "diagram_foreign_keys")
    ]
    areas = table_areas()
    grouped: dict[str, list[str]] = defaultdict(list)
    for table in tables:
        grouped[areas.get(table, _OTHER_AREA)].append(table)
    lines = [
        "digraph schema {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12];',
        '  node [shape=plaintext, fontname="Helvetica", fontsize=10];',
        '  edge [arrowhead=crow, arrowtail=none, color="#555555"];',
    ]
    for index, area in enumerate(sorted(grouped)):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f'    label="{area}"; style=rounded; color="#999999";')
        for table in grouped[area]:
            lines.append(f"    {table} [label=<{_table_label(table, columns[table])}>];")
        lines.append("  }")
    for key in keys:
        label = ", ".join(key.columns)
        lines.append(
            f'  {key.table}:"{key.columns[0]}" -> {key.referenced_table}:'
            f'"{key.referenced_columns[0]}" [tooltip="{label}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _table_label(table: str, columns: list[Column]) -> str:
    rows = [f'<TR><TD BGCOLOR="#dde7f0" COLSPAN="2"><B>{escape(table)}</B></TD></TR>']
    for column in columns:
        name = escape(column.name)
        if column.primary_key:
            name = f"<U>{name}</U>"
        type_ = escape(column.type) + ("" if column.not_null else "?")
        rows.append(
            f'<TR><TD ALIGN="LEFT" PORT="{escape(column.name)}">{name}</TD>'
            f'<TD ALIGN="LEFT"><FONT COLOR="#666666">{type_}</FONT></TD></TR>'
        )
    return '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0">' + "".join(rows) + "</TABLE>"


def diagram_target(output: str, fmt: str, default: Path) -> Path | None:
    """Where the diagram goes, checked before anything is read or written: a file (`default`
    when no `--output`), or None for `-` (standard output). A folder is refused: the diagram
    is one file, and Graphviz would otherwise leave a partial file beside the folder."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if output == "-":
        return None
    target = Path(output) if output else default
    if target.is_dir():
        raise ValidationError(
            f"--output {output} is a folder: name the file to write, e.g. "
            f"{Path(output) / ('schema.' + fmt)}"
        )
    return target


def render(dot_text: str, output: Path, fmt: str) -> Path:
    """Write the diagram to `output` in `fmt` (dot as is; svg/pdf through Graphviz), under a
    partial name renamed into place; a failure removes the partial and says in one line what
    failed."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    partial = output.with_name(f".{output.name}.partial")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "dot":
            partial.write_text(dot_text)
        else:
            run_command([_graphviz(), f"-T{fmt}", "-o", partial], input_text=dot_text)
        partial.replace(output)
    except (CommandError, OSError) as exc:
        partial.unlink(missing_ok=True)
        kind = CommandError if isinstance(exc, CommandError) else RefineryError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise kind(f"could not write the {fmt} diagram to {output}: {reason}") from None
    return output


def rendered_bytes(dot_text: str, fmt: str) -> bytes:
    """The diagram in `fmt` as bytes (for `--output -`), written nowhere."""
    if fmt == "dot":
        return dot_text.encode()
    with tempfile.TemporaryDirectory(prefix="refinery-schema-") as folder:
        return render(dot_text, Path(folder) / f"schema.{fmt}", fmt).read_bytes()


def _graphviz() -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise CommandError("Graphviz `dot` is not installed: apt-get install graphviz")
    return dot
