"""``cart19 derive``: the time-to-event dataset (OS, EFS, EFSS1-3, DOR, RFS), ADaM ADTTE style.

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
    SubjectsOpt,
    command,
    load_inputs,
    atomic_write,
    parse_cutoff,
    refuse_extension,
    resolve_format,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from cart19.config import Config

HELP = """The time-to-event dataset: OS, EFS (primary), EFSS1-3 (sensitivity), DOR and RFS.

One row per treated subject and parameter with the columns
USUBJID,PARAMCD,PARAM,STARTDT,ADT,AVAL,AVALU,CNSR,EVNTDESC,CNSDTDSC,SRCDOM,SRCSEQ,ADTF
(AVAL in days, CNSR 0 = event, 1 = censored; SRCDOM/SRCSEQ name the event kind and input line
each date came from; from an SDTM folder, the domain and the record's --SEQ, with the date
variable in a last column SRCVAR; ADTF = D where that date's day was imputed, M where its month
was too). PARAMCD is OS, EFS,
EFSS1, EFSS2, EFSS3, DOR or RFS (relapse-free survival from the first remission), in that order
per subject; then the covariates of --subjects. The rules are in docs/endpoints.md, docs/relapse.md and the configuration
(`cart19 config`).

-o FILE.xpt writes SAS transport (XPT v5) with the ADTTE metadata of `cart19 adam` (STUDYID and
PARAMN added, labels, DATE9. dates; covariate names upper-cased, at most 8 characters); any
other extension than .csv, .json/.jsonl/.ndjson (JSON Lines), .parquet/.pq and .xpt is an error.

When standard output is a terminal, a summary per parameter is shown (N, events, censored,
Kaplan-Meier median with 95% CI, 6/12/24-month estimates, median follow-up by reverse
Kaplan-Meier; OS's is the trial's median follow-up); the dataset itself goes to -o FILE
or, when piped or with --format, to standard output.

\b
Examples:

\b
  cart19 derive examples/events.csv -o adtte.csv
  cart19 derive examples/events.csv -o adtte.xpt
  cart19 derive examples/events.csv --cutoff 2025-06-30 --format json > adtte.jsonl
  cart19 derive examples/events.csv | cart19 km -
  cart19 derive examples/events.csv --subjects examples/subjects.csv | cart19 km - --by cohort
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
    table = km_table(summary, title=f"Time-to-event endpoints (Kaplan-Meier, {level} CIs)")
    overall = summary.filter(summary.get_column("PARAMCD") == config.os.paramcd)
    if overall.height:
        first = overall.row(0, named=True)
        median, low, high = (first[c] for c in ("followup_median", "followup_lower", "followup_upper"))
        shown = "not reached" if median is None else f"{median:g} days"
        limits = ", ".join("NR" if v is None else f"{v:g}" for v in (low, high))
        table.caption = f"Median follow-up of the trial (OS, reverse Kaplan-Meier): {shown} ({level} CI {limits})"
    return table


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
            "use -o FILE (.csv, .json, .parquet, .xpt), or pipe the output."
        )


def _write_xpt(inputs, cutoff, output: Path, subjects: Path | None, env: Env) -> pl.DataFrame:  # noqa: ANN001
    """ADTTE as ``cart19 adam`` writes it, in SAS transport v5, to ``output`` (one writer:
    :mod:`cart19.io.submission`). Returns the written frame (for the terminal's summary)."""
    from cart19 import __version__
    from cart19.cli.adam import creation_time
    from cart19.engine import adam as adam_engine
    from cart19.engine.tte import derive_adtte
    from cart19.io import submission

    config = inputs.config
    studyid = inputs.studyid or config.study.studyid
    covariates, meta = adam_engine.covariate_variables(
        inputs.covariates, fmt="xpt", source=str(subjects) if subjects is not None else "DM",
        origin="the subject file" if subjects is not None else "DM",
        reserved=[v.name for v in adam_engine.adtte_variables(config)],
    )  # fmt: skip
    with env.progress("Deriving OS, EFS, DOR and RFS"):
        adtte = inputs.traced(derive_adtte(inputs.events, config, inputs.subjects))
        if covariates is not None:
            adtte = adtte.join(covariates.rename({"subject_id": "USUBJID"}), on="USUBJID", how="left",
                               maintain_order="left")  # fmt: skip
        frame, dataset = adam_engine.adtte(adtte, config, meta, studyid=studyid)
    submission.check(frame, dataset, "xpt")
    times = creation_time(inputs.events, cutoff, env)
    if times is None:
        raise typer.Exit(2)
    provenance = submission.Provenance(studyid=studyid, created=times[0], db_last_modified=times[1],
                                       originator=config.study.originator, source_system=("cart19", __version__))  # fmt: skip
    atomic_write(output, lambda tmp: submission.write_xpt(frame, dataset, tmp, provenance))
    return frame


def register(app: typer.Typer) -> None:
    @app.command("derive", help=HELP)
    @command
    def derive(
        file: InputArg,
        cutoff: CutoffOpt = None,
        subjects: SubjectsOpt = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.engine.tte import derive_adtte
        from cart19.io.subjects_file import with_covariates

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        xpt = output is not None and output.suffix.lower() == ".xpt"
        refuse_extension(output, fmt, also=(".xpt",))
        if xpt and fmt is not None:
            raise typer.BadParameter(f"-o {output.name} is written as XPT; leave out --format {fmt.value}")
        chosen = Format.csv if xpt else resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects)
        if xpt:
            adtte = _write_xpt(inputs, cutoff_date, output, subjects, env)
            if env.stdout_isatty:
                _show_summary(env, adtte, inputs.config, output)
            return 0
        with env.progress("Deriving OS, EFS, DOR and RFS"):
            adtte = inputs.traced(derive_adtte(inputs.events, inputs.config, inputs.subjects))
            adtte = with_covariates(adtte, inputs.covariates, on="USUBJID")  # after the contract columns
        if chosen is not Format.table:  # resolve_format never gives table with -o
            write_frame(adtte, chosen, output, env, excel_safe=excel_safe)
        if env.stdout_isatty and (chosen is Format.table or output is not None):
            _show_summary(env, adtte, inputs.config, output)
        return 0
