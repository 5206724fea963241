"""Vectorised validation of a whole event table (events-format.md, "What is an error").

Every check is one polars expression over the raw text table, so a file of millions of
rows is checked in one pass and every problem is reported, not just the first. The
record-level rules are the same as :class:`cart19.events.Event`'s (a property test holds the
two together); the file-level rules (two infusions, records after death) are here only.
"""

from __future__ import annotations

import polars as pl

from cart19.errors import Issue
from cart19.model import (
    AE_ONLY_COLUMNS,
    EARLIEST_YEAR,
    EVENT_KINDS,
    FULL_DATE_PATTERN,
    GRADE_PATTERN,
    MONTH_DATE_PATTERN,
    PARTIAL_DATE_KINDS,
    RESULTS_BY_KIND,
    STRIP_CHARS,
    YEAR_DATE_PATTERN,
    YES_NO,
)
from cart19.schema import EVENTS_SCHEMA

_TEXT_COLUMNS = ("event", "date", "end_date", "grade", "term", "soc", "serious", "related", "result")


def _clean(name: str) -> pl.Expr:
    """Surrounding white space removed; an empty cell is a missing value."""
    stripped = pl.col(name).str.strip_chars(STRIP_CHARS)
    return pl.when(stripped != "").then(stripped).alias(name)


#: A row with nothing in any cell of the format (after trimming): skipped with a warning.
_BLANK = pl.col("_no_subject") & pl.all_horizontal(pl.col(list(_TEXT_COLUMNS)).is_null())


def _date_parts(name: str) -> list[pl.Expr]:
    """For a date column: its form (full/month/year/bad/missing), its earliest and latest
    possible day (null unless the form is full or month and the date is real)."""
    value = pl.col(name)
    full = value.str.contains(FULL_DATE_PATTERN)
    month = value.str.contains(MONTH_DATE_PATTERN)
    year = value.str.contains(YEAR_DATE_PATTERN)
    # one parse for both forms: a month is read as its first day
    low = pl.when(full).then(value).when(month).then(value + "-01").str.to_date("%Y-%m-%d", strict=False)
    high = pl.when(month).then(low.dt.month_end()).otherwise(low)
    form = (
        pl.when(value.is_null()).then(pl.lit("missing"))
        .when(full).then(pl.lit("full"))
        .when(month).then(pl.lit("month"))
        .when(year).then(pl.lit("year"))
        .otherwise(pl.lit("bad"))
        .cast(_FORMS)
    )  # fmt: skip
    return [form.alias(f"_{name}_form"), low.alias(f"_{name}_lo"), high.alias(f"_{name}_hi")]


_FORMS = pl.Enum(["missing", "full", "month", "year", "bad"])


def _prepare(raw: pl.DataFrame) -> pl.DataFrame:
    """The raw table with trimmed cells and the helper columns every check uses, in one
    (lazy, parallel, common-subexpression-eliminated) pass."""
    stripped = [pl.col(c).str.strip_chars(STRIP_CHARS) for c in _TEXT_COLUMNS]
    no_subject = pl.col("subject_id").str.strip_chars(STRIP_CHARS).str.len_bytes().fill_null(0) == 0
    return (
        raw.lazy()
        .with_columns(*stripped, no_subject.alias("_no_subject"))
        .with_columns([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in _TEXT_COLUMNS])
        .with_columns(pl.col("event").str.to_lowercase().alias("_kind"), *_date_parts("date"), *_date_parts("end_date"))
        .with_columns(_canonical_result().alias("_result"))
        .collect()
    )


def _canonical_result() -> pl.Expr:
    """The canonical spelling of ``result`` for its kind, null where it is not in the list."""
    folded = pl.col("result").str.to_lowercase()
    expr = pl.lit(None, pl.String)
    for kind, allowed in RESULTS_BY_KIND.items():
        mapping = {a.lower(): a for a in allowed}
        expr = pl.when(pl.col("_kind") == kind).then(folded.replace_strict(mapping, default=None)).otherwise(expr)
    return expr


def _record_checks() -> list[tuple[str, pl.Expr, pl.Expr | str]]:
    """(column, condition, message) for every record-level error."""
    kind = pl.col("_kind")
    is_ae = kind == "ae"
    known = kind.is_in(list(EVENT_KINDS))
    date_form = pl.col("_date_form")
    end_form = pl.col("_end_date_form")
    partial_ok = kind.is_in(sorted(PARTIAL_DATE_KINDS))
    kinds_text = ", ".join(EVENT_KINDS)
    has_results = kind.is_in(list(RESULTS_BY_KIND))
    expected_results = pl.lit("")
    for k, allowed in RESULTS_BY_KIND.items():
        expected_results = pl.when(kind == k).then(pl.lit(", ".join(allowed))).otherwise(expected_results)
    checks: list[tuple[str, pl.Expr, pl.Expr | str]] = [
        ("subject_id", pl.col("_no_subject"), "subject_id is missing; every row needs the patient's identifier"),
        ("event", pl.col("event").is_null(), f"event is missing; expected one of: {kinds_text}"),
        ("event", pl.col("event").is_not_null() & ~known, f"unknown event; expected one of: {kinds_text}"),
        ("date", date_form == "missing", "date is missing; expected YYYY-MM-DD"),
        ("date", date_form == "bad", "not a date; expected YYYY-MM-DD"),
        ("date", (date_form == "full") & pl.col("_date_lo").is_null(), "not a real calendar date"),
        ("date", (date_form == "month") & pl.col("_date_lo").is_null(), "not a real month; expected YYYY-MM"),
        ("date", (date_form == "month") & known & ~partial_ok & pl.col("_date_lo").is_not_null(),
         pl.format("a partial date (YYYY-MM) is not allowed for {}; give the full date YYYY-MM-DD", kind)),
        ("date", date_form == "year",
         "a year alone is not a date the format accepts; give YYYY-MM-DD (ae and death also allow YYYY-MM)"),
        ("date", pl.col("_date_lo").dt.year() < EARLIEST_YEAR, f"a date before {EARLIEST_YEAR}"),
        ("end_date", is_ae & end_form.is_in(["bad", "year", "month"]),
         "not a date; end_date must be a full date YYYY-MM-DD (or empty while the AE is ongoing)"),
        ("end_date", is_ae & (end_form == "full") & pl.col("_end_date_lo").is_null(), "not a real calendar date"),
        ("end_date", is_ae & (pl.col("_end_date_lo").dt.year() < EARLIEST_YEAR), f"a date before {EARLIEST_YEAR}"),
        ("end_date", is_ae & (pl.col("_end_date_lo") < pl.col("_date_lo")),
         pl.format("end_date is before the AE's date {}", pl.col("date"))),
        ("grade", is_ae & pl.col("grade").is_null(), "grade is missing; an ae needs its CTCAE grade 1-5"),
        ("grade", is_ae & pl.col("grade").is_not_null() & ~pl.col("grade").str.contains(GRADE_PATTERN),
         "grade must be a whole number from 1 to 5 (CTCAE v5.0)"),
        ("term", is_ae & pl.col("term").is_null(), "term is missing; an ae needs its preferred term"),
        ("result", has_results & pl.col("result").is_null(),
         pl.format("result is missing; {} needs one of: {}", kind, expected_results)),
        ("result", has_results & pl.col("result").is_not_null() & pl.col("_result").is_null(),
         pl.format("not a result for {}; expected one of: {}", kind, expected_results)),
    ]
    for flag in ("serious", "related"):
        checks.append(
            (flag, is_ae & pl.col(flag).is_not_null() & ~pl.col(flag).str.to_uppercase().is_in(list(YES_NO)),
             f"{flag} must be Y or N (or empty when unknown)")
        )  # fmt: skip
    return checks


def _issues_where(frame: pl.DataFrame, column: str, condition: pl.Expr, message: pl.Expr | str) -> pl.DataFrame:
    message_expr = pl.lit(message) if isinstance(message, str) else message
    return frame.filter(condition.fill_null(False)).select(
        pl.col("line"),
        pl.lit(column).alias("column"),
        pl.col(column).alias("value"),
        message_expr.cast(pl.String).alias("message"),
    )


def _file_checks(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Rules across records of one subject: once-only events and records after death."""
    valid = frame.filter(
        ~pl.col("_no_subject") & pl.col("_kind").is_in(list(EVENT_KINDS)) & pl.col("_date_lo").is_not_null()
    )
    found: list[pl.DataFrame] = []
    for kind in ("infusion", "death"):
        rows = valid.filter(pl.col("_kind") == kind).sort("subject_id", "_date_lo", "line")
        ranked = rows.with_columns(
            pl.col("line").first().over("subject_id").alias("_first_line"),
            pl.int_range(pl.len()).over("subject_id").alias("_rank"),
        )
        found.append(
            _issues_where(ranked, "event", pl.col("_rank") > 0,
                          pl.format(f"a second {kind} for subject {{}} (the first is on line {{}}); "
                                    f"a subject has at most one {kind}", pl.col("subject_id"), pl.col("_first_line")))
        )  # fmt: skip
    deaths = (
        valid.filter(pl.col("_kind") == "death")
        .sort("subject_id", "_date_lo", "line")
        .group_by("subject_id", maintain_order=True)
        .first()
        .select("subject_id", pl.col("_date_hi").alias("_death_hi"), pl.col("date").alias("_death_date"),
                pl.col("line").alias("_death_line"))
    )  # fmt: skip
    if deaths.height:
        # other death rows are reported as "a second death" already
        joined = valid.join(deaths, on="subject_id", how="inner").filter(pl.col("_kind") != "death")
        after = pl.format("dated after the subject's death ({} on line {})", pl.col("_death_date"), pl.col("_death_line"))
        found.append(_issues_where(joined, "date", pl.col("_date_lo") > pl.col("_death_hi"), after))
        found.append(
            _issues_where(joined, "end_date", (pl.col("_kind") == "ae") & (pl.col("_end_date_lo") > pl.col("_death_hi")),
                          pl.format("the AE ends after the subject's death ({} on line {}); it may end on the "
                                    "death date at the latest", pl.col("_death_date"), pl.col("_death_line")))
        )  # fmt: skip
    return found


def _warnings(frame: pl.DataFrame) -> list[Issue]:
    """Values that the format ignores: said once per column, with a count and the first line."""
    warnings: list[Issue] = []
    not_ae = (pl.col("_kind") != "ae") & pl.col("_kind").is_in(list(EVENT_KINDS))
    ignored = [(c, not_ae, f"{c} is for ae rows only") for c in AE_ONLY_COLUMNS]
    no_result = pl.col("_kind").is_in([k for k in EVENT_KINDS if k not in RESULTS_BY_KIND])
    ignored.append(("result", no_result, "result is only for assessment, relapse and death rows"))
    counts = frame.select(
        pl.concat_list(
            (where & pl.col(column).is_not_null()).fill_null(False).sum(),
            pl.col("line").filter(where & pl.col(column).is_not_null()).min(),
        ).alias(column)
        for column, where, _ in ignored
    )
    for column, _, text in ignored:
        count, first = counts[column][0]
        if count:
            warnings.append(Issue(first, column, None, f"{text}: given on {count} other row(s), ignored", "warning"))
    blank = frame.select(_BLANK.sum(), pl.col("line").filter(_BLANK).min()).row(0)
    if blank[0]:
        warnings.append(Issue(blank[1], None, None, f"{blank[0]} blank row(s) skipped", "warning"))
    return warnings


def _impute(events: pl.DataFrame) -> pl.DataFrame:
    """events-format.md: "an AE onset YYYY-MM becomes the first day of the month, or the
    infusion date when that month holds the infusion ...; a death YYYY-MM becomes the first
    day of the month, or the subject's last other dated record if that is later. Every
    imputed date carries the flag D."

    An AE imputed to the infusion date that ended earlier is placed on its end date (an onset
    cannot follow the resolution).
    """
    if not events.select(pl.col("date_imputed").any()).item():
        return events
    infusion = (
        events.filter(pl.col("event") == "infusion")
        .group_by("subject_id")
        .agg(pl.col("date").min().alias("_infusion"))
    )
    frame = events.join(infusion, on="subject_id", how="left")
    same_month = pl.col("_infusion").dt.truncate("1mo") == pl.col("date")
    ae_date = (
        pl.when(same_month & pl.col("_infusion").is_not_null())
        .then(pl.min_horizontal("_infusion", pl.col("end_date").fill_null(pl.col("_infusion"))))
        .otherwise(pl.col("date"))
    )
    frame = frame.with_columns(
        pl.when((pl.col("event") == "ae") & pl.col("date_imputed")).then(ae_date).otherwise(pl.col("date")).alias("date")
    )
    is_partial_death = (pl.col("event") == "death") & pl.col("date_imputed")
    others = pl.when(~is_partial_death).then(pl.max_horizontal("date", "end_date"))
    frame = frame.with_columns(others.max().over("subject_id").alias("_last_other"))
    frame = frame.with_columns(
        pl.when(is_partial_death & (pl.col("_last_other") > pl.col("date")))
        .then(pl.col("_last_other"))
        .otherwise(pl.col("date"))
        .alias("date")
    )
    return frame.select(events.columns)


def validate_raw(raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Issue]]:
    """Check a raw text table (``line`` + the format's columns) and build the canonical frame.

    Returns ``(events, issues)``; ``events`` is meaningful only when no issue is an error.
    """
    frame = _prepare(raw)
    rows = frame.filter(~_BLANK)
    checks = _record_checks()
    # one parallel pass says which checks fire; only those are turned into issues
    fired = rows.select([condition.fill_null(False).any().alias(str(i)) for i, (_, condition, _) in enumerate(checks)])
    found = [
        _issues_where(rows, column, condition, message)
        for (column, condition, message), hit in zip(checks, fired.row(0), strict=True)
        if hit
    ]
    found.extend(_file_checks(rows))
    issue_frame = pl.concat(found, how="vertical").sort("line", "column", "message")
    issues = [Issue(line, column, value, message) for line, column, value, message in issue_frame.iter_rows()]
    warnings = _warnings(frame)
    if issues:
        return pl.DataFrame(schema=EVENTS_SCHEMA), warnings + issues
    events = rows.select(
        pl.col("line"),
        pl.col("subject_id"),
        pl.col("_kind").alias("event"),
        pl.col("_date_lo").alias("date"),
        (pl.col("_date_form") == "month").alias("date_imputed"),
        pl.when(pl.col("_kind") == "ae").then(pl.col("_end_date_lo")).alias("end_date"),
        pl.when(pl.col("_kind") == "ae").then(pl.col("grade").cast(pl.Int8, strict=False)).alias("grade"),
        pl.when(pl.col("_kind") == "ae").then(pl.col("term")).alias("term"),
        pl.when(pl.col("_kind") == "ae").then(pl.col("soc")).alias("soc"),
        *[
            pl.when(pl.col("_kind") == "ae").then(pl.col(f).str.to_uppercase().replace_strict({"Y": True, "N": False},
                                                                                              default=None,
                                                                                              return_dtype=pl.Boolean)).alias(f)
            for f in ("serious", "related")
        ],
        pl.col("_result").alias("result"),
    )  # fmt: skip
    events = _impute(events.cast(EVENTS_SCHEMA))  # type: ignore[arg-type]
    return events, warnings
