"""The ``cart19`` command line: a thin typer layer over the engines.

Each command lives in its own module with a ``register(app)`` function. Modules import only
typer and the standard library at top level, so ``cart19 --help`` starts fast.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import typer

from cart19 import __version__

app = typer.Typer(
    name="cart19",
    help=(
        "Derive the endpoints of a donor-derived CD19 CAR-T trial in R/R B-ALL from one file of "
        "patient event timelines: DLT, TEAE incidence, OS, EFS (primary + 3 sensitivity "
        "analyses), DOR and RFS as an ADaM ADTTE dataset, response rates with MRD, and the "
        "cumulative incidence of relapse. The rules, and the configuration keys that change them, "
        "are explained in docs/endpoints.md and the other pages of docs/ in the cart19 source.\n\n"
        "\b\nExamples:\n  cart19 validate examples/events.csv\n  cart19 derive examples/events.csv -o adtte.csv\n"
        "  cart19 check-dlt examples/events.csv\n  cart19 plot swimmer examples/events.csv -o swimmer.png"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Command modules, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "events",
    "derive",
    "adam",
    "km",
    "response",
    "cuminc",
    "teae",
    "check_dlt",
    "safety",
    "simulate",
    "plot",
    "report",
    "tables",
    "config_cmd",
)


def _version(value: bool) -> None:
    if value:
        print(f"cart19 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """cart19: trial endpoints, correctly, traceably, the same way every time."""


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"cart19.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a command still being written; tests assert all exist
        if _exc.name != f"cart19.cli.{_name}":
            raise
        continue
    _module.register(app)


def _guard_streams() -> None:
    """A process started with standard output or error closed (``>&-``) has ``None`` there:
    writing to standard output is then a plain error, and messages to standard error are
    dropped (not sent to standard output)."""
    from cart19.io.write import ClosedStream, DiscardStream

    if sys.stdout is None:
        sys.stdout = ClosedStream()  # type: ignore[assignment]
    if sys.stderr is None:
        sys.stderr = DiscardStream()  # type: ignore[assignment]


def main() -> None:
    """Console-script entry point."""
    from cart19.io.write import environment_error, on_interrupt

    _guard_streams()
    # Ctrl-C and SIGTERM: remembered, so that no output is committed after one (io/write.py)
    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_interrupt)
    if hasattr(signal, "SIGXFSZ"):  # a file size limit: an error to report (EFBIG), not a kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        _exit(130)
    except SystemExit as exc:  # typer ends every run so, with the exit status
        _exit(exc.code)
    except OSError as exc:  # outside a command (e.g. --version with standard output closed)
        converted = environment_error(exc, "to standard output")
        if isinstance(converted, BrokenPipeError):
            _exit(0)
        print(f"error: {converted}", file=sys.stderr)
        _exit(2)
    _exit(0)


def _exit(code: object) -> None:
    """End the process with ``code`` (``sys.exit``'s meaning) once the output is flushed,
    without the interpreter's tear-down: freeing every module and the frames of a large
    trial one by one took ~50 ms at 100k subjects, memory the system takes back at once.
    Every file a command writes is complete (and renamed into place) before this."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on standard error, status 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # e.g. the reader of a pipe went away: nothing more to say
            pass
    os._exit(status)
