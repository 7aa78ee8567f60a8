"""A person's search text becomes engine syntax made only of words, phrases, `OR` and `-`."""

from __future__ import annotations

import pytest

from common.errors import ValidationError
from common.search.query import checked_filters, engine_query


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Kidney Glioma", "kidney glioma"),
        ('"planted project" 2', '"planted project" 2'),
        ("liver or kidney", "liver OR kidney"),
        ("or liver or", "liver"),
        ("glioma -kidney", "glioma -kidney"),
        ('-"two words"', '-"two words"'),
        ("tissue:kidney", '"tissue kidney"'),
        ("title:* AND (x", "title x"),
        ("blood of the mouse", "blood mouse"),
        ('"blood of mouse"', '"blood of mouse"'),
        ("GSE-12_3", '"gse 12 3"'),
        ('*** ::: ""', ""),
        ("", ""),
    ],
)
def test_search_text_reaches_the_engine_as_words_only(text, query):
    assert engine_query(text) == query


def test_field_names_and_operators_typed_by_a_person_stay_words():
    query = engine_query("key:sample:1 entity:project NOT x AND y OR z")
    assert ":" not in query and "NOT" not in query and "AND" not in query
    assert query.endswith("OR z")


@pytest.mark.parametrize(
    ("text", "filters", "message"),
    [
        ("x" * 201, None, "at most 200 characters"),
        ("x", {"colour": "red"}, "unknown facet 'colour'"),
        ("x", {"entity": "planet"}, "unknown entity 'planet'"),
    ],
)
def test_bad_questions_are_refused_before_the_index_is_opened(text, filters, message):
    with pytest.raises(ValidationError, match=message):
        checked_filters(text, filters)


def test_empty_filters_are_ignored():
    assert checked_filters("x", {"tissue": "", "entity": "sample"}) == {"entity": "sample"}
