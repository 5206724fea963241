"""``cart19 plot swimmer`` and ``cart19 plot km``: figures for a safety review meeting.

A thin layer: read and cut off the events (:func:`cart19.cli.common.load_inputs`), build the
figure data with :mod:`cart19.plot`, draw it, write the image atomically. matplotlib (the
``plot`` extra) is imported only here, on the Agg backend; without it the command says how to
install it and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cart19.cli.common import (
    ConfigOpt,
    CutoffOpt,
    Env,
    InputArg,
    QuietOpt,
    SubjectsCheckOpt,
    command,
    parse_cutoff,
)
from cart19.errors import ExitCode

ImageOutOpt = Annotated[
    Path,
    typer.Option("--output", "-o", help="Image file to write (atomically): .png, .svg or .pdf.", metavar="FILE"),
]

SWIMMER_HELP = """Draw a swimmer plot: one lane per infused subject, from the infusion (day 0) to the
last follow-up, longest follow-up at the top.

Lanes are coloured by the best response to the infusion (CR > CRh > CRi > MLFS > PR >
NR/PD/NE). Markers: each response assessment (dot in the result's colour; hollow after new
therapy or a salvage HSCT), relapse by site, HSCT, new therapy, death by cause, and the onset of
each DLT (from the DLT review). The DLT window (day 0 to 28 by default) is shaded.

A page holds about 60 readable lanes: the 60 subjects with the longest follow-up are drawn
(--max-lanes to change; 0 draws every lane), and the title and a warning say so.

Examples:
  cart19 plot swimmer examples/events.csv -o swimmer.png
  cart19 plot swimmer trial.csv -o swimmer.pdf --max-lanes 120
"""

KM_HELP = """Draw Kaplan-Meier curves of the time-to-event parameters derived from the events (the
same estimator as `cart19 km`): step curves with censor ticks, the pointwise 95% log-log band,
the median marked, and the numbers at risk under the axis.

Example:  cart19 plot km examples/events.csv -o km.png --param OS --param EFS
"""


def check_image_output(output: Path) -> str:
    """The image format of ``-o``, or a usage error (exit 2) naming the formats we write."""
    from cart19.plot._mpl import image_format

    try:
        return image_format(output)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--output") from None


def require_matplotlib(env: Env) -> Any | None:
    """pyplot, or None after a one-line error saying how to install it."""
    from cart19.plot._mpl import PlotUnavailable, pyplot

    try:
        return pyplot()
    except PlotUnavailable as exc:
        env.error(str(exc))
        return None


def write_figure(figure: Any, output: Path) -> None:
    from cart19.plot._mpl import pyplot, save_figure

    try:
        data = save_figure(figure, output)
    finally:
        pyplot().close(figure)
    from cart19.io.write import write_bytes

    write_bytes(output, data)


def register(app: typer.Typer) -> None:
    plot_app = typer.Typer(
        name="plot",
        help="Draw figures (needs the plot extra: pip install 'cart19[plot]').\n\n"
        "Example:  cart19 plot swimmer examples/events.csv -o swimmer.png",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(plot_app, name="plot")

    @plot_app.command("swimmer", help=SWIMMER_HELP)
    @command
    def swimmer(
        file: InputArg,
        output: ImageOutOpt,
        time_unit: Annotated[
            str, typer.Option("--time-unit", help="x axis in months (default) or days.", metavar="UNIT")
        ] = "months",
        max_lanes: Annotated[
            int, typer.Option("--max-lanes", min=0, help="Lanes to draw, longest follow-up first (0: all).",
                              metavar="N"),  # fmt: skip
        ] = 60,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsCheckOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.common import load_inputs

        env = Env.current(quiet=quiet)
        check_image_output(output)
        if time_unit not in ("months", "days"):
            raise typer.BadParameter(f"{time_unit!r}: choose months or days", param_hint="--time-unit")
        if require_matplotlib(env) is None:
            return ExitCode.INVALID
        inputs = load_inputs(file, config_path=config_path, cutoff=parse_cutoff(cutoff), env=env, subjects_path=subjects)
        from cart19.plot.swimmer import draw_swimmer, swimmer_data

        with env.progress("Drawing the swimmer plot"):
            data = swimmer_data(inputs.events, inputs.config)
            if data.lanes.height == 0:
                env.warn("no infused subject: the swimmer plot is empty")
            if max_lanes and data.lanes.height > max_lanes:
                env.warn(f"the swimmer plot shows the {max_lanes} of {data.lanes.height} infused subjects with the "
                         "longest follow-up (--max-lanes to change)")  # fmt: skip
            write_figure(draw_swimmer(data, time_unit=time_unit, max_lanes=max_lanes or None), output)
        return ExitCode.OK

    @plot_app.command("km", help=KM_HELP)
    @command
    def km(
        file: InputArg,
        output: ImageOutOpt,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", "-p", help="Parameter to draw (repeatable): OS, EFS, EFSS1, EFSS2, EFSS3, DOR, RFS. "
                         "Default: OS EFS DOR.", metavar="PARAMCD"),  # fmt: skip
        ] = None,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsCheckOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.common import load_inputs
        from cart19.config import load_config

        env = Env.current(quiet=quiet)
        check_image_output(output)
        config = load_config(config_path)
        known = [config.os.paramcd, *(p.paramcd for p in config.efs.parameters), config.dor.paramcd]
        by_upper = {code.upper(): code for code in known}
        wanted: list[str] = []
        default = [config.os.paramcd, *(p.paramcd for p in config.efs.parameters[:1]), config.dor.paramcd]
        for value in param or default:
            code = by_upper.get(value.strip().upper())
            if code is None:
                raise typer.BadParameter(f"{value!r} is not a parameter; choose from {', '.join(known)}",
                                         param_hint="--param")  # fmt: skip
            if code not in wanted:
                wanted.append(code)
        if require_matplotlib(env) is None:
            return ExitCode.INVALID
        inputs = load_inputs(file, config_path=config_path, cutoff=parse_cutoff(cutoff), env=env, subjects_path=subjects)
        from cart19.engine.tte import derive_adtte
        from cart19.plot.km import draw_km, km_plot_data

        with env.progress("Drawing Kaplan-Meier curves"):
            data = km_plot_data(derive_adtte(inputs.events, inputs.config, inputs.subjects), wanted, inputs.config)
            for row in data.medians.filter(data.medians["N"] == 0).iter_rows(named=True):
                env.warn(f"{row['PARAMCD']}: no subject has this parameter; no curve drawn")
            write_figure(draw_km(data), output)
        return ExitCode.OK
