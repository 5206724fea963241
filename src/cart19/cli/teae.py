"""``cart19 teae``: TEAE incidence tables, or with ``--listing`` the ADAE-style record listing.

A thin layer: read and validate (``load_inputs``), derive (:func:`cart19.engine.teae.teae_tables`
/ :func:`cart19.engine.teae.ae_listing`), write (``write_frame``) or show rich tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cart19.cli.common import (
    ByOpt,
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
with TRTEMFL, DLTFL and the DLT rules met; the covariates of --subjects follow).

--by COLUMN (a column of --subjects) splits the tables: a first column "group", one block per
value (sorted; an empty value or a subject not in the file is "(missing)"), N the group's
infused subjects, then the whole safety set as the block "Total". On a terminal, one column
per group and the total.

\b
Examples:
  cart19 teae examples/events.csv
  cart19 teae examples/events.csv -o teae.csv
  cart19 teae examples/events.csv --listing --format json > adae.jsonl
  cart19 teae examples/events.csv --subjects examples/subjects.csv --by cohort
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


def grouped_tables(tables: pl.DataFrame, by: str) -> list[Table]:
    """Rich tables of ``teae --by``: rows the cells of :func:`teae_tables` (any TEAE, serious,
    related, SOCs with their PTs indented), one column per group and the total, ``n (%)``; one
    table for any grade and one for grade 3 or more."""
    import polars as pl

    from cart19.io.subjects_file import TOTAL
    from rich.table import Table

    order = tables.select("group", "N").unique(maintain_order=True)
    labels = {"overall": "Any TEAE", "serious": "Serious TEAE", "related": "Related TEAE"}
    total_rows = tables.filter(pl.col("group") == TOTAL)
    keys = total_rows.select("table", "soc", "term").unique(maintain_order=True)
    pts = keys.filter(pl.col("table") == "soc_pt")
    cells = pl.concat(
        [keys.filter(pl.col("table").is_in(list(labels)))]
        + [pl.concat([soc, pts.filter(pl.col("soc") == soc["soc"][0])])
           for soc in keys.filter(pl.col("table") == "soc").iter_slices(1)]  # fmt: skip
    )
    out = []
    for grade, what in (("any", "any grade"), (">=3", "grade ≥3")):
        table = Table(title=f"TEAEs by {_escape(by)}, {what}, subjects n (%)", header_style="bold", title_justify="left")
        table.add_column("", justify="left", min_width=20)
        for group, total in order.iter_rows():
            table.add_column(f"{_escape(group)}\nN = {total}", justify="right")
        values = {
            (r["group"], r["table"], r["soc"], r["term"]): _n_percent(r["n"], r["percent"])
            for r in tables.filter(pl.col("grade") == grade).iter_rows(named=True)
        }
        for row in cells.iter_rows(named=True):  # (one SOC, then its PTs)
            if row["table"] in labels:
                label = labels[row["table"]]
            elif row["table"] == "soc":
                label = f"[bold]{_escape(row['soc'])}[/bold]"
            else:
                label = f"  {_escape(row['term'])}"
            key = (row["table"], row["soc"], row["term"])
            table.add_row(label, *(values.get((group, *key), "0") for group, _ in order.iter_rows()))
        out.append(table)
    return out


def listing_table(listing: pl.DataFrame) -> Table:
    """A rich table of the listing that fits a terminal: the key columns under short headings
    (the start date with its imputation flag), the term wrapped, the rest kept on one line;
    the SOC, end dates and DLT rule are in the machine formats (the caption says so)."""
    from rich import box
    from rich.table import Table

    table = Table(title=f"Adverse events of treated subjects ({listing.height} records)", header_style="bold",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0),
                  caption="gr grade, day study day of onset, days duration, ser serious, rel related, TE "
                          "treatment-emergent; (D) an imputed day, (M) an imputed month and day. SOC, end dates "
                          "and the DLT rule: --format csv or json.", caption_justify="left")  # fmt: skip
    headings = [("subject", "USUBJID"), ("seq", "AESEQ"), ("term", "AEDECOD"), ("gr", "AETOXGR"),
                ("start", "ASTDT"), ("day", "ASTDY"), ("days", "ADURN"), ("ser", "AESER"),
                ("rel", "AEREL"), ("TE", "TRTEMFL"), ("DLT", "DLTFL")]  # fmt: skip
    for heading, name in headings:
        right = name in {"AESEQ", "AETOXGR", "ASTDY", "ADURN"}
        if name == "AEDECOD":
            table.add_column(heading, justify="left", ratio=1, min_width=12, overflow="fold")
        else:
            table.add_column(heading, justify="right" if right else "left", no_wrap=True)
    for row in listing.iter_rows(named=True):
        cells = []
        for _, name in headings:
            value = row[name]
            text = "" if value is None else _escape(str(value))
            if name == "ASTDT" and row.get("ASTDTF"):
                text += f" ({_escape(str(row['ASTDTF']))})"
            cells.append(text)
        table.add_row(*cells)
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
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:

        from cart19.engine.teae import ae_listing, teae_tables
        from cart19.engine.terms import ae_vocabularies, spelling_warnings_of
        from cart19.io.subjects_file import groups_then_total, with_covariates

        env = Env.current(quiet=quiet)
        if listing and by is not None:
            raise typer.BadParameter("--by splits the tables; the listing carries the covariates as columns",
                                     param_hint="--by")  # fmt: skip
        cutoff_date = parse_cutoff(cutoff)
        chosen = resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects, by=by)
        groups = inputs.split_groups(by)
        with env.progress("Deriving TEAEs"):
            vocabularies = ae_vocabularies(inputs.events)  # one term vocabulary (engine/terms.py)
            if listing:
                frame = ae_listing(inputs.events, inputs.config)
                frame = with_covariates(inputs.traced(frame), inputs.covariates, on="USUBJID")
            else:
                frame = teae_tables(inputs.events, inputs.config, vocabularies=vocabularies)
                if groups is not None:
                    by_group = teae_tables(inputs.events, inputs.config, groups, vocabularies=vocabularies)
                    frame = groups_then_total(by_group, frame)
        for warning in spelling_warnings_of(vocabularies):
            env.warn(warning)
        if chosen is not Format.table:
            write_frame(frame, chosen, output, env, excel_safe=excel_safe)
        if env.stdout_isatty and (chosen is Format.table or output is not None):
            console = env.console()
            if output is None:
                if listing:
                    shown = [listing_table(frame)]
                else:
                    shown = incidence_tables(frame) if groups is None else grouped_tables(frame, by or "")
                for table in shown:
                    console.print(table)
            else:
                what = "AE records" if listing else "table cells"
                from cart19.text import shown

                console.print(f"{frame.height} {what} written to {shown(output)}")
        return 0
