"""Clinically contradictory timelines: what a data manager wants flagged beyond the format's
errors (``docs/data-checks.md``).

The format's own errors (records after death, two infusions, an AE ending before it starts
...) are in :mod:`cart19.io.validate`. This module adds

* :func:`contradiction_warnings`: warnings on the canonical events frame
  (:mod:`cart19.schema`) -- records that are valid one by one but tell an unlikely story
  (an assessment before the infusion, a relapse with no response before it, ...). They never
  stop a run: the endpoints' rules already say what happens to such records; the warning makes
  sure somebody looks at them.
* :func:`implausible_dates`: errors on the raw text table -- dates after
  :data:`LATEST_PLAUSIBLE_YEAR` (placeholders such as ``9999-12-31``), which no trial record
  has and which would push derived dates (window ends) past the ISO calendar.

Every check is a handful of vectorised polars operations (a join with each subject's
infusion, a filter); the lines of the first :data:`MAX_LINES_PER_CHECK` offending records are
listed, one :class:`~cart19.errors.Issue` each, and one more issue counts the rest.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from cart19.errors import Issue

#: How many offending records each check lists by line (the rest are counted).
MAX_LINES_PER_CHECK = 20

#: The latest year a date may have. Later dates are placeholders (9999-12-31 ...), not dates
#: of a trial; every configurable window (at most 100 years) then ends within the calendar.
LATEST_PLAUSIBLE_YEAR = 2199

#: endpoints.md's default ``response`` set: a relapse presupposes one of these before it.
RESPONSE_RESULTS: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR")

#: Event kinds that only make sense after an infusion (the post-treatment course). Not
#: ``end_of_treatment``: a subject who stops before the infusion has an EOT visit too.
POST_INFUSION_KINDS: tuple[str, ...] = ("assessment", "relapse", "hsct", "new_therapy")

_HIT_SCHEMA = {"line": pl.Int64, "column": pl.String, "value": pl.String, "message": pl.String}


def _first_date(events: pl.DataFrame, kind: str, name: str) -> pl.DataFrame:
    """Per subject: the earliest date (and its line) of ``kind`` -> ``subject_id, {name}, {name}_line``."""
    return (
        events.lazy()
        .filter(pl.col("event") == kind)
        .group_by("subject_id")
        .agg(pl.col("date").min().alias(name), pl.col("line").sort_by("date", "line").first().alias(f"{name}_line"))
        .collect()
    )


def _hits(frame: pl.DataFrame, column: str, message: pl.Expr) -> pl.DataFrame:
    value = pl.col(column).cast(pl.String) if column in frame.columns else pl.lit(None, pl.String)
    return frame.select(
        pl.col("line").cast(pl.Int64),
        pl.lit(column, pl.String).alias("column"),
        value.alias("value"),
        message.cast(pl.String).alias("message"),
    )


def _with_infusion(events: pl.DataFrame, kinds: list[str]) -> pl.DataFrame:
    """The records of ``kinds`` (only: a join of millions of rows is the cost here) with their
    subject's infusion date and line (null without an infusion)."""
    infusion = _first_date(events, "infusion", "_infusion")
    # the columns the checks read only: a filter of every column copied ~1.6 GiB at 1M subjects
    rows = events.select("line", "subject_id", "event", "date", "result").filter(pl.col("event").is_in(kinds))
    return rows.join(infusion, on="subject_id", how="left")


# --------------------------------------------------------------------------- the checks
# Each takes the canonical frame and returns the offending records (line, column, value, message).


def _assessment_before_infusion(events: pl.DataFrame) -> pl.DataFrame:
    rows = _with_infusion(events, ["assessment"]).filter(pl.col("date") < pl.col("_infusion"))
    return _hits(rows, "date", pl.format(
        "a response assessment ({}) dated before the subject's infusion ({} on line {}): a pre-treatment "
        "(baseline) assessment, not a response to the infusion", pl.col("result"), pl.col("_infusion"),
        pl.col("_infusion_line")))  # fmt: skip


def _relapse_without_response(events: pl.DataFrame) -> pl.DataFrame:
    responses = (
        events.filter((pl.col("event") == "assessment") & pl.col("result").is_in(list(RESPONSE_RESULTS)))
        .group_by("subject_id")
        .agg(pl.col("date").min().alias("_first_response"))
    )
    rows = (
        events.filter(pl.col("event") == "relapse")
        .join(responses, on="subject_id", how="left")
        .filter(pl.col("_first_response").is_null() | (pl.col("_first_response") > pl.col("date")))
    )
    return _hits(rows, "event", pl.lit(
        "a relapse with no response assessment (CR, CRh, CRi, MLFS or PR) on or before it: a relapse presupposes "
        "a remission; was it progression of refractory disease (an assessment with PD)?"))  # fmt: skip


def _post_treatment_record_without_infusion(events: pl.DataFrame) -> pl.DataFrame:
    rows = _with_infusion(events, list(POST_INFUSION_KINDS)).filter(pl.col("_infusion").is_null())
    return _hits(rows, "event", pl.format(
        "a record of kind {} for a subject with no infusion: the subject is outside the treated set and this record is in "
        "no endpoint; is the infusion row missing?", pl.col("event")))  # fmt: skip


def _lymphodepletion_after_infusion(events: pl.DataFrame) -> pl.DataFrame:
    rows = _with_infusion(events, ["lymphodepletion"]).filter(pl.col("date") > pl.col("_infusion"))
    return _hits(rows, "date", pl.format(
        "lymphodepletion dated after the infusion ({} on line {}); lymphodepleting chemotherapy precedes the "
        "infusion", pl.col("_infusion"), pl.col("_infusion_line")))  # fmt: skip


def _before_infusion(kind: str, why: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def check(events: pl.DataFrame) -> pl.DataFrame:
        rows = _with_infusion(events, [kind]).filter(pl.col("date") < pl.col("_infusion"))
        return _hits(rows, "date", pl.format(f"{kind} dated before the infusion ({{}} on line {{}}); {why}",
                                             pl.col("_infusion"), pl.col("_infusion_line")))  # fmt: skip

    check.__name__ = f"_{kind}_before_infusion"
    return check


def _infusion_before_enrolment(events: pl.DataFrame) -> pl.DataFrame:
    enrolled = _first_date(events, "enrolled", "_enrolled")
    rows = (
        events.filter(pl.col("event").is_in(["lymphodepletion", "infusion"]))
        .join(enrolled, on="subject_id", how="inner")
        .filter(pl.col("date") < pl.col("_enrolled"))
    )
    return _hits(rows, "date", pl.format(
        "{} dated before the subject's enrolment ({} on line {}): treatment before informed consent?",
        pl.col("event"), pl.col("_enrolled"), pl.col("_enrolled_line")))  # fmt: skip


def _records_after_withdrawal(events: pl.DataFrame) -> pl.DataFrame:
    withdrawal = _first_date(events, "withdrawal", "_withdrawal")
    joined = events.select("line", "subject_id", "event", "date", "end_date").join(
        withdrawal, on="subject_id", how="inner"
    ).filter(
        ~pl.col("event").is_in(["withdrawal", "death"])  # survival status may come from registries
    )
    later_date = joined.filter(pl.col("date") > pl.col("_withdrawal"))
    later_end = joined.filter((pl.col("end_date") > pl.col("_withdrawal")) & (pl.col("date") <= pl.col("_withdrawal")))
    message = "dated after the subject's withdrawal ({} on line {}), which is the last contact"
    return pl.concat([
        _hits(later_date, "date", pl.format(message, pl.col("_withdrawal"), pl.col("_withdrawal_line"))),
        _hits(later_end, "end_date", pl.format("the AE ends " + message, pl.col("_withdrawal"),
                                               pl.col("_withdrawal_line"))),
    ])  # fmt: skip


def _duplicate_records(events: pl.DataFrame) -> pl.DataFrame:
    content = [c for c in events.columns if c != "line"]
    # candidates first (same subject, kind and date), then every cell. The candidates are the
    # records whose hash of (subject, kind, date) occurs twice, found by sorting the hashes:
    # is_duplicated's hash table of every record took ~200 bytes a record. A hash collision
    # only adds a candidate, which the comparison of every cell drops.
    key = events.select(pl.struct("subject_id", "event", "date").hash().alias("_key")).to_series()
    ordered = key.sort()
    repeated = ordered.filter(ordered == ordered.shift(1)).unique()
    candidates = events.filter(key.is_in(repeated.implode()))
    rows = (
        candidates.with_columns(pl.col("line").min().over(content, mapping_strategy="group_to_rows").alias("_first"))
        .filter(pl.col("line") != pl.col("_first"))
    )
    return _hits(rows, "event", pl.format("the same record as line {} (every cell equal): entered twice?",
                                          pl.col("_first")))  # fmt: skip


def _subject_id_variants(events: pl.DataFrame) -> pl.DataFrame:
    key = pl.col("subject_id").str.strip_chars().str.to_lowercase()
    # lazily: the eager group_by of every record took ~15x the memory (+377 vs +23 MiB at 100k subjects)
    ids = events.lazy().group_by("subject_id").agg(pl.col("line").min()).collect()
    variants = ids.with_columns(key.alias("_key")).with_columns(
        pl.col("subject_id").n_unique().over("_key").alias("_spellings"),
        pl.col("subject_id").sort_by("line").first().over("_key").alias("_first_id"),
        pl.col("line").min().over("_key").alias("_first_line"),
    ).filter((pl.col("_spellings") > 1) & (pl.col("subject_id") != pl.col("_first_id")))
    return _hits(variants, "subject_id", pl.format(
        "this subject_id differs from '{}' (line {}) only in letter case or surrounding spaces; they are counted "
        "as two subjects", pl.col("_first_id"), pl.col("_first_line")))  # fmt: skip


#: (name, check); the order is the order of docs/data-checks.md.
CHECKS: tuple[tuple[str, Callable[[pl.DataFrame], pl.DataFrame]], ...] = (
    ("assessment before infusion", _assessment_before_infusion),
    ("relapse without a prior response", _relapse_without_response),
    ("post-treatment record without an infusion", _post_treatment_record_without_infusion),
    ("lymphodepletion after infusion", _lymphodepletion_after_infusion),
    ("end of treatment before infusion", _before_infusion(
        "end_of_treatment", "the end of the treatment period cannot precede the treatment (EFSS2 uses this date)")),
    ("hsct before infusion", _before_infusion(
        "hsct", "the format's hsct is a transplant after the infusion; a prior transplant is medical history")),
    ("new therapy before infusion", _before_infusion(
        "new_therapy", "new_therapy is next-line therapy after the infusion; bridging therapy is not recorded here")),
    ("treatment before enrolment", _infusion_before_enrolment),
    ("records after withdrawal", _records_after_withdrawal),
    ("duplicate records", _duplicate_records),
    ("subject_id spelling variants", _subject_id_variants),
)  # fmt: skip


def _to_issues(name: str, hits: pl.DataFrame, severity: str) -> list[Issue]:
    if hits.height == 0:
        return []
    hits = hits.sort("line", "column", "message")
    issues = [Issue(line, column, value, message, severity) for line, column, value, message in
              hits.head(MAX_LINES_PER_CHECK).iter_rows()]  # fmt: skip
    if hits.height > MAX_LINES_PER_CHECK:
        rest = hits.height - MAX_LINES_PER_CHECK
        issues.append(Issue(None, None, None, f"{name}: {rest} more record(s) like the above (first "
                            f"{MAX_LINES_PER_CHECK} listed; {hits.height} in all)", severity))  # fmt: skip
    return issues


def contradiction_warnings(events: pl.DataFrame) -> list[Issue]:
    """Warnings for clinically contradictory timelines in a canonical events frame (all
    records, before any cutoff), in the order of :data:`CHECKS`, each check's records by line."""
    if events.height == 0:
        return []
    issues: list[Issue] = []
    for name, check in CHECKS:
        issues.extend(_to_issues(name, check(events), "warning"))
    return issues


def implausible_dates(raw: pl.DataFrame) -> list[Issue]:
    """Errors for dates after :data:`LATEST_PLAUSIBLE_YEAR` in a raw text table (``line`` and
    the format's columns, as :func:`cart19.io.read.csv_raw` makes it); ``end_date`` only on
    ``ae`` rows, where the format reads it."""
    if raw.height == 0:
        return []
    year = r"^\s*([0-9]{4})-[0-9]{2}"
    message = (f"a date after {LATEST_PLAUSIBLE_YEAR}: not a date of a trial (a placeholder such as 9999-12-31?); "
               "give the real date, or leave end_date empty while an AE is ongoing")  # fmt: skip
    is_ae = pl.col("event").str.strip_chars().str.to_lowercase() == "ae"
    found = []
    late_values = {}
    for column in ("date", "end_date"):
        # the pattern on the few thousand distinct values first: rows are scanned only when one is late
        distinct = raw.lazy().select(pl.col(column).unique())
        late_values[column] = distinct.filter(
            (pl.col(column).str.extract(year, 1).cast(pl.Int32, strict=False) > LATEST_PLAUSIBLE_YEAR).fill_null(False)
        ).collect().to_series()
    if not any(values.len() for values in late_values.values()):
        return []
    for column, where in (("date", pl.lit(True)), ("end_date", is_ae)):
        late = pl.col(column).is_in(pl.lit(late_values[column]).implode())
        found.append(_hits(raw.filter((where & late).fill_null(False)), column, pl.lit(message)))
    hits = pl.concat(found).sort("line", "column")
    return [Issue(line, column, value, message) for line, column, value, message in hits.iter_rows()]
