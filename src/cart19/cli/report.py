"""``cart19 report``: one self-contained HTML file for a safety review meeting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cart19.cli.common import (
    ConfigOpt,
    CutoffOpt,
    Env,
    InputArg,
    QuietOpt,
    ByOpt,
    SubjectsOpt,
    command,
    load_inputs,
    parse_cutoff,
    resolve_review_date,
)
from cart19.errors import ExitCode

HELP = """Write the safety review report: ONE self-contained HTML file (figures embedded, no
external links or scripts), in this order: provenance (input SHA-256, cutoff, review date,
version, configuration digest); disposition; the DLT review in plain words (the stopping rule's
verdict, the rate with its exact CI, the DLTs, possible DLTs in open windows, each subject's
status, per group with --by); the CAR-T safety profile (CRS/ICANS/GVHD, TEAEs by period,
deaths, SAE listing); TEAEs by class and term; efficacy (response rates, Kaplan-Meier and
cumulative incidence with median follow-up); the figures; data-quality warnings; the
configuration as an appendix. Listings are capped at 100 rows (the rest counted). A print
stylesheet lays it out for A4 or Letter. The generation time is SOURCE_DATE_EPOCH when set.

Needs the plot extra for the figures: pip install 'cart19[plot]'.

\b
Examples:
  cart19 report examples/events.csv -o review.html
  cart19 report examples/events.csv -o review.html --as-of 2024-06-20
  cart19 report examples/events.csv -o review.html --subjects examples/subjects.csv --by cohort
"""


def register(app: typer.Typer) -> None:
    @app.command("report", help=HELP)
    @command
    def report(
        file: InputArg,
        output: Annotated[
            Path, typer.Option("--output", "-o", help="HTML file to write (atomically).", metavar="FILE")
        ],
        as_of: Annotated[
            str | None,
            typer.Option("--as-of", help="Review date YYYY-MM-DD: DLT windows (and the whole report) as of this "
                         "date. Default: the cutoff, or the latest date in the file.", metavar="DATE"),  # fmt: skip
        ] = None,
        title: Annotated[str, typer.Option("--title", help="Report title.", metavar="TEXT")] = "CAR-T CD19 safety review",
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        env = Env.current(quiet=quiet)
        if output.suffix.lower() not in (".html", ".htm"):
            raise typer.BadParameter(f"{str(output)!r}: the report is HTML; name the file *.html", param_hint="--output")
        cutoff_date = parse_cutoff(cutoff)
        as_of_date = parse_cutoff(as_of)
        from cart19.plot._mpl import PlotUnavailable, pyplot
        from cart19.report import ReportSource, build_report, generation_time

        try:
            generated = generation_time()
        except ValueError as exc:
            env.error(str(exc))
            return ExitCode.INVALID
        try:
            pyplot()
        except PlotUnavailable as exc:
            env.error(str(exc))
            return ExitCode.INVALID

        inputs = load_inputs(file, config_path=config_path, cutoff=cutoff_date, env=env, with_sha256=True,
                             subjects_path=subjects, by=by)
        warnings = list(inputs.warnings)
        as_of_date, late = resolve_review_date(as_of_date, cutoff_date)
        if late:
            env.warn(late)
            warnings.append(late)

        if as_of_date is not None:
            from cart19.engine.common import apply_cutoff
            from cart19.report import as_of_notes

            cut = apply_cutoff(inputs.events, as_of_date)
            for note in as_of_notes(cut.set_aside, cut.end_dates_cleared, as_of_date):
                env.warn(note)
                warnings.append(note)
            del cut

        source = ReportSource(
            name="standard input" if file == "-" else file,
            sha256=inputs.sha256,
            cutoff=cutoff_date,
            as_of=as_of_date,
            warnings=tuple(warnings),
            subjects_file=None if subjects is None else str(subjects),
            by=by,
        )
        with env.progress("Writing the report"):
            text = build_report(inputs.events, inputs.config, source, generated=generated, title=title,
                                groups=inputs.groups(by), subjects=inputs.subjects)
        from cart19.io.write import write_bytes

        write_bytes(output, text)
        return ExitCode.OK
