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

Most checks are rules on single records and their subject's facts (its infusion, enrolment,
withdrawal, first response), all evaluated in one pass over the records (:data:`CHECKS`); two
compare several records (duplicates, subject_id spellings). The lines of the first
:data:`MAX_LINES_PER_CHECK` offending records are listed, one :class:`~cart19.errors.Issue` each,
and one more issue counts the rest.

It runs on every command, so it is written for speed (~0.1 s at 100k subjects, 3M records):
a subject is an integer code, its facts a small table indexed by code, gathered to its records;
no join or group_by on the text of millions of records, and no eager operation on the reader's
frame (one first joins up the parts of every column, ~20 ms a time at 100k subjects).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from cart19.errors import Issue
from cart19.io.subjects import Subjects, by_code, subject_codes

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


def _hits(frame: pl.DataFrame, column: str, message: pl.Expr) -> pl.DataFrame:
    value = pl.col(column).cast(pl.String) if column in frame.columns else pl.lit(None, pl.String)
    return frame.select(
        pl.col("line").cast(pl.Int64),
        pl.lit(column, pl.String).alias("column"),
        value.alias("value"),
        message.cast(pl.String).alias("message"),
    )


# --------------------------------------------------------------------------- subjects and their facts
# A subject is a dense integer code (records of one subject_id share it), so that every
# per-subject fact is one small table indexed by code and reaches its records by a gather:
# no join or group_by on the text of millions of records.


def _is_kind(*kinds: str) -> pl.Expr:
    """Whether a record's event is one of ``kinds``: a comparison each (``is_in`` hashes the
    text of every record: ~2.5x as long for three kinds)."""
    return pl.any_horizontal([pl.col("event") == kind for kind in kinds])


#: The kinds of most records (~75% at 100k subjects), which only the withdrawal check reads:
#: the other checks and the facts below read the rest only.
_COMMON_KINDS: tuple[str, ...] = ("ae", "contact", "death")

#: The facts of each subject the checks compare records with: its first record of a kind, as
#: ``{name}`` (the earliest date) and ``{name}_line`` (the line of the earliest record, the
#: lower line on a tie), null for a subject without one.
_FIRSTS: dict[str, str] = {"_infusion": "infusion", "_enrolled": "enrolled", "_withdrawal": "withdrawal"}

#: and ``_first_response``: the date of its first assessment of the response set
_IS_RESPONSE = (pl.col("event") == "assessment") & pl.any_horizontal([pl.col("result") == r for r in RESPONSE_RESULTS])

#: the facts that decide whether a check flags a record (the lines are only for the messages)
_FACT_DATES = (*_FIRSTS, "_first_response")


def _subject_facts(records: pl.DataFrame, count: int) -> pl.DataFrame:
    """One row per subject code (row ``c`` for code ``c``): the facts :data:`_FIRSTS` and
    ``_first_response``. ``records``: the records with their code as ``_code``."""
    rows = records.lazy().filter(pl.col("_code").is_not_null())  # a null subject_id is no subject, as in a join
    queries = [rows.filter(_IS_RESPONSE).group_by("_code").agg(pl.col("date").min().alias("_first_response"))]
    for name, kind in _FIRSTS.items():
        queries.append(rows.filter(pl.col("event") == kind).group_by("_code").agg(
            pl.col("date").min().alias(name), pl.col("line").sort_by("date", "line").first().alias(f"{name}_line")))
    facts = {}
    for first in pl.collect_all(queries):
        codes = first.get_column("_code")
        facts |= {name: by_code(codes, first.get_column(name), count) for name in first.columns if name != "_code"}
    return pl.DataFrame(facts)


# --------------------------------------------------------------------------- the record checks
# A check of single records is a rule: which records it flags (a condition on the record and its
# subject's facts, null = not flagged), the column it names and the message. All rules are
# evaluated in one pass over the records; the messages are formatted for the flagged ones only.


@dataclass(frozen=True)
class _Rule:
    """``flags``: whether a record is flagged (its columns and its subject's :data:`_FACT_DATES`);
    ``message`` may also read the facts' lines."""

    flags: pl.Expr
    column: str
    message: pl.Expr


def _before_infusion(kind: str, why: str) -> tuple[_Rule, ...]:
    return (_Rule((pl.col("event") == kind) & (pl.col("date") < pl.col("_infusion")), "date", pl.format(
        f"{kind} dated before the infusion ({{}} on line {{}}); {why}", pl.col("_infusion"),
        pl.col("_infusion_line"))),)  # fmt: skip


_ASSESSMENT_BEFORE_INFUSION = (_Rule(
    (pl.col("event") == "assessment") & (pl.col("date") < pl.col("_infusion")), "date", pl.format(
        "a response assessment ({}) dated before the subject's infusion ({} on line {}): a pre-treatment "
        "(baseline) assessment, not a response to the infusion", pl.col("result"), pl.col("_infusion"),
        pl.col("_infusion_line"))),)  # fmt: skip

_RELAPSE_WITHOUT_RESPONSE = (_Rule(
    (pl.col("event") == "relapse")
    & (pl.col("_first_response").is_null() | (pl.col("_first_response") > pl.col("date"))), "event", pl.lit(
        "a relapse with no response assessment (CR, CRh, CRi, MLFS or PR) on or before it: a relapse presupposes "
        "a remission; was it progression of refractory disease (an assessment with PD)?")),)  # fmt: skip

_POST_TREATMENT_RECORD_WITHOUT_INFUSION = (_Rule(
    _is_kind(*POST_INFUSION_KINDS) & pl.col("_infusion").is_null(), "event", pl.format(
        "a record of kind {} for a subject with no infusion: the subject is outside the treated set and this record is in "
        "no endpoint; is the infusion row missing?", pl.col("event"))),)  # fmt: skip

_LYMPHODEPLETION_AFTER_INFUSION = (_Rule(
    (pl.col("event") == "lymphodepletion") & (pl.col("date") > pl.col("_infusion")), "date", pl.format(
        "lymphodepletion dated after the infusion ({} on line {}); lymphodepleting chemotherapy precedes the "
        "infusion", pl.col("_infusion"), pl.col("_infusion_line"))),)  # fmt: skip

_TREATMENT_BEFORE_ENROLMENT = (_Rule(
    _is_kind("lymphodepletion", "infusion") & (pl.col("date") < pl.col("_enrolled")), "date", pl.format(
        "{} dated before the subject's enrolment ({} on line {}): treatment before informed consent?",
        pl.col("event"), pl.col("_enrolled"), pl.col("_enrolled_line"))),)  # fmt: skip

_AFTER_WITHDRAWAL = "dated after the subject's withdrawal ({} on line {}), which is the last contact"
_NOT_WITHDRAWAL = ~_is_kind("withdrawal", "death")  # survival status may come from registries
_RECORDS_AFTER_WITHDRAWAL = (
    _Rule(_NOT_WITHDRAWAL & (pl.col("date") > pl.col("_withdrawal")), "date", pl.format(
        _AFTER_WITHDRAWAL, pl.col("_withdrawal"), pl.col("_withdrawal_line"))),
    _Rule(_NOT_WITHDRAWAL & (pl.col("end_date") > pl.col("_withdrawal")) & (pl.col("date") <= pl.col("_withdrawal")),
          "end_date", pl.format("the AE ends " + _AFTER_WITHDRAWAL, pl.col("_withdrawal"),
                                pl.col("_withdrawal_line"))),
)  # fmt: skip


def _flagged_records(frame: pl.LazyFrame, rules: list[_Rule], count: int) -> pl.DataFrame:
    """The records some rule flags, with their subject's facts. ``frame``: the records with
    ``_code``, the subjects' codes (below ``count``)."""
    columns = ("line", "event", "date", "end_date", "result", "_code")
    common = frame.select(_is_kind(*_COMMON_KINDS)).collect().to_series()
    # the records of the other kinds, in one piece: every fact and every rule but the withdrawal's read only these
    records = frame.filter(~pl.lit(common)).select(columns).collect().rechunk()
    facts = _subject_facts(records, count)
    of_subject = [pl.lit(facts.get_column(name)).gather(pl.col("_code")).alias(name) for name in _FACT_DATES]
    # a column, not a filter: the rules' common parts (event == "assessment" ...) are then computed once
    flags = pl.any_horizontal([rule.flags for rule in rules]).alias("_flagged")
    parts = [records.lazy().with_columns(of_subject).with_columns(flags).filter("_flagged")]
    withdrawn = facts.get_column("_withdrawal").is_not_null()
    if withdrawn.any():  # the records of the common kinds only the withdrawal check may flag
        of_withdrawn = pl.lit(common) & pl.lit(withdrawn).gather(pl.col("_code")).fill_null(False)
        rows = frame.filter(of_withdrawn).select(columns)
        parts.append(rows.with_columns(of_subject).with_columns(flags).filter("_flagged"))
    lines = [pl.lit(facts.get_column(f"{name}_line")).gather(pl.col("_code")).alias(f"{name}_line") for name in _FIRSTS]
    return pl.concat(pl.collect_all(parts)).with_columns(lines)


# --------------------------------------------------------------------------- the checks of several records


#: A record's key (:func:`_record_key`) is its subject's code times this, plus the rest.
_SUBJECT_UNIT = 2**40


def _record_key() -> pl.Expr:
    """An integer per record, equal for records equal in subject, kind, date, end date and grade
    (unequal records may share one: integers wrap). The subject's code is its high part (the key
    divided by :data:`_SUBJECT_UNIT`), the date next, so that the keys of a file in subject and
    date order are almost in order, which sorts fast."""
    return (
        pl.col("_code").cast(pl.Int64).fill_null(-1) * _SUBJECT_UNIT
        + pl.col("date").to_physical().cast(pl.Int64).fill_null(0) * 2**20
        + (pl.col("end_date").to_physical() - pl.col("date").to_physical()).cast(pl.Int64).fill_null(-1) * 256
        + pl.col("grade").cast(pl.Int64).fill_null(-1) * 16
        + pl.col("event").to_physical().cast(pl.Int64).fill_null(-1)
    )


def _duplicate_records(events: pl.DataFrame, frame: pl.LazyFrame, subjects: Subjects) -> pl.DataFrame:
    """Records equal in every cell to one with a lower line. ``frame``: ``events`` with ``_code``."""
    # candidates first, then every cell: the candidates are the records whose key occurs twice,
    # found by sorting the keys (a hash table of every record took ~200 bytes a record); an
    # unequal record that shares a key is only a candidate, which the comparison of every cell drops
    key = frame.select(_record_key()).collect().to_series()
    ordered = key.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    del ordered
    if repeated.len() == 0:
        return pl.DataFrame(schema=_HIT_SCHEMA)
    # the records of the repeated keys' subjects, then those of the keys: a look-up of each key
    # among the repeated ones took ~6x as long as one of its subject among theirs
    of_repeated = (repeated // _SUBJECT_UNIT).unique().implode()
    suspects = pl.select((pl.lit(key) // _SUBJECT_UNIT).is_in(of_repeated).arg_true()).to_series()
    candidates = suspects.filter(key.gather(suspects).is_in(repeated.implode()))
    content = [c for c in events.columns if c != "line"]
    rows = (
        events[candidates]
        .with_columns(pl.col("line").min().over(content, mapping_strategy="group_to_rows").alias("_first"))
        .filter(pl.col("line") != pl.col("_first"))
    )
    return _hits(rows, "event", pl.format("the same record as line {} (every cell equal): entered twice?",
                                          pl.col("_first")))  # fmt: skip


def _subject_id_variants(events: pl.DataFrame, frame: pl.LazyFrame, subjects: Subjects) -> pl.DataFrame:
    """Subject ids equal to one of a lower line but for letter case or surrounding spaces."""
    key = pl.col("subject_id").str.strip_chars().str.to_lowercase()
    spellings = pl.DataFrame({"subject_id": subjects.ids}).with_columns(key.alias("_key"))
    if spellings.get_column("_key").n_unique() == spellings.height:  # in the ids, not the records
        return pl.DataFrame(schema=_HIT_SCHEMA)
    alike = spellings.filter(pl.col("_key").is_duplicated()).get_column("subject_id")
    # the records of those ids only: the group_by of every record took ~15x the memory
    first = events.lazy().filter(pl.col("subject_id").is_in(alike.implode())).group_by("subject_id").agg(
        pl.col("line").min()).collect()  # fmt: skip
    variants = first.with_columns(key.alias("_key")).with_columns(
        pl.col("subject_id").n_unique().over("_key").alias("_spellings"),
        pl.col("subject_id").sort_by("line").first().over("_key").alias("_first_id"),
        pl.col("line").min().over("_key").alias("_first_line"),
    ).filter((pl.col("_spellings") > 1) & (pl.col("subject_id") != pl.col("_first_id")))
    return _hits(variants, "subject_id", pl.format(
        "this subject_id differs from '{}' (line {}) only in letter case or surrounding spaces; they are counted "
        "as two subjects", pl.col("_first_id"), pl.col("_first_line")))  # fmt: skip


#: A check of several records: (events, the records with ``_code``, the subjects) -> its hits.
_SeveralRecords = Callable[[pl.DataFrame, pl.LazyFrame, Subjects], pl.DataFrame]

#: (name, check): the rules of a check of single records, or a check of several records; the
#: order is the order of docs/data-checks.md.
CHECKS: tuple[tuple[str, tuple[_Rule, ...] | _SeveralRecords], ...] = (
    ("assessment before infusion", _ASSESSMENT_BEFORE_INFUSION),
    ("relapse without a prior response", _RELAPSE_WITHOUT_RESPONSE),
    ("post-treatment record without an infusion", _POST_TREATMENT_RECORD_WITHOUT_INFUSION),
    ("lymphodepletion after infusion", _LYMPHODEPLETION_AFTER_INFUSION),
    ("end of treatment before infusion", _before_infusion(
        "end_of_treatment", "the end of the treatment period cannot precede the treatment (EFSS2 uses this date)")),
    ("hsct before infusion", _before_infusion(
        "hsct", "the format's hsct is a transplant after the infusion; a prior transplant is medical history")),
    ("new therapy before infusion", _before_infusion(
        "new_therapy", "new_therapy is next-line therapy after the infusion; bridging therapy is not recorded here")),
    ("treatment before enrolment", _TREATMENT_BEFORE_ENROLMENT),
    ("records after withdrawal", _RECORDS_AFTER_WITHDRAWAL),
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


def contradiction_warnings(events: pl.DataFrame, subjects: Subjects | None = None) -> list[Issue]:
    """Warnings for clinically contradictory timelines in a canonical events frame (all
    records, before any cutoff), in the order of :data:`CHECKS`, each check's records by line.

    ``subjects`` (optional; numbered here when not given): the events' subjects as codes, record
    by record, as the reader has them (:mod:`cart19.io.subjects`)."""
    if events.height == 0:
        return []
    if subjects is None:
        subjects = subject_codes(events.get_column("subject_id"))
    elif subjects.codes.len() != events.height:
        raise ValueError(f"{subjects.codes.len()} subject codes for {events.height} records")
    frame = events.lazy().select(pl.exclude("subject_id"), _code=pl.lit(subjects.codes))
    rules = [rule for _, check in CHECKS if isinstance(check, tuple) for rule in check]
    flagged = _flagged_records(frame, rules, subjects.count)
    issues: list[Issue] = []
    for name, check in CHECKS:
        if isinstance(check, tuple):
            hits = pl.concat([_hits(flagged.filter(rule.flags), rule.column, rule.message) for rule in check])
        else:
            hits = check(events, frame, subjects)
        issues.extend(_to_issues(name, hits, "warning"))
    return issues


def implausible_dates(raw: pl.DataFrame) -> list[Issue]:
    """Errors for dates after :data:`LATEST_PLAUSIBLE_YEAR` in a raw text table (``line`` and
    the format's columns, as :func:`cart19.io.read.csv_raw` makes it); ``end_date`` only on
    ``ae`` rows, where the format reads it."""
    if raw.height == 0:
        return []
    year = r"^\s*([0-9]{4})(?:-[0-9]{2}|\s*$)"  # YYYY-MM(-DD), or YYYY alone (an ae onset)
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
