"""``cart19 response``: best overall response and the response rates with exact CIs, or with
``--listing`` the ADRS-style rows per infused subject.

A thin layer: read and validate (``load_inputs``), derive (:mod:`cart19.engine.response`),
write (``write_frame``) or show rich tables.
"""

from __future__ import annotations

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

HELP = """Best overall response (BOR) and the response rates, with exact 95% CIs.

BOR of each infused subject: the best result of the assessments on study day 1 to 90 that
count as response to the infusion (before any new therapy and any salvage HSCT), in the order
CR > CRh > CRi > MLFS > PR > NR > PD > NE; ND when there is none. Rates (n/N, Clopper-Pearson
CI) for the infused set and the enrolled set (every subject in the file): CR, CRCRH (CR or
CRh), REMISSION (CR/CRh/CRi), ORR (CR/CRh/CRi/MLFS/PR) and MRDNEG (a remission with
mrd = negative). Window, order, sets, rates and the CI are configuration (`cart19 config`).

On a terminal: the rates, the BOR distribution and the time to first response. Machine
formats (piped, --format or -o): population,PARAMCD,n,N,rate,percent,ci_low,ci_high.
--listing writes USUBJID,PARAMCD,PARAM,AVALC,ADT,ADY,SRCDOM,SRCSEQ instead (BOR and MRDNEG per
infused subject; ADY = ADT - infusion date), then the covariates of --subjects.
--by COLUMN gives the rates per value of a covariate (a first column `group`), then the
whole trial as the group `Total`.

Examples:

\b
  cart19 response examples/events.csv
  cart19 response examples/events.csv -o rates.csv
  cart19 response examples/events.csv --listing --format csv > adrs.csv
  cart19 response examples/events.csv --cutoff 2024-06-30 --format json
  cart19 response examples/events.csv --subjects examples/subjects.csv --by prior_hsct
"""

ListingOpt = Annotated[
    bool, typer.Option("--listing", help="The ADRS-style BOR and MRDNEG rows per infused subject instead of the rates.")
]

_LABELS = {"infused": "Infused", "enrolled": "Enrolled"}


def _ci(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{100 * low:.1f}–{100 * high:.1f}"


def rates_table(rates: pl.DataFrame, config: Config, subtitle: str = "") -> Table:
    """One row per rate; per population ``n/N (%)`` and the CI in percent."""
    from cart19.text import shown as escape
    from rich.table import Table

    cfg = config.response
    method = "exact" if cfg.interval == "clopper-pearson" else "Wilson"
    level = f"{cfg.confidence_level:.0%}"
    table = Table(title=f"Response rates (study day 1–{cfg.window_days}), {level} {method} CI{escape(subtitle)}",
                  header_style="bold", title_justify="left")  # fmt: skip
    table.add_column("PARAMCD", justify="left")
    table.add_column("rate", justify="left")
    populations = rates.get_column("population").unique(maintain_order=True).to_list()
    for population in populations:
        total = rates.filter(rates["population"] == population).get_column("N").max()
        table.add_column(f"{_LABELS.get(population, population)} (N = {total})\nn (%)", justify="right")
        table.add_column(f"{level} CI, %", justify="right")
    params = {r.paramcd: r.param for r in cfg.rates}
    for code in rates.get_column("PARAMCD").unique(maintain_order=True).to_list():
        cells = [escape(code), escape(params.get(code, ""))]
        for population in populations:
            row = rates.filter((rates["PARAMCD"] == code) & (rates["population"] == population)).row(0, named=True)
            percent = "—" if row["percent"] is None else f"{row['percent']:.1f}%"
            cells += [f"{row['n']} ({percent})", _ci(row["ci_low"], row["ci_high"])]
        table.add_row(*cells)
    return table


def distribution_table(distribution: pl.DataFrame) -> Table:
    from rich.table import Table

    total = distribution.get_column("N").max() if distribution.height else 0
    table = Table(title=f"Best overall response, infused subjects (N = {total})", header_style="bold",
                  title_justify="left", min_width=52)  # fmt: skip
    table.add_column("BOR", justify="left")
    table.add_column("n (%)", justify="right")
    for row in distribution.iter_rows(named=True):
        percent = "—" if row["percent"] is None else f"{row['percent']:.1f}%"
        table.add_row(row["AVALC"], f"{row['n']} ({percent})")
    return table


def times_table(times: pl.DataFrame) -> Table:
    from rich.table import Table

    table = Table(title="Time to response among responders (study day)", header_style="bold", title_justify="left",
                  min_width=52)
    for name in ("", "n", "median", "min", "max"):
        table.add_column(name, justify="left" if not name else "right")
    labels = {"first_response": "First response", "first_remission": "First remission"}
    for row in times.iter_rows(named=True):
        median = "—" if row["median"] is None else f"{row['median']:g}"
        table.add_row(labels.get(row["measure"], row["measure"]), str(row["n"]), median,
                      *("—" if row[c] is None else str(row[c]) for c in ("min", "max")))  # fmt: skip
    return table


def listing_table(listing: pl.DataFrame) -> Table:
    from cart19.text import shown as escape
    from rich.table import Table

    subjects = listing.get_column("USUBJID").n_unique()
    table = Table(title=f"Best overall response and MRD-negative remission ({subjects} infused subjects)",
                  header_style="bold", title_justify="left")  # fmt: skip
    for name in listing.columns:
        table.add_column(name, justify="right" if name in ("ADY", "SRCSEQ") else "left")
    for row in listing.iter_rows():
        table.add_row(*("" if v is None else escape(str(v)) for v in row))
    return table


def register(app: typer.Typer) -> None:
    @app.command("response", help=HELP)
    @command
    def response(
        file: InputArg,
        listing: ListingOpt = False,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        quiet: QuietOpt = False,
    ) -> int:

        from cart19.io.subjects_file import groups_then_total, with_covariates
        from cart19.engine.response import (
            best_overall_response,
            bor_distribution,
            response_listing,
            response_rates,
            response_times,
        )

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        chosen = resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects, by=by)
        config = inputs.config
        groups = inputs.split_groups(by)
        with env.progress("Deriving best overall response"):
            bor = best_overall_response(inputs.events, config)
            if listing:
                frame = with_covariates(inputs.traced(response_listing(bor)), inputs.covariates, on="USUBJID")
            else:
                frame = response_rates(inputs.events, config, bor=bor, subjects=inputs.subjects)
                if groups is not None:
                    by_group = response_rates(inputs.events, config, groups, bor=bor, subjects=inputs.subjects)
                    frame = groups_then_total(by_group, frame)
        if chosen is not Format.table:
            write_frame(frame, chosen, output, env, excel_safe=excel_safe)
        if env.stdout_isatty and (chosen is Format.table or output is not None):
            console = env.console()
            if output is not None:
                what = "listing rows" if listing else "rates"
                from cart19.text import shown as escape

                console.print(f"{frame.height} {what} written to {escape(output)}")
            elif listing:
                console.print(listing_table(frame))
            elif groups is not None:
                for (group,), block in frame.group_by(["group"], maintain_order=True):
                    console.print(rates_table(block.drop("group"), config, f" — {by} = {group}"))
            else:
                console.print(rates_table(frame, config))
                console.print(distribution_table(bor_distribution(bor, config)))
                console.print(times_table(response_times(bor, config)))
        return 0
