"""Reading the event file: bytes -> a raw all-text table with line numbers -> validated,
imputed canonical events (:mod:`cart19.schema`).

The fast path hands the file to polars. When polars cannot parse it (bad UTF-8, a record
with too many fields, an unclosed quote), a slow path with Python's ``csv`` module finds every
offending line so the message can name it. Nothing here prints.
"""

from __future__ import annotations

import csv
import hashlib
import io
import mmap
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from cart19.errors import InputError, Issue
from cart19.io.contradictions import contradiction_warnings, implausible_dates
from cart19.io.integrity import (
    binary_error,
    count_byte_unless_nul,
    fields_add_up,
    read_source,
    sep_hint,
    short_record_lines,
)
from cart19.io.subjects import Subjects, subject_codes
from cart19.io.validate import (
    EVERY_COLUMN,
    Scanned,
    coded_rows,
    impute,
    raw_errors,
    scan_coded,
    validate_raw,
)
from cart19.model import COLUMNS, INVISIBLE_PATTERN, STRIP_CHARS
from cart19.schema import EVENTS_SCHEMA

PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"


@dataclass
class ReadResult:
    #: the canonical events frame (all records, before any cutoff)
    events: pl.DataFrame
    #: warnings (unknown columns, ignored values, blank lines ...)
    warnings: list[Issue] = field(default_factory=list)
    #: SHA-256 of the input bytes, when asked for
    sha256: str | None = None
    #: the events' subjects as integer codes (:mod:`cart19.io.subjects`), when the reader has
    #: them; they make per-subject counts cheaper than the identifiers' text
    subjects: Subjects | None = None


def _file_error(source: str, message: str) -> InputError:
    return InputError(source, [Issue(None, None, None, message)])


def read_events(source: str | Path, *, stdin: BinaryIO | None = None, with_sha256: bool = False) -> ReadResult:
    """Read, validate and impute an event file (CSV path, Parquet path, or ``-`` for stdin).

    Raises :class:`InputError` listing every problem when the file is not valid.
    """
    source = str(source)
    if source != "-" and Path(source).suffix.lower() not in PARQUET_SUFFIXES:
        streamed = _read_plain_csv(source)
        if streamed is not None:
            events, issues, subjects = streamed
            digest = _file_sha256(source) if with_sha256 else None
            return _finish(source, events, issues, digest, subjects)
    data = read_source(source, stdin)
    is_parquet = source != "-" and Path(source).suffix.lower() in PARQUET_SUFFIXES
    # Parquet on standard input (or under another name) is recognised by its magic bytes.
    if is_parquet or data[:4] == PARQUET_MAGIC:
        raw, warnings = _parquet_raw(source, data)
    else:
        raw, warnings = csv_raw(source, data)
    events, issues = validate_raw(raw)
    issues = warnings + issues + implausible_dates(raw)
    digest = hashlib.sha256(data).hexdigest() if with_sha256 else None
    del data, raw
    return _finish(source, events, issues, digest)


def _finish(
    source: str, events: pl.DataFrame, issues: list[Issue], digest: str | None, subjects: Subjects | None = None
) -> ReadResult:
    """``subjects``: the events' subjects as codes, when the reader has them."""
    if not any(i.severity == "error" for i in issues):  # timelines: docs/data-checks.md
        issues += contradiction_warnings(events, subjects)
    if any(i.severity == "error" for i in issues):
        raise InputError(source, issues)
    warnings = [i for i in issues if i.severity == "warning"]
    return ReadResult(events=events, warnings=warnings, sha256=digest, subjects=subjects)


def _file_sha256(source: str) -> str:
    with open(source, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --------------------------------------------------------------------------- streaming path
# When a CSV file has one record per physical line (no quoted field holds a line break),
# record i is on line i + 2 and polars can stream it: the all-text table of a large file
# never exists in full. Anything else (a quoted line break, lone CR line breaks, a BOM, a
# header or record polars cannot read ...) takes the eager path below, which diagnoses it.

@dataclass(frozen=True)
class _PlainCsv:
    """What :func:`_plain_csv_header` learns of a CSV file the streaming path can read."""

    #: the header's names, as written
    header: list[str]
    #: the commas of the header line
    header_commas: int
    #: the commas of the whole file (:func:`cart19.io.integrity.fields_add_up` checks them)
    commas: int


def _plain_csv_header(source: str) -> _PlainCsv | None:
    """The header (and the commas) of a CSV file the streaming path can read; None when the
    file needs the eager path.

    A carriage return is looked for only in the header: one further on ends up in a cell
    (polars keeps it in the text, but for the CR of a CRLF line end) or breaks the parse, and
    :func:`_read_plain_csv` sends the file to the eager path either way."""
    try:
        with open(source, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            head = view[:65536]
            if head.startswith(b"\xef\xbb\xbf") or head[:4] == PARQUET_MAGIC:
                return None
            end = head.find(b"\n")
            first = head[:end] if end >= 0 else head
            if end < 0 or b"\r" in first.rstrip(b"\r"):
                return None  # (no line break in the first 64 KiB; a lone CR line break in the header)
            if not first.strip() or sep_hint(first):
                return None
            header = _header_of(first)
            if not header:
                return None
            # the file's commas, in the pass that looks for a NUL byte: with one anywhere (None),
            # the eager path names its line, in bounded memory
            commas = count_byte_unless_nul(view, ord(","))
    except (OSError, ValueError):  # no such file, a folder, an empty file ...: the eager path says what
        return None
    if commas is None:
        return None
    return _PlainCsv(header=header, header_commas=first.count(b","), commas=commas)


def _scan(source: str, coded: dict[str, pl.DataType] | None = None, *, row_index: bool = True) -> pl.LazyFrame:
    scan = pl.scan_csv(source, infer_schema=False, has_header=True, encoding="utf8", raise_if_empty=True,
                       quote_char='"', schema_overrides=coded)  # fmt: skip
    return scan.with_row_index("_row") if row_index else scan


def _scan_coded(source: str, header: list[str]) -> tuple[pl.LazyFrame, pl.Categories, list[Issue]] | None:
    """The lazy coded table (``subject_id`` as text, the format's other columns as
    Categorical), their categories, and the header's warnings; None when the header has an
    error (the eager path reports it). The rows come in file order: record i is on line i + 2."""
    names, issues = _normalise_header(header, source)
    if issues or any(c not in names for c in ("subject_id", "event", "date")):
        return None
    read_names = _scan(source).collect_schema().names()[1:]
    if len(read_names) != len(names):
        return None
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        issues.append(Issue(1, ", ".join(unknown), None,
                            "column(s) not in the format are kept out of the derivations", "warning"))  # fmt: skip
    read_name = dict(zip(names, read_names, strict=True))
    # categories of this read only: codes run 0..k-1 over the file's distinct values (a few
    # thousand). Not the subjects': their ~100k distinct ids among ~3M cells cost more to code
    # than to read as text (subject_codes counts them when the file keeps them together)
    categories = pl.Categories.random()
    coded = pl.Categorical(categories)
    overrides = {read_name[c]: coded for c in names if c != "subject_id"}
    columns = [pl.col(read_name["subject_id"]).alias("subject_id")]
    columns += [pl.col(read_name[c]).alias(c) if c in read_name else pl.lit(None, coded).alias(c)
                for c in COLUMNS if c != "subject_id"]  # fmt: skip
    # the unknown columns too, only to see whether a quoted cell of theirs holds a line break
    columns += [pl.col(read_name[c]).alias(f"_unknown_{i}") for i, c in enumerate(unknown)]
    return _scan(source, overrides, row_index=False).select(columns), categories, issues


def _has_line_break(*texts: pl.Series) -> bool:
    """Whether a text of the distinct values of a coded table holds a line break or a carriage
    return (a CR of a CRLF line end is not in the text: polars drops it)."""
    return any(values.str.contains("[\r\n]").any() for values in texts)


def _raw_columns(read_name: dict[str, str]) -> list[pl.Expr]:
    """``line`` and the format's columns from a scan (``read_name``: column -> name polars gave it)."""
    return [(pl.col("_row").cast(pl.Int64) + 2).alias("line")] + [
        pl.col(read_name[c]).alias(c) if c in read_name else pl.lit(None, pl.String).alias(c) for c in COLUMNS
    ]


def _read_plain_csv(source: str) -> tuple[pl.DataFrame, list[Issue], Subjects | None] | None:
    """Events, issues and the subjects' codes (record by record) of a CSV file read by
    streaming, or None when the file needs the eager path."""
    plain = _plain_csv_header(source)
    if plain is None:
        return None
    header = plain.header
    scanned_coded = _scan_coded(source, header)
    if scanned_coded is None:
        return None
    lazy, categories, header_warnings = scanned_coded
    try:
        # every column read: polars checks a record's field count only when it parses it whole
        coded = lazy.collect(engine="streaming", optimizations=EVERY_COLUMN)
    except pl.exceptions.PolarsError:  # e.g. a record with too many fields, bytes that are not UTF-8
        return None
    subjects = subject_codes(coded.get_column("subject_id"))
    values = categories.to_series()  # every distinct text of the coded columns, in code order
    if _has_line_break(subjects.ids, values):
        return None  # a quoted line break (record i is not on line i + 2), or a lone CR line break
    # a control or invisible character in a cell (the trimmed text; subject_id as written) is an
    # error (events-format.md, "Text cells"): the eager path names it
    if has_invisible(subjects.ids, values.str.strip_chars(STRIP_CHARS)):
        return None
    names, _ = _normalise_header(header, source)
    unknown = iter(range(len(names)))
    from_file = [name if name in COLUMNS else f"_unknown_{next(unknown)}" for name in names]
    texts = {"subject_id": (subjects.ids, subjects.codes)}
    if not fields_add_up(plain.commas, plain.header_commas, coded, from_file, values, texts):
        return None  # polars fills the fields missing from a short record with nulls: the eager path names it
    rows = coded_rows(coded.select(pl.exclude("^_unknown_.*$")), values, subjects)
    del coded  # the coded table is not needed any more: at 1M subjects it holds ~1.9 GiB
    scanned = scan_coded(rows, subjects)
    del rows

    def raw_lines(lines: pl.Series) -> pl.DataFrame:
        """The raw text of the records on ``lines``, read again from the file (values as written)."""
        read_names = _scan(source).collect_schema().names()[1:]
        return (
            _scan(source)
            .filter(pl.col("_row").is_in((lines - 2).cast(pl.UInt32).implode()))
            .select(_raw_columns(dict(zip(names, read_names, strict=True))))
            .collect(engine="streaming", optimizations=EVERY_COLUMN)
        )

    events, issues, subjects_of_events = checked_events(scanned, raw_lines)
    return events, header_warnings + issues, subjects_of_events


def checked_events(
    scanned: Scanned, raw_lines: Callable[[pl.Series], pl.DataFrame]
) -> tuple[pl.DataFrame, list[Issue], Subjects | None]:
    """The end of a coded read (:func:`cart19.io.validate.scan_coded`'s ``scanned``): the
    full checks of the event format on the suspect records only, whose raw text (``line`` and
    the format's columns, values as written) ``raw_lines`` gives for their lines, then the
    imputed events. ``(events, issues, subjects)``; with an error, the events are empty and
    ``subjects`` None. The event file's reader and the SDTM reader end here alike."""
    if scanned.suspects.len():
        suspects = raw_lines(scanned.suspects)
        errors = raw_errors(suspects) + implausible_dates(suspects)
        if errors:
            return pl.DataFrame(schema=EVENTS_SCHEMA), scanned.warnings + errors, None
    return impute(scanned.events, scanned.subjects.codes), scanned.warnings, scanned.subjects


def has_invisible(*texts: pl.Series) -> bool:
    """Whether a text of the distinct values of a coded table holds a control or invisible
    format character (:data:`cart19.model.INVISIBLE_PATTERN`)."""
    return any(values.str.contains(INVISIBLE_PATTERN).any() for values in texts)


# --------------------------------------------------------------------------- raw tables


def _normalise_header(names: list[str], source: str) -> tuple[list[str], list[Issue]]:
    """Column names trimmed and lower-cased; duplicates and blanks are errors (line 1)."""
    issues: list[Issue] = []
    normalised = [n.strip().lower() for n in names]
    seen: dict[str, int] = {}
    for position, name in enumerate(normalised, start=1):
        if not name:
            issues.append(Issue(1, None, names[position - 1], f"column {position} of the header has no name"))
        elif name in seen:
            issues.append(Issue(1, name, names[position - 1], f"the column {name!r} appears twice in the header "
                                f"(columns {seen[name]} and {position})"))  # fmt: skip
        else:
            seen[name] = position
    return normalised, issues


def _finish_raw(frame: pl.DataFrame, header: list[str], source: str, line: pl.Expr) -> tuple[pl.DataFrame, list[Issue]]:
    """Name the columns, add ``line``, keep the known columns (all as text), report the rest."""
    names, issues = _normalise_header(header, source)
    missing = [c for c in ("subject_id", "event", "date") if c not in names]
    if missing:
        found = ", ".join(repr(n) for n in header[:12]) or "nothing"
        issues.append(Issue(1, ", ".join(missing), None,
                            f"missing required column(s) {', '.join(missing)}; the header has {found}. "
                            "Is this a comma-separated file with a header row?"))  # fmt: skip
    if any(i.severity == "error" for i in issues):
        raise InputError(source, issues)
    line_numbers = frame.select(line.alias("line")).to_series()  # ``line`` may name the columns as written
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        issues.append(Issue(1, ", ".join(unknown), None,
                            "column(s) not in the format are kept out of the derivations", "warning"))  # fmt: skip
    frame = frame.with_columns(line_numbers)
    columns = [pl.col("line")] + [
        pl.col(c).cast(pl.String) if c in names else pl.lit(None, pl.String).alias(c) for c in COLUMNS
    ]
    return frame.select(columns), issues


def csv_raw(source: str, data: bytes) -> tuple[pl.DataFrame, list[Issue]]:
    """CSV bytes -> (raw text frame with ``line``, warnings). Raises :class:`InputError`."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data or data.isspace():
        raise _file_error(source, "the file is empty: expected a header row (subject_id,event,date,...)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise binary_error(source, data, nul, 0)
    hint = sep_hint(data[: data.find(b"\n")] if b"\n" in data else data)
    if hint:
        raise InputError(source, [Issue(1, None, None, hint)])
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # lone CR line breaks (old Mac exports): polars drops the CR and glues the lines, so
        # Python's csv module (universal newlines) reads these files and numbers their lines
        return _slow_csv_raw(source, data)
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, has_header=True, encoding="utf8",
                            raise_if_empty=True, quote_char='"')  # fmt: skip
    except Exception:  # noqa: BLE001 - polars cannot parse it: find out why, line by line
        return _slow_csv_raw(source, data)
    header = _header_of(data)
    if header is None or len(header) != frame.width or short_record_lines(data, len(header)).len():
        return _slow_csv_raw(source, data)  # (polars fills the fields missing from a short record with nulls)
    line = _line_numbers(frame, data)
    return _finish_raw(frame, header, source, line)


def _header_of(data: bytes) -> list[str] | None:
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    try:
        text = first.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    try:
        rows = list(csv.reader([text]))
    except csv.Error:  # e.g. a quoted line break in the header: the slow path says what is wrong
        return None
    return rows[0] if rows else None


def _line_numbers(frame: pl.DataFrame, data: bytes) -> pl.Expr:
    """Line of each record: header = 1, so row i starts on line i + 2, plus the line breaks
    inside quoted fields of the rows before it."""
    index = pl.int_range(pl.len(), dtype=pl.Int64) + 2
    text_columns = [c for c, t in frame.schema.items() if t == pl.String]
    if not text_columns:
        return index
    # polars gives every physical line after the header a row (blank lines included; files with
    # lone CR line breaks never get here), so when the file has exactly one line per row no
    # field holds a line break: a byte count instead of a scan of every cell
    physical_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if physical_lines == frame.height + 1:
        return index
    has_break = frame.select(pl.any_horizontal(pl.col(text_columns).str.contains("\n", literal=True)).any()).item()
    if not has_break:
        return index
    breaks = pl.sum_horizontal(pl.col(text_columns).str.count_matches("\n", literal=True).fill_null(0))
    return index + breaks.cum_sum().shift(1, fill_value=0).cast(pl.Int64)


def _slow_csv_raw(source: str, data: bytes) -> tuple[pl.DataFrame, list[Issue]]:
    """Parse with Python's csv module, reporting every undecodable line and every record
    whose field count differs from the header's."""
    issues: list[Issue] = []
    text = data.decode("utf-8", "surrogateescape")  # one pass; undecodable bytes become lone surrogates
    line, counted, last_line = 1, 0, 0
    for match in re.finditer("[\udc80-\udcff]+", text):  # every line with bytes that are not UTF-8, once
        line += text.count("\n", counted, match.start())
        counted = match.start()
        if line == last_line:
            continue
        last_line = line
        bad = match.group().encode("utf-8", "surrogateescape")
        issues.append(Issue(line, None, bad.hex(" "), f"bytes that are not UTF-8 ({bad!r}); "
                            "save the file as UTF-8"))  # fmt: skip
    if issues:
        raise InputError(source, issues)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    previous_end = 0
    try:
        for record in reader:
            start_line = previous_end + 1
            previous_end = reader.line_num
            if header is None:
                header = record
                continue
            if not record or (len(record) == 1 and not record[0].strip()):  # a blank line
                continue
            if len(record) != len(header):
                issues.append(Issue(start_line, None, ",".join(record)[:80],
                                    f"{len(record)} fields where the header has {len(header)}"))  # fmt: skip
                continue
            records.append(record)
            lines.append(start_line)
    except csv.Error as exc:
        # the record that could not be read starts on the line after the last good one
        issues.append(Issue(previous_end + 1, None, None,
                            f"not valid CSV: {exc} (an unclosed quote in the record starting on this line?)"))  # fmt: skip
    if header is None:
        raise _file_error(source, "the file is empty: expected a header row (subject_id,event,date,...)")
    if issues:
        raise InputError(source, issues)
    width = len(header)
    frame = pl.DataFrame(
        {f"column_{i}": [r[i] for r in records] for i in range(width)}, schema={f"column_{i}": pl.String for i in range(width)}
    )
    frame = frame.with_columns(pl.all().replace("", None))
    return _finish_raw(frame, header, source, pl.lit(pl.Series(lines, dtype=pl.Int64)))


def _check_datetimes(source: str, frame: pl.DataFrame, name: str, dtype: pl.Datetime) -> None:
    """A Parquet date-time is read as its date only when it is a date: no time zone (its local
    date would depend on where the file is read, as a CSV date-time would) and midnight."""
    if dtype.time_zone is not None:
        raise InputError(source, [Issue(None, name.strip().lower(), None, f"the column holds date-times in the time "
                                        f"zone {dtype.time_zone}; the format needs dates (YYYY-MM-DD): store the "
                                        "local dates of the events")])  # fmt: skip
    timed = frame.select(pl.int_range(pl.len()).filter(pl.col(name).dt.time() != pl.time(0)).first()).item()
    if timed is not None:
        value = frame.get_column(name)[timed]
        raise InputError(source, [Issue(timed + 2, name.strip().lower(), str(value), "a date-time with a time of day; "
                                        "the format needs dates (YYYY-MM-DD)")])  # fmt: skip


def _parquet_raw(source: str, data: bytes) -> tuple[pl.DataFrame, list[Issue]]:
    """A Parquet file: every column read as text; ``line`` is the row number + 1 (as if the
    rows followed a header line), so messages point at the same record a CSV export would."""
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise _file_error(source, f"not a readable Parquet file ({type(exc).__name__})") from None
    names, _ = _normalise_header(list(frame.columns), source)
    converted = []
    for name, normalised in zip(frame.columns, names, strict=True):
        dtype = frame.schema[name]
        column = pl.col(name)
        if normalised not in COLUMNS:
            # kept out of the derivations (and reported as unknown): only its name matters
            converted.append(pl.lit(None, pl.String).alias(name))
            continue
        if isinstance(dtype, pl.Datetime):
            _check_datetimes(source, frame, name, dtype)
            column = column.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Date:
            column = column.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Boolean:
            column = pl.when(column).then(pl.lit("Y")).when(~column).then(pl.lit("N"))
        elif dtype.is_float():
            # a grade stored as a float (e.g. 2.0, as pandas writes nullable integers) is 2
            whole = column.is_finite() & (column == column.floor()) & (column.abs() < 1e15)  # (else shown as written)
            column = pl.when(whole).then(column.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(
                column.cast(pl.String)
            )
        elif not (dtype in (pl.String, pl.Null) or dtype.is_integer() or isinstance(dtype, (pl.Categorical, pl.Enum))):
            raise InputError(source, [Issue(None, normalised, None, f"the column holds {dtype} values; the format "
                                            "needs text, whole numbers or dates")])  # fmt: skip
        converted.append(column.cast(pl.String).alias(name))
    frame = frame.select(converted)
    return _finish_raw(frame, list(frame.columns), source, pl.int_range(pl.len(), dtype=pl.Int64) + 2)
