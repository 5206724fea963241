"""The subject file (events-format.md, "Subject-level data"): one row per subject, its
covariates as text, and what turns one covariate into the ``groups`` frame of a split summary.

* :func:`read_subjects` - CSV or Parquet in, a validated frame out: ``subject_id`` first, then
  every other column as text, exactly as written (an empty cell is null).
* :func:`subject_mismatch` - warnings naming the subjects of one file missing from the other.
* :func:`subject_groups` - the subject file and a ``--by`` column in, the ``groups`` frame of
  the subgroup contract out (``subject_id``, ``group``; a missing value is ``(missing)``).
* :func:`with_covariates` - a subject-level output with the covariates after its own columns.
* :func:`resolve_column` - a ``--by`` name checked against the columns there are.

Nothing here prints; problems raise :class:`~cart19.errors.InputError` naming the line.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from cart19.errors import InputError, Issue

#: The group of a subject whose covariate is empty, or who is not in the subject file.
MISSING_GROUP = "(missing)"

#: The block of a split summary (``teae``, ``response``, ``safety`` with ``--by``) that holds
#: the whole trial, after the groups.
TOTAL = "Total"


def groups_then_total(by_group: pl.DataFrame, overall: pl.DataFrame) -> pl.DataFrame:
    """A split summary: the per-group blocks (first column ``group``), then the summary of the
    whole trial as the block :data:`TOTAL`."""
    return pl.concat([by_group, overall.select(pl.lit(TOTAL).alias("group"), pl.all())])


def refuse_total_group(groups: pl.DataFrame | None, by: str | None, source: str) -> None:
    """A covariate value that is literally :data:`TOTAL` would be confused with the whole
    trial's block: an input error naming it."""
    if groups is not None and (groups.get_column("group") == TOTAL).any():
        raise InputError(source, [Issue(None, by, TOTAL, f"a value of --by is {TOTAL!r}, the name of the whole "
                                        "trial's block of a split summary; rename it")])  # fmt: skip

#: Column names a covariate may not take (compared case-insensitively): the columns the
#: subject-level outputs write themselves (derive's ADTTE, the CIR dataset, the response
#: listing, check-dlt's subject rows) and the ``group`` column of a split summary.
RESERVED_COLUMNS: tuple[str, ...] = (
    "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALC", "AVALU", "CNSR", "EVNTDESC",
    "CNSDTDSC", "SRCDOM", "SRCSEQ", "ADTF", "ADY", "EVENT",
    "status", "reason", "infusion_date", "window_end", "window_day", "evaluable_from", "last_date",
    "dlt_terms", "dlt_rules", "dlt_events", "group",
)  # fmt: skip

_RESERVED_UPPER = frozenset(name.upper() for name in RESERVED_COLUMNS)
_PARQUET_SUFFIXES = (".parquet", ".pq")
#: subjects named in a mismatch warning before "and N more"
_NAMED = 5


def _fail(source: str, issues: list[Issue]) -> InputError:
    return InputError(source, issues)


def _read_frame(source: str) -> pl.DataFrame:
    """The file as a frame of text columns (no validation yet)."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise _fail(source, [Issue(None, None, None, "no such subject file; check the path")]) from None
    except IsADirectoryError:
        raise _fail(source, [Issue(None, None, None, "this is a folder, not a subject file")]) from None
    except OSError as exc:
        raise _fail(source, [Issue(None, None, None, f"the subject file cannot be read ({exc.strerror or exc})")]) from None
    is_parquet = data[:4] == b"PAR1" or (source != "-" and Path(source).suffix.lower() in _PARQUET_SUFFIXES)
    try:
        if is_parquet:
            frame = pl.read_parquet(io.BytesIO(data))
            return frame.select(pl.col(name).cast(pl.String) for name in frame.columns)
        if not data.strip():
            raise _fail(source, [Issue(None, None, None, "the subject file is empty: expected a header with subject_id")])
        if b"\r" in data:  # lone CR line breaks: polars would glue the lines together
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        text = data.decode("utf-8-sig")  # (a spreadsheet's byte-order mark is not part of the first name)
        _check_header(source, next(csv.reader(io.StringIO(text))))
        try:
            return pl.read_csv(io.StringIO(text), infer_schema=False)
        except pl.exceptions.ComputeError:
            _ragged_lines(source, text)
            raise
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise _fail(source, [Issue(None, None, None, f"not UTF-8 text (byte {exc.start})")]) from None
    except Exception as exc:  # noqa: BLE001 - polars' parse errors become one plain line
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(source, [Issue(None, None, None, f"not a readable table ({message})")]) from None


def _check_header(source: str, names: list[str]) -> None:
    """The header's problems, from its raw names (polars renames a repeated name)."""
    names = [name.strip() for name in names]
    issues = []
    if "subject_id" not in names:
        issues.append(Issue(1, None, None, f"no subject_id column; the header has {', '.join(map(repr, names))}"))
    for name in sorted({n for n in names if n and names.count(n) > 1}):
        issues.append(Issue(1, name, None, "this column name appears more than once in the header"))
    for position, name in enumerate(names, start=1):
        if not name:
            issues.append(Issue(1, None, None, f"column {position} has no name"))
        elif name.upper() in _RESERVED_UPPER:
            issues.append(Issue(1, name, None, "an output column already has this name; rename the covariate"))
    if issues:
        raise _fail(source, issues)


def _ragged_lines(source: str, text: str) -> None:
    """Raise an InputError naming each line (up to 200) whose number of cells is not the
    header's; return when there is none (the caller reports polars' own message)."""
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows))
    issues = []
    for row in rows:
        if row and len(row) != width and len(issues) < 200:
            issues.append(Issue(rows.line_num, None, None, f"{len(row)} cells where the header has {width}"))
    if issues:
        raise _fail(source, issues)


def read_subjects(source: str | Path) -> pl.DataFrame:
    """Read and validate a subject file (CSV, Parquet, or ``-``): ``subject_id`` first, then the
    covariates in file order, all text as written (Parquet values cast to text).

    Every problem is listed, with its line (header = line 1): a header without ``subject_id``,
    a column name twice or empty, a name an output already uses (:data:`RESERVED_COLUMNS`), an
    empty ``subject_id``, a ``subject_id`` given twice (each line after the first).
    """
    source = str(source)
    frame = _read_frame(source)  # (a CSV header is checked as written before polars reads it)
    _check_header(source, frame.columns)  # (a Parquet file's names)
    frame = frame.rename({name: name.strip() for name in frame.columns})
    issues: list[Issue] = []
    frame = frame.select("subject_id", pl.exclude("subject_id"))
    numbered = frame.select("subject_id").with_row_index("_line", offset=2)
    for line, _ in numbered.filter(pl.col("subject_id").is_null() | (pl.col("subject_id").str.strip_chars() == "")).iter_rows():
        issues.append(Issue(line, "subject_id", "", "empty subject_id; every row needs one"))
    repeated = numbered.filter(pl.col("subject_id").is_duplicated() & pl.col("subject_id").is_not_null())
    if repeated.height:
        first = repeated.group_by("subject_id").agg(pl.col("_line").min().alias("_first"))
        for line, value, first_line in (
            repeated.join(first, on="subject_id").filter(pl.col("_line") > pl.col("_first")).sort("_line").iter_rows()
        ):
            issues.append(Issue(line, "subject_id", value, f"subject_id given twice (first on line {first_line})"))
    if issues:
        raise _fail(source, sorted(issues, key=lambda issue: issue.line or 0))
    return frame


def _named(ids: pl.Series) -> str:
    shown = ", ".join(ids.head(_NAMED).to_list())
    more = f" and {ids.len() - _NAMED} more" if ids.len() > _NAMED else ""
    return f"{shown}{more}"


def subject_mismatch(covariates: pl.DataFrame, event_ids: pl.Series | Iterable[str]) -> list[str]:
    """Warnings naming the subjects in only one of the two files (sorted, the first few and the
    count): "a subject of the subject file missing from the event file, or the other way round,
    is a warning naming them"."""
    events = pl.Series("subject_id", event_ids, dtype=pl.String).drop_nulls().unique()
    listed = covariates.get_column("subject_id")
    out = []
    only_events = events.filter(~events.is_in(listed.implode())).sort()
    if only_events.len():
        out.append(f"{only_events.len()} subject(s) of the event file are not in the subject file "
                   f"(their covariates are empty, group {MISSING_GROUP}): {_named(only_events)}")  # fmt: skip
    only_subjects = listed.filter(~listed.is_in(events.implode())).sort()
    if only_subjects.len():
        out.append(f"{only_subjects.len()} subject(s) of the subject file have no record in the event file: "
                   f"{_named(only_subjects)}")  # fmt: skip
    return out


def resolve_column(by: str, columns: Sequence[str], source: str, *, what: str = "subject file") -> str:
    """The column ``by`` names: exactly, else the one column equal to it ignoring case (km reads
    ADTTE headers in upper case). An unknown name is an :class:`InputError` listing the columns."""
    if by in columns:
        return by
    folded = [name for name in columns if name.upper() == by.upper()]
    if len(folded) == 1:
        return folded[0]
    listed = ", ".join(columns) if columns else "none"
    raise _fail(source, [Issue(None, by, None, f"--by {by!r} is not a column of the {what}; its columns: {listed}")])


def subject_groups(covariates: pl.DataFrame | None, by: str, *, source: str = "--subjects") -> pl.DataFrame:
    """The ``groups`` frame of the subgroup contract from the subject file and a ``--by``
    column: ``subject_id`` (String) and ``group`` (String, never null: an empty value is
    :data:`MISSING_GROUP`). Every subject of the file is there, so a level whose subjects have
    no record still makes a (empty) group. The ``subject_id`` column itself cannot be ``by``.

    ``covariates`` None (no ``--subjects``) with a ``--by`` is an :class:`InputError`.
    """
    if covariates is None:
        raise _fail("--by", [Issue(None, by, None, "--by names a column of the subject file: give --subjects FILE")])
    choices = [name for name in covariates.columns if name != "subject_id"]
    column = resolve_column(by, choices, source)
    return covariates.select(
        pl.col("subject_id").cast(pl.String),
        pl.col(column).cast(pl.String).fill_null(MISSING_GROUP).alias("group"),
    )


def group_of(ids: pl.Expr | str, groups: pl.DataFrame) -> pl.Expr:
    """An expression for the group of each ``ids`` value (a ``subject_id`` column): its group in
    ``groups``, :data:`MISSING_GROUP` for a subject not in it. For ``with_columns`` on a frame
    with that column; keeps row order (a ``replace_strict`` lookup, no join)."""
    ids = pl.col(ids) if isinstance(ids, str) else ids
    return ids.replace_strict(
        groups.get_column("subject_id"), groups.get_column("group"), default=MISSING_GROUP, return_dtype=pl.String
    )


def group_levels(groups: pl.DataFrame, present: pl.Series | None = None) -> list[str]:
    """Every group of ``groups`` and, if any, the groups of ``present`` (the groups the
    summarised subjects fall in, e.g. :data:`MISSING_GROUP`), sorted by their text."""
    levels = set(groups.get_column("group").unique().to_list())
    if present is not None:
        levels |= set(present.drop_nulls().unique().to_list())
    return sorted(levels)


def with_covariates(frame: pl.DataFrame, covariates: pl.DataFrame | None, *, on: str = "subject_id") -> pl.DataFrame:
    """``frame`` with the covariate columns after its own, joined on ``on`` (a ``subject_id``
    column of ``frame``; ``USUBJID`` for derive's ADTTE). Row order and height are kept; a subject
    not in the subject file gets empty covariates."""
    if covariates is None or covariates.width <= 1:
        return frame
    keyed = covariates.rename({"subject_id": on}) if on != "subject_id" else covariates
    return frame.join(keyed, on=on, how="left", maintain_order="left")
