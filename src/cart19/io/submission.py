"""Submission formats for an analysis dataset: SAS transport v5 (XPT), CDISC Dataset-JSON v1.1
(``.json`` and its line form ``.ndjson``), Parquet, CSV, and the ``define.json`` metadata file.

A dataset is a polars frame plus its :class:`Dataset` metadata (name, label, and per variable
name, label, type, format and a one-line derivation). Every writer first checks the frame
against the metadata (:func:`check`) and raises :class:`SubmissionError`, naming the dataset,
the variable and the record, before a byte is written; nothing is ever truncated silently.

The serialisers are libraries: pyreadstat (ReadStat) for XPT, orjson for Dataset-JSON (the
standard ``json`` module's compact UTF-8 text, several times faster), the standard ``json``
module for ``define.json``, polars for Parquet and CSV. Same frame, metadata and
:class:`Provenance` in, same bytes out: the only clock in these files (the Dataset-JSON
creation time, the XPT header's created/modified stamps) is ``Provenance.created``, which the
caller chooses (see docs/adam.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson
import polars as pl

from cart19.errors import InputError, Issue

#: A variable's type, as Dataset-JSON v1.1 names it (``dataType``).
VariableType = Literal["string", "integer", "double", "date"]

#: The formats a dataset can be written in, and each one's file extension.
FORMATS: dict[str, str] = {"xpt": ".xpt", "json": ".json", "ndjson": ".ndjson", "parquet": ".parquet", "csv": ".csv"}

#: SAS transport version 5 limits (FDA Study Data Technical Conformance Guide).
XPT_NAME_MAX = 8
XPT_LABEL_MAX = 40
XPT_VALUE_MAX = 200

#: Dataset-JSON version written.
DATASET_JSON_VERSION = "1.1.0"

_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

#: The polars types each variable type accepts.
_POLARS_TYPES: dict[str, tuple[type[pl.DataType], ...]] = {
    "string": (pl.String,),
    "integer": (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32),
    "double": (pl.Float32, pl.Float64),
    "date": (pl.Date,),
}

#: The largest integer a double (a SAS numeric) holds exactly.
_EXACT = 2**53

#: Storage length of a SAS numeric (and so of every non-string variable in XPT).
NUMERIC_LENGTH = 8


@dataclass(frozen=True)
class Variable:
    """One variable of a dataset: name, label, type, display format, and the rule it comes from.

    ``key``: its place in the dataset's key (Dataset-JSON ``keySequence``), or None. ``format``
    defaults to ``DATE9.`` for a date (a SAS date with the DATE9. format in XPT)."""

    name: str
    label: str
    type: VariableType
    derivation: str
    format: str | None = None
    key: int | None = None

    @property
    def display_format(self) -> str | None:
        return self.format if self.format is not None or self.type != "date" else "DATE9."


@dataclass(frozen=True)
class Dataset:
    """A dataset's metadata: its name, label and variables (in the file's column order)."""

    name: str
    label: str
    variables: tuple[Variable, ...]

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


@dataclass(frozen=True)
class Provenance:
    """Who wrote a dataset, from what, and when: the top-level attributes of Dataset-JSON.

    ``created`` is the creation time written into Dataset-JSON and the XPT header;
    ``db_last_modified`` when the source data last changed. Both are given by the caller, never
    read from a clock here, so the same input gives the same bytes."""

    studyid: str
    created: dt.datetime
    db_last_modified: dt.datetime
    originator: str
    source_system: tuple[str, str] = ("cart19", "")
    metadata_ref: str | None = "define.json"


class SubmissionError(InputError):
    """A dataset that a submission format cannot hold as it is (every problem listed)."""


@dataclass
class _Problems:
    source: str
    issues: list[Issue] = field(default_factory=list)

    def add(self, variable: str | None, value: str | None, message: str) -> None:
        self.issues.append(Issue(None, variable, value, message))

    def raise_any(self) -> None:
        if self.issues:
            raise SubmissionError(self.source, self.issues)


def _shown(value: str, limit: int = 60) -> str:
    """A value as an error message shows it (the data are never cut, only the message)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _utf8_len(expr: pl.Expr) -> pl.Expr:
    return expr.str.len_bytes()


def conform(frame: pl.DataFrame, dataset: Dataset) -> None:
    """The frame has exactly the dataset's variables, in order, with fitting types. A mismatch
    is a programming error (the metadata and the code that builds the frame disagree)."""
    if frame.columns != dataset.names:
        raise ValueError(f"{dataset.name}: columns {frame.columns} are not the metadata's {dataset.names}")
    for variable in dataset.variables:
        dtype = frame.schema[variable.name]
        if not isinstance(dtype, _POLARS_TYPES[variable.type]):
            raise ValueError(f"{dataset.name}.{variable.name}: a {dtype} column cannot be a {variable.type} variable")


def check(frame: pl.DataFrame, dataset: Dataset, fmt: str) -> None:
    """Every reason the frame cannot be written as ``fmt``, at once (:class:`SubmissionError`).

    For every format: the dataset and variable names are SAS names (an upper-case letter, then
    upper-case letters, digits or ``_``), labels at most 40 bytes (ADaM's rules). For XPT also
    names of at most 8 characters (every name cart19 gives is; a longer covariate name is the
    one that can only be written in the other formats) and the values
    (:func:`_check_xpt_values`)."""
    conform(frame, dataset)
    problems = _Problems(f"{dataset.name} ({fmt})")
    for what, name, label in [
        ("dataset", dataset.name, dataset.label),
        *(("variable", v.name, v.label) for v in dataset.variables),
    ]:
        column = None if what == "dataset" else name
        if (fmt == "xpt" and len(name) > XPT_NAME_MAX) or not _NAME.match(name):
            limit = f" of at most {XPT_NAME_MAX} characters" if fmt == "xpt" else ""
            problems.add(column, name, f"{what} name {name!r} is not a SAS name{limit} "
                         "(A-Z first, then A-Z, 0-9, _)")  # fmt: skip
        if len(label.encode("utf-8")) > XPT_LABEL_MAX:
            problems.add(column, label, f"the {what} label of {name} is {len(label.encode('utf-8'))} bytes; "
                         f"at most {XPT_LABEL_MAX} are allowed")  # fmt: skip
    if fmt == "xpt":
        _check_xpt_values(frame, dataset, problems)
    problems.raise_any()


def _check_xpt_values(frame: pl.DataFrame, dataset: Dataset, problems: _Problems) -> None:
    """Text of at most 200 bytes (UTF-8); integers a SAS numeric (a double) holds exactly
    (|n| <= 2**53). Each offending value is named by its record (1-based row)."""
    text = [v.name for v in dataset.variables if v.type == "string"]
    integers = [v.name for v in dataset.variables if v.type == "integer"]
    too_long = [_utf8_len(pl.col(name)) > XPT_VALUE_MAX for name in text]
    too_big = [pl.col(name).cast(pl.Int128).abs() > _EXACT for name in integers]
    if not too_long and not too_big:
        return
    offending = frame.with_row_index("_record", offset=1).filter(pl.any_horizontal(*too_long, *too_big))
    for row in offending.iter_rows(named=True):
        where = f"record {row['_record']} of {dataset.name}"
        for name in text:
            value = row[name]
            if value is not None and len(value.encode("utf-8")) > XPT_VALUE_MAX:
                size = len(value.encode("utf-8"))
                problems.add(name, _shown(value), f"{where}: {size} bytes; XPT allows at most {XPT_VALUE_MAX}")
        for name in integers:
            if row[name] is not None and abs(row[name]) > _EXACT:
                problems.add(name, str(row[name]), f"{where}: XPT stores numbers as doubles, exact only up to "
                             "2**53 = 9007199254740992")  # fmt: skip


def lengths(frame: pl.DataFrame, dataset: Dataset) -> dict[str, int]:
    """Each variable's length: for text, the longest value in UTF-8 bytes (at least 1, as SAS
    stores it); 8 (a SAS numeric) for the rest."""
    text = [v.name for v in dataset.variables if v.type == "string"]
    longest = frame.select(_utf8_len(pl.col(text)).max()).row(0, named=True) if text and frame.height else {}
    return {
        v.name: max(1, int(longest.get(v.name) or 0)) if v.type == "string" else NUMERIC_LENGTH
        for v in dataset.variables
    }


# --------------------------------------------------------------------------- XPT


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _sas_stamp(when: dt.datetime) -> bytes:
    """A time as the XPT header writes it: ``ddMMMyy:hh:mm:ss``."""
    month = _MONTHS[when.month - 1]  # (not strftime's %b, which follows the locale)
    return f"{when.day:02d}{month}{when.year % 100:02d}:{when:%H:%M:%S}".encode("ascii")


def restamp_xpt(path: Path, created: dt.datetime) -> None:
    """Put ``created`` in the four created/modified stamps of an XPT v5 header (ReadStat writes
    the clock's time and pyreadstat has no option for it): the library header's (bytes 64-79 of
    its second 80-byte record, 0-15 of its third) and the member's (the same places in the two
    records after the DSCRPTR header record)."""
    stamp = _sas_stamp(created)
    with open(path, "r+b") as handle:
        head = handle.read(80 * 8)  # the library and member headers come first
        member = head.find(b"HEADER RECORD*******DSCRPTR HEADER RECORD")
        if not head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD") or member < 0:
            raise ValueError(f"{path}: not an XPT version 5 file")
        for start in (80 + 64, 160, member + 80 + 64, member + 160):
            handle.seek(start)
            handle.write(stamp)


def write_xpt(frame: pl.DataFrame, dataset: Dataset, path: Path, provenance: Provenance) -> None:
    """SAS transport version 5: dataset name and label, variable labels, dates as SAS dates
    (days since 1960-01-01) with their display format (``DATE9.``). A text null is written as
    SAS's missing text (blank), a numeric null as SAS's missing value ``.``."""
    import pyreadstat

    check(frame, dataset, "xpt")
    formats = {v.name: v.display_format for v in dataset.variables if v.display_format}
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=dataset.label,
        column_labels={v.name: v.label for v in dataset.variables},
        table_name=dataset.name,
        file_format_version=5,
        variable_format=formats or None,
    )
    restamp_xpt(Path(path), provenance.created)


# --------------------------------------------------------------------------- Dataset-JSON


def _timestamp(when: dt.datetime) -> str:
    return when.replace(microsecond=0, tzinfo=None).isoformat()


def dataset_json_metadata(frame: pl.DataFrame, dataset: Dataset, provenance: Provenance) -> dict:
    """The top-level attributes and ``columns`` of a Dataset-JSON v1.1 file (everything but
    ``rows``), in the order of CDISC's examples."""
    sizes = lengths(frame, dataset)
    name, version = provenance.source_system
    meta: dict = {
        "datasetJSONCreationDateTime": _timestamp(provenance.created),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"cart19/{provenance.studyid}/{dataset.name.lower()}",
        "dbLastModifiedDateTime": _timestamp(provenance.db_last_modified),
        "originator": provenance.originator,
        "sourceSystem": {"name": name, "version": version},
        "studyOID": provenance.studyid,
        "metaDataVersionOID": f"MDV.{provenance.studyid}",
    }
    if provenance.metadata_ref:
        meta["metaDataRef"] = provenance.metadata_ref
    meta |= {
        "itemGroupOID": f"IG.{dataset.name}",
        "records": frame.height,
        "name": dataset.name,
        "label": dataset.label,
        "columns": [_column(v, sizes[v.name], dataset.name) for v in dataset.variables],
    }
    return meta


def _column(variable: Variable, length: int, dataset: str) -> dict:
    column: dict = {
        "itemOID": f"IT.{dataset}.{variable.name}",
        "name": variable.name,
        "label": variable.label,
        "dataType": variable.type,
    }
    if variable.type == "date":
        column["targetDataType"] = "integer"  # a SAS date: a number of days
    if variable.type == "string":
        column["length"] = length
    if variable.display_format:
        column["displayFormat"] = variable.display_format
    if variable.key is not None:
        column["keySequence"] = variable.key
    return column


def _rows(frame: pl.DataFrame, dataset: Dataset) -> list[tuple]:
    """The rows as JSON values: dates as ISO 8601 text, nulls (and a double's NaN or infinity,
    which JSON has no number for) as null."""
    dates = [v.name for v in dataset.variables if v.type == "date"]
    doubles = [v.name for v in dataset.variables if v.type == "double"]
    if dates or doubles:
        finite = [pl.when(pl.col(name).is_finite()).then(pl.col(name)).alias(name) for name in doubles]
        frame = frame.with_columns(pl.col(dates).dt.to_string("%Y-%m-%d"), *finite)
    return frame.rows()


#: Compact JSON as UTF-8 bytes, text as it is (not escaped to ASCII).
_dumps = orjson.dumps


def dataset_json_bytes(frame: pl.DataFrame, dataset: Dataset, provenance: Provenance) -> bytes:
    """A Dataset-JSON v1.1 file: one JSON object, the metadata then ``rows`` (UTF-8)."""
    check(frame, dataset, "json")
    document = dataset_json_metadata(frame, dataset, provenance) | {"rows": _rows(frame, dataset)}
    return _dumps(document) + b"\n"


def dataset_ndjson_bytes(frame: pl.DataFrame, dataset: Dataset, provenance: Provenance) -> bytes:
    """Dataset-JSON v1.1's line form: the first line is the metadata object (no ``rows``), each
    further line one row as a JSON array."""
    check(frame, dataset, "ndjson")
    lines = [_dumps(dataset_json_metadata(frame, dataset, provenance))]
    lines.extend(map(_dumps, _rows(frame, dataset)))
    return b"\n".join(lines) + b"\n"


# --------------------------------------------------------------------------- every format


def write_dataset(frame: pl.DataFrame, dataset: Dataset, fmt: str, path: Path, provenance: Provenance) -> None:
    """Write one dataset in ``fmt`` (a key of :data:`FORMATS`) to ``path``. Parquet carries the
    Dataset-JSON metadata (without rows) as its ``dataset_json`` key-value metadata; CSV is the
    frame alone (ISO dates, empty cells for nulls)."""
    if fmt == "xpt":
        write_xpt(frame, dataset, path, provenance)
    elif fmt == "json":
        Path(path).write_bytes(dataset_json_bytes(frame, dataset, provenance))
    elif fmt == "ndjson":
        Path(path).write_bytes(dataset_ndjson_bytes(frame, dataset, provenance))
    elif fmt == "parquet":
        check(frame, dataset, fmt)
        meta = _dumps(dataset_json_metadata(frame, dataset, provenance)).decode("utf-8")
        frame.write_parquet(path, metadata={"dataset_json": meta})
    elif fmt == "csv":
        check(frame, dataset, fmt)
        frame.write_csv(path)
    else:
        raise ValueError(f"not a submission format: {fmt!r} (one of {', '.join(FORMATS)})")


# --------------------------------------------------------------------------- define.json


def define(studyid: str, datasets: Sequence[tuple[pl.DataFrame, Dataset]]) -> dict:
    """The metadata file: per dataset its name, label and record count, and per variable its
    name, label, type, length, display format and derivation."""
    return {
        "studyid": studyid,
        "datasets": [
            {
                "name": meta.name,
                "label": meta.label,
                "records": frame.height,
                "variables": [
                    {
                        "name": v.name,
                        "label": v.label,
                        "type": v.type,
                        "length": size[v.name],
                        "format": v.display_format,
                        "derivation": v.derivation,
                    }
                    for v in meta.variables
                ],
            }
            for frame, meta in datasets
            for size in [lengths(frame, meta)]
        ],
    }


def define_bytes(studyid: str, datasets: Sequence[tuple[pl.DataFrame, Dataset]]) -> bytes:
    return (json.dumps(define(studyid, datasets), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


__all__ = [
    "DATASET_JSON_VERSION",
    "FORMATS",
    "Dataset",
    "Provenance",
    "SubmissionError",
    "Variable",
    "check",
    "dataset_json_bytes",
    "dataset_json_metadata",
    "dataset_ndjson_bytes",
    "define",
    "define_bytes",
    "lengths",
    "write_dataset",
    "write_xpt",
]
