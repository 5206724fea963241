"""``cart19 check-dlt``: the DLT review for a safety review meeting.

A thin layer over :func:`cart19.engine.dlt.dlt_review`. Exit status 3 when the safety
stopping rule is met (cli.md), whatever the output format.
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
    InputArg,
    OutputOpt,
    QuietOpt,
    SubjectsOpt,
    command,
    load_inputs,
    parse_cutoff,
    resolve_format,
    resolve_review_date,
    write_frame,
)
from cart19.errors import ExitCode

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.table import Table

    from cart19.engine.dlt import DLTReview

HELP = """The DLT review for a safety review meeting.

Each treated subject's DLT status (dlt, no_dlt, in_window "day N of 28", not_evaluable with
why), the qualifying AEs with the rule each met, the DLT rate over the evaluable subjects with
its exact (Clopper-Pearson) 95% CI, and the safety stopping rule's verdict (posterior
P(rate > 0.30) under a Beta(1, 1) prior, stop when above 0.8; all configurable).

--as-of DATE evaluates the DLT windows as of a meeting date: records dated after it are set
aside. Default: the --cutoff date, or else the latest date in the file.

--subjects FILE adds each subject's covariates to its row. --by COLUMN (a column of it, e.g.
the cohort or dose level) gives the rate, exact CI and verdict per group as well, by the same
rule (an empty value, or a subject not in the file, is the group "(missing)"); the JSON gains
"groups" and "stopping_rule_met_groups".

Output: on a terminal, a table and the verdict; piped or with --format json, one JSON object
(subjects, evaluable, dlt, rate, ci_low, ci_high, stopping_rule_met, ...); --format csv or
parquet, one row per subject. Safety warnings go to standard error.

Exit status: 0, or 3 when the stopping rule is met overall or in a group of --by (2: invalid
input or configuration).

\b
Examples:
  cart19 check-dlt examples/events.csv
  cart19 check-dlt examples/events.csv --as-of 2024-02-01 --format json
  cart19 check-dlt examples/events.csv --subjects examples/subjects.csv --by cohort
"""

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Review date YYYY-MM-DD: records dated after it are set aside.", metavar="DATE"),
]

STATUS_STYLE = {"dlt": "bold red", "no_dlt": "green", "in_window": "yellow", "not_evaluable": "dim"}


def subject_frame(review: DLTReview) -> pl.DataFrame:
    """One row per subject, flat (for CSV/Parquet): lists joined with ``;``."""
    import polars as pl

    return review.subjects.select(
        "subject_id",
        "status",
        "reason",
        "infusion_date",
        "window_end",
        "window_day",
        *[
            pl.when(pl.col(name).list.len() > 0).then(pl.col(name).list.join(";")).alias(name)
            for name in ("dlt_terms", "dlt_rules")
        ],
        *review.covariate_columns,
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def review_table(review: DLTReview) -> Table:
    from rich.table import Table

    from cart19.text import shown as escape

    title = f"DLT review as of {review.review_date} (window day 0 to day {review.window_days})"
    table = Table(title=title, header_style="bold", title_justify="left")
    for name in ("subject", "infusion", "window end", "status", "detail"):
        table.add_column(name)
    for row in review.subjects.iter_rows(named=True):
        status = row["status"]
        if row["dlt_events"]:
            detail = "\n".join(
                f"{escape(event['term'])} grade {event['grade']}, onset day {event['study_day']}"
                f" (line {event['line']}): {', '.join(event['rules'])}"
                for event in row["dlt_events"]
            )
        else:
            detail = escape(row["reason"])
        table.add_row(
            escape(row["subject_id"]),
            str(row["infusion_date"]),
            str(row["window_end"]),
            f"[{STATUS_STYLE[status]}]{status}[/]",
            detail,
        )
    return table


def verdict_lines(review: DLTReview) -> list[str]:
    counts = review.status_counts()
    level = f"{review.confidence_level:.0%}"
    rate = (
        f"DLT rate: {review.dlt}/{review.evaluable} evaluable = {_percent(review.rate)} "
        f"(exact {level} CI {_percent(review.ci_low)} to {_percent(review.ci_high)})"
        if review.evaluable
        else "DLT rate: no evaluable subject yet"
    )
    subjects = (
        f"Subjects: {review.subjects.height} treated; {counts['dlt']} DLT, {counts['no_dlt']} no DLT, "
        f"{counts['in_window']} in window, {counts['not_evaluable']} not evaluable"
    )
    comparison = ">" if review.stopping_rule_met else "≤"
    verdict = "MET — stop enrolment" if review.stopping_rule_met else "not met"
    style = "bold red" if review.stopping_rule_met else "bold green"
    rule = (
        f"Stopping rule: P(DLT rate > {review.dlt_rate_threshold:g}) = {review.posterior_probability:.3f} "
        f"{comparison} {review.posterior_threshold:g}: [{style}]{verdict}[/]"
    )
    lines = [subjects, rate, rule]
    if review.by_group is not None:
        from cart19.text import shown as escape

        for row in review.by_group.iter_rows(named=True):
            met = row["stopping_rule_met"]
            share = f"{row['dlt']}/{row['evaluable']} evaluable" if row["evaluable"] else "no evaluable subject"
            ci = (f" = {_percent(row['rate'])} ({level} CI {_percent(row['ci_low'])} to {_percent(row['ci_high'])})"
                  if row["evaluable"] else "")  # fmt: skip
            lines.append(
                f"  {escape(row['group'])}: {row['treated']} treated, DLT {share}{ci}; "
                f"P(rate > {review.dlt_rate_threshold:g}) = {row['posterior_probability']:.3f}: "
                + ("[bold red]MET — stop enrolment in this group[/]" if met else "not met")
            )
        met = review.groups_meeting_rule
        if met:
            lines.append(f"[bold red]Stopping rule met in: {', '.join(escape(g) for g in met)}[/]")
    return lines


#: Safety warnings printed on standard error; the JSON output carries all of them.
_LISTED_WARNINGS = 20


def register(app: typer.Typer) -> None:
    @app.command("check-dlt", help=HELP)
    @command
    def check_dlt(
        file: InputArg,
        as_of: AsOfOpt = None,
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        fmt: Annotated[
            Format | None,
            typer.Option("--format", "-f", help="table, json, csv or parquet; the default is under Output above."),
        ] = None,
        output: OutputOpt = None,
        excel_safe: ExcelSafeOpt = False,
        quiet: QuietOpt = False,
    ) -> int:
        import dataclasses

        from cart19.engine.dlt import dlt_review
        from cart19.engine.terms import ae_vocabularies, spelling_warnings_of
        from cart19.io.subjects_file import with_covariates
        from cart19.io.write import json_document, write_bytes, write_to_stdout

        env = Env.current(quiet=quiet)
        cutoff_date = parse_cutoff(cutoff)
        as_of_date = parse_cutoff(as_of)
        # the contracted machine format of check-dlt is the JSON object
        chosen = Format.json if fmt is None and output is None and not env.stdout_isatty else None
        chosen = chosen or resolve_format(fmt, output, env)
        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, subjects_path=subjects, by=by)
        review_date, late = resolve_review_date(as_of_date, cutoff_date)
        if late:
            env.warn(late)
        with env.progress("Reviewing DLTs"):
            vocabularies = ae_vocabularies(inputs.events)  # one term vocabulary (engine/terms.py)
            review = dlt_review(inputs.events, inputs.config, review_date, groups=inputs.groups(by),
                                term_vocabulary=vocabularies[0], subjects=inputs.subjects)  # fmt: skip
            if inputs.covariates is not None:  # each subject's covariates after the review's columns
                review = dataclasses.replace(review, subjects=with_covariates(review.subjects, inputs.covariates))
        if review.set_aside:
            env.warn(f"{review.set_aside} record(s) dated after the review date {review_date} were set aside")
        for warning in spelling_warnings_of(vocabularies):
            env.warn(warning)
        for warning in review.warnings[:_LISTED_WARNINGS]:
            env.warn(warning)
        if len(review.warnings) > _LISTED_WARNINGS:
            env.warn(f"... and {len(review.warnings) - _LISTED_WARNINGS} more safety warnings "
                     "(--format json lists them all)")  # fmt: skip

        if chosen is Format.json:
            document = json_document(review.to_json_dict(subjects_as_frame=True))
            if output is not None:
                write_bytes(output, document)
            else:
                write_to_stdout(document, env.stdout)
        elif chosen is not Format.table:
            write_frame(subject_frame(review), chosen, output, env, excel_safe=excel_safe)

        if env.stdout_isatty and (chosen is Format.table or output is not None):
            console = env.console()
            if output is None:
                console.print(review_table(review))
            for line in verdict_lines(review):
                console.print(line)
            if output is not None:
                from cart19.text import shown

                console.print(f"Review written to {shown(output)}")
        met = review.groups_meeting_rule
        if met and not (env.stdout_isatty and (chosen is Format.table or output is not None)):
            env.warn(f"the stopping rule is met in {len(met)} group(s) of {by}: {', '.join(met)}")
        return ExitCode.STOPPING_RULE_MET if review.any_stopping_rule_met else ExitCode.OK
