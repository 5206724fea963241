"""``cart19 derive``: the time-to-event dataset (OS, EFS, EFSS1-3, DOR), ADaM ADTTE style.

A thin layer: read and validate (``load_inputs``), derive (:func:`cart19.engine.tte.derive_adtte`),
write (``write_frame``). On a terminal it shows a Kaplan-Meier summary per parameter instead of
the rows, and says where the full dataset went.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cart19.cli.common import (
    ConfigOpt,
    CutoffOpt,
    Env,
    ExcelSafeOpt,
    Format,
    FormatOpt,
    InputArg,
    OutputOpt,
    QuietOpt,
    command,
    load_inputs,
    parse_cutoff,
    resolve_format,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from cart19.config import Config

HELP = """The time-to-event dataset: OS, EFS (primary), EFSS1-3 (sensitivity) and DOR.

One row per treated subject and parameter with the columns
USUBJID,PARAMCD,PARAM,STARTDT,ADT,AVAL,AVALU,CNSR,EVNTDESC,CNSDTDSC,SRCDOM,SRCSEQ,ADTF
(AVAL in days, CNSR 0 = event, 1 = censored; SRCDOM/SRCSEQ name the event kind and input line
each date came from; ADTF = D where that date was imputed). The rules are in endpoints.md and
the configuration (`cart19 config`).

When standard output is a terminal, a summary per parameter is shown (N, events, censored,
Kaplan-Meier median with 95% CI, 6/12/24-month estimates); the dataset itself goes to -o FILE
or, when piped or with --format, to standard output.

Examples:
  cart19 derive examples/events.csv -o adtte.csv
  cart19 derive examples/events.csv --cutoff 2025-06-30 --format json > adtte.jsonl
  cart19 derive examples/events.csv | cart19 km -
"""


def summary_table(adtte: pl.DataFrame, config: Config):  # -> rich Table
    """The per-parameter Kaplan-Meier summary of a derived dataset (the same figures as
    ``cart19 km``)."""
    from cart19.cli.km import km_table
    from cart19.engine.km import km_summary

    summary = km_summary(
        adtte.select("PARAMCD", "AVAL", "CNSR"),
        landmarks_months=config.km.landmarks_months,
        days_per_month=config.km.days_per_month,
        confidence_level=config.km.confidence_level,
    )
    level = f"{config.km.confidence_level:.0%}"
    return km_table(summary, title=f"Time-to-event endpoints (Kaplan-Meier, {level} CIs)")


def _show_summary(env: Env, adtte: pl.DataFrame, config: Config, output: Path | None) -> None:
    console = env.console()
    subjects = adtte.get_column("USUBJID").n_unique()
    if adtte.height == 0:
        console.print("No treated subjects: the dataset is empty.")
    else:
        console.print(summary_table(adtte, config))
    if output is not None:
        from cart19.text import shown

        console.print(f"Full dataset ({adtte.height} rows, {subjects} subjects) written to {shown(output)}")
    else:
        console.print(
            f"Full dataset ({adtte.height} rows, {subjects} subjects) not written: "
            "use -o FILE (.csv, .json, .parquet), or pipe the output."
        )


def register(app: typer.Typer) -> None:
    @app.command("derive", help=HELP)
    @command
    def derive(
        file: InputArg,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.engine.tte import derive_adtte

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        chosen = resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env)
        with env.progress("Deriving OS, EFS and DOR"):
            adtte = derive_adtte(inputs.events, inputs.config, inputs.subjects)
        if chosen is not Format.table:  # resolve_format never gives table with -o
            write_frame(adtte, chosen, output, env, excel_safe=excel_safe)
        if env.stdout_isatty and (chosen is Format.table or output is not None):
            _show_summary(env, adtte, inputs.config, output)
        return 0
