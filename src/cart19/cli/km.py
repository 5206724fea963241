"""``cart19 km``: Kaplan-Meier summary of any ADTTE-shaped table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cart19.cli.common import (
    ConfigOpt,
    Env,
    ExcelSafeOpt,
    Format,
    FormatOpt,
    InputArg,
    OutputOpt,
    QuietOpt,
    command,
    resolve_format,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.table import Table

HELP = """Kaplan-Meier summary of an ADTTE-shaped table (columns PARAMCD, AVAL in days, CNSR).

Per parameter: N, events, censored, the median with its 95% CI (Brookmeyer-Crowley, log-log),
and the estimate with its 95% CI (Greenwood, log-log) at 6, 12 and 24 months (a month is
30.4375 days). The numbers are R's survfit(conf.type = "log-log"). Reads the output of
`cart19 derive`, or an ADTTE made by SAS or R (CSV or Parquet; other columns are ignored).

Example:  cart19 derive examples/events.csv | cart19 km -
"""


def read_adtte(source: str) -> pl.DataFrame:
    """An ADTTE-shaped table from CSV, Parquet (by its magic bytes, so also on standard input)
    or stdin. Every bad cell is an InputError naming its line (header = line 1; a Parquet row
    counts as if it followed a header), column and value, in plain words."""
    import csv
    import io

    import polars as pl

    from cart19.errors import InputError, Issue
    from cart19.io.integrity import PARQUET_MAGIC, read_source, short_record_lines

    def fail(message: str, line: int | None = None, column: str | None = None, value: str | None = None) -> None:
        raise InputError(source, [Issue(line, column, value, message)])

    data = read_source(source)
    if data[:4] == PARQUET_MAGIC:
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001
            fail(f"not a readable Parquet file ({type(exc).__name__})")
    else:
        data = data.removeprefix(b"\xef\xbb\xbf")
        if not data.strip():
            fail("the file is empty: expected an ADTTE table with PARAMCD, AVAL and CNSR")
        if b"\r" in data:  # lone CR line breaks: polars would glue the lines together
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            fail("bytes that are not UTF-8; save the file as UTF-8", data.count(b"\n", 0, exc.start) + 1)
        header = next(csv.reader([text.split("\n", 1)[0]]), [])
        short = short_record_lines(data, len(header))
        problems = [Issue(int(line), None, None, f"fewer fields than the {len(header)} of the header")
                    for line in short]  # fmt: skip
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
        except Exception:  # noqa: BLE001 - find the records polars could not read, line by line
            frame = None
            for line, record in enumerate(csv.reader(io.StringIO(text)), start=1):
                if len(record) > len(header):  # (the short ones are found above)
                    problems.append(Issue(line, None, None, f"{len(record)} fields where the header has {len(header)}"))
            if not problems:
                problems.append(Issue(None, None, None, "not a readable CSV table (an unclosed quote?)"))
        if problems:
            raise InputError(source, sorted(set(problems)))
        assert frame is not None
    names = [c.strip().upper() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        fail(f"column name(s) {', '.join(map(repr, twice))} appear more than once in the header", 1)
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    missing = [c for c in ("PARAMCD", "AVAL", "CNSR") if c not in frame.columns]
    if missing:
        fail(f"missing column(s) {', '.join(missing)}; km needs PARAMCD, AVAL (days) and CNSR (0/1)", 1)
    for column in ("PARAMCD", "AVAL", "CNSR"):
        dtype = frame.schema[column]
        plain = dtype in (pl.String, pl.Null, pl.Boolean) or dtype.is_numeric() or isinstance(dtype, (pl.Categorical, pl.Enum))
        if not plain:
            fail(f"the column holds {dtype} values; km needs {_NEEDS[column]}", None, column)
    frame = frame.select(
        pl.col("PARAMCD").cast(pl.String),
        pl.col("AVAL").cast(pl.String).alias("_aval_text"),
        pl.col("AVAL").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).alias("AVAL"),
        pl.col("CNSR").cast(pl.String).alias("_cnsr_text"),
        pl.col("CNSR").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).alias("CNSR"),
    ).with_row_index("_row")
    checks = {
        "PARAMCD": (pl.col("PARAMCD").is_null() | (pl.col("PARAMCD").str.strip_chars() == ""), "PARAMCD is missing"),
        "AVAL": (pl.col("AVAL").is_null() | ~pl.col("AVAL").is_finite() | (pl.col("AVAL") < 0),
                 f"not {_NEEDS['AVAL']}"),
        "CNSR": (~pl.col("CNSR").is_in([0.0, 1.0]).fill_null(False), f"not {_NEEDS['CNSR']}"),
    }  # fmt: skip
    issues = []
    for column, (bad, message) in checks.items():
        shown = "PARAMCD" if column == "PARAMCD" else f"_{column.lower()}_text"
        for row, text in frame.filter(bad).select("_row", shown).iter_rows():
            issues.append(Issue(row + 2, column, text, message))
    if issues:
        raise InputError(source, sorted(issues, key=lambda i: (i.line or 0, i.column or "")))
    return frame.select("PARAMCD", "AVAL", "CNSR")


_NEEDS = {"PARAMCD": "text (the parameter code)", "AVAL": "a number of days >= 0", "CNSR": "0 (event) or 1 (censored)"}


def parse_landmarks(text: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    if text is None:
        return default
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give months separated by commas, e.g. 6,12,24") from None
    if not values or any(v <= 0 for v in values):
        raise typer.BadParameter(f"{text!r}: landmarks are positive numbers of months")
    return values


def _fmt(value: Any, digits: int = 1) -> str:
    return "NR" if value is None else f"{value:.{digits}f}"


def km_table(summary: pl.DataFrame, title: str = "Kaplan-Meier summary") -> Table:
    """One row per parameter: N, events, censored, median (95% CI) in days, landmark estimates."""
    from rich.table import Table

    from cart19.text import shown

    table = Table(title=title, header_style="bold")
    for name in ("parameter", "N", "events", "censored", "median, days (95% CI)"):
        table.add_column(name, justify="left" if name == "parameter" else "right")
    landmarks = [m for m in summary.get_column("time_months").unique(maintain_order=True).to_list() if m is not None]
    for months in landmarks:
        table.add_column(f"{months:g} mo (95% CI)", justify="right")
    for (code,), rows in summary.group_by(["PARAMCD"], maintain_order=True):
        first = rows.row(0, named=True)
        median = f"{_fmt(first['median'])} ({_fmt(first['median_lower'])}, {_fmt(first['median_upper'])})"
        cells = [shown(code), str(first["N"]), str(first["events"]), str(first["censored"]), median]
        by_month = {r["time_months"]: r for r in rows.iter_rows(named=True)}
        for months in landmarks:
            r = by_month.get(months)
            if r is None or r["survival"] is None:
                cells.append("—")
            else:
                cells.append(f"{r['survival']:.3f} ({_fmt(r['survival_lower'], 3)}, {_fmt(r['survival_upper'], 3)})")
        table.add_row(*cells)
    return table


def register(app: typer.Typer) -> None:
    @app.command("km", help=HELP)
    @command
    def km(
        file: InputArg,
        landmarks: Annotated[
            str | None, typer.Option("--landmarks", help="Months for the landmark estimates, e.g. 6,12,24.")
        ] = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.config import load_config
        from cart19.engine.km import km_summary
        from cart19.errors import InputError, Issue

        env = Env.current(quiet=quiet)
        config = load_config(config_path)
        chosen = resolve_format(fmt, output, env)
        adtte = read_adtte(file)
        try:
            summary = km_summary(
                adtte,
                landmarks_months=parse_landmarks(landmarks, config.km.landmarks_months),
                days_per_month=config.km.days_per_month,
                confidence_level=config.km.confidence_level,
            )
        except ValueError as exc:
            raise InputError(file, [Issue(None, None, None, str(exc))]) from None
        if chosen is Format.table:
            env.console().print(km_table(summary))
        else:
            write_frame(summary, chosen, output, env, excel_safe=excel_safe)
        return 0
