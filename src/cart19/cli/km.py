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
30.4375 days), then the median follow-up with its 95% CI by the reverse Kaplan-Meier method
(columns followup_median, followup_lower, followup_upper, in days). The numbers are R's
survfit(conf.type = "log-log"). Reads the output of
`cart19 derive`, or an ADTTE made by SAS or R (CSV or Parquet; other columns are ignored).

Example:  cart19 derive examples/events.csv | cart19 km -
"""


def read_adtte(source: str) -> pl.DataFrame:
    """An ADTTE-shaped table from CSV, Parquet or stdin; bad cells raise InputError with the line."""
    import io
    import sys
    from pathlib import Path

    import polars as pl

    from cart19.errors import InputError, Issue
    from cart19.io.read import PARQUET_SUFFIXES

    def fail(message: str, line: int | None = None, column: str | None = None, value: str | None = None) -> None:
        raise InputError(source, [Issue(line, column, value, message)])

    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            data = Path(source).read_bytes()
    except OSError as exc:
        fail(f"the file cannot be read ({exc.strerror or exc})")
    try:
        if source != "-" and Path(source).suffix.lower() in PARQUET_SUFFIXES:
            frame = pl.read_parquet(io.BytesIO(data))
            frame = frame.rename({c: c.upper() for c in frame.columns})
            line_offset = 2
        else:
            if not data.strip():
                fail("the file is empty: expected an ADTTE table with PARAMCD, AVAL and CNSR")
            if b"\r" in data:  # lone CR line breaks: polars would glue the lines together
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
            line_offset = 2
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - polars' parse errors become one plain line
        fail(f"not a readable table ({str(exc).splitlines()[0]})")
    names = [c.strip().upper() for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        fail(f"column name(s) {', '.join(map(repr, twice))} appear more than once in the header", 1)
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    missing = [c for c in ("PARAMCD", "AVAL", "CNSR") if c not in frame.columns]
    if missing:
        fail(f"missing column(s) {', '.join(missing)}; km needs PARAMCD, AVAL (days) and CNSR (0/1)", 1)
    frame = frame.select(
        pl.col("PARAMCD").cast(pl.String),
        pl.col("AVAL").cast(pl.String).alias("_aval_text"),
        pl.col("AVAL").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).alias("AVAL"),
        pl.col("CNSR").cast(pl.String).alias("_cnsr_text"),
        pl.col("CNSR").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).alias("CNSR"),
    ).with_row_index("_row")
    issues = []
    for column in ("AVAL", "CNSR"):
        bad = frame.filter(pl.col(column).is_null() | ~pl.col(column).is_finite())
        allowed = "a number of days >= 0" if column == "AVAL" else "0 (event) or 1 (censored)"
        for row, text in bad.select("_row", f"_{column.lower()}_text").head(200).iter_rows():
            issues.append(Issue(row + line_offset, column, text, f"not a number; expected {allowed}"))
    if issues:
        raise InputError(source, issues)
    return frame.select("PARAMCD", "AVAL", "CNSR")


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

    table = Table(title=title, header_style="bold")
    for name in ("parameter", "N", "events", "censored", "median, days (95% CI)"):
        table.add_column(name, justify="left" if name == "parameter" else "right")
    landmarks = [m for m in summary.get_column("time_months").unique(maintain_order=True).to_list() if m is not None]
    for months in landmarks:
        table.add_column(f"{months:g} mo (95% CI)", justify="right")
    table.add_column("median follow-up, days (95% CI)", justify="right")
    for (code,), rows in summary.group_by(["PARAMCD"], maintain_order=True):
        first = rows.row(0, named=True)
        median = f"{_fmt(first['median'])} ({_fmt(first['median_lower'])}, {_fmt(first['median_upper'])})"
        cells = [str(code), str(first["N"]), str(first["events"]), str(first["censored"]), median]
        by_month = {r["time_months"]: r for r in rows.iter_rows(named=True)}
        for months in landmarks:
            r = by_month.get(months)
            if r is None or r["survival"] is None:
                cells.append("—")
            else:
                cells.append(f"{r['survival']:.3f} ({_fmt(r['survival_lower'], 3)}, {_fmt(r['survival_upper'], 3)})")
        cells.append(
            f"{_fmt(first['followup_median'])} ({_fmt(first['followup_lower'])}, {_fmt(first['followup_upper'])})"
        )
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
