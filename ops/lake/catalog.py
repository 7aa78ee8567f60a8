"""The catalog side of `lake.check`: every stored file's size and sha256, fetched fast.

100,000 rows through a cursor cost one Python tuple and three objects per row; `COPY … TO
STDOUT` hands over one text block that is split with a few string operations, all in C.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import NamedTuple

from common.db import connection
from common.environments import Environment
from common.errors import DatabaseError
from common.sql import query

NULL = "\\N"  # how COPY's text format writes NULL


class Catalog(NamedTuple):
    """The catalog's stored files as two dicts keyed alike: {key: size}, {key: sha256}."""

    sizes: dict[str, int | None]
    sha256s: dict[str, str | None]

    @classmethod
    def of(cls, rows: Mapping[str, tuple[int | None, str | None]]) -> Catalog:
        """From {key: (size, sha256)}, the shape callers and tests write by hand."""
        return cls(
            {key: row[0] for key, row in rows.items()}, {key: row[1] for key, row in rows.items()}
        )

    def rows(self) -> dict[str, tuple[int | None, str | None]]:
        return {key: (size, self.sha256s[key]) for key, size in self.sizes.items()}


def catalog_files(env: Environment, *, checksums: bool = True) -> Catalog:
    """Size and sha256 of every file the catalog says is stored (sha256 None for all when
    `checksums` is false: a size-only check need not fetch 64 characters a row)."""
    with connection(env) as conn, conn.cursor() as cur:
        text = io.StringIO()
        name = "copy_stored_files" if checksums else "copy_stored_sizes"
        cur.copy_expert(query(__file__, "lake.sql", name), text)
        catalog = parse_copy_text(text.getvalue())
        if catalog is None:  # an escaped character somewhere: let the driver decode rows
            cur.execute(query(__file__, "lake.sql", "stored_files"))
            catalog = Catalog.of({key: (size, sha) for key, size, sha in cur.fetchall()})
        return catalog


def parse_copy_text(text: str) -> Catalog | None:
    """Rows of `key<TAB>size<TAB>sha256<NL>` as a Catalog; None when a value holds a COPY
    escape (a backslash other than NULL's), which plain splitting would get wrong."""
    if "\\" in text and "\\" in text.replace(NULL, ""):
        return None
    fields = text.replace("\n", "\t").split("\t")
    fields.pop()  # the empty string after the last newline (or of an empty result)
    keys, sizes, sums = fields[0::3], fields[1::3], fields[2::3]
    if not len(keys) == len(sizes) == len(sums):
        raise DatabaseError("the catalog's COPY output is malformed; run the check again")
    numbers = (
        [None if size == NULL else int(size) for size in sizes]
        if NULL in sizes
        else list(map(int, sizes))
    )
    checksums = [None if value == NULL else value for value in sums] if NULL in sums else sums
    return Catalog(dict(zip(keys, numbers, strict=True)), dict(zip(keys, checksums, strict=True)))
