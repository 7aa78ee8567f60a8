"""Hypothesis strategies for input a careless or hostile user gives: rich markup and terminal
escapes, Unicode digits and look-alike letters, undecodable bytes, NUL and control characters,
very long strings, and numbers that are out of range or not numbers at all."""

from __future__ import annotations

import re

from hypothesis import strategies as st

# Markup that rich would interpret (closing tags with nothing open, hyperlinks, styles),
# emoji codes, and what a terminal would act on (OSC 8 hyperlinks, colours, bidi override).
MARKUP = (
    "[/]", "[/link]", "[bold red]", "[link=http://example.invalid]click[/link]", ":warning:",
    "[blink]x[/blink]", "\\[escaped]", "[", "]",
)  # fmt: skip
TERMINAL = (
    "\x1b]8;;http://example.invalid\x1b\\here\x1b]8;;\x1b\\",
    "\x1b[31m",
    "\x1b[2J",
    "\u202e",
)
# Letters that look like the ASCII ones accessions are made of.
LOOK_ALIKES = {"S": "ЅＳ", "R": "ＲᏒ", "E": "ЕＥ", "P": "РＰ", "J": "ЈＪ", "N": "ΝＮ", "A": "АＡ"}

markup_pieces = st.sampled_from(MARKUP)
terminal_pieces = st.sampled_from(TERMINAL)
# Any character but NUL (argv cannot hold it) and surrogates (added on purpose below).
plain_characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
undecodable_bytes = st.integers(0x80, 0xFF).map(lambda b: chr(0xDC00 + b))  # surrogateescape


def markup_text(*, with_terminal: bool = True) -> st.SearchStrategy[str]:
    """Text mixing rich markup (and terminal escapes) with arbitrary characters."""
    pieces = [markup_pieces, st.text(plain_characters, max_size=4)]
    if with_terminal:
        pieces.append(terminal_pieces)
    return st.lists(st.one_of(*pieces), min_size=1, max_size=6).map("".join)


non_ascii_digits = st.characters(categories=("Nd",)).filter(lambda c: not c.isascii())


@st.composite
def unicode_accessions(draw) -> str:
    """An accession with non-ASCII digits and/or look-alike letters (never a valid one)."""
    prefix = draw(st.sampled_from(["SRR", "ERR", "DRR", "SRP", "ERP", "PRJNA", "PRJEB"]))
    if draw(st.booleans()):
        index = draw(st.integers(0, len(prefix) - 1))
        letter = prefix[index]
        if letter in LOOK_ALIKES:
            swap = draw(st.sampled_from(LOOK_ALIKES[letter]))
            prefix = prefix[:index] + swap + prefix[index + 1 :]
    digits = draw(st.lists(st.one_of(non_ascii_digits, st.sampled_from("0123456789")),
                           min_size=6, max_size=12))  # fmt: skip
    if prefix.isascii() and all(d.isascii() for d in digits):
        digits[draw(st.integers(0, len(digits) - 1))] = draw(non_ascii_digits)
    return prefix + "".join(digits)


def long_text(minimum: int = 5_000) -> st.SearchStrategy[str]:
    """Far longer than any id, name or path may be (a 10,000-character accession and such)."""
    return st.builds(
        lambda unit, count: (unit * count)[: max(minimum, count)],
        st.sampled_from(["SRR", "A", "[/]", "ü", "1"]),
        st.integers(minimum, 12_000),
    )


def _invalid_utf8(escaped: str) -> bool:
    """Whether the raw bytes `escaped` stands for are not UTF-8. High bytes drawn one by one
    can spell a valid character: E1 80 80 is U+1000, a legitimate letter."""
    try:
        escaped.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def with_undecodable_bytes(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`base` with invalid UTF-8 inserted (reaches `inv` as raw bytes). Next to whole
    characters, bytes that are invalid on their own stay invalid."""
    return st.builds(
        lambda text, bad, at: text[:at] + bad + text[at:],
        base,
        st.lists(undecodable_bytes, min_size=1, max_size=3).map("".join).filter(_invalid_utf8),
        st.integers(0, 20),
    )


def hostile_text() -> st.SearchStrategy[str]:
    """Any of the above (what a free-text option or positional gets)."""
    return st.one_of(
        markup_text(),
        unicode_accessions(),
        long_text(),
        with_undecodable_bytes(st.text(plain_characters, max_size=10)),
    )


_NUMBER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


def not_a_number_in(low: int, high: int) -> st.SearchStrategy[str]:
    """Text that is not an ASCII number within [low, high]: words, Unicode digits, decimals,
    huge and negative numbers, markup and undecodable bytes."""
    out_of_range = st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1))
    candidates = st.one_of(
        out_of_range.map(str),
        st.integers(10**20, 10**40).map(str),
        st.lists(non_ascii_digits, min_size=1, max_size=4).map("".join),
        st.sampled_from(["abc", "", " ", "1.5", "1e3", "0x10", "nan", "inf", "٣", "²", "Ⅻ"]),
        markup_text(with_terminal=False),
        with_undecodable_bytes(st.sampled_from(["1", "3", ""])),
    )
    return candidates.filter(lambda text: not _within(text, low, high))


def _within(text: str, low: int, high: int) -> bool:
    return bool(_NUMBER.fullmatch(text)) and low <= int(text) <= high
