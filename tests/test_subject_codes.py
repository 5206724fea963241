"""The reader numbers subjects (``subject_codes``): every per-subject step downstream groups by
these codes, so equal identifiers must get equal codes, and nothing else may."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cart19.io.subjects import subject_codes

IDS = st.lists(st.one_of(st.none(), st.sampled_from(["S1", "S2", "s1", " S1", "   ", "", "CART19-0001"])), max_size=40)


@settings(max_examples=300, deadline=None)
@given(ids=IDS, grouped=st.booleans())
def test_equal_identifiers_and_only_they_share_a_code(ids, grouped):
    if grouped:  # each subject's records together, as in a file sorted by subject
        ids = sorted(ids, key=lambda i: (i is None, ids.index(i)))
    subjects = subject_codes(pl.Series("subject_id", ids, dtype=pl.String))
    codes = subjects.codes.to_list()
    distinct = {i for i in ids if i is not None}
    assert subjects.count == len(distinct) == len(subjects.ids)
    assert sorted(subjects.ids.to_list()) == sorted(distinct)
    for identifier, code in zip(ids, codes, strict=True):
        if identifier is None:
            assert code is None
        else:
            assert 0 <= code < subjects.count
            assert subjects.ids[code] == identifier


def test_a_file_sorted_by_subject_numbers_its_subjects_in_file_order_flagged_sorted():
    subjects = subject_codes(pl.Series("subject_id", ["B", "B", "A", "C", "C", "C"]))
    assert subjects.codes.to_list() == [0, 0, 1, 2, 2, 2]
    assert subjects.ids.to_list() == ["B", "A", "C"]
    assert subjects.codes.flags["SORTED_ASC"]


def test_a_subject_in_two_places_gets_one_code():
    subjects = subject_codes(pl.Series("subject_id", ["A", "B", "A"]))
    codes = subjects.codes.to_list()
    assert codes[0] == codes[2] != codes[1]
    assert not subjects.codes.flags["SORTED_ASC"]
