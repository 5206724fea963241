"""Reading SDTM: a folder of domain files -> the validated events frame (sdtm.md).

:func:`read_sdtm` reads every domain file (:mod:`.formats`), maps the records to event rows
(:mod:`.mapping`), and checks those rows with the event format's own validation
(:func:`cart19.io.validate.validate_raw`), so every rule of ``events-format.md`` applies. A
problem is told in the SDTM's words: the file, the record number, the variable and the value.
Besides the events, the result keeps each event's origin (``provenance``: ``line`` ->
``srcdom``, ``srcseq``, ``srcvar``), the mapping report (:mod:`.report`), the event file's
text, and DM's covariates.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cart19.config import SDTMConfig
from cart19.errors import InputError, Issue
from cart19.io.contradictions import contradiction_warnings, implausible_dates
from cart19.io.read import ReadResult, checked_events, has_invisible
from cart19.io.sdtm.formats import domain_files, read_domain
from cart19.io.sdtm.mapping import (
    DOMAINS,
    EVENT_TEXT,
    Domain,
    Mapped,
    SdtmIssue,
    map_domains,
    variables,
)
from cart19.io.subjects import Subjects, subject_codes
from cart19.io.validate import coded_rows, scan_coded, validate_raw
from cart19.model import COLUMNS, STRIP_CHARS

__all__ = ["SDTMResult", "SdtmIssue", "read_sdtm", "trace_sources", "EVENT_FILE_COLUMNS"]

#: The columns of the event file ``cart19 events`` writes: the format's, ``mrd``, the origin
#: and ``dtf`` (``M`` where an AE onset is a year alone: the reader imputes it, flag M).
EVENT_FILE_COLUMNS: tuple[str, ...] = (*EVENT_TEXT, "srcdom", "srcseq", "srcvar", "dtf")

#: Hints added to a message of the event format's checks, by (domain, column).
_HINTS: dict[tuple[str, str], str] = {
    ("RS", "result"): "; RSSTRESC values are mapped by `sdtm.response_map`",
    ("AE", "grade"): "; AE grades come from `sdtm.ae_grade` (or AESEV with `sdtm.grade_from_severity`)",
}


@dataclass
class SDTMResult(ReadResult):
    #: ``line`` (the events' record number) -> ``srcdom``, ``srcseq``, ``srcvar``, ``dtf``
    provenance: pl.DataFrame | None = None
    #: the mapping report: ``domain, file, read, outcome, records``
    report: pl.DataFrame | None = None
    #: the mapped event file (:data:`EVENT_FILE_COLUMNS`, text), in line order
    event_file: pl.DataFrame | None = None
    #: DM's covariates: ``subject_id`` and the ``sdtm.covariates`` DM has, as text
    covariates: pl.DataFrame | None = None
    #: DM's ``STUDYID`` (the first non-empty value), or None
    studyid: str | None = None


def read_sdtm(folder: str | Path, config: SDTMConfig | None = None, *, with_sha256: bool = False) -> SDTMResult:
    """Read, map and validate an SDTM folder. Raises :class:`InputError` listing every
    problem (of every file) when it cannot be used."""
    config = config or SDTMConfig()
    folder = Path(folder)
    source = str(folder)
    try:
        files, others, issues = domain_files(folder, DOMAINS)
    except OSError as exc:
        raise InputError(source, [Issue(None, None, None, f"the folder cannot be read ({exc.strerror or exc})")]) from None
    if not files and not others and not issues:
        raise InputError(source, [Issue(None, None, None, "this is a folder, not an event file, and it holds no SDTM "
                                        "domain file (dm.xpt, ae.json, rs.csv ...; DM is required)")])  # fmt: skip
    if "DM" not in files:
        names = sorted([*(p.name for p in files.values()), *others])
        found = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        found = found or "no domain file (.xpt, .json, .ndjson, .csv, .parquet)"
        issues.append(Issue(None, None, None, f"no DM domain (dm.xpt, dm.json, dm.csv ...): DM is required, it names "
                                              f"the subjects; the folder has {found}"))  # fmt: skip
    domains: dict[str, Domain] = {}
    used = variables(config)
    if others:
        shown = ", ".join(others[:6]) + (f" and {len(others) - 6} more" if len(others) > 6 else "")
        issues.append(Issue(None, None, None, f"{len(others)} file(s) not read ({shown}): the mapping reads the "
                                              f"domains {', '.join(DOMAINS)}", "warning"))  # fmt: skip
    for name, path in files.items():
        try:
            domains[name] = Domain(name, path.name, read_domain(path, used[name]))
        except InputError as exc:
            issues += [SdtmIssue(i.line, i.column, i.value, i.message, i.severity, path.name) for i in exc.issues]
    if "DM" not in domains:  # (else the readable domains are mapped, so that every problem is listed at once)
        raise InputError(source, issues)
    mapped = map_domains(domains, config)
    issues += mapped.issues
    rows = _numbered(mapped.rows)
    raw = rows.select("line", *COLUMNS)
    events, found, subjects = _validate(raw)
    origin = _Origins(rows, mapped)
    issues += [origin.translate(i) for i in found]
    if not any(i.severity == "error" for i in issues):
        # the reader's own flag (validate.impute), by line: no second statement of the rule
        flags = events.select("line", pl.when(pl.col("month_imputed")).then(pl.lit("M")).alias("dtf"))
        rows = rows.join(flags, on="line", how="left", maintain_order="left")
        issues += [origin.translate(i) for i in contradiction_warnings(events, subjects)]
        issues += _outside_dm(rows, domains, mapped.files)
    if any(i.severity == "error" for i in issues):
        raise InputError(source, issues)
    return SDTMResult(
        events=events,
        warnings=[i for i in issues if i.severity == "warning"],
        sha256=_folder_sha256(files) if with_sha256 else None,
        subjects=subjects,
        provenance=rows.select("line", "srcdom", "srcseq", "srcvar", "dtf"),
        report=mapped.report,
        event_file=rows.select(EVENT_FILE_COLUMNS),
        covariates=mapped.covariates,
        studyid=mapped.studyid,
    )


def _validate(raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Issue], Subjects | None]:
    """The event format's checks of the mapped rows (``line`` + the format's columns, in line
    order): the canonical events, the issues, and the events' subjects as codes.

    As the event file's fast reader does (:func:`cart19.io.read.read_events`): each column's
    cells are coded (Categorical), what a text says is worked out once per distinct text
    (:func:`cart19.io.validate.coded_rows`), and only the suspect records are checked in full
    (:func:`cart19.io.read.checked_events`, where both readers end); the two paths give the same issues and events
    (tests/test_validate_properties.py). A control or invisible character in a cell takes
    :func:`cart19.io.validate.validate_raw`, which names it."""
    categories = pl.Categories.random()
    coded = raw.select("subject_id", *[pl.col(c).cast(pl.Categorical(categories)) for c in COLUMNS[1:]])
    values = categories.to_series()  # every distinct text of the coded columns, in code order
    subjects = subject_codes(coded.get_column("subject_id"))
    if has_invisible(subjects.ids, values.str.strip_chars(STRIP_CHARS)):
        events, issues = validate_raw(raw)
        return events, issues + implausible_dates(raw), None
    scanned = scan_coded(coded_rows(coded, values, subjects), subjects)
    return checked_events(scanned, lambda lines: raw.filter(pl.col("line").is_in(lines.implode())))


def _numbered(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows in the event file's order (subject, date as written, domain, record) with
    ``line`` = the line they take in that file (header = 1)."""
    ordered = rows.sort("subject_id", "date", "_order", "record", "event", nulls_last=True)
    return ordered.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("line"))


class _Origins:
    """Turns an issue about a line of the mapped rows into one about an SDTM record."""

    def __init__(self, rows: pl.DataFrame, mapped: Mapped):
        self.rows = rows
        self.mapped = mapped

    def _row(self, line: int) -> dict | None:
        index = line - 2
        if 0 <= index < self.rows.height:
            row = self.rows.row(index, named=True)
            return {**row, "file": self.mapped.files[row["srcdom"]], "variables": self.mapped.rules[row["_rule"]]}
        return None

    def _where(self, match: re.Match) -> str:
        row = self._row(int(match.group(2)))
        if row is None:
            return match.group(0)
        return f"{'in ' if match.group(1) else ''}{row['file']} record {row['record']}"

    def translate(self, issue: Issue) -> Issue:
        message = re.sub(r"\b(on )?line (\d+)", self._where, issue.message)
        row = None if issue.line is None else self._row(issue.line)
        if row is None:
            return Issue(issue.line, issue.column, issue.value, message, issue.severity)
        column = issue.column
        if column in EVENT_TEXT:
            column = row["variables"].get(column) or column
            message += _HINTS.get((row["srcdom"], issue.column), "")
        if issue.column == "event":  # (a rule about the record as a whole)
            column = None
        return SdtmIssue(row["record"], column, issue.value, message, issue.severity, row["file"])


def _outside_dm(rows: pl.DataFrame, domains: dict[str, Domain], files: dict[str, str]) -> list[Issue]:
    """A warning for records of subjects DM does not have."""
    if "DM" not in domains:
        return []
    known = domains["DM"].frame.get_column("USUBJID").drop_nulls().implode()
    outside = rows.filter(~pl.col("subject_id").is_in(known) & pl.col("subject_id").is_not_null())
    if outside.height == 0:
        return []
    subjects = outside.get_column("subject_id").unique(maintain_order=True)
    shown = ", ".join(repr(s) for s in subjects.head(5).to_list())
    first = outside.row(0, named=True)
    return [SdtmIssue(first["record"], "USUBJID", None, f"{outside.height} record(s) of {subjects.len()} subject(s) "
                      f"DM does not have ({shown}); mapped all the same", "warning", files[first["srcdom"]])]  # fmt: skip


def _folder_sha256(files: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(files[name].name.encode() + b"\0")
        digest.update(hashlib.sha256(files[name].read_bytes()).digest())
    return digest.hexdigest()


def trace_sources(frame: pl.DataFrame, provenance: pl.DataFrame | None) -> pl.DataFrame:
    """An output with ``SRCDOM``/``SRCSEQ`` naming event records (``SRCSEQ`` = the record's
    line) -> the same output naming SDTM records: ``SRCDOM`` the domain, ``SRCSEQ`` its
    ``--SEQ`` (or record number), and ``SRCVAR`` (the date variable) after the last column.
    An AE listing (``AESEQ`` = the line) gets the AE's ``AESEQ`` (its ``ASTDTF`` comes from the
    events' own flags). Without ``provenance`` (an event file was read) the frame is returned
    as it is."""
    if provenance is not None and "AESEQ" in frame.columns and "SRCSEQ" not in frame.columns:
        origin = provenance.select(pl.col("line").alias("AESEQ"), pl.col("srcseq").alias("_seq"))
        joined = frame.join(origin, on="AESEQ", how="left", maintain_order="left")
        return joined.with_columns(pl.col("_seq").alias("AESEQ")).select(frame.columns)
    if provenance is None or "SRCSEQ" not in frame.columns:
        return frame
    origin = provenance.select(
        pl.col("line").alias("SRCSEQ"), pl.col("srcdom").alias("_dom"), pl.col("srcseq").alias("_seq"),
        pl.col("srcvar").alias("SRCVAR"),
    )  # fmt: skip
    joined = frame.join(origin, on="SRCSEQ", how="left", maintain_order="left")
    return joined.with_columns(pl.col("_dom").alias("SRCDOM"), pl.col("_seq").alias("SRCSEQ")).select(
        *frame.columns, "SRCVAR"
    )

