"""One SDTM domain file -> an all-text polars frame (sdtm.md, "Reading SDTM").

A domain comes as SAS transport (``.xpt``, read by pyreadstat), CDISC Dataset-JSON v1.1
(``.json``; ``.ndjson`` its line form, read with the standard ``json`` library), CSV or Parquet.
Whatever the format, the frame is the same: variable names upper-cased, every value as text
(numbers without a trailing ``.0`` when whole, dates ``YYYY-MM-DD``), surrounding blanks
trimmed, an empty value null, and ``_record`` the 1-based record number in the file's order.
Nothing here prints; a file that cannot be read raises :class:`InputError` naming it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

import polars as pl

from cart19.errors import InputError, Issue
from cart19.model import STRIP_CHARS

#: The suffixes a domain file may have, and the reader of each.
SUFFIXES: tuple[str, ...] = (".xpt", ".json", ".ndjson", ".csv", ".parquet", ".pq")

RECORD = "_record"


def _file_error(path: Path, message: str) -> InputError:
    return InputError(str(path), [Issue(None, None, None, message)])


def domain_files(folder: Path, domains: Collection[str]) -> tuple[dict[str, Path], list[str], list[Issue]]:
    """The files of a folder named after one of ``domains`` (upper case), by domain:
    ``dm.xpt`` and ``AE.json`` are DM and AE; the names of the other data files; and an error
    for each domain with two files."""
    found: dict[str, Path] = {}
    others: list[str] = []
    issues: list[Issue] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
            continue
        domain = path.stem.upper()
        if domain not in domains:
            others.append(path.name)
        elif domain in found:
            issues.append(Issue(None, None, None, f"two files for the {domain} domain: {found[domain].name} and "
                                                  f"{path.name}; keep one"))  # fmt: skip
        else:
            found[domain] = path
    return found, others, issues


def read_domain(path: Path, variables: Collection[str] | None = None) -> pl.DataFrame:
    """A domain file as text (see the module's docstring). With ``variables`` (upper case),
    only those of the file's variables are read (XPT, CSV and Parquet: a real domain has
    dozens the mapping never looks at); the record numbers are those of the whole file."""
    suffix = path.suffix.lower()
    wanted = None if variables is None else {v.upper() for v in variables}
    try:
        if suffix == ".xpt":
            frame = _read_xpt(path, wanted)
        elif suffix == ".json":
            frame = _read_dataset_json(path)
        elif suffix == ".ndjson":
            frame = _read_dataset_ndjson(path)
        elif suffix == ".csv":
            frame = _read_csv(path, wanted)
        else:
            frame = _read_parquet(path, wanted)
    except PermissionError:
        raise _file_error(path, "permission denied: the file cannot be read") from None
    except (FileNotFoundError, IsADirectoryError):
        raise _file_error(path, "no such file; check the path") from None
    except OSError as exc:
        raise _file_error(path, f"the file cannot be read ({exc.strerror or exc})") from None
    return _as_text(frame, path)


def _chosen(names: list[str], wanted: set[str] | None) -> list[str] | None:
    """The names (as the file spells them) of the wanted variables; at least one name, so
    that the records are still counted; None for every variable."""
    if wanted is None:
        return None
    chosen = [n for n in names if n.strip().upper() in wanted]
    return chosen or names[:1]


def _read_xpt(path: Path, wanted: set[str] | None) -> pl.DataFrame:
    import pyreadstat

    try:
        columns = None
        if wanted is not None:
            _, meta = pyreadstat.read_xport(str(path), output_format="polars", metadataonly=True)
            columns = _chosen(list(meta.column_names), wanted)
        frame, _ = pyreadstat.read_xport(str(path), output_format="polars", usecols=columns)
    except pyreadstat.ReadstatError as exc:
        raise _file_error(path, f"not a readable SAS transport (XPT) file ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - pyreadstat's own errors have no common base
        if isinstance(exc, OSError):
            raise
        raise _file_error(path, f"not a readable SAS transport (XPT) file ({type(exc).__name__}: {exc})") from None
    return frame


def _cell(value: Any) -> str | None:
    """A Dataset-JSON value as text (``dataType`` does not change the text of a value)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _dataset(path: Path, meta: Any, rows: list[Any]) -> pl.DataFrame:
    """A Dataset-JSON dataset from its metadata object and its rows (arrays of values)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list):
        raise _file_error(path, "not CDISC Dataset-JSON: no \"columns\" list of variables")
    names = []
    for position, column in enumerate(meta["columns"], start=1):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise _file_error(path, f"not CDISC Dataset-JSON: column {position} has no name")
        names.append(column["name"])
    columns: list[list[str | None]] = [[] for _ in names]
    issues = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(names):
            size = len(row) if isinstance(row, list) else "no"
            issues.append(Issue(number, None, None, f"record {number} has {size} values where the dataset has "
                                                    f"{len(names)} columns"))  # fmt: skip
            continue
        for target, value in zip(columns, row, strict=True):
            target.append(_cell(value))
    if issues:
        raise InputError(str(path), issues)
    return pl.DataFrame({name: values for name, values in zip(names, columns, strict=True)},
                        schema=dict.fromkeys(names, pl.String))  # fmt: skip


def _read_dataset_json(path: Path) -> pl.DataFrame:
    try:
        data = json.loads(path.read_bytes())
    except UnicodeDecodeError:
        raise _file_error(path, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _file_error(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise _file_error(path, "not CDISC Dataset-JSON: the file is not a JSON object")
    rows = data.get("rows", [])
    if not isinstance(rows, list):
        raise _file_error(path, "not CDISC Dataset-JSON: \"rows\" is not a list")
    return _dataset(path, data, rows)


def _read_dataset_ndjson(path: Path) -> pl.DataFrame:
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise _file_error(path, "not UTF-8 text") from None
    parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(str(path), [Issue(number, None, line[:60], f"not valid JSON: {exc.msg}")]) from None
    if not parsed:
        raise _file_error(path, "the file is empty: expected the Dataset-JSON metadata on the first line")
    return _dataset(path, parsed[0], parsed[1:])


def _read_csv(path: Path, wanted: set[str] | None) -> pl.DataFrame:
    try:
        if wanted is not None:
            names = pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=True, n_rows=0).columns
            return pl.read_csv(path, infer_schema=False, encoding="utf8", columns=_chosen(names, wanted))
        return pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=True)
    except pl.exceptions.NoDataError:
        raise _file_error(path, "the file is empty: expected a header row of SDTM variable names") from None
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _file_error(path, f"not a readable CSV file ({first}); is it UTF-8 with a header row?") from None


def _read_parquet(path: Path, wanted: set[str] | None) -> pl.DataFrame:
    try:
        if wanted is not None:
            return pl.read_parquet(path, columns=_chosen(list(pl.read_parquet_schema(path)), wanted))
        return pl.read_parquet(path)
    except pl.exceptions.PolarsError as exc:
        raise _file_error(path, f"not a readable Parquet file ({type(exc).__name__})") from None


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.String:
        return column
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return column.dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dtype == pl.Boolean:
        return pl.when(column).then(pl.lit("Y")).when(~column).then(pl.lit("N"))
    if dtype.is_float():
        whole = column.is_finite() & (column == column.floor())
        return pl.when(whole).then(column.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(
            pl.when(column.is_finite()).then(column.cast(pl.String))
        )
    if dtype.is_numeric():
        return column.cast(pl.String)
    return column.cast(pl.String, strict=False)


def _as_text(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    upper = [name.strip().upper() for name in frame.columns]
    seen: set[str] = set()
    for name in upper:
        if name in seen:
            raise _file_error(path, f"the variable {name} appears twice")
        seen.add(name)
    if not frame.width:
        raise _file_error(path, "the file has no variables")
    texts = [
        (_text(name, dtype).str.strip_chars(STRIP_CHARS), target)
        for (name, dtype), target in zip(frame.schema.items(), upper, strict=True)
    ]
    # one lazy pass: the columns in parallel, each stripped once
    return (
        frame.lazy()
        .select(pl.when(text != "").then(text).alias(target) for text, target in texts)
        .with_row_index(RECORD, offset=1)
        .with_columns(pl.col(RECORD).cast(pl.Int64))
        .collect()
    )

