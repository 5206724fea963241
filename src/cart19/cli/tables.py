"""``cart19 tables``: the study-report tables as one RTF or DOCX file.

A thin layer: read and validate (``load_inputs``), build the tables
(:func:`cart19.tables.build.study_tables`), render them (:mod:`cart19.tables.rtf` or
:mod:`cart19.tables.docx`) and write the file atomically.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from cart19.cli.common import (
    ByOpt,
    ConfigOpt,
    CutoffOpt,
    Env,
    InputArg,
    QuietOpt,
    SubjectsOpt,
    command,
    load_inputs,
    parse_cutoff,
)
from cart19.errors import ExitCode

HELP = """Write the study-report tables: one file, RTF (rtflite) or DOCX (python-docx), one titled,
numbered table per page ("Table N. ..."), footnotes naming the population and the rule under
each, the study and the data cutoff in the page header with "Page x of y".

Tables: disposition; demography and baseline characteristics (with --subjects); TEAE overview;
TEAEs by system organ class and preferred term by maximum grade; the CAR-T safety profile
(syndromes of special interest, TEAEs by period, deaths); the DLT review (rate with exact CI,
stopping rule); DLTs by rule; response rates with exact CIs; the Kaplan-Meier summary of OS, EFS
(and its sensitivity analyses), DOR and RFS with the median follow-up; the cumulative incidence
of relapse and non-relapse mortality. Counts are n (%), intervals (low, high), NE = not
estimable. docs/tables.md says what each table shows.

--subjects FILE adds the demography table (each covariate of the subject file, n (%) per value
among the infused); without it (and without SDTM's DM) that table is left out. --by COLUMN (a
column of it, e.g. the cohort) adds a table of the DLT review per group, one row each.

The format is --format, or else the extension of -o (.rtf or .docx). The same input gives the
same bytes.

\b
Examples:
  cart19 tables examples/events.csv -o tables.rtf
  cart19 tables examples/events.csv -o tables.docx --cutoff 2025-01-31
  cart19 tables examples/events.csv -o tables.doc --format rtf
  cart19 tables examples/events.csv --subjects examples/subjects.csv -o tables.rtf
  cart19 tables examples/events.csv --subjects examples/subjects.csv --by cohort -o tables.docx
"""


class TableFormat(str, enum.Enum):
    rtf = "rtf"
    docx = "docx"


_SUFFIXES = {".rtf": TableFormat.rtf, ".docx": TableFormat.docx}

DEFAULT_STUDY = "Donor-derived CD19 CAR-T in R/R B-ALL"


def resolve_table_format(fmt: TableFormat | None, output: Path) -> TableFormat:
    """``--format``, else the extension of ``-o``; an extension that says otherwise, or an
    unknown extension without ``--format``, is a usage error (exit status 2)."""
    by_suffix = _SUFFIXES.get(output.suffix.lower())
    if fmt is None:
        if by_suffix is None:
            raise typer.BadParameter(
                f"{str(output)!r}: name the file *.rtf or *.docx, or give --format rtf|docx", param_hint="--output"
            )
        return by_suffix
    if by_suffix is not None and by_suffix is not fmt:
        raise typer.BadParameter(f"{str(output)!r} is named .{by_suffix.value} but --format is {fmt.value}",
                                 param_hint="--output")  # fmt: skip
    return fmt


def register(app: typer.Typer) -> None:
    @app.command("tables", help=HELP)
    @command
    def tables(
        file: InputArg,
        output: Annotated[
            Path, typer.Option("--output", "-o", help="RTF or DOCX file to write (atomically).", metavar="FILE")
        ],
        fmt: Annotated[
            TableFormat | None,
            typer.Option("--format", "-f", help="rtf or docx. Default: from the extension of -o."),
        ] = None,
        title: Annotated[str, typer.Option("--title", help="The study, in every page header.", metavar="TEXT")] = DEFAULT_STUDY,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        env = Env.current(quiet=quiet)
        chosen = resolve_table_format(fmt, output)
        cutoff_date = parse_cutoff(cutoff)
        from cart19 import __version__
        from cart19.tables.build import latest_date, study_tables
        from cart19.tables.table import PageInfo

        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, with_sha256=True,
                             subjects_path=subjects, by=by)  # fmt: skip
        name = "standard input" if file == "-" else file
        sha = f", SHA-256 {inputs.sha256[:16]}" if inputs.sha256 else ""
        page = PageInfo(
            study=title,
            cutoff=cutoff_date or latest_date(inputs.events),
            cutoff_given=cutoff_date is not None,
            footer=f"cart19 {__version__} tables; input {name}{sha}",
        )
        with env.progress("Building the tables"):
            built = study_tables(inputs.events, inputs.config, review_date=cutoff_date, covariates=inputs.covariates,
                                 groups=inputs.groups(by), by=by)  # fmt: skip
            if chosen is TableFormat.rtf:
                from cart19.tables.rtf import render_rtf

                data = render_rtf(built, page)
            else:
                from cart19.tables.docx import render_docx

                data = render_docx(built, page)
        from cart19.io.write import write_bytes

        write_bytes(output, data)
        if env.stderr_isatty and not quiet:
            note = "" if inputs.covariates is not None else " (no --subjects: no demography table)"
            print(f"{len(built)} tables written to {output}{note}", file=env.stderr)
        return ExitCode.OK
