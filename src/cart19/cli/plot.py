"""``cart19 plot swimmer``, ``plot km`` and ``plot cuminc``: figures for a review meeting.

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
    ByOpt,
    ConfigOpt,
    CutoffOpt,
    Env,
    InputArg,
    QuietOpt,
    SubjectsCheckOpt,
    SubjectsOpt,
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
NR/PD/NE), and the same colour with its name fills a cell left of each lane, which no marker
covers. Markers, each with a shape of its own: each response assessment (dot in the result's
colour; hollow after new therapy or a salvage HSCT), relapse by site, HSCT, new therapy, death
by cause (? for an unknown cause), withdrawal (a bar), an arrow past the lane's end for a
subject alive and still followed, and the onset of each DLT (from the DLT review) on a thin
track of its own above the lane. The DLT window (day 0 to 28 by default) is shaded.

A page holds about 60 readable lanes: the 60 subjects with the longest follow-up are drawn
(--max-lanes to change; 0 draws every lane), and the title, a note under the plot and a
warning say so. docs/pictures.md explains every marker.

\b
Examples:
  cart19 plot swimmer examples/events.csv -o swimmer.png
  cart19 plot swimmer trial.csv -o swimmer.pdf --max-lanes 120
  cart19 plot swimmer trial.csv -o swimmer.svg --time-unit days --cutoff 2025-06-30
"""

KM_HELP = """Draw Kaplan-Meier curves (the same estimator as `cart19 km`): step curves with censor
ticks, the pointwise 95% log-log band, the median marked, the legend above the curves and the
numbers at risk under the axis.

FILE is an event file (the parameters are derived as `cart19 derive` does) or an ADTTE table
with PARAMCD, AVAL (days) and CNSR, read as `cart19 km` reads it (CSV, Parquet or - for
standard input). Each time origin has its own panel and time axis: OS and EFS from the
infusion, DOR and RFS from the first response or remission, another PARAMCD of a table from
its own start. When the bands of a panel overlap, only the first curve's is shaded (--band to
choose one, all or none).

\b
Examples:
  cart19 plot km examples/events.csv -o km.png
  cart19 plot km examples/events.csv -o km.png --param OS --param EFS
  cart19 plot km examples/events.csv -o dor.png --param DOR --param RFS --band all
  cart19 derive examples/events.csv | cart19 plot km - -o km.pdf
  cart19 plot km adtte.csv -o km.svg --param CIR
"""

CUMINC_HELP = """Draw the cumulative incidence of relapse (CIR, solid) and of death without relapse
(NRM, dashed) as competing risks: the numbers of `cart19 cuminc` (Aalen-Johansen, R's
cmprsk::cuminc), from the first remission (or the infusion: [cuminc] origin), with the 95%
log(-log) band (the relapse band only when the two overlap), the legend above the curves and
the numbers at risk under the axis. --by COLUMN (a covariate of --subjects) draws one colour
per group, without bands.

\b
Examples:
  cart19 plot cuminc examples/events.csv -o cuminc.png
  cart19 plot cuminc examples/events.csv -o cuminc.pdf --subjects examples/subjects.csv --by cohort
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
        help="Draw figures for a review meeting: swimmer, km, cuminc (needs the plot extra: pip install "
        "'cart19[plot]'). docs/pictures.md explains each picture.\n\n"
        "\b\nExamples:\n  cart19 plot swimmer examples/events.csv -o swimmer.png\n"
        "  cart19 plot km examples/events.csv -o km.png\n  cart19 plot cuminc examples/events.csv -o cuminc.png",
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
        file: Annotated[str, typer.Argument(help="An event file (CSV, Parquet, - for standard input, or an SDTM "
                                            "folder), or an ADTTE table with PARAMCD, AVAL (days) and CNSR, as "
                                            "`cart19 km` reads: the output of `cart19 derive`, or one made by SAS "
                                            "or R.", metavar="FILE")],  # fmt: skip
        output: ImageOutOpt,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", "-p", help="Parameter to draw (repeatable): OS, EFS, EFSS1, EFSS2, EFSS3, DOR, RFS, "
                         "or any PARAMCD of an ADTTE table. Default: OS EFS DOR (those present).", metavar="PARAMCD"),
        ] = None,  # fmt: skip
        band: Annotated[
            str | None,
            typer.Option("--band", help="Which confidence band to shade: a PARAMCD, all or none. Default: every "
                         "band, or only the first curve's when the bands of a panel overlap.", metavar="PARAMCD"),
        ] = None,  # fmt: skip
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsCheckOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.config import load_config

        env = Env.current(quiet=quiet)
        check_image_output(output)
        config = load_config(config_path)
        adtte_input = is_adtte_table(file)
        if adtte_input and (cutoff is not None or subjects is not None):
            raise typer.BadParameter("an ADTTE table is already derived: --cutoff and --subjects apply to an event "
                                     "file", param_hint="--cutoff/--subjects")  # fmt: skip
        known = [config.os.paramcd, *(p.paramcd for p in config.efs.parameters), config.dor.paramcd, config.rfs.paramcd]
        default = [config.os.paramcd, *(p.paramcd for p in config.efs.parameters[:1]), config.dor.paramcd]
        if adtte_input:
            from cart19.cli.km import read_adtte

            adtte = read_adtte(file)
            if adtte.height == 0:
                env.warn("the ADTTE table has no records (a header only): the figure has no curve")
            present = adtte.get_column("PARAMCD").unique(maintain_order=True).to_list()
            known = present + [c for c in known if c not in present]
            default = [c for c in default if c in present] or present[:3]
        wanted = _chosen_params(param, known, default)
        if band is not None and band.lower() not in ("all", "none") and band.upper() not in {c.upper() for c in wanted}:
            raise typer.BadParameter(f"{band!r}: give a drawn parameter ({', '.join(wanted)}), all or none",
                                     param_hint="--band")  # fmt: skip
        if require_matplotlib(env) is None:
            return ExitCode.INVALID
        from cart19.plot.km import draw_km, km_plot_data

        if not adtte_input:
            from cart19.cli.common import load_inputs
            from cart19.engine.tte import derive_adtte

            inputs = load_inputs(file, config_path=config_path, cutoff=parse_cutoff(cutoff), env=env,
                                 subjects_path=subjects)  # fmt: skip
            config = inputs.config
            adtte = derive_adtte(inputs.events, config, inputs.subjects)
        else:
            adtte = _with_labels(adtte, config)
        with env.progress("Drawing Kaplan-Meier curves"):
            data = km_plot_data(adtte, wanted, config)
            for row in data.medians.filter(data.medians["N"] == 0).iter_rows(named=True):
                env.warn(f"{row['PARAMCD']}: no subject has this parameter; no curve drawn")
            choice = band.lower() if band is not None and band.lower() in ("all", "none") else band
            write_figure(draw_km(data, band=choice), output)
        return ExitCode.OK

    @plot_app.command("cuminc", help=CUMINC_HELP)
    @command
    def cuminc(
        file: InputArg,
        output: ImageOutOpt,
        cutoff: CutoffOpt = None,
        config_path: ConfigOpt = None,
        subjects: SubjectsOpt = None,
        by: ByOpt = None,
        quiet: QuietOpt = False,
    ) -> int:
        from cart19.cli.common import load_inputs

        env = Env.current(quiet=quiet)
        check_image_output(output)
        if require_matplotlib(env) is None:
            return ExitCode.INVALID
        inputs = load_inputs(file, config_path=config_path, cutoff=parse_cutoff(cutoff), env=env,
                             subjects_path=subjects, by=by)  # fmt: skip
        from cart19.engine.relapse import cir_dataset
        from cart19.plot.cuminc import cuminc_plot_data, draw_cuminc

        groups = inputs.groups(by)
        with env.progress("Drawing the cumulative incidence"):
            dataset = cir_dataset(inputs.events, inputs.config, inputs.subjects)
            if dataset.height == 0:
                env.warn("no subject in the relapse-incidence population: the figure has no curve")
            data = cuminc_plot_data(dataset, inputs.config, groups)
            write_figure(draw_cuminc(data, by=by), output)
        return ExitCode.OK


def _chosen_params(param: list[str] | None, known: list[str], default: list[str]) -> list[str]:
    """The codes of ``--param`` (any case), each once, in the order given; a usage error for a
    code not in ``known``."""
    by_upper = {code.upper(): code for code in reversed(known)}
    wanted: list[str] = []
    for value in param or default:
        code = by_upper.get(value.strip().upper())
        if code is None:
            raise typer.BadParameter(f"{value!r} is not a parameter; choose from {', '.join(known)}",
                                     param_hint="--param")  # fmt: skip
        if code not in wanted:
            wanted.append(code)
    if not wanted:
        raise typer.BadParameter("no parameter to draw: the table has none", param_hint="--param")
    return wanted


def is_adtte_table(source: str) -> bool:
    """Whether ``source`` is an ADTTE table (its header has PARAMCD, AVAL and CNSR, in any
    case) rather than an event file. Standard input is read once and put back for the reader."""
    import io
    import sys

    from cart19.io.integrity import PARQUET_MAGIC

    if source != "-" and Path(source).is_dir():
        return False
    if source == "-":
        data = sys.stdin.buffer.read()
        sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")  # the readers read it again
        head = data[: 1 << 16]
    else:
        try:
            with open(source, "rb") as handle:
                head = handle.read(1 << 16)
        except OSError:
            return False  # the event reader names the problem
    if head[:4] == PARQUET_MAGIC:
        import polars as pl

        try:
            names = list(pl.read_parquet_schema(io.BytesIO(data) if source == "-" else source))
        except Exception:  # noqa: BLE001 - not readable: the event reader names the problem
            return False
    else:
        first = head.removeprefix(b"\xef\xbb\xbf").splitlines()[0] if head.strip() else b""
        names = first.decode("utf-8", "replace").split(",")
    upper = {n.strip().strip('"').upper() for n in names}
    return {"PARAMCD", "AVAL", "CNSR"} <= upper


def _with_labels(adtte: Any, config: Any) -> Any:
    """A ``PARAM`` column from the configuration's labels (the km reader keeps only PARAMCD,
    AVAL and CNSR): a code it does not know is its own label."""
    import polars as pl

    labels = {config.os.paramcd: config.os.param, config.dor.paramcd: config.dor.param,
              config.rfs.paramcd: config.rfs.param, **{p.paramcd: p.param for p in config.efs.parameters}}  # fmt: skip
    return adtte.with_columns(pl.col("PARAMCD").replace_strict(labels, default=pl.col("PARAMCD")).alias("PARAM"))
