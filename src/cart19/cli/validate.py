"""``cart19 validate``: check an event file against the format; list every problem."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cart19.cli.common import (
    NO_RECORDS_WARNING,
    ConfigOpt,
    Env,
    InputArg,
    QuietOpt,
    SubjectsCheckOpt,
    command,
    untreated_subjects,
    untreated_warning,
)
from cart19.errors import ExitCode

HELP = """Check an event file against the input format and list every problem at once.

Each problem names its line (the header is line 1), column and value. On a valid file, print a
short summary (subjects, infused subjects, events by kind, date range, warnings). Exit status
0 when the file is valid, 2 when it is not. Writes nothing.

--subjects FILE checks a subject file too (unique subject_id, no column named like an output
column) and warns of the subjects found in only one of the two files.

\b
Examples:
  cart19 validate examples/events.csv
  cart19 validate examples/sdtm
  cart19 validate examples/events.csv --subjects examples/subjects.csv
"""


def summarise(events: Any, subject_codes: Any = None) -> dict[str, Any]:
    """Counts a data manager checks first: subjects, infused, events by kind, date range.
    ``subject_codes`` (the reader's integer codes of ``subject_id``) only make it faster."""
    import polars as pl

    from cart19.engine.common import subject_counts
    from cart19.model import EVENT_KINDS

    every, infused = subject_counts(subject_codes)
    # one parallel pass: the counts by kind, the subjects, the date range and the imputed dates
    row = events.lazy().select(
        *[(pl.col("event") == kind).sum().alias(kind) for kind in EVENT_KINDS],
        every.alias("_subjects"),
        infused.alias("_infused"),
        pl.col("date").min().alias("_first"),
        pl.col("date").max().alias("_last"),
        pl.col("date_imputed").sum().alias("_imputed"),
    ).collect().row(0, named=True)
    return {
        "records": events.height,
        "subjects": row["_subjects"],
        "infused_subjects": row["_infused"],
        "events_by_kind": {kind: int(row[kind] or 0) for kind in EVENT_KINDS},
        "first_date": None if row["_first"] is None else row["_first"].isoformat(),
        "last_date": None if row["_last"] is None else row["_last"].isoformat(),
        "imputed_dates": int(row["_imputed"] or 0),
    }


def register(app: typer.Typer) -> None:
    @app.command("validate", help=HELP)
    @command
    def validate(
        file: InputArg,
        fmt: Annotated[
            str | None, typer.Option("--format", "-f", help="table (terminal default) or json.", metavar="FORMAT")
        ] = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsCheckOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.common import read_input
        from cart19.config import load_config
        from cart19.errors import InputError, Issue
        from cart19.io.subjects_file import read_subjects, subject_mismatch

        env = Env.current(quiet=quiet)
        if fmt not in (None, "table", "json"):
            raise typer.BadParameter(f"{fmt!r}: choose table or json", param_hint="--format")
        as_json = fmt == "json" or (fmt is None and not env.stdout_isatty)
        try:
            with env.progress("Validating"):
                covariates = None if subjects is None else read_subjects(str(subjects))
                result = read_input(file, load_config(config_path))
        except InputError as exc:
            if as_json:
                _print_json(env, valid=False, errors=exc.errors, warnings=exc.warnings, summary=None)
                if not env.stdout_isatty:  # the JSON went down a pipe: say it in words too
                    env.error(f"{exc.source}: {len(exc.errors)} problem(s) found")
                    for issue in exc.errors[:20]:
                        env.say(f"{exc.source}: {issue}")
            else:
                from cart19.cli.common import report_input_error

                for issue in exc.warnings:
                    env.warn(str(issue))
                report_input_error(exc, env)
            return ExitCode.INVALID
        codes = None if result.subjects is None else result.subjects.codes
        summary = summarise(result.events, codes)
        warnings = list(result.warnings)
        if result.events.height == 0:
            warnings.append(Issue(None, None, None, NO_RECORDS_WARNING, "warning"))
        untreated = summary["subjects"] - summary["infused_subjects"]
        if untreated:
            text = untreated_warning(untreated_subjects(result.events, result.subjects))
            warnings.append(Issue(None, None, None, text, "warning"))
        if covariates is not None:
            ids = result.subjects.ids if result.subjects is not None else result.events.get_column("subject_id")
            warnings.extend(Issue(None, None, None, text, "warning") for text in subject_mismatch(covariates, ids))
        if as_json:
            _print_json(env, valid=True, errors=[], warnings=warnings, summary=summary)
        else:
            for issue in warnings:
                env.warn(str(issue))
            _print_summary(env, file, summary, len(warnings))
        return ExitCode.OK


def _print_json(env: Env, *, valid: bool, errors: list, warnings: list, summary: dict | None) -> None:
    document = {
        "valid": valid,
        "errors": [i.as_dict() for i in errors],
        "warnings": [i.as_dict() for i in warnings],
        "summary": summary,
    }
    from cart19.io.write import json_document, write_to_stdout

    write_to_stdout(json_document(document), env.stdout)


def _print_summary(env: Env, file: str, summary: dict, n_warnings: int) -> None:
    from rich.table import Table

    console = env.console()
    from cart19.text import shown

    console.print(f"{shown(file)}: valid ({summary['records']} records)")
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("subjects", str(summary["subjects"]))
    table.add_row("infused subjects", str(summary["infused_subjects"]))
    table.add_row("date range", f"{summary['first_date']} to {summary['last_date']}")
    table.add_row("imputed dates", str(summary["imputed_dates"]))
    table.add_row("warnings", str(n_warnings))
    for kind, count in summary["events_by_kind"].items():
        if count:
            table.add_row(f"  {kind}", str(count))
    console.print(table)
