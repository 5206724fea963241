"""``cart19 cuminc``: cumulative incidence of relapse and non-relapse mortality (competing risks).

A thin layer: read and validate (``load_inputs``), build the relapse-incidence dataset
(:func:`cart19.engine.relapse.cir_dataset`), summarise it (:func:`cart19.engine.cuminc.cuminc_summary`)
or write it (``--dataset``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    ByOpt,
    SubjectsOpt,
    TestsOpt,
    command,
    load_inputs,
    parse_cutoff,
    resolve_format,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.table import Table

    from cart19.config import Config

HELP = """Cumulative incidence of relapse (CIR) and of death without relapse (NRM), as competing risks.

Each subject in remission (a CR, CRh or CRi counting as response to the infusion, within 730
days) is followed from the first remission to the first relapse (a relapse record or a PD
assessment; a death of disease counts as relapse), a death without relapse, or censoring (last
known alive, the start of a new therapy, the end of the 730-day window). The Aalen-Johansen
estimate of each cause at 6, 12 and 24 months (a month is 30.4375 days), with the variance R's
cmprsk::cuminc reports and a 95% CI on the log(-log) scale; empty past the last observed time.
The rules are configuration (`cart19 config`, section [cuminc]: origin = "infusion" follows
every infused subject from the infusion; disease_death_as_relapse; censor_at_new_therapy;
hsct = "ignore", "censor" or "competing").

Columns (--format csv): cause,N,events,time_months,estimate,variance,lower,upper.
With --dataset, the per-subject rows instead:
USUBJID,PARAMCD,STARTDT,ADT,AVAL,CNSR,EVENT,EVNTDESC,SRCDOM,SRCSEQ (PARAMCD = CIR; EVENT 1 relapse,
2 death without relapse, 0 censored), readable by R (cmprsk::cuminc(AVAL, EVENT)), SAS and
`cart19 km`; then the covariates of --subjects.
--by COLUMN (a covariate of --subjects) gives the same rows per value, with a first column
`group`; --tests then writes Gray's test per cause instead: cause,statistic,df,p_value.

Examples:

\b
  cart19 cuminc examples/events.csv
  cart19 cuminc examples/events.csv --landmarks 3,6,12 --format csv
  cart19 cuminc examples/events.csv --dataset -o cir.csv
  cart19 cuminc examples/events.csv --config cart19.toml --cutoff 2025-06-30 -o cuminc.json
  cart19 cuminc examples/events.csv --subjects examples/subjects.csv --by cohort
  cart19 cuminc examples/events.csv --subjects examples/subjects.csv --by cohort --tests
"""

_CAUSE_LABELS = {"relapse": "relapse (CIR)", "nrm": "death without relapse (NRM)"}


def cuminc_table(summary: pl.DataFrame, title: str) -> Table:
    """One row per cause: N, events, and the estimate (95% CI) at each landmark."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for name in ("cause", "N", "events"):
        table.add_column(name, justify="left" if name == "cause" else "right")
    landmarks = [m for m in summary.get_column("time_months").unique(maintain_order=True).to_list() if m is not None]
    for months in landmarks:
        table.add_column(f"{months:g} mo (95% CI)", justify="right")
    for (cause,), rows in summary.group_by(["cause"], maintain_order=True):
        first = rows.row(0, named=True)
        cells = [_CAUSE_LABELS.get(str(cause), str(cause)), str(first["N"]), str(first["events"])]
        by_month = {r["time_months"]: r for r in rows.iter_rows(named=True)}
        for months in landmarks:
            r = by_month[months]
            if r["estimate"] is None:
                cells.append("—")
            else:
                limits = ", ".join("—" if v is None else f"{v:.3f}" for v in (r["lower"], r["upper"]))
                cells.append(f"{r['estimate']:.3f} ({limits})")
        table.add_row(*cells)
    return table


def gray_table(tests: pl.DataFrame, by: str) -> Table:
    """Gray's test per cause, one row each."""
    from cart19.text import shown as escape
    from rich.table import Table

    table = Table(title=f"Gray's test of equality between the groups of {escape(by)}", header_style="bold")
    for name in ("cause", "statistic", "df", "p-value"):
        table.add_column(name, justify="left" if name == "cause" else "right")
    for cause, statistic, df, p_value in tests.iter_rows():
        cells = ["—" if v is None else f"{v:.4g}" for v in (statistic, df, p_value)]
        table.add_row(_CAUSE_LABELS.get(str(cause), str(cause)), *cells)
    return table


def _origin_text(config: Config) -> str:
    cfg = config.cuminc
    return "from the first remission" if cfg.origin == "remission" else "from the infusion"


def register(app: typer.Typer) -> None:
    @app.command("cuminc", help=HELP)
    @command
    def cuminc(
        file: InputArg,
        dataset: Annotated[
            bool, typer.Option("--dataset", help="Write the per-subject rows (time and status) instead of the summary.")
        ] = False,
        landmarks: Annotated[
            str | None,
            typer.Option("--landmarks", help="Months for the landmark estimates, e.g. 6,12,24.", metavar="MONTHS"),
        ] = None,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        tests: TestsOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.km import parse_landmarks
        from cart19.engine.relapse import cir_dataset
        from cart19.io.subjects_file import with_covariates

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        chosen = resolve_format(fmt, output, env)
        if tests and by is None:
            raise typer.BadParameter("--tests needs --by COLUMN (the groups to compare)", param_hint="--tests")
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects, by=by)
        config = inputs.config
        groups = inputs.groups(by)
        marks = parse_landmarks(landmarks, config.km.landmarks_months)
        with env.progress("Deriving relapse and death without relapse"):
            rows = inputs.traced(cir_dataset(inputs.events, config, inputs.subjects))
        if dataset:
            rows = with_covariates(rows, inputs.covariates, on="USUBJID")
            if chosen is Format.table:
                _show_dataset(env, rows, config, output)
            else:
                write_frame(rows, chosen, output, env, excel_safe=excel_safe)
            return 0
        from cart19.engine.cuminc import cuminc_summary, gray_tests  # (numpy: not for --dataset)

        if tests:
            result = gray_tests(rows, groups)
            if chosen is Format.table:
                env.console().print(gray_table(result, by))
            else:
                write_frame(result, chosen, output, env, excel_safe=excel_safe)
            return 0
        summary = cuminc_summary(
            rows,
            groups=groups,
            landmarks_months=marks,
            days_per_month=config.km.days_per_month,
            confidence_level=config.km.confidence_level,
        )
        if chosen is Format.table:
            from cart19.text import shown

            level = f"{config.km.confidence_level:.0%}"
            title = f"Cumulative incidence {_origin_text(config)} (Aalen-Johansen, {level} CIs)"
            if groups is None:
                env.console().print(cuminc_table(summary, title))
            for (group,), block in ([] if groups is None else summary.group_by(["group"], maintain_order=True)):
                env.console().print(cuminc_table(block.drop("group"), f"{title}, {shown(by)} = {shown(group)}"))
        else:
            write_frame(summary, chosen, output, env, excel_safe=excel_safe)
        return 0


def _show_dataset(env: Env, rows: pl.DataFrame, config: Config, output: Path | None) -> None:
    """On a terminal, ``--dataset`` without ``-o``: the counts, and how to get the rows."""
    counts = {code: rows.filter(rows.get_column("EVENT") == code).height for code in (1, 2, 0)}
    env.console().print(
        f"{rows.height} subject(s) {_origin_text(config)}: {counts[1]} relapse(s), "
        f"{counts[2]} death(s) without relapse, {counts[0]} censored.\n"
        "The rows were not written: use -o FILE (.csv, .json, .parquet), or pipe the output."
    )
