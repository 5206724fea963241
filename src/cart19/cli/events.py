"""``cart19 events``: the event file mapped from SDTM domains, with the mapping report.

A thin layer: read, map and validate the folder (:func:`cart19.io.sdtm.read_sdtm`), write the
mapped event file (``write_frame``), and show the mapping report (:mod:`cart19.io.sdtm.report`)
where a data manager sees it: on standard error (a table on a terminal), or on standard output
when that is a terminal and no file is written; ``--report FILE`` keeps it as CSV or JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cart19.cli.common import (
    ConfigOpt,
    Env,
    ExcelSafeOpt,
    Format,
    FormatOpt,
    OutputOpt,
    QuietOpt,
    command,
    resolve_format,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

HELP = """The event file mapped from SDTM domains, and a mapping report to check it by.

SDTM is a folder with one file per domain, named after it in any case (dm.xpt, AE.json, rs.csv,
ex.parquet): SAS transport v5 (.xpt), CDISC Dataset-JSON (.json, .ndjson), CSV or Parquet. DM
is required; a missing domain is a warning saying what it costs. The mapping (docs/sdtm.md) is
configuration: the [sdtm] section of --config. The event file has the format's columns, mrd,
and srcdom, srcseq, srcvar (the SDTM domain, its --SEQ or record number, the date variable)
and dtf (M where an AE onset is a year alone: kept as written, imputed on reading). Problems
name the file, the record, the variable and the value; every one is listed, exit status 2,
nothing written.

The mapping report (per domain: records read, events made by kind, records left out by reason)
goes to standard error, a table on a terminal (--quiet hides it); on a terminal without -o it is
the output. --report FILE also writes it as CSV or JSON (domain,file,read,outcome,records).
Every other command reads the SDTM folder the same way (cart19 derive SDTM ...).

\b
Examples:
  cart19 events examples/sdtm -o events.csv
  cart19 events examples/sdtm --report mapping.csv -o events.csv
  cart19 events examples/sdtm --config study.toml --format json > events.jsonl
"""

SdtmArg = Annotated[str, typer.Argument(help="SDTM folder: one file per domain (dm.xpt, ae.json ...).",
                                        metavar="SDTM")]  # fmt: skip
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="Also write the mapping report to FILE (.csv or .json).", metavar="FILE"),
]


def _safe(text: str | None) -> str:
    """Text for a rich table: markup escaped, control characters shown as escapes."""
    from cart19.text import shown

    return shown(text or "")


def _show(env: Env, report: pl.DataFrame, *, stderr: bool) -> None:
    from rich.table import Table

    from cart19.io.sdtm.report import report_lines

    tty = env.stderr_isatty if stderr else env.stdout_isatty
    if not tty:
        stream = env.stderr if stderr else env.stdout
        for line in report_lines(report):
            print(f"mapping: {line if line.isprintable() else repr(line)[1:-1]}", file=stream)
        return
    table = Table("domain", "file", "read", "outcome", "records", title="SDTM mapping", header_style="bold")
    previous = None
    for row in report.iter_rows(named=True):
        same = row["domain"] == previous
        previous = row["domain"]
        table.add_row("" if same else row["domain"], "" if same else _safe(row["file"]),
                      "" if same or row["file"] is None else str(row["read"]), _safe(row["outcome"]),
                      "" if row["file"] is None else str(row["records"]))  # fmt: skip
    env.console(stderr=stderr).print(table)


def register(app: typer.Typer) -> None:
    @app.command("events", help=HELP)
    @command
    def events(
        sdtm: SdtmArg,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        report: ReportOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.config import load_config
        from cart19.errors import InputError, Issue
        from cart19.io.sdtm import read_sdtm

        env = Env.current(quiet=quiet)
        chosen = resolve_format(fmt, output, env)
        report_format = None if report is None else resolve_format(None, report, env)
        if sdtm == "-" or not Path(sdtm).is_dir():
            raise InputError(sdtm, [Issue(None, None, None, "not a folder: `cart19 events` reads an SDTM folder "
                                          "(dm.xpt, ae.xpt ...); an event file needs no mapping")])  # fmt: skip
        config = load_config(config_path)
        with env.progress("Reading and mapping SDTM"):
            result = read_sdtm(sdtm, config.sdtm)
        for warning in result.warnings:
            env.warn(str(warning))
        assert result.report is not None and result.event_file is not None
        if chosen is not Format.table:
            write_frame(result.event_file, chosen, output, env, excel_safe=excel_safe)
        if report is not None and report_format is not None:
            write_frame(result.report, report_format, report, env)
        if chosen is Format.table:
            _show(env, result.report, stderr=False)
            env.console().print(f"Event file ({result.event_file.height} rows) not written: use -o FILE (.csv, "
                                ".json, .parquet), or pipe the output.")  # fmt: skip
        elif not quiet:
            _show(env, result.report, stderr=True)
        return 0
