"""Subjects as integer codes: how the reader and the checks after it tell subjects apart
without grouping or joining on the identifiers' text (3M records at 100k subjects)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Subjects:
    """The subjects of a table, as :func:`subject_codes` numbers them."""

    #: each record's subject: a dense code (UInt32), null where ``subject_id`` is null
    codes: pl.Series
    #: the distinct identifiers (text, as written), the one of code i at position i
    ids: pl.Series

    @property
    def count(self) -> int:
        return self.ids.len()


def by_code(codes: pl.Series, values: pl.Series, count: int) -> pl.Series:
    """A per-subject table column: ``values`` placed at their subjects' ``codes`` among ``count``
    subjects (row ``c`` for code ``c``; null for a subject without a value). Records reach their
    subject's value by a gather of their code, with no join or group-by of every record."""
    return pl.repeat(None, count, dtype=values.dtype, eager=True).scatter(codes, values)


def subject_codes(subject_id: pl.Series) -> Subjects:
    """Number the subjects of a ``subject_id`` column (text) 0..k-1.

    When each subject's records are together (a file sorted by subject, the usual order of an
    export), a subject is a run of equal identifiers: the codes count the runs in file order,
    flagged sorted (polars then groups by them without hashing), and only the first identifier
    of each run is looked at. Otherwise the runs' identifiers are coded through a Categorical."""
    runs = subject_id.rle_id().alias("_sid")  # a run: records in a row with one identifier (or none)
    starts = runs.ne_missing(runs.shift(1))
    firsts = pl.select(pl.lit(subject_id).filter(pl.lit(starts))).to_series()  # (lazily: no copy of the column)
    # (a file in another order, by date say, has about as many runs as records: no need to look)
    together = 2 * firsts.len() <= max(subject_id.len(), 2)
    if together and firsts.null_count() == 0 and firsts.n_unique() == firsts.len():
        return Subjects(codes=runs.set_sorted(), ids=firsts.rechunk())
    categories = pl.Categories.random()
    coded = firsts.cast(pl.Categorical(categories))  # codes 0 .. k-1 in the categories' order
    # (the categories hold their texts only while a column of theirs lives: read them first)
    ids = categories.to_series().cast(pl.String).rechunk()
    return Subjects(codes=coded.to_physical().gather(runs).alias("_sid"), ids=ids)
