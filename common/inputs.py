"""What text from people and sources may look like before anything acts on it or shows it.

Input reaches Refinery from argv, sample sheets, folder names, archive reports and the
database. All of it is checked here the same way: ASCII-only patterns (Python's `\\d` and
`str.isdigit()` accept Arabic-Indic, superscript and other Unicode digits), bounded lengths,
no NUL or control characters, and valid UTF-8 (argv and file names with undecodable bytes
arrive as lone surrogates, which PostgreSQL and strict output streams refuse). Messages about
a bad value quote a short excerpt of it, never all of it.

`displayable` is the other direction: any text about to reach a terminal or a one-line error,
with control characters (terminal escape sequences, bidirectional overrides) and undecodable
bytes made visible as escapes instead of acted upon.
"""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import Any

from common.errors import ValidationError

# Longest free text (notes, reasons) accepted from a person; ids are much shorter.
MAX_TEXT_LENGTH = 1000
MAX_ID_LENGTH = 100
# Linux's PATH_MAX: a longer path can name nothing.
MAX_PATH_LENGTH = 4096
# Numbers given on the command line: counts, seconds, ids. None is negative; none is huge.
MAX_NUMBER = 1_000_000_000
# The largest id a bigint column holds (job ids, catalog ids).
MAX_BIGINT = 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})", re.ASCII)
# Bidirectional controls reorder what a terminal shows (a name can appear to be another).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _hidden(char: str, *, keep_newlines: bool) -> bool:
    if keep_newlines and char in "\n\t":
        return False
    category = unicodedata.category(char)
    return category in ("Cc", "Cs") or char in _BIDI_CONTROLS


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape carries it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def displayable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control characters, bidi overrides and undecodable bytes as escapes."""
    if text.isprintable() and not (set(text) & _BIDI_CONTROLS):
        return text
    return "".join(
        _escape(char) if _hidden(char, keep_newlines=keep_newlines) else char for char in text
    )


def excerpt(value: object, limit: int = 40, *, at: int = 0) -> str:
    """A short, quoted, displayable rendering of `value` for an error message; a long value
    is cut to about `limit` characters around position `at` (where the problem is)."""
    text = value if isinstance(value, str) else str(value)
    shown = displayable(text)
    if len(shown) <= limit:
        return repr(shown) if shown == text else f"'{shown}'"
    start = max(0, at - limit // 2)
    part = displayable(text[start : start + limit])
    before, after = ("…" if start else ""), ("…" if start + limit < len(text) else "")
    return f"'{before}{part}{after}' ({len(text):,} characters)"


def user_path(value: str, what: str) -> Path:
    """`value` as a path with `~` expanded; `~name` of no such user is a one-line error."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        raise ValidationError(f"{what} {shown(value)}: no such user's home folder") from None


def shown(value: str, limit: int = 200) -> str:
    """`value` as it is when it is short and printable (a file name in a message reads as
    typed), else its `excerpt`."""
    return value if len(value) <= limit and value.isprintable() else excerpt(value, limit)


def check_text(
    value: object,
    what: str,
    *,
    max_length: int = MAX_TEXT_LENGTH,
    required: bool = False,
    allow_newlines: bool = False,
) -> str:
    """`value` as text that can be stored and shown: valid UTF-8, no NUL or control
    characters (tabs and, when allowed, newlines excepted), at most `max_length` long."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    if required and not value.strip():
        raise ValidationError(f"{what} is empty")
    if len(value) > max_length:
        raise ValidationError(
            f"{what} is too long ({len(value):,} characters, at most {max_length:,}): "
            f"{excerpt(value)}"
        )
    for index, char in enumerate(value):
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise ValidationError(f"{what} is not valid UTF-8: {excerpt(value, at=index)}")
        if char == "\x00":
            raise ValidationError(f"{what} contains a NUL byte: {excerpt(value, at=index)}")
        if char in "\t" or (allow_newlines and char in "\r\n"):
            continue
        if _hidden(char, keep_newlines=False):
            raise ValidationError(
                f"{what} contains a control character ({_escape(char)}): {excerpt(value, at=index)}"
            )
    return value


def check_identifier(
    value: object,
    what: str,
    pattern: re.Pattern[str],
    *,
    hint: str,
    max_length: int = MAX_ID_LENGTH,
) -> str:
    """`value` when the whole of it matches the ASCII `pattern` and is at most `max_length`
    long; otherwise a ValidationError: `what`, an excerpt of the value, then `hint` (what it
    may hold, e.g. "may only hold letters and digits")."""
    text = check_text(value, what, max_length=max_length, required=True)
    if not text.isascii() or not pattern.fullmatch(text):
        raise ValidationError(f"{what} {excerpt(text)} {hint}")
    return text


def is_digits(text: str) -> bool:
    """Whether `text` is one or more ASCII digits (`str.isdigit()` also says yes to `２`, `²`
    and `٣`, which `int()` then reads as numbers)."""
    return bool(text) and text.isascii() and text.isdigit()


def parse_int(value: object, what: str, *, minimum: int = 0, maximum: int = MAX_NUMBER) -> int:
    """A whole number written in ASCII digits, within [minimum, maximum]."""
    if isinstance(value, bool):
        raise ValidationError(f"{what} must be a whole number")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not _INTEGER.fullmatch(text):
            raise ValidationError(f"{what} must be a whole number, not {excerpt(text)}")
        if len(text.lstrip("+-")) > len(str(maximum)) + 1:  # never convert a huge string
            raise ValidationError(f"{what} must be at most {_shown(maximum)}, not {excerpt(text)}")
        number = int(text)
    return _within(number, what, minimum, maximum)


def increasing_counts(text: str, option: str) -> tuple[int, ...]:
    """`100,1000,5000` (digits, `_` allowed between them) as increasing positive numbers, for a
    benchmark's sizes; a ValidationError naming `option` otherwise."""
    parts = [part.strip().replace("_", "") for part in str(text).split(",") if part.strip()]
    if not parts or not all(is_digits(part) and len(part) <= 12 for part in parts):
        raise ValidationError(f"{option} takes whole numbers separated by commas, not {text!r}")
    counts = tuple(int(part) for part in parts)
    if counts[0] < 1 or list(counts) != sorted(set(counts)):
        raise ValidationError(f"{option} takes increasing positive numbers, not {text!r}")
    return counts


def parse_float(
    value: object, what: str, *, minimum: float = 0, maximum: float = MAX_NUMBER
) -> float:
    """A decimal number written in ASCII (no exponent, NaN or infinity), within bounds."""
    if isinstance(value, bool):
        raise ValidationError(f"{what} must be a number")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise ValidationError(f"{what} must be a finite number")
    else:
        text = str(value).strip()
        if not _DECIMAL.fullmatch(text):
            raise ValidationError(f"{what} must be a number, not {excerpt(text)}")
        number = float(text)
    return _within(number, what, minimum, maximum)


def _within(number: Any, what: str, minimum: float, maximum: float) -> Any:
    if number < minimum:
        raise ValidationError(f"{what} must be at least {_shown(minimum)}, not {_shown(number)}")
    if number > maximum:
        raise ValidationError(f"{what} must be at most {_shown(maximum)}, not {_shown(number)}")
    return number


def _shown(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)
