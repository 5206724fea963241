"""``cart19 teae``: TEAE incidence tables, or with ``--listing`` the ADAE-style record listing.

A thin layer: read and validate (``load_inputs``), derive (:func:`cart19.engine.teae.teae_tables`
/ :func:`cart19.engine.teae.ae_listing`), write (``write_frame``) or show rich tables.
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
    command,
    load_inputs,
    parse_cutoff,
    resolve_format,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.table import Table

HELP = """TEAE incidence tables: subjects by maximum grade, n (%) of the safety set (infused).

Tables: overall (any TEAE), serious, related, by system organ class (SOC) and by SOC and
preferred term; grades any, >=3 and 1-5 (each subject once per row, at its maximum grade). A
TEAE has its onset on or after the infusion date and within 730 days (configurable).

Machine formats (piped, --format or -o) are long, one row per table cell:
table,soc,term,grade,n,N,percent (percent rounded half away from zero to one decimal).
--listing writes the ADAE-style record listing instead (one row per AE of a treated subject,
with TRTEMFL, DLTFL and the DLT rules met).

Examples:
  cart19 teae examples/events.csv
  cart19 teae examples/events.csv -o teae.csv
  cart19 teae examples/events.csv --listing --format json > adae.jsonl
"""

ListingOpt = Annotated[
    bool, typer.Option("--listing", help="The ADAE-style listing of every AE record instead of the tables.")
]

GRADE_HEADERS = {"any": "any", ">=3": "≥3", "1": "1", "2": "2", "3": "3", "4": "4", "5": "5"}


def _n_percent(n: int, percent: float | None) -> str:
    return f"{n}" if percent is None else f"{n} ({percent:.1f}%)"


def incidence_tables(tables: pl.DataFrame) -> list[Table]:
    """Rich tables of :func:`teae_tables`: one for overall/serious/related, one by SOC and PT
    (PTs indented under their SOC); columns are the grades, cells ``n (%)``."""
    import polars as pl
    from rich.table import Table

    grades = list(GRADE_HEADERS)
    total = tables.get_column("N").max() if tables.height else 0
    wide = tables.with_columns(
        pl.struct("n", "percent").map_elements(lambda c: _n_percent(c["n"], c["percent"]), return_dtype=pl.String())
        .alias("cell")
    ).pivot(on="grade", index=["table", "soc", "term"], values="cell", maintain_order=True)  # fmt: skip

    def new_table(title: str, first: str) -> Table:
        table = Table(title=title, caption="columns: maximum grade", header_style="bold", title_justify="left")
        table.add_column(first, justify="left", min_width=20)
        for grade in grades:
            table.add_column(GRADE_HEADERS[grade], justify="right")
        return table

    summary = new_table(f"Treatment-emergent adverse events, subjects n (%), N = {total}", "")
    labels = {"overall": "Any TEAE", "serious": "Serious TEAE", "related": "Related TEAE"}
    for row in wide.filter(pl.col("table").is_in(list(labels))).iter_rows(named=True):
        summary.add_row(labels[row["table"]], *(row[g] for g in grades))

    by_term = new_table(f"TEAEs by system organ class and preferred term, subjects n (%), N = {total}", "SOC / PT")
    soc_rows = wide.filter(pl.col("table") == "soc")
    pt_rows = wide.filter(pl.col("table") == "soc_pt")
    for soc in soc_rows.iter_rows(named=True):
        by_term.add_row(f"[bold]{_escape(soc['soc'])}[/bold]", *(soc[g] for g in grades))
        for pt in pt_rows.filter(pl.col("soc") == soc["soc"]).iter_rows(named=True):
            by_term.add_row(f"  {_escape(pt['term'])}", *(pt[g] for g in grades))
    return [summary, by_term] if soc_rows.height else [summary]


def listing_table(listing: pl.DataFrame) -> Table:
    """A rich table of the key listing columns."""
    from rich.table import Table

    columns = ["USUBJID", "AESEQ", "AEDECOD", "AESOC", "AETOXGR", "ASTDT", "ASTDTF", "AENDT", "ASTDY", "ADURN",
               "AESER", "AEREL", "TRTEMFL", "DLTFL", "DLTRULE"]  # fmt: skip
    table = Table(title=f"Adverse events of treated subjects ({listing.height} records)", header_style="bold",
                  title_justify="left")  # fmt: skip
    for name in columns:
        table.add_column(name, justify="right" if name in {"AESEQ", "AETOXGR", "ASTDY", "ADURN"} else "left")
    for row in listing.select(columns).iter_rows():
        table.add_row(*("" if v is None else _escape(str(v)) for v in row))
    return table


def _escape(text: str) -> str:
    from cart19.text import shown

    return shown(text)


def register(app: typer.Typer) -> None:
    @app.command("teae", help=HELP)
    @command
    def teae(
        file: InputArg,
        listing: ListingOpt = False,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.engine.teae import ae_listing, teae_tables

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        chosen = resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env)
        with env.progress("Deriving TEAEs"):
            frame = ae_listing(inputs.events, inputs.config) if listing else teae_tables(inputs.events, inputs.config)
        if chosen is not Format.table:
            write_frame(frame, chosen, output, env, excel_safe=excel_safe)
        if env.stdout_isatty and (chosen is Format.table or output is not None):
            console = env.console()
            if output is None:
                for table in [listing_table(frame)] if listing else incidence_tables(frame):
                    console.print(table)
            else:
                what = "AE records" if listing else "table cells"
                from cart19.text import shown

                console.print(f"{frame.height} {what} written to {shown(output)}")
        return 0
