"""``cart19 safety``: the CAR-T safety profile (safety-profile.md).

A thin layer: read and validate (``load_inputs``), derive
(:func:`cart19.engine.safety.safety_profile`), write the long table or the listing
(``write_frame``), or show rich tables on a terminal.
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
    resolve_review_date,
    write_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.table import Table

    from cart19.engine.safety import SafetyProfile

HELP = """The CAR-T safety profile of the infused (safety) set.

Syndromes of special interest (CRS, ICANS, aGVHD, cGVHD, infection, cytopenia; the groups'
terms and SOCs are configuration, [[safety.groups]]): subjects with any TEAE of the group,
grade >=3 and by maximum grade; onset day (median, range); duration of the first episode
(rows that overlap or start within a day of the latest end so far; median, range, and the
number still ongoing). TEAEs by period after the infusion (days 0-28, 29-90, 91-365,
366-730). Deaths by cause by day 28, day 100 and in the OS window, and non-relapse deaths by
day 100. Disposition from enrolled to efficacy-evaluable; the last record of each subject
never infused.

Terms and SOCs are matched in one normal form (Unicode NFC, trimmed, inner white space as one
space, case and hyphens ignored), as in teae and check-dlt; a warning lists the spellings
merged.

Machine formats (piped, --format or -o) are long, one row per figure:
table,item,statistic,value,N. --listing writes one row per subject and syndrome group
instead: USUBJID,group,max_grade,onset_day,duration_days,ongoing,SRCSEQ.

\b
Examples:
  cart19 safety examples/events.csv
  cart19 safety examples/events.csv -o safety.csv
  cart19 safety examples/events.csv --listing --format csv
  cart19 safety examples/events.csv --cutoff 2024-06-30 --format json
"""

ListingOpt = Annotated[
    bool,
    typer.Option("--listing", help="One row per subject and syndrome group (with the source line) instead of the tables."),
]

GRADE_LABELS = {"n_any": "any", "n_grade_ge3": "≥3", **{f"n_grade_{g}": str(g) for g in range(1, 6)}}


def _escape(text: object) -> str:
    from cart19.text import shown

    return shown("" if text is None else text)


def _count(n: float | None, total: int | None) -> str:
    """``n (percent%)``, the percent rounded half away from zero to one decimal as ``teae``'s
    (exact integer arithmetic: tenths = floor((2000 n + N) / (2 N)))."""
    if n is None:
        return ""
    if not total:
        return f"{int(n)}"
    tenths = (2000 * int(n) + total) // (2 * total)
    return f"{int(n)} ({tenths // 10}.{tenths % 10}%)"


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{int(value)}" if float(value).is_integer() else f"{value:.1f}"


def _median_range(values: dict[str, float | None], name: str) -> str:
    median = values.get(f"{name}_median")
    if median is None:
        return "–"
    return f"{_number(median)} ({_number(values.get(f'{name}_min'))}–{_number(values.get(f'{name}_max'))})"


def profile_tables(profile: SafetyProfile) -> list[Table]:
    """Rich tables of a :class:`SafetyProfile` (without groups)."""
    import polars as pl
    from rich.table import Table

    summary = profile.summary

    def cells(table: str) -> dict[str, dict[str, tuple[float | None, int | None]]]:
        out: dict[str, dict[str, tuple[float | None, int | None]]] = {}
        for item, statistic, value, total in summary.filter(pl.col("table") == table).select(
            "item", "statistic", "value", "N"
        ).iter_rows():
            out.setdefault(item, {})[statistic] = (value, total)
        return out

    tables: list[Table] = []
    syndromes = cells("syndrome")
    total = next((t for item in syndromes.values() for _, t in item.values() if t is not None), 0)
    table = Table(title=f"Syndromes of special interest, infused subjects n (%), N = {total}", header_style="bold",
                  title_justify="left", caption="grade columns: maximum grade; onset: study day (infusion = day 0)")  # fmt: skip
    table.add_column("group")
    for label in GRADE_LABELS.values():
        table.add_column(label, justify="right")
    table.add_column("onset day\nmedian (range)", justify="right")
    table.add_column("first episode, days\nmedian (range)", justify="right")
    table.add_column("ongoing", justify="right")
    for item, stats in syndromes.items():
        values = {k: v for k, (v, _) in stats.items()}
        table.add_row(
            _escape(item),
            *(_count(*stats[name]) for name in GRADE_LABELS),
            _median_range(values, "onset"),
            _median_range(values, "duration"),
            _number(values.get("n_ongoing")),
        )
    tables.append(table)

    periods = Table(title=f"TEAEs by period after the infusion (study day of onset), N = {total}", header_style="bold",
                    title_justify="left")  # fmt: skip
    for name in ("days", "any TEAE", "grade ≥3", "serious"):
        periods.add_column(name, justify="left" if name == "days" else "right")
    for item, stats in cells("period").items():
        periods.add_row(_escape(item), *(_count(*stats[s]) for s in ("n_any", "n_grade_ge3", "n_serious")))
    tables.append(periods)

    deaths = cells("deaths")
    nrm = deaths.pop("nrm", {})
    columns = [s for s in next(iter(deaths.values()), {})]
    death_table = Table(title=f"Deaths among infused subjects, n (%), N = {total}", header_style="bold",
                        title_justify="left")  # fmt: skip
    death_table.add_column("cause")
    for statistic in columns:
        death_table.add_column(statistic.replace("by_day_", "by day ").replace("in_window", "in OS window"),
                               justify="right")  # fmt: skip
    for item, stats in deaths.items():
        death_table.add_row(_escape(item), *(_count(*stats[s]) for s in columns))
    for statistic, (value, n) in nrm.items():
        death_table.add_row(f"non-relapse ({statistic.replace('by_day_', 'by day ')})", _count(value, n),
                            *([""] * (len(columns) - 1)))  # fmt: skip
    tables.append(death_table)

    disposition = Table(title="Disposition", header_style="bold", title_justify="left")
    disposition.add_column("subjects")
    disposition.add_column("n", justify="right")
    for item, stats in cells("disposition").items():
        disposition.add_row(item.replace("_", " "), _number(stats["n"][0]))
    tables.append(disposition)

    tables.append(_listing_table("Deaths of infused subjects", profile.deaths))
    tables.append(_listing_table("Subjects never infused: their last record", profile.never_infused))
    return tables


def _listing_table(title: str, frame: pl.DataFrame) -> Table:
    from rich.table import Table

    table = Table(title=f"{title} ({frame.height})", header_style="bold", title_justify="left")
    for name in frame.columns:
        table.add_column(name)
    for row in frame.iter_rows():
        table.add_row(*(_escape(v) for v in row))
    return table


def register(app: typer.Typer) -> None:
    @app.command("safety", help=HELP)
    @command
    def safety(
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
        import dataclasses


        from cart19.engine.safety import safety_profile
        from cart19.io.subjects_file import groups_then_total, with_covariates

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        chosen = resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects, by=by)
        groups = inputs.split_groups(by)
        review_date, _ = resolve_review_date(None, cutoff_date)
        with env.progress("Deriving the safety profile"):
            profile = safety_profile(inputs.events, inputs.config, review_date=review_date, subjects=inputs.subjects,
                                     groups=None if listing else groups)  # fmt: skip
            by_group = profile.by_group
        for warning in profile.warnings:
            env.warn(warning)
        if listing:
            frame = with_covariates(inputs.traced(profile.listing), inputs.covariates, on="USUBJID")
        elif by_group is not None:
            frame = groups_then_total(by_group, profile.summary)
        else:
            frame = profile.summary
        if chosen is not Format.table:
            write_frame(frame, chosen, output, env, excel_safe=excel_safe)
        if env.stdout_isatty and (chosen is Format.table or output is not None):
            console = env.console()
            if output is None:
                shown = [_listing_table("Syndromes of special interest by subject", frame)] if listing else (
                    profile_tables(profile))  # fmt: skip
                for (group,), block in ([] if by_group is None else by_group.group_by(["group"], maintain_order=True)):
                    console.print(f"\n[bold]{_escape(by)} = {_escape(group)}[/bold]")
                    for table in profile_tables(dataclasses.replace(profile, summary=block.drop("group")))[:-2]:
                        console.print(table)
                    console.print("\n[bold]All subjects[/bold]")
                for table in shown:
                    console.print(table)
            else:
                console.print(f"{frame.height} {'listing rows' if listing else 'figures'} written to {_escape(output)}")
        return 0
