"""Vectorised validation of a whole event table (events-format.md, "What is an error").

Every check is one polars expression over the raw text table, so a file of millions of
rows is checked in one pass and every problem is reported, not just the first. The
record-level rules are the same as :class:`cart19.events.Event`'s (a property test holds the
two together); the file-level rules (two infusions, records after death) are here only.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cart19.errors import Issue
from cart19.io.subjects import Subjects, by_code, subject_codes
from cart19.model import (
    AE_ONLY_COLUMNS,
    COLUMNS,
    EARLIEST_YEAR,
    INVISIBLE_PATTERN,
    EVENT_KINDS,
    FULL_DATE_PATTERN,
    GRADE_PATTERN,
    MONTH_DATE_PATTERN,
    MRD_KIND,
    MRD_VALUES,
    PARTIAL_DATE_KINDS,
    RESULTS_BY_KIND,
    STRIP_CHARS,
    YEAR_DATE_KINDS,
    YEAR_DATE_PATTERN,
    describe_invisible,
)
from cart19.schema import EVENT_KIND, EVENTS_SCHEMA

_TEXT_COLUMNS = ("event", "date", "end_date", "grade", "term", "soc", "serious", "related", "result", "mrd")


def _clean(name: str) -> pl.Expr:
    """Surrounding white space removed; an empty cell is a missing value."""
    stripped = pl.col(name).str.strip_chars(STRIP_CHARS)
    return pl.when(stripped != "").then(stripped).alias(name)


#: A row with nothing in any cell of the format (after trimming): skipped with a warning.
_BLANK = pl.col("_no_subject") & ~pl.any_horizontal([pl.col(f"_has_{c}") for c in _TEXT_COLUMNS])

#: ``subject_id`` is empty after trimming.
_NO_SUBJECT = pl.col("subject_id").str.strip_chars(STRIP_CHARS).str.len_bytes().fill_null(0) == 0


def _date_parts(name: str) -> list[pl.Expr]:
    """For a date column: its form (full/month/year/bad/missing), its earliest and latest
    possible day (null unless the form is full or month, or for ``date`` year, and the date is
    real)."""
    value = pl.col(name)
    full = value.str.contains(FULL_DATE_PATTERN)
    month = value.str.contains(MONTH_DATE_PATTERN)
    year = value.str.contains(YEAR_DATE_PATTERN)
    # one parse for every form: a month is read as its first day, a year (``date`` only: an
    # ae onset may be YYYY; end_date may not) as 1 January
    low = pl.when(full).then(value).when(month).then(value + "-01")
    if name == "date":
        low = low.when(year).then(value + "-01-01")
    low = low.str.to_date("%Y-%m-%d", strict=False)
    high = pl.when(month).then(low.dt.month_end()).when(year).then(pl.date(low.dt.year(), 12, 31)).otherwise(low)
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

#: ``_kind``: the event kind, lower-cased; null when it is not one of the format's kinds.
_KINDS = EVENT_KIND


def _cell_columns(name: str) -> list[pl.Expr]:
    """What one cell of column ``name`` says on its own, from its trimmed text (null = empty).

    The same text always says the same, so the fast reader (:func:`scan_coded`) computes these
    once per distinct value of a column, and the eager path (:func:`_prepare_lazy`) row by row.
    Every check and the canonical columns read only these (and ``_kind``-dependent row columns,
    :func:`_row_columns`), never the text itself, except in messages."""
    value = pl.col(name)
    has = value.is_not_null().alias(f"_has_{name}")
    if name == "event":
        return [has, value.str.to_lowercase().cast(_KINDS, strict=False).alias("_kind")]
    if name in ("date", "end_date"):
        return [has, *_date_parts(name)]
    if name == "grade":
        return [has, value.str.contains(GRADE_PATTERN).alias("_grade_ok"),
                value.cast(pl.Int8, strict=False).alias("_grade")]  # fmt: skip
    if name in ("serious", "related"):
        return [has, _yes_no(value.str.to_uppercase()).alias(f"_{name}")]
    if name == "result":
        folded = value.str.to_lowercase()
        spellings = [_spelling(folded, allowed).alias(f"_result_{kind}") for kind, allowed in RESULTS_BY_KIND.items()]
        return [has, *spellings]
    if name == "mrd":
        return [has, _spelling(value.str.to_lowercase(), MRD_VALUES).alias("_mrd")]
    return [has, value]  # term, soc: the trimmed text


def _spelling(folded: pl.Expr, allowed: tuple[str, ...]) -> pl.Expr:
    """The canonical spelling in ``allowed`` of a lower-cased value, null where it is none.

    A chain of comparisons, not ``replace_strict``: polars' streaming engine runs a
    ``replace_strict`` next to other columns in memory, on the whole table."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for spelling in allowed:
        expr = expr.when(folded == spelling.lower()).then(pl.lit(spelling))
    return expr.otherwise(pl.lit(None, pl.String))


def _row_columns() -> list[pl.Expr]:
    """Columns that need two cells of a row: ``_result``, the canonical spelling of ``result``
    for the row's kind (null where it is not in the kind's list)."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for kind in RESULTS_BY_KIND:
        expr = expr.when(pl.col("_kind") == kind).then(pl.col(f"_result_{kind}"))
    return [expr.otherwise(pl.lit(None, pl.String)).alias("_result")]


def _prepare_lazy(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The raw table with trimmed cells and the helper columns every check uses, row by row."""
    return (
        raw.with_columns(*[_clean(c) for c in _TEXT_COLUMNS], _NO_SUBJECT.alias("_no_subject"))
        .with_columns([e for c in _TEXT_COLUMNS for e in _cell_columns(c) if e.meta.output_name() != c])
        .with_columns(_row_columns())
    )


def _prepare(raw: pl.DataFrame) -> pl.DataFrame:
    """:func:`_prepare_lazy` in one (lazy, parallel, common-subexpression-eliminated) pass."""
    return _prepare_lazy(raw.lazy()).collect()


def _record_checks() -> list[tuple[str, pl.Expr, pl.Expr | str]]:
    """(column, condition, message) for every record-level error."""
    kind = pl.col("_kind")
    is_ae = kind == "ae"
    known = kind.is_not_null()
    date_form = pl.col("_date_form")
    end_form = pl.col("_end_date_form")
    partial_ok = kind.is_in(sorted(PARTIAL_DATE_KINDS))
    year_ok = kind.is_in(sorted(YEAR_DATE_KINDS))
    kinds_text = ", ".join(EVENT_KINDS)
    has_results = kind.is_in(list(RESULTS_BY_KIND))
    expected_results = pl.lit("")
    for k, allowed in RESULTS_BY_KIND.items():
        expected_results = pl.when(kind == k).then(pl.lit(", ".join(allowed))).otherwise(expected_results)
    checks: list[tuple[str, pl.Expr, pl.Expr | str]] = [
        ("subject_id", pl.col("_no_subject"), "subject_id is missing; every row needs the patient's identifier"),
        ("event", ~pl.col("_has_event"), f"event is missing; expected one of: {kinds_text}"),
        ("event", pl.col("_has_event") & ~known, f"unknown event; expected one of: {kinds_text}"),
        ("date", date_form == "missing", "date is missing; expected YYYY-MM-DD"),
        ("date", date_form == "bad", "not a date; expected YYYY-MM-DD"),
        ("date", (date_form == "full") & pl.col("_date_lo").is_null(), "not a real calendar date"),
        ("date", (date_form == "month") & pl.col("_date_lo").is_null(), "not a real month; expected YYYY-MM"),
        ("date", (date_form == "month") & known & ~partial_ok & pl.col("_date_lo").is_not_null(),
         pl.format("a partial date (YYYY-MM) is not allowed for {}; give the full date YYYY-MM-DD", kind)),
        ("date", (date_form == "year") & pl.col("_date_lo").is_null(), "not a real year; expected YYYY"),
        ("date", (date_form == "year") & known & ~year_ok & pl.col("_date_lo").is_not_null(),
         pl.format("a year alone (YYYY) is allowed for ae rows only, not for {}; give the full date YYYY-MM-DD{}",
                   kind, pl.when(partial_ok).then(pl.lit(" (or YYYY-MM)")).otherwise(pl.lit("")))),
        ("date", pl.col("_date_lo").dt.year() < EARLIEST_YEAR, f"a date before {EARLIEST_YEAR}"),
        ("end_date", is_ae & end_form.is_in(["bad", "year", "month"]),
         "not a date; end_date must be a full date YYYY-MM-DD (or empty while the AE is ongoing)"),
        ("end_date", is_ae & (end_form == "full") & pl.col("_end_date_lo").is_null(), "not a real calendar date"),
        ("end_date", is_ae & (pl.col("_end_date_lo").dt.year() < EARLIEST_YEAR), f"a date before {EARLIEST_YEAR}"),
        ("end_date", is_ae & (pl.col("_end_date_lo") < pl.col("_date_lo")),
         pl.format("end_date is before the AE's date {}", pl.col("date"))),
        ("grade", is_ae & ~pl.col("_has_grade"), "grade is missing; an ae needs its CTCAE grade 1-5"),
        ("grade", is_ae & pl.col("_has_grade") & ~pl.col("_grade_ok"),
         "grade must be a whole number from 1 to 5 (CTCAE v5.0)"),
        ("term", is_ae & ~pl.col("_has_term"), "term is missing; an ae needs its preferred term"),
        ("result", has_results & ~pl.col("_has_result"),
         pl.format("result is missing; {} needs one of: {}", kind, expected_results)),
        ("result", has_results & pl.col("_has_result") & pl.col("_result").is_null(),
         pl.format("not a result for {}; expected one of: {}", kind, expected_results)),
    ]
    checks += _mrd_checks()
    for flag in ("serious", "related"):
        checks.append(
            (flag, is_ae & pl.col(f"_has_{flag}") & pl.col(f"_{flag}").is_null(),
             f"{flag} must be Y or N (or empty when unknown)")
        )  # fmt: skip
    # "Text cells": a control or invisible format character in any cell (trimmed; subject_id as
    # written), on any row; the message names the code point (computed for these cells only)
    for column in COLUMNS:
        checks.append(
            (column, pl.col(column).str.contains(INVISIBLE_PATTERN),
             pl.col(column).map_elements(describe_invisible, return_dtype=pl.String))
        )  # fmt: skip
    return checks


def _mrd_checks() -> list[tuple[str, pl.Expr, pl.Expr | str]]:
    """``mrd``: on an ``assessment``, ``negative``/``positive`` (any case) or empty; on any other
    known kind, an error (an MRD result on, say, a relapse row would be lost from the
    MRD-negative remission rate without anyone seeing why)."""
    kind, has = pl.col("_kind"), pl.col("_has_mrd")
    allowed = " or ".join(MRD_VALUES)
    return [
        ("mrd", (kind == MRD_KIND) & has & pl.col("_mrd").is_null(),
         f"mrd must be {allowed} (or empty when not done)"),
        ("mrd", kind.is_not_null() & (kind != MRD_KIND) & has,
         pl.format(f"mrd is for {MRD_KIND} rows only, not {{}} rows", kind)),
    ]  # fmt: skip


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


def _ignored_rules() -> list[tuple[str, pl.Expr, str]]:
    """(column, rows where the format ignores it, warning text) for every ignored value."""
    not_ae = (pl.col("_kind") != "ae") & pl.col("_kind").is_in(list(EVENT_KINDS))
    ignored = [(c, not_ae, f"{c} is for ae rows only") for c in AE_ONLY_COLUMNS]
    no_result = pl.col("_kind").is_in([k for k in EVENT_KINDS if k not in RESULTS_BY_KIND])
    ignored.append(("result", no_result, "result is only for assessment, relapse and death rows"))
    return ignored


def _warnings(frame: pl.DataFrame) -> list[Issue]:
    """Values that the format ignores: said once per column, with a count and the first line."""
    warnings: list[Issue] = []
    ignored = _ignored_rules()
    counts = frame.select(
        pl.concat_list(
            (where & pl.col(f"_has_{column}")).fill_null(False).sum(),
            pl.col("line").filter(where & pl.col(f"_has_{column}")).min(),
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


def impute(events: pl.DataFrame, subject_codes: pl.Series | None = None) -> pl.DataFrame:
    """events-format.md: "an AE onset YYYY-MM becomes the first day of the month, or the
    infusion date when that month holds the infusion ...; an AE onset YYYY becomes 1 January,
    or the infusion date when that year holds the infusion (flag M, month imputed); a death
    YYYY-MM becomes the first day of the month, or the subject's last other dated record if
    that is later. Every imputed date carries the flag D."

    The one rule for both ways in: an SDTM AE with ``AESTDTC`` = ``YYYY`` comes here too
    (sdtm.md: "imputed as admiral does with the month missing"). An AE imputed to the infusion
    date that ended earlier is placed on its end date (an onset cannot follow the resolution;
    admiral's ``max_dates``, which caps only within the month or year written: an end date
    before that is an error, one after it is after the infusion). ``subject_codes`` (integer
    codes of ``subject_id``, row by row, as the coded reader has them) only make it faster.
    """
    imputed = events.get_column("date_imputed")
    if not imputed.any():
        return events
    subject = subject_codes.alias("_subject") if subject_codes is not None else events["subject_id"].alias("_subject")
    # only the records of subjects with an imputed date change (and only their date): the
    # rule runs on those records and the new dates are written back into a copy of ``date``
    frame = (
        events.lazy()
        .select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_index"), "event", "date", "end_date", "date_imputed",
                "month_imputed")
        .with_columns(subject)
        .filter(pl.col("_subject").is_in(subject.filter(imputed).unique().implode(), nulls_equal=True))
        .collect()
    )  # fmt: skip
    infusion = (
        frame.filter(pl.col("event") == "infusion")
        .group_by("_subject")
        .agg(pl.col("date").min().alias("_infusion"))
    )
    frame = frame.join(infusion, on="_subject", how="left", maintain_order="left")
    # the written month (read as its first day) or, for a year alone (flag M), the written
    # year (read as 1 January) holds the infusion
    infusion_period = pl.when(pl.col("month_imputed")).then(pl.col("_infusion").dt.truncate("1y"))
    holds_infusion = infusion_period.otherwise(pl.col("_infusion").dt.truncate("1mo")) == pl.col("date")
    ae_date = (
        pl.when(holds_infusion & pl.col("_infusion").is_not_null())
        .then(pl.min_horizontal("_infusion", pl.col("end_date").fill_null(pl.col("_infusion"))))
        .otherwise(pl.col("date"))
    )
    frame = frame.with_columns(
        pl.when((pl.col("event") == "ae") & pl.col("date_imputed")).then(ae_date).otherwise(pl.col("date")).alias("date")
    )
    is_partial_death = (pl.col("event") == "death") & pl.col("date_imputed")
    others = pl.when(~is_partial_death).then(pl.max_horizontal("date", "end_date"))
    frame = frame.with_columns(others.max().over("_subject").alias("_last_other"))
    frame = frame.with_columns(
        pl.when(is_partial_death & (pl.col("_last_other") > pl.col("date")))
        .then(pl.col("_last_other"))
        .otherwise(pl.col("date"))
        .alias("date")
    )
    return events.with_columns(events["date"].scatter(frame["_index"], frame["date"]))


def _yes_no(upper: pl.Expr) -> pl.Expr:
    """``Y`` -> True, ``N`` -> False, anything else -> null (no ``replace_strict``: see
    :func:`_spelling`)."""
    return pl.when(upper == "Y").then(pl.lit(True)).when(upper == "N").then(pl.lit(False)).otherwise(pl.lit(None, pl.Boolean))


def _canonical() -> list[pl.Expr]:
    """The canonical columns (:data:`EVENTS_SCHEMA`, before imputation) of a prepared table."""
    is_ae = pl.col("_kind") == "ae"
    return [
        pl.col("line").cast(pl.Int64),
        pl.col("subject_id"),
        pl.col("_kind").alias("event"),
        pl.col("_date_lo").alias("date"),
        pl.col("_date_form").is_in(["month", "year"]).alias("date_imputed"),
        (pl.col("_date_form") == "year").alias("month_imputed"),
        pl.when(is_ae).then(pl.col("_end_date_lo")).alias("end_date"),
        pl.when(is_ae).then(pl.col("_grade")).alias("grade"),
        pl.when(is_ae).then(pl.col("term")).alias("term"),
        pl.when(is_ae).then(pl.col("soc")).alias("soc"),
        *[pl.when(is_ae).then(pl.col(f"_{f}")).alias(f) for f in ("serious", "related")],
        pl.col("_result").alias("result"),
        pl.when(pl.col("_kind") == MRD_KIND).then(pl.col("_mrd")).alias("mrd"),
    ]  # fmt: skip


def _errors(rows: pl.DataFrame) -> list[Issue]:
    """Every record-level and file-level error of a prepared table without blank rows, by line."""
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
    return [Issue(line, column, value, message) for line, column, value, message in issue_frame.iter_rows()]


def raw_errors(raw: pl.DataFrame) -> list[Issue]:
    """The errors :func:`validate_raw` finds in a raw text table (not its warnings)."""
    return _errors(_prepare(raw).filter(~_BLANK))


def validate_raw(raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Issue]]:
    """Check a raw text table (``line`` + the format's columns) and build the canonical frame.

    Returns ``(events, issues)``; ``events`` is meaningful only when no issue is an error.
    """
    frame = _prepare(raw)
    rows = frame.filter(~_BLANK)
    issues = _errors(rows)
    warnings = _warnings(frame)
    if issues:
        return pl.DataFrame(schema=EVENTS_SCHEMA), warnings + issues
    events = rows.select(_canonical())
    events = impute(events.cast(EVENTS_SCHEMA))  # type: ignore[arg-type]
    return events, warnings


# --------------------------------------------------------------------------- streaming


#: After a year in this range a date is implausible (``contradictions.LATEST_PLAUSIBLE_YEAR``).
_LATE_YEAR = 2199


#: Collect a scan with every column of the file read: polars checks a record's field count
#: only when it parses the whole record (a projection of some columns reads past extra fields).
EVERY_COLUMN = pl.QueryOptFlags(projection_pushdown=False)


@dataclass
class Scanned:
    """What one pass over a coded table yields (:func:`scan_coded`)."""

    #: the canonical rows (blank rows dropped), before imputation
    events: pl.DataFrame
    #: the warnings :func:`validate_raw` gives for the same table
    warnings: list[Issue]
    #: lines of the records that may hold an error: the full checks run on these only
    suspects: pl.Series
    #: the events' subjects as codes (:mod:`cart19.io.subjects`), record by record, for
    #: per-subject work that would otherwise group or join on the identifiers' text
    subjects: Subjects


# The coded reader (:func:`coded_rows`) learns what each distinct text of a column means from
# :func:`_cell_columns`, once per text, and packs it into one small integer per text: these
# bits. A row then gathers one integer per cell (and the cell's canonical value where it has
# one) and combines them with its kind in integer operations. The rules themselves are those
# of :func:`_record_checks`, restated per column as "the text alone" and "the text with the
# row's kind"; ``tests/test_validate_properties.py`` holds the two readers to the same issues
# and the same canonical frame, and a row the bits call an error is checked again, in full,
# by :func:`raw_errors`.

_HAS = 1  #: the cell holds a value (after trimming)
_BAD = 2  #: the text breaks its column's rule (date: on every row; the others: on an ``ae`` row)
_MONTH = 4  #: date: a real month ``YYYY-MM`` (a partial date: allowed for some kinds only)
_LATE = 8  #: a real date after :data:`_LATE_YEAR` (``implausible_dates`` says why)
_YES = 16  #: serious, related: ``Y``
_NO = 32  #: serious, related: ``N``
_GRADE_SHIFT = 8  #: grade: the grade 1-5 of a valid text, in bits 8-10
_YEAR = 1 << 11  #: date: a real year ``YYYY`` alone (allowed for an ae onset only)

#: result: the bit that says "in the vocabulary of this kind", per kind that takes a result
_VOCAB_BIT: dict[str, int] = {kind: 64 << i for i, kind in enumerate(RESULTS_BY_KIND)}

#: The row's kind as a code: the index in :data:`EVENT_KINDS`, then these two.
_UNKNOWN_KIND = len(EVENT_KINDS)
_MISSING_KIND = _UNKNOWN_KIND + 1
_KIND_CODE = {kind: code for code, kind in enumerate(EVENT_KINDS)}

#: The event kinds by kind code, as the events frame's ``event`` (null for an unknown or missing kind).
_KIND_BY_CODE = pl.Series([*EVENT_KINDS, None, None], dtype=EVENT_KIND)


def _bits(name: str) -> pl.Expr:
    """The bits of a cell of column ``name``, from :func:`_cell_columns`' columns of its text."""
    has = pl.col(f"_has_{name}").cast(pl.UInt16) * _HAS

    def flag(condition: pl.Expr, bit: int) -> pl.Expr:
        return condition.fill_null(False).cast(pl.UInt16) * bit

    if name in ("date", "end_date"):
        form, low = pl.col(f"_{name}_form"), pl.col(f"_{name}_lo")
        real = form.is_in(["full", "month", "year"]) & low.is_not_null()
        if name == "date":  # a month or a year is a date of some kinds only: _MONTH, _YEAR, and the row decides
            bad = form.is_in(["missing", "bad"]) | ~real | (low.dt.year() < EARLIEST_YEAR)
        else:  # end_date: a full date or nothing
            bad = form.is_in(["bad", "year", "month"]) | ((form == "full") & low.is_null()) | (
                low.dt.year() < EARLIEST_YEAR
            )
        partial = flag((form == "month") & real, _MONTH) + flag((form == "year") & real, _YEAR)
        return has + flag(bad, _BAD) + partial + flag(low.dt.year() > _LATE_YEAR, _LATE)
    if name == "grade":
        ok = pl.col("_grade_ok").fill_null(False)
        grade = pl.when(ok).then(pl.col("_grade").cast(pl.UInt16)).otherwise(0) * (1 << _GRADE_SHIFT)
        return has + flag(pl.col("_has_grade") & ~ok, _BAD) + grade
    if name in ("serious", "related"):
        value = pl.col(f"_{name}")
        return has + flag(pl.col(f"_has_{name}") & value.is_null(), _BAD) + flag(value, _YES) + flag(~value, _NO)
    if name == "mrd":  # the canonical text is gathered by itself (``_mrd``)
        return has + flag(pl.col("_has_mrd") & pl.col("_mrd").is_null(), _BAD)
    if name == "result":
        return has + pl.sum_horizontal(
            flag(pl.col(f"_result_{kind}").is_not_null(), bit) for kind, bit in _VOCAB_BIT.items()
        ).cast(pl.UInt16)
    raise ValueError(name)


#: The columns whose cells have :func:`_bits`.
_BITS_COLUMNS = ("date", "end_date", "grade", "serious", "related", "result", "mrd")


def _value_table(values: pl.Series, name: str) -> pl.DataFrame:
    """:func:`_cell_columns` of every distinct text of a column (``values``, in code order) and
    of the empty cell (the last row), with the packed ``_bits`` where the column has them."""
    table = pl.DataFrame({name: pl.concat([values.cast(pl.String), pl.Series([None], dtype=pl.String)])})
    cells = table.lazy().with_columns(_clean(name)).select(_cell_columns(name))
    if name in _BITS_COLUMNS:
        cells = cells.with_columns(_bits(name).alias("_bits"))
    if name == "result":  # the vocabularies are disjoint: a text has at most one spelling
        cells = cells.with_columns(pl.coalesce(f"_result_{kind}" for kind in RESULTS_BY_KIND).alias("_spelling"))
    if name == "event":
        code = pl.col("_kind").to_physical().cast(pl.UInt8)
        missing = pl.lit(_MISSING_KIND, pl.UInt8)
        cells = cells.with_columns(pl.when(pl.col("_has_event")).then(code.fill_null(_UNKNOWN_KIND)).otherwise(missing)
                                   .alias("_code"))  # fmt: skip
    return cells.collect().rechunk()  # one chunk: a gather from several took 2-3x as long


def coded_rows(frame: pl.DataFrame, values: pl.Series, subjects: Subjects) -> pl.DataFrame:
    """The rows of a coded table with their canonical values and check flags.

    ``frame`` is the table as the reader reads it, in file order (row i is line i + 2):
    ``subject_id`` (text; ``subjects`` holds its codes) and the format's other columns as
    Categorical indexing ``values`` (their distinct texts: a few thousand among millions of
    cells). Every cell's own meaning is computed once per distinct text (:func:`_value_table`)
    and gathered by code. Each row keeps its canonical values, ``_k`` (its kind's code),
    ``_sid`` (the subject's code), whether any record-level rule fails on it (``_error``: one
    flag, not which rule), whether it is blank, and which ignored values it holds (``_ignored``,
    for the warnings). :func:`scan_coded` takes it from there.
    """
    tables = {name: _value_table(values, name) for name in _TEXT_COLUMNS}
    empty = values.len()  # where a row with an empty cell looks

    def lookup(name: str, column: str) -> pl.Expr:
        return pl.lit(tables[name].get_column(column)).gather(pl.col(name).to_physical().fill_null(empty))

    kind = pl.col("_k")
    is_ae = kind == _KIND_CODE["ae"]
    known = kind < _UNKNOWN_KIND
    partial_ok = kind.is_in([_KIND_CODE[k] for k in sorted(PARTIAL_DATE_KINDS)])
    year_ok = kind.is_in([_KIND_CODE[k] for k in sorted(YEAR_DATE_KINDS)])
    vocab = pl.lit(0, pl.UInt16)  # the result vocabulary bit the row's kind asks for (0: takes no result)
    for k, bit in _VOCAB_BIT.items():
        vocab = pl.when(kind == _KIND_CODE[k]).then(pl.lit(bit, pl.UInt16)).otherwise(vocab)

    def bit(name: str, mask: int) -> pl.Expr:
        return (pl.col(f"_{name}_bits") & mask) != 0

    has = {name: bit(name, _HAS) for name in _BITS_COLUMNS}
    has |= {"term": pl.col("term").is_not_null(), "soc": pl.col("soc").is_not_null(), "event": kind != _MISSING_KIND}
    ae_error = is_ae & (
        bit("end_date", _BAD) | (pl.col("end_date") < pl.col("date")).fill_null(False)
        | ~has["grade"] | bit("grade", _BAD) | ~has["term"] | bit("serious", _BAD) | bit("related", _BAD)
    )  # fmt: skip
    error = (
        pl.col("_no_subject") | ~known
        | bit("date", _BAD) | (bit("date", _MONTH) & known & ~partial_ok) | (bit("date", _YEAR) & known & ~year_ok)
        | ae_error
        | ((vocab != 0) & ((pl.col("_result_bits") & vocab) == 0))
        | bit("date", _LATE) | (is_ae & bit("end_date", _LATE))
        | (has["mrd"] & known & ((kind != _KIND_CODE[MRD_KIND]) | bit("mrd", _BAD)))
    )  # fmt: skip
    not_ae = known & ~is_ae
    no_result = known & (vocab == 0)
    held = [(no_result if column == "result" else not_ae) & has[column] for column, _, _ in _ignored_rules()]
    ignored = pl.sum_horizontal(
        ignores.cast(pl.UInt8) * (1 << position) for position, ignores in enumerate(held)
    ).cast(pl.UInt8)
    blank = pl.col("_no_subject") & ~pl.any_horizontal(has[c] for c in _TEXT_COLUMNS)

    # the subject's code; "no subject" is a property of the identifier's text
    id_index = pl.lit(subjects.codes)
    no_subject_ids = pl.DataFrame({"subject_id": subjects.ids}).select(_NO_SUBJECT).to_series()
    if no_subject_ids.any():
        no_subject = pl.lit(pl.concat([no_subject_ids, pl.Series([True])]).rechunk()).gather(
            id_index.fill_null(subjects.count)
        )
    else:
        no_subject = id_index.is_null()
        if subjects.codes.null_count() == 0:  # (every row has a subject: none is blank)
            blank = pl.lit(False)
    ae_only = {
        "end_date": lookup("end_date", "_end_date_lo"),
        "term": lookup("term", "term"),
        "soc": lookup("soc", "soc"),
    }
    gathered = [
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line"),
        id_index.alias("_sid"),
        # the identifier by its code, in one piece (the read column comes in the reader's chunks)
        pl.lit(subjects.ids).gather(id_index).alias("subject_id"),
        no_subject.alias("_no_subject"),
        lookup("event", "_code").alias("_k"),
        lookup("date", "_date_lo").alias("date"),
        *[expr.alias(name) for name, expr in ae_only.items()],
        *[lookup(name, "_bits").alias(f"_{name}_bits") for name in _BITS_COLUMNS],
        lookup("result", "_spelling").alias("_spelling"),
        lookup("mrd", "_mrd").alias("_mrd"),
    ]  # fmt: skip
    grade = ((pl.col("_grade_bits") & (7 << _GRADE_SHIFT)) // (1 << _GRADE_SHIFT)).cast(pl.Int8)
    canonical = [
        pl.col("line"),
        pl.col("subject_id"),
        kind,
        pl.col("date"),
        bit("date", _MONTH | _YEAR).alias("date_imputed"),
        bit("date", _YEAR).alias("month_imputed"),
        *[pl.when(is_ae).then(pl.col(name)).alias(name) for name in ae_only],
        pl.when(is_ae & (grade > 0)).then(grade).alias("grade"),
        *[pl.when(is_ae & bit(flag, _YES | _NO)).then(bit(flag, _YES)).alias(flag) for flag in ("serious", "related")],
        pl.when((pl.col("_result_bits") & vocab) != 0).then(pl.col("_spelling")).alias("result"),
        pl.when(kind == _KIND_CODE[MRD_KIND]).then(pl.col("_mrd")).alias("mrd"),
    ]
    rows = frame.lazy().select(gathered).collect(engine="in-memory")
    # a value the format ignores is rare: the rows' bits of them (~10% of this function's
    # time) are packed only when some row holds one
    if not rows.select(pl.any_horizontal(held).any()).item():
        ignored = pl.lit(0, pl.UInt8)
    return (
        rows.lazy()
        .select(
            *canonical,
            pl.col("_sid"),
            blank.alias("_blank"),
            error.alias("_error"),
            pl.col("_no_subject"),
            ignored.alias("_ignored"),
        )
        # in one chunk per column (polars 2.1's default streaming engine would cut them into
        # ~30; the in-memory engine leaves them whole, and this is then free). A frame whose columns are cut
        # at different rows is copied whole by every eager operation on it (select, filter:
        # ~0.1-0.2 s each at 100k subjects), and the events frame made from this one is what
        # every command works on.
        .collect(engine="in-memory")
        .rechunk()
    )


# What the packing above takes from the format (model.py), checked once: a result's text is in
# at most one kind's vocabulary (one ``_spelling`` per text), and the values the format ignores
# are the AE-only columns on other rows and a result where the kind takes none (``ignored``).
_SPELLINGS = [s.lower() for allowed in RESULTS_BY_KIND.values() for s in allowed]
if len(_SPELLINGS) != len(set(_SPELLINGS)):
    raise ImportError("cart19.io.validate: the result vocabularies of two kinds share a spelling")
if [column for column, _, _ in _ignored_rules()] != [*AE_ONLY_COLUMNS, "result"]:
    raise ImportError("cart19.io.validate: coded_rows' ignored bits no longer follow _ignored_rules")


def scan_coded(frame: pl.DataFrame, subjects: Subjects) -> Scanned:
    """The canonical events, warnings and suspect lines of :func:`coded_rows`' table
    (``subjects``: the table's subjects, as :func:`coded_rows` had them).

    ``suspects`` is a superset of the lines with an error: the records that fail a
    record-level rule or hold a date after :data:`_LATE_YEAR`, and every record of a
    subject with two infusions or deaths, or a record after a death. Running
    :func:`raw_errors` and ``implausible_dates`` on the raw rows of these lines finds exactly
    the errors of the whole table: the file-level rules look at one subject's records only.
    """
    warnings = _scanned_warnings(frame)
    has_blank = frame.select(pl.col("_blank").any()).item()
    if has_blank:
        frame = frame.filter(~pl.col("_blank"))
    suspects = _suspect_lines(frame, subjects.count)
    # the kind: a lookup by its code (a cast of every row costs ~10x more)
    events = frame.select(
        *[pl.lit(_KIND_BY_CODE).gather(pl.col("_k")).alias(c) if c == "event" else pl.col(c) for c in EVENTS_SCHEMA]
    )
    if events.schema != pl.Schema(EVENTS_SCHEMA):
        events = events.cast(EVENTS_SCHEMA)  # type: ignore[arg-type]
    if has_blank:  # (a blank row's identifier, spaces, is no subject: it was one of ``subjects``)
        subjects = subject_codes(events.get_column("subject_id"))
    else:
        subjects = Subjects(codes=frame.get_column("_sid"), ids=subjects.ids)
    return Scanned(events=events, warnings=warnings, suspects=suspects, subjects=subjects)


def _scanned_warnings(frame: pl.DataFrame) -> list[Issue]:
    """:func:`_warnings` from the flags of :func:`scan_coded`."""
    rules = _ignored_rules()
    hit = [(pl.col("_ignored") & (1 << bit)) != 0 for bit in range(len(rules))]
    stats = frame.select(
        *[pl.concat_list(h.sum(), pl.col("line").filter(h).min()).alias(str(bit)) for bit, h in enumerate(hit)],
        pl.concat_list(pl.col("_blank").sum(), pl.col("line").filter(pl.col("_blank")).min()).alias("blank"),
    ).row(0)
    warnings: list[Issue] = []
    for (column, _, text), (count, first) in zip(rules, stats[:-1], strict=True):
        if count:
            warnings.append(Issue(first, column, None, f"{text}: given on {count} other row(s), ignored", "warning"))
    count, first = stats[-1]
    if count:
        warnings.append(Issue(first, None, None, f"{count} blank row(s) skipped", "warning"))
    return warnings


def _suspect_lines(frame: pl.DataFrame, count: int) -> pl.Series:
    """The lines :func:`scan_coded` calls suspects (see there), in order. Subjects are told
    apart by their code ``_sid`` (below ``count``) and kinds by theirs, ``_k``: every step is a
    group-by of integers, or a look-up by code."""
    infusion, death, ae = (_KIND_CODE[k] for k in ("infusion", "death", "ae"))
    valid = (
        frame.lazy()
        .filter(~pl.col("_no_subject") & (pl.col("_k") < _UNKNOWN_KIND) & pl.col("date").is_not_null())
        .select("_sid", "_k", "date", "date_imputed", "end_date")
    )
    twice = (
        valid.filter(pl.col("_k").is_in([infusion, death]))
        .group_by("_sid", "_k")
        .len()
        .filter(pl.col("len") > 1)
        .select("_sid")
    )
    # with one death per subject (two are suspect already) its latest possible day
    death_hi = pl.when(pl.col("date_imputed")).then(pl.col("date").dt.month_end()).otherwise(pl.col("date"))
    deaths = valid.filter(pl.col("_k") == death).group_by("_sid").agg(death_hi.min().alias("_death_hi")).collect()
    # the subjects with a record other than the death dated after it, or an AE ending after it:
    # each record compared with its subject's death, looked up by code (a group-by of every
    # record, then a join, took ~3x as long)
    death_of = pl.lit(by_code(deaths.get_column("_sid"), deaths.get_column("_death_hi"), count)).gather(pl.col("_sid"))
    after = valid.filter(
        (pl.col("_k") != death)
        & ((pl.col("date") > death_of) | ((pl.col("_k") == ae) & (pl.col("end_date") > death_of))).fill_null(False)
    ).select("_sid")
    subjects = pl.concat([twice, after]).unique().collect().to_series()
    suspect = pl.col("_error")
    if subjects.len():
        suspect = suspect | pl.col("_sid").is_in(subjects.implode()).fill_null(False)
    return frame.lazy().filter(suspect).select("line").collect().to_series()
