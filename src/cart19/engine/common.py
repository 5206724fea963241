"""Building blocks every endpoint shares (endpoints.md, "Common conventions").

Pure functions over the canonical events frame (:mod:`cart19.schema`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class CutoffResult:
    events: pl.DataFrame
    #: records dated after the cutoff, set aside
    set_aside: int
    #: AE end dates after the cutoff, made ongoing (unknown at the cutoff)
    end_dates_cleared: int


def date_flag(date_imputed: pl.Expr | None = None, month_imputed: pl.Expr | None = None) -> pl.Expr:
    """ADaM's date imputation flag (``*DTF``) of a record's date, from its ``date_imputed`` and
    ``month_imputed`` (:mod:`cart19.schema`; the columns of those names by default): ``"M"`` when
    the month was imputed too (an AE onset given as a year alone), ``"D"`` when only the day was
    (``YYYY-MM``), else null."""
    day = pl.col("date_imputed") if date_imputed is None else date_imputed
    month = pl.col("month_imputed") if month_imputed is None else month_imputed
    return pl.when(month).then(pl.lit("M")).when(day).then(pl.lit("D")).otherwise(pl.lit(None, pl.String()))


def apply_cutoff(events: pl.DataFrame, cutoff: dt.date | None) -> CutoffResult:
    """"Data cutoff: every record dated after it is set aside before anything is derived,
    and counted in a warning."

    An AE that started on or before the cutoff but ended after it is kept as ongoing at the
    cutoff (its end is not yet known on that date).
    """
    if cutoff is None:
        return CutoffResult(events, 0, 0)
    keep = pl.col("date") <= pl.lit(cutoff)
    kept = events.filter(keep)
    late_end = pl.col("end_date") > pl.lit(cutoff)
    cleared = kept.select(late_end.fill_null(False).sum()).item()
    kept = kept.with_columns(pl.when(late_end).then(None).otherwise(pl.col("end_date")).alias("end_date"))
    return CutoffResult(kept, events.height - kept.height, int(cleared))


def first_event(events: pl.DataFrame, kind: str, *, name: str, key: str = "subject_id") -> pl.DataFrame:
    """Per subject, the earliest record of ``kind``: ``{key}, {name}_date, {name}_line``.

    Ties on the date are broken by the input line, so the choice is defined. ``key``: the column
    telling subjects apart (``subject_id``, or the reader's integer codes, cart19.io.subjects).
    """
    return (
        events.filter(pl.col("event") == kind)
        .sort(key, "date", "line")
        .group_by(key, maintain_order=True)
        .first()
        .select(key, pl.col("date").alias(f"{name}_date"), pl.col("line").alias(f"{name}_line"))
    )


def treated_subjects(events: pl.DataFrame, *, key: str = "subject_id") -> pl.DataFrame:
    """"Origin: the infusion date, study day 0. Subjects without an infusion are outside the
    treated (safety) set." -> ``{key}, infusion_date, infusion_line``, sorted by subject."""
    return first_event(events, "infusion", name="infusion", key=key).sort(key)


def subject_counts(subject_codes: pl.Series | None = None) -> tuple[pl.Expr, pl.Expr]:
    """Expressions for the number of subjects with records and of those infused (the treated).
    ``subject_codes``: an integer per record, equal for equal ``subject_id`` (the reader's
    numbering, :mod:`cart19.io.subjects`), only makes them faster."""
    subject = pl.col("subject_id") if subject_codes is None else pl.lit(subject_codes)
    return subject.n_unique(), subject.filter(pl.col("event") == "infusion").n_unique()


def last_record_date(events: pl.DataFrame, *, key: str = "subject_id") -> pl.DataFrame:
    """Per subject, the latest date of any record, AE end dates included:
    ``{key}, last_date`` (``key`` as :func:`first_event` takes it)."""
    return events.group_by(key).agg(
        pl.max_horizontal(pl.col("date").max(), pl.col("end_date").max()).alias("last_date")
    )
