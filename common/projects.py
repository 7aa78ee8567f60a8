"""Projects set up on purpose: a code, a title, an owner, the metadata schema version its
records follow, and counts of what it holds.

Surveys still create a project they have not seen (with an empty owner); `add_project` sets
one up before any data arrives, so a metadata sync or a survey finds it ready. A project is
keyed on (source, code): `delivery` for the sequencing core's and the institution's own
projects, `ena` for public ones.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor

from common.errors import ValidationError
from common.inputs import check_text
from common.sql import query

DEFAULT_SOURCE = "delivery"
SOURCES = ("delivery", "ena")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _sql(name: str) -> str:
    return query(__file__, "projects.sql", name)


@dataclass(frozen=True)
class Project:
    """A project and counts of what it holds."""

    id: int
    source: str
    code: str
    title: str
    owner: str
    schema_version: int
    created_at: datetime
    individuals: int
    samples: int
    experiments: int
    files: int
    analyses: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_code(code: str) -> str:
    text = (code or "").strip()
    if not _CODE.match(text):
        raise ValidationError(
            f"project code {code!r} may only hold letters, digits, . _ - (at most 64)"
        )
    return text


def validate_source(source: str) -> str:
    if source not in SOURCES:
        raise ValidationError(f"project source {source!r} is not one of {', '.join(SOURCES)}")
    return source


# A title is one line people read in tables and pages, not a document.
MAX_TITLE_LENGTH = 200


def add_project(
    conn: Connection,
    code: str,
    *,
    title: str,
    owner: str,
    schema_version: int,
    source: str = DEFAULT_SOURCE,
) -> Project:
    """Create the project (the caller commits); refuses one that exists."""
    code, source = validate_code(code), validate_source(source)
    if not title.strip() or not owner.strip():
        raise ValidationError("a project needs a --title and an --owner")
    title = check_text(title, "the project's title", max_length=MAX_TITLE_LENGTH)
    owner = check_text(owner, "the project's owner", max_length=MAX_TITLE_LENGTH)
    with conn.cursor() as cur:
        cur.execute(
            _sql("insert_project"),
            {
                "source": source,
                "code": code,
                "title": title.strip(),
                "owner": owner.strip(),
                "schema_version": schema_version,
            },
        )
        if cur.fetchone() is None:
            raise ValidationError(
                f"project {code} ({source}) already exists; see inv projects.show"
            )
    return find_project(conn, code, source=source)


def list_projects(
    conn: Connection, *, code: str | None = None, source: str | None = None
) -> list[Project]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_projects"), {"code": code, "source": source})
        return [Project(**row) for row in cur.fetchall()]


def find_project(conn: Connection, code: str, *, source: str | None = None) -> Project:
    """The project `code`; a ValidationError when there is none or the code is ambiguous."""
    found = list_projects(conn, code=validate_code(code), source=source)
    if not found:
        raise ValidationError(f"no project {code}; create it with inv projects.add")
    if len(found) > 1:
        sources = ", ".join(project.source for project in found)
        raise ValidationError(
            f"project {code} exists under several sources ({sources}); name one with --source"
        )
    return found[0]


def project_imports(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_imports"), {"project_id": project_id})
        return [dict(row) for row in cur.fetchall()]


def project_samples(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    """Every sample with its individual and both their merged metadata."""
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(_sql("select_project_samples"), {"project_id": project_id})
        return [dict(row) for row in cur.fetchall()]
