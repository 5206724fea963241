"""``cart19 report``: one self-contained HTML file for a safety review meeting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cart19.cli.common import ConfigOpt, CutoffOpt, Env, InputArg, QuietOpt, atomic_write, command, parse_cutoff
from cart19.errors import ExitCode

HELP = """Write the safety review report: ONE self-contained HTML file (figures embedded, no
external links or scripts) with the DLT review (status per subject, rate with exact CI, the
stopping rule's verdict and posterior), the TEAE overview, the swimmer plot, the Kaplan-Meier
summary, data-quality warnings, the configuration used, the tool version, the input file's
SHA-256, the cutoff / review date and the generation time (fixed by SOURCE_DATE_EPOCH when set).

Needs the plot extra for the figures: pip install 'cart19[plot]'.

Example:  cart19 report examples/events.csv -o review.html --as-of 2025-06-30
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
        title: Annotated[str, typer.Option("--title", help="Report title.")] = "CAR-T CD19 safety review",
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
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

        from cart19.cli.common import load_config_or_exit
        from cart19.engine.common import apply_cutoff, untreated_subject_count
        from cart19.io.read import read_events

        # As load_inputs, but keeping the warnings (the report lists them) and the file's SHA-256.
        config = load_config_or_exit(config_path)
        with env.progress("Reading and validating events"):
            result = read_events(file, with_sha256=True)
        warnings = [str(issue) for issue in result.warnings]
        cut = apply_cutoff(result.events, cutoff_date)
        if cut.set_aside:
            warnings.append(f"{cut.set_aside} record(s) dated after the cutoff {cutoff_date} were set aside")
        if cut.end_dates_cleared:
            warnings.append(f"{cut.end_dates_cleared} AE end date(s) after the cutoff {cutoff_date} were treated as ongoing")
        untreated = untreated_subject_count(cut.events)
        if untreated:
            warnings.append(f"{untreated} subject(s) without an infusion are outside the treated set and in no endpoint")
        if as_of_date is not None and cutoff_date is not None and as_of_date > cutoff_date:
            warnings.append(f"the review date {as_of_date} is after the data cutoff {cutoff_date}: "
                            "records after the cutoff were set aside")  # fmt: skip
        for warning in warnings:
            env.warn(warning)

        source = ReportSource(
            name="standard input" if file == "-" else file,
            sha256=result.sha256,
            cutoff=cutoff_date,
            as_of=as_of_date if as_of_date is not None else cutoff_date,
            warnings=tuple(warnings),
        )
        with env.progress("Writing the report"):
            text = build_report(cut.events, config, source, generated=generated, title=title)
        atomic_write(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return ExitCode.OK
