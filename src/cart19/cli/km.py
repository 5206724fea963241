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
    OutputOpt,
    QuietOpt,
    TestsOpt,
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

--by COLUMN splits the summary by a column of the table (a covariate, e.g. from derive
--subjects; the name in any case): a first column "group", one block per value, sorted; an
empty value is its own group, "(missing)". --tests writes the log-rank test of equality
between the groups instead, per parameter: PARAMCD,statistic,df,p_value (R's survdiff).

\b
Examples:
  cart19 derive examples/events.csv | cart19 km -
  cart19 derive examples/events.csv --subjects examples/subjects.csv | cart19 km - --by cohort
  cart19 derive examples/events.csv --subjects examples/subjects.csv | cart19 km - --by cohort --tests
"""


KmByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Split the summary by this column of the table (e.g. a covariate of derive --subjects): "
                 "one block per value, sorted; an empty value is its own group, (missing).", metavar="COLUMN"),
]  # fmt: skip

#: The columns km reads; every other column of the table is skipped by the reader.
KM_INPUT = ("PARAMCD", "AVAL", "CNSR")


def _fail(source: str, message: str, line: int | None = None, column: str | None = None) -> None:
    from cart19.errors import InputError, Issue

    raise InputError(source, [Issue(line, column, None, message)])


def _wanted(source: str, header: list[str], by: str | None) -> dict[str, str]:
    """The header names to read, mapped to the names km uses: PARAMCD, AVAL, CNSR in any case,
    and the ``--by`` column (exactly, else ignoring case), under its own name."""
    from cart19.io.subjects_file import resolve_column

    names = [c.strip().upper() for c in header]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        _fail(source, f"column name(s) {', '.join(map(repr, twice))} appear more than once in the header", 1)
    missing = [c for c in KM_INPUT if c not in names]
    if missing:
        _fail(source, f"missing column(s) {', '.join(missing)}; km needs PARAMCD, AVAL (days) and CNSR (0/1)", 1)
    wanted = {header[names.index(c)]: c for c in KM_INPUT}
    if by is not None:
        column = resolve_column(by, [c.strip() for c in header], source, what="ADTTE table")
        if column.upper() in KM_INPUT:
            _fail(source, f"--by {by!r}: km groups by a covariate, not by {column.upper()}", None, by)
        wanted[header[[c.strip() for c in header].index(column)]] = column
    return wanted


def _diagnose(source: str, frame: pl.DataFrame) -> None:
    """Every bad cell of PARAMCD, AVAL or CNSR, with its line (header = line 1; a Parquet row
    counts as if it followed a header), in plain words. ``frame``: the columns as text."""
    import polars as pl

    from cart19.errors import InputError, Issue

    numbers = {c: pl.col(c).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False) for c in ("AVAL", "CNSR")}
    checks = {
        "PARAMCD": pl.col("PARAMCD").is_null() | (pl.col("PARAMCD").cast(pl.String).str.strip_chars() == ""),
        "AVAL": numbers["AVAL"].is_null() | ~numbers["AVAL"].is_finite() | (numbers["AVAL"] < 0),
        "CNSR": ~numbers["CNSR"].is_in([0.0, 1.0]).fill_null(False),
    }
    words = {"PARAMCD": "PARAMCD is missing", "AVAL": f"not {_NEEDS['AVAL']}", "CNSR": f"not {_NEEDS['CNSR']}"}
    numbered = frame.with_row_index("_row")
    issues = []
    for column, bad in checks.items():
        for row, text in numbered.filter(bad).select("_row", pl.col(column).cast(pl.String)).iter_rows():
            issues.append(Issue(row + 2, column, text, words[column]))
    if issues:
        raise InputError(source, sorted(issues, key=lambda i: (i.line or 0, i.column or "")))


def _check_types(source: str, schema: dict) -> None:
    """A Parquet column of a type km cannot read (a duration, a list, ...) is named."""
    import polars as pl

    for column in KM_INPUT:
        dtype = schema[column]
        plain = dtype in (pl.String, pl.Null, pl.Boolean) or dtype.is_numeric() or isinstance(dtype, (pl.Categorical, pl.Enum))
        if not plain:
            _fail(source, f"the column holds {dtype} values; km needs {_NEEDS[column]}", None, column)


def read_adtte(source: str, by: str | None = None) -> pl.DataFrame:
    """An ADTTE-shaped table from CSV, Parquet or stdin: only ``PARAMCD`` (text), ``AVAL`` and
    ``CNSR`` (numbers) and the ``--by`` column (text) are read, typed as they are parsed. A
    cell that is not a number raises InputError with its line (Parquet: its row + 2)."""
    import io

    import polars as pl

    from cart19.errors import InputError, Issue
    from cart19.io.integrity import PARQUET_MAGIC, read_source, short_record_lines

    types = {"PARAMCD": pl.String, "AVAL": pl.Float64, "CNSR": pl.Float64}
    data: bytes | None = None
    if source == "-":
        data = read_source(source)  # (a NUL in text stops the read, its line named)
        parquet = data[:4] == PARQUET_MAGIC  # Parquet on standard input, by its magic bytes
    else:
        try:
            with open(source, "rb") as handle:
                head = handle.read(1 << 16)
        except OSError as exc:
            _fail(source, f"the file cannot be read ({exc.strerror or exc})")
        parquet = head[:4] == PARQUET_MAGIC
        if not parquet and (not head.strip() or b"\r" in head.replace(b"\r\n", b"") or b"\0" in head):
            data = read_source(source)  # empty, lone CR line breaks (polars would glue them) or binary
    try:
        if parquet:
            target = io.BytesIO(data) if data is not None else source
            schema = dict(pl.read_parquet_schema(target))
            wanted = _wanted(source, list(schema), by)
            _check_types(source, {alias: schema[name] for name, alias in wanted.items() if alias in KM_INPUT})
            if data is not None:
                target = io.BytesIO(data)
            frame = pl.read_parquet(target, columns=list(wanted)).rename(wanted)
            frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns if c not in ("AVAL", "CNSR"))
            numbers = frame.select(
                pl.col(c).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False) for c in ("AVAL", "CNSR")
            )
            bad = numbers.select(
                (pl.col("AVAL").is_null() | ~pl.col("AVAL").is_finite() | (pl.col("AVAL") < 0)
                 | ~pl.col("CNSR").is_in([0.0, 1.0]).fill_null(False)).any()
            ).item() or frame.select(pl.col("PARAMCD").is_null().any()).item()  # fmt: skip
            if bad:
                _diagnose(source, frame)
            frame = frame.with_columns(numbers)
        else:
            if data is not None:
                data = data.removeprefix(b"\xef\xbb\xbf")
                if not data.strip():
                    _fail(source, "the file is empty: expected an ADTTE table with PARAMCD, AVAL and CNSR")
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            target = io.BytesIO(data) if data is not None else source
            header = pl.read_csv(target, n_rows=0, infer_schema=False).columns
            wanted = _wanted(source, header, by)
            overrides = {name: types.get(alias, pl.String) for name, alias in wanted.items()}
            if data is not None:
                target = io.BytesIO(data)
            try:  # typed as it is read, and only the columns named (projection pushdown of the scan)
                reader = pl.scan_csv(target, schema_overrides=overrides, infer_schema=False)
                frame = reader.select(pl.col(name).alias(alias) for name, alias in wanted.items()).collect()
                clean = not frame.select(
                    (pl.col("AVAL").is_null() | ~pl.col("AVAL").is_finite() | (pl.col("AVAL") < 0)
                     | ~pl.col("CNSR").is_in([0.0, 1.0]).fill_null(False) | pl.col("PARAMCD").is_null()).any()
                ).item()  # fmt: skip
            except pl.exceptions.ComputeError:
                clean = False
            if not clean:  # name the lines: short records first, then every bad cell
                raw = data if data is not None else read_source(source)
                short = short_record_lines(raw, len(header))
                if len(short):
                    raise InputError(source, [Issue(int(line), None, None, f"fewer fields than the {len(header)} "
                                                    "of the header") for line in short])  # fmt: skip
                text = pl.read_csv(io.BytesIO(raw), columns=list(wanted), infer_schema=False).rename(wanted)
                _diagnose(source, text)
                frame = text.with_columns(
                    pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in ("AVAL", "CNSR")
                )
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - polars' parse errors become one plain line
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _fail(source, f"not a readable table ({message})")
    return frame


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

    grouped = "group" in summary.columns
    table = Table(title=title, header_style="bold")
    if grouped:
        table.add_column("group", justify="left")
    for name in ("parameter", "N", "events", "censored", "median, days (95% CI)"):
        table.add_column(name, justify="left" if name == "parameter" else "right")
    landmarks = [m for m in summary.get_column("time_months").unique(maintain_order=True).to_list() if m is not None]
    for months in landmarks:
        table.add_column(f"{months:g} mo (95% CI)", justify="right")
    table.add_column("median follow-up, days (95% CI)", justify="right")
    for _, rows in summary.group_by(["group", "PARAMCD"] if grouped else ["PARAMCD"], maintain_order=True):
        first = rows.row(0, named=True)
        median = f"{_fmt(first['median'])} ({_fmt(first['median_lower'])}, {_fmt(first['median_upper'])})"
        cells = [shown(first["group"])] if grouped else []
        cells += [shown(first["PARAMCD"]), str(first["N"]), str(first["events"]), str(first["censored"]), median]
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


def tests_table(tests: pl.DataFrame, by: str) -> Table:
    """The log-rank tests, one row per parameter."""
    from cart19.text import shown as escape
    from rich.table import Table

    table = Table(title=f"Log-rank test of equality between the groups of {escape(by)}", header_style="bold")
    for name in ("parameter", "chi-square", "df", "p-value"):
        table.add_column(name, justify="left" if name == "parameter" else "right")
    for code, statistic, df, p_value in tests.iter_rows():
        table.add_row(str(code), f"{statistic:.3f}", str(df), "—" if p_value is None else f"{p_value:.4g}")
    return table


def register(app: typer.Typer) -> None:
    @app.command("km", help=HELP)
    @command
    def km(
        file: Annotated[str, typer.Argument(help="ADTTE table (CSV or Parquet, or - for standard input) with "
                                            "PARAMCD, AVAL (days) and CNSR (0 event, 1 censored): the output of "
                                            "cart19 derive, or one made by SAS or R.", metavar="ADTTE")],  # fmt: skip
        landmarks: Annotated[
            str | None,
            typer.Option("--landmarks", help="Months for the landmark estimates, e.g. 6,12,24.", metavar="MONTHS"),
        ] = None,
        by: KmByOpt = None,
        tests: TestsOpt = False,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.config import load_config
        from cart19.engine.km import km_summary
        from cart19.engine.survtests import logrank_tests
        from cart19.errors import InputError, Issue

        env = Env.current(quiet=quiet)
        if tests and by is None:
            raise typer.BadParameter("--tests compares the groups of --by COLUMN: give --by", param_hint="--tests")
        config = load_config(config_path)
        chosen = resolve_format(fmt, output, env)
        adtte = read_adtte(file, by)
        column = None if by is None else next(c for c in adtte.columns if c not in ("PARAMCD", "AVAL", "CNSR"))
        try:
            summary = None
            if not tests or chosen is Format.table:
                summary = km_summary(
                    adtte,
                    landmarks_months=parse_landmarks(landmarks, config.km.landmarks_months),
                    days_per_month=config.km.days_per_month,
                    confidence_level=config.km.confidence_level,
                    by=column,
                )
            logrank = None if column is None or not (tests or chosen is Format.table) else logrank_tests(adtte, column)
        except ValueError as exc:
            raise InputError(file, [Issue(None, None, None, str(exc))]) from None
        if chosen is Format.table:
            env.console().print(km_table(summary))
            if logrank is not None:
                env.console().print(tests_table(logrank, column))
        else:
            write_frame(logrank if tests else summary, chosen, output, env, excel_safe=excel_safe)
        return 0
