"""What every command shares: the environment, the common options, reading the input,
writing the output atomically, and turning failures into plain messages and exit statuses.

Only typer and the standard library are imported at module level: ``cart19 --help`` must
start fast. Polars, rich and the engines are imported by the functions that need them.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from cart19.errors import ExitCode

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from rich.console import Console

    from cart19.config import Config
    from cart19.io.subjects import Subjects


# --------------------------------------------------------------------------- environment


@dataclass
class Env:
    """Where output goes and whether a person is watching (after httpie's ``Environment``).

    Tests build one with ``stdout_isatty=True`` to see what a terminal user sees.
    """

    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    no_color: bool = False
    quiet: bool = False

    @classmethod
    def current(cls, quiet: bool = False) -> Env:
        def isatty(stream: Any) -> bool:
            try:
                return bool(stream.isatty())
            except (AttributeError, ValueError):
                return False

        forced = os.environ.get("CART19_FORCE_TERMINAL") == "1"
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdout_isatty=forced or isatty(sys.stdout),
            stderr_isatty=forced or isatty(sys.stderr),
            no_color="NO_COLOR" in os.environ,
            quiet=quiet,
        )

    def console(self, *, stderr: bool = False) -> Console:
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        tty = self.stderr_isatty if stderr else self.stdout_isatty
        return Console(
            file=stream,
            force_terminal=tty,
            no_color=self.no_color or not tty,
            highlight=False,
            soft_wrap=not tty,
            width=None if tty else 200,
        )

    def warn(self, message: str) -> None:
        """A warning on standard error (suppressed by ``--quiet``); text from the data in it is
        shown escaped (:func:`cart19.text.escape_controls`)."""
        if not self.quiet:
            self.say(f"warning: {message}")

    def error(self, message: str) -> None:
        self.say(f"error: {message}")

    def say(self, line: str) -> None:
        """A line on standard error, control characters escaped (a message may quote the data)."""
        from cart19.text import escape_controls

        print(escape_controls(line, keep="\n"), file=self.stderr)

    @contextmanager
    def progress(self, message: str) -> Iterator[None]:
        """A spinner on a terminal's standard error while a step runs; nothing when piped."""
        if self.stderr_isatty and not self.quiet:
            console = self.console(stderr=True)
            with console.status(message):
                yield
        else:
            yield


# --------------------------------------------------------------------------- options


class Format(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


_EXTENSIONS = {".csv": Format.csv, ".json": Format.json, ".jsonl": Format.json, ".ndjson": Format.json,
               ".parquet": Format.parquet, ".pq": Format.parquet}  # fmt: skip


def _parse_date(value: str | None) -> dt.date | None:
    import re

    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # (fromisoformat also takes 20240105, 2024-W01-1)
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def _plain_usage_name(self: Any) -> str:
    """A required argument in a usage line as ``FILE`` (typer writes ``{FILE}``); an optional
    one as ``[FILE]``."""
    name = self.display_name_raw
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


try:  # typer >= 0.20 braces a required argument in the usage line: `cart19 km [OPTIONS] {FILE}`
    import typer.core as _typer_core

    if hasattr(_typer_core.TyperArgument, "_usage_display_name"):
        _typer_core.TyperArgument._usage_display_name = _plain_usage_name  # type: ignore[method-assign]
except ImportError:  # pragma: no cover
    pass


InputArg = Annotated[
    str,
    typer.Argument(help="Event file: CSV (default), Parquet (.parquet), or - for standard input; or an SDTM folder "
                   "(dm.xpt, ae.json, rs.csv ...; docs/sdtm.md).", metavar="FILE"),
]
CutoffOpt = Annotated[
    str | None,
    typer.Option("--cutoff", help="Data cutoff YYYY-MM-DD: records dated after it are set aside.", metavar="DATE"),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML configuration overriding the defaults (see `cart19 config`).", metavar="FILE"),
]
FormatOpt = Annotated[
    Format | None,
    typer.Option("--format", "-f", help="Output format. Default: table on a terminal, csv when piped or with -o."),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to FILE (atomically); format from its extension.", metavar="FILE"),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No warnings or progress on standard error.")]
ExcelSafeOpt = Annotated[
    bool,
    typer.Option("--excel-safe", help="CSV only: prefix text cells that start with = + - @, a tab or a carriage return "
                 "with a single quote ', so a spreadsheet shows them as text instead of running them as formulas. "
                 "The default CSV is the faithful machine format (a warning counts such cells)."),
]  # fmt: skip
SubjectsOpt = Annotated[
    Path | None,
    typer.Option("--subjects", help="Subject file (CSV or Parquet): subject_id and covariates (cohort, dose level, ...), "
                 "kept as text; they follow the subject-level outputs and --by groups by them.", metavar="FILE"),
]  # fmt: skip
SubjectsCheckOpt = Annotated[
    Path | None,
    typer.Option("--subjects", help="Subject file (CSV or Parquet) to check against the events (problems, subjects in one "
                 "file only); this command does not use the covariates.", metavar="FILE"),
]  # fmt: skip
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Split the summary by this covariate (a column of --subjects): one block per value, "
                 "sorted; an empty value is its own group, (missing).", metavar="COLUMN"),
]  # fmt: skip
TestsOpt = Annotated[
    bool, typer.Option("--tests", help="With --by: write the test of equality between the groups instead of the summary.")
]


def parse_cutoff(value: str | None) -> dt.date | None:
    return _parse_date(value)


def resolve_review_date(as_of: dt.date | None, cutoff: dt.date | None) -> tuple[dt.date | None, str | None]:
    """The date a DLT review is made as of, and a warning when ``--as-of`` had to give way.

    ``--as-of`` by default; the cutoff when there is no ``--as-of`` or when ``--as-of`` is later
    than the cutoff (records after the cutoff are set aside, so a later review date would count
    days without data). ``check-dlt`` and ``report`` both use this, so they agree.
    """
    if as_of is not None and cutoff is not None and as_of > cutoff:
        return cutoff, f"--as-of {as_of} is after the cutoff {cutoff}: the review is as of the cutoff"
    return (as_of if as_of is not None else cutoff), None


#: Extensions of formats these commands never write as CSV/JSON/Parquet: an ``-o`` with one of
#: them is refused even with ``--format`` (cli.md: never a CSV under another name).
_FOREIGN = frozenset({".xpt", ".xlsx", ".xls", ".xlsm", ".ods", ".sas7bdat", ".rds", ".rda", ".rdata", ".dta",
                      ".sav", ".feather", ".arrow", ".ipc", ".avro", ".orc", ".tsv", ".txt", ".docx", ".rtf",
                      ".pdf", ".html", ".png", ".svg", ".zip", ".gz"})  # fmt: skip


def refuse_extension(output: Path | None, fmt: Format | None, *, also: tuple[str, ...] = ()) -> None:
    """Before any work: ``-o``'s extension must be one the command writes (``.csv``, ``.json``,
    ``.jsonl``, ``.ndjson``, ``.parquet``, ``.pq``, and ``also``). Another extension is an error
    (exit 2) naming the extensions it can write; an unknown one (``.out``) is allowed only
    with ``--format``, a known foreign one (``.xpt``, ``.xlsx`` ...) never. No extension (a
    device, a FIFO, ``-o result``) takes ``--format``, else CSV."""
    if output is None:
        return
    suffix = output.suffix.lower()
    if not suffix or suffix in _EXTENSIONS or suffix in also:
        return
    if fmt is not None and suffix not in _FOREIGN:
        return
    can = ", ".join([*_EXTENSIONS, *also])
    raise typer.BadParameter(f"-o {output.name}: this command cannot write {suffix} files; it writes {can}")


def resolve_format(fmt: Format | None, output: Path | None, env: Env) -> Format:
    """The format to write: explicit ``--format``; else ``-o``'s extension (csv without one);
    else a table on a terminal and csv when piped. An extension the command cannot write is
    an error (:func:`refuse_extension`)."""
    refuse_extension(output, fmt)
    if fmt is not None:
        if fmt is Format.table and output is not None:
            raise typer.BadParameter("--format table cannot be written to a file; use csv, json or parquet")
        return fmt
    if output is not None:
        return _EXTENSIONS.get(output.suffix.lower(), Format.csv)
    return Format.table if env.stdout_isatty else Format.csv


# --------------------------------------------------------------------------- input


@dataclass
class Inputs:
    config: Config
    #: the canonical events frame, after the cutoff
    events: pl.DataFrame
    #: the SHA-256 of the input bytes (for reports)
    sha256: str | None
    cutoff: dt.date | None
    #: every warning, as printed on standard error
    warnings: list[str] = field(default_factory=list)
    #: the reader's numbering of the subjects of ``events`` (None when the cutoff set records aside)
    subjects: Subjects | None = None
    #: SDTM input: each event line's origin (:func:`cart19.io.sdtm.trace_sources`); None for an event file
    provenance: pl.DataFrame | None = None

    def traced(self, frame: pl.DataFrame) -> pl.DataFrame:
        """An output's ``SRCDOM``/``SRCSEQ`` naming the SDTM records (and ``SRCVAR``), for SDTM input."""
        from cart19.io.sdtm import trace_sources

        return trace_sources(frame, self.provenance)
    #: the subject file (``--subjects``): subject_id and the covariates as text, or None
    covariates: pl.DataFrame | None = None
    #: SDTM input: DM's ``STUDYID``, when it has one
    studyid: str | None = None
    #: where ``covariates`` come from, for messages: the subject file, or the SDTM folder (DM)
    covariates_source: str | None = None

    def groups(self, by: str | None) -> pl.DataFrame | None:
        """The ``groups`` frame of ``--by`` (subject_id, group), or None without ``--by``."""
        if by is None:
            return None
        from cart19.io.subjects_file import subject_groups

        return subject_groups(self.covariates, by)

    def split_groups(self, by: str | None) -> pl.DataFrame | None:
        """:meth:`groups` of a summary split by ``by`` and followed by the whole trial's
        ``Total`` block (teae, response, safety): a group named ``Total`` is an input error
        naming where the covariates come from."""
        from cart19.io.subjects_file import refuse_total_group

        groups = self.groups(by)
        refuse_total_group(groups, by, self.covariates_source or "")
        return groups


def load_inputs(
    source: str,
    *,
    config_path: Path | None,
    cutoff: dt.date | None,
    env: Env,
    with_sha256: bool = False,
    subjects_path: Path | None = None,
    by: str | None = None,
) -> Inputs:
    """Read the configuration, the subject file (``--subjects``) and the events (validating
    all), apply the cutoff, and print the warnings. Invalid input raises, and :func:`command`
    turns that into exit status 2. ``by`` is checked against the subject file's columns before
    the events are read."""
    from cart19.config import load_config
    from cart19.engine.common import apply_cutoff

    config = load_config(config_path)
    covariates = None
    covariates_source = None
    if subjects_path is not None:
        from cart19.io.subjects_file import read_subjects

        covariates, covariates_source = read_subjects(str(subjects_path)), str(subjects_path)
    if by is not None and subjects_path is not None:
        from cart19.io.subjects_file import subject_groups

        subject_groups(covariates, by, source=str(subjects_path))  # a clear error now, not after the read
    with env.progress("Reading and validating events"):
        result = read_input(source, config, with_sha256=with_sha256)
    if covariates is None and getattr(result, "covariates", None) is not None:
        covariates = result.covariates  # SDTM input: DM's covariates (sdtm.md), when no --subjects is given
        covariates_source = source
    if by is not None and subjects_path is None:
        from cart19.io.subjects_file import subject_groups

        subject_groups(covariates, by, source=source)
    warnings = [str(issue) for issue in result.warnings]
    cut = apply_cutoff(result.events, cutoff)
    if cut.set_aside:
        warnings.append(f"{cut.set_aside} record(s) dated after the cutoff {cutoff} were set aside")
    if cut.end_dates_cleared:
        warnings.append(f"{cut.end_dates_cleared} AE end date(s) after the cutoff {cutoff} were treated as ongoing")
    subjects = None if cut.set_aside else result.subjects  # (the reader's codes fit while every record is kept)
    if result.events.height == 0:
        warnings.append(NO_RECORDS_WARNING)
    untreated = untreated_subjects(cut.events, subjects)
    if untreated.len():
        warnings.append(untreated_warning(untreated))
    if covariates is not None:
        from cart19.io.subjects_file import subject_mismatch

        ids = result.subjects.ids if result.subjects is not None else result.events.get_column("subject_id").unique()
        warnings.extend(subject_mismatch(covariates, ids))
    for warning in warnings:
        env.warn(warning)
    return Inputs(config=config, events=cut.events, sha256=result.sha256, cutoff=cutoff, warnings=warnings,
                  subjects=subjects, covariates=covariates, provenance=getattr(result, "provenance", None),
                  studyid=getattr(result, "studyid", None), covariates_source=covariates_source)


#: An input with a header and no records: every result is empty, which is said, not silent.
NO_RECORDS_WARNING = "the input has no records (a header only): every count is 0 and every table is empty"
#: Subjects a warning names before "and N more".
NAMED_SUBJECTS = 3


def named_subjects(ids: list[str], count: int | None = None) -> str:
    """``S1, S2, S3 and 4 more``: the first :data:`NAMED_SUBJECTS` of ``ids`` (as given), as
    written: the text is a warning, which :meth:`Env.say` prints with its control characters
    escaped and ``validate --format json`` lists verbatim (not rich markup: a ``[`` stays a
    ``[``)."""
    count = len(ids) if count is None else count
    text = ", ".join(ids[:NAMED_SUBJECTS])
    return text + (f" and {count - NAMED_SUBJECTS} more" if count > NAMED_SUBJECTS else "")


def untreated_subjects(events: pl.DataFrame, subjects: Subjects | None = None) -> pl.Series:
    """The identifiers of the subjects with records but no infusion (in no particular order).
    ``subjects``: the reader's subject codes of ``events``, record by record, when they fit; the
    subjects are then told apart by code, not by grouping their text."""
    import polars as pl

    if subjects is not None and subjects.codes.len() == events.height:
        infused = subjects.codes.filter(events.get_column("event") == "infusion").unique().implode()
        return subjects.ids.filter(~pl.int_range(subjects.count, dtype=pl.UInt32, eager=True).is_in(infused))
    return (
        events.group_by("subject_id")
        .agg((pl.col("event") == "infusion").any().alias("_treated"))
        .filter(~pl.col("_treated"))
        .get_column("subject_id")
    )


def untreated_warning(untreated: pl.Series) -> str:
    """``N subject(s) without an infusion are outside the treated set and in no endpoint: S1,
    S2, S3 and N more`` (the count first; the subjects sorted), for ``untreated``:
    :func:`untreated_subjects`."""
    import polars as pl

    count = untreated.len()
    ids = untreated.cast(pl.String).sort().head(NAMED_SUBJECTS).to_list()
    return (f"{count} subject(s) without an infusion are outside the treated set and in no endpoint: "
            f"{named_subjects(ids, count)}")  # fmt: skip


def read_input(source: str, config: Config, *, with_sha256: bool = False) -> Any:
    """An event file (:func:`cart19.io.read.read_events`) or, for a folder, SDTM domains
    (:func:`cart19.io.sdtm.read_sdtm`, mapped by ``config.sdtm``): a ``ReadResult`` either way."""
    if source != "-" and Path(source).is_dir():
        from cart19.io.sdtm import read_sdtm

        return read_sdtm(source, config.sdtm, with_sha256=with_sha256)
    from cart19.io.read import read_events

    return read_events(source, with_sha256=with_sha256)


# --------------------------------------------------------------------------- output


def atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write one output file safely (:func:`cart19.io.write.write_output`: atomic for a regular
    file, a stream for a FIFO or device, permissions kept). ``write`` gets a path or a binary
    file object; :func:`cart19.io.write.open_sink` opens either."""
    from cart19.io.write import write_output

    write_output(path, write)


#: A text cell a spreadsheet may run as a formula (OWASP "CSV injection"): its first character.
FORMULA_START = r"^[=+\-@\t\r]"


def formula_cells(frame: pl.DataFrame) -> int:
    """How many text cells start with = + - @, a tab or a carriage return."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text or frame.height == 0:
        return 0
    counts = frame.select(pl.col(text).str.contains(FORMULA_START).fill_null(False).cast(pl.UInt32).sum())
    return int(sum(counts.row(0)))


def excel_safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that start like a formula prefixed with a single quote (OWASP's advice)."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START)).then("'" + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name in text
    )


def _serialise(frame: pl.DataFrame, fmt: Format, target: str | Path | IO[bytes], *, excel_safe: bool = False) -> None:
    """Write a frame in a machine format into ``target``, a path or a binary file object (CSV:
    ISO dates, empty cells for nulls; with ``excel_safe``, formula-like text cells quoted for
    spreadsheets)."""
    if fmt is Format.csv:
        (excel_safe_frame(frame) if excel_safe else frame).write_csv(target)
    elif fmt is Format.json:
        frame.write_ndjson(target)
    elif fmt is Format.parquet:
        frame.write_parquet(target)
    else:  # pragma: no cover - table is rendered, never serialised
        raise ValueError(f"not a machine format: {fmt}")


def frame_bytes(frame: pl.DataFrame, fmt: Format, *, excel_safe: bool = False) -> bytes:
    """A frame in a machine format, as bytes (see :func:`_serialise`)."""
    import io

    buffer = io.BytesIO()
    _serialise(frame, fmt, buffer, excel_safe=excel_safe)
    return buffer.getvalue()


def write_frame(frame: pl.DataFrame, fmt: Format, output: Path | None, env: Env, *, excel_safe: bool = False) -> None:
    """Write a frame to ``output`` (atomically) or to standard output. CSV text cells that a
    spreadsheet would run as formulas are quoted with ``excel_safe``, else counted in a warning.

    A file is written by polars itself (no copy of the bytes in Python); standard output gets
    the whole serialised frame at once, or nothing when serialising fails."""
    import io

    if fmt is Format.csv and not excel_safe:
        risky = formula_cells(frame)
        if risky:
            env.warn(f"{risky} CSV cell(s) start with =, +, -, @, a tab or a carriage return; a spreadsheet may run "
                     "them as formulas. The CSV keeps them verbatim; --excel-safe prefixes them with ' for Excel")  # fmt: skip
    from cart19.io.write import write_to_stdout

    if output is not None:
        atomic_write(output, lambda sink: _serialise(frame, fmt, sink, excel_safe=excel_safe))
        return
    if fmt is Format.parquet and env.stdout_isatty:
        raise typer.BadParameter("Parquet is binary: write it to a file with -o FILE.parquet or pipe it")
    buffer = io.BytesIO()
    _serialise(frame, fmt, buffer, excel_safe=excel_safe)
    write_to_stdout(buffer.getbuffer(), env.stdout)  # (a view of the buffer: no copy)


# --------------------------------------------------------------------------- errors


def report_input_error(exc: Any, env: Env) -> None:
    """Every problem of an invalid input on standard error: a table on a terminal, else one
    plain line each."""
    errors = exc.errors
    env.error(f"{exc.source}: {len(errors)} problem(s) found; nothing was written")
    if env.stderr_isatty:
        from rich.table import Table

        from cart19.text import shown

        sdtm = any(getattr(issue, "file", None) for issue in errors)  # SDTM: file and record, variable
        table = Table("file, record" if sdtm else "line", "variable" if sdtm else "column", "value", "problem",
                      header_style="bold")  # fmt: skip
        for issue in errors[:200]:
            line = "" if issue.line is None else str(issue.line)
            if getattr(issue, "file", None):  # an SDTM record: the file and the record number
                line = shown(f"{issue.file} {line}".strip())
            table.add_row(line, shown(issue.column or ""), shown(issue.value or "", limit=80), shown(issue.message))
        env.console(stderr=True).print(table)
        if len(errors) > 200:
            env.say(f"... and {len(errors) - 200} more (use `cart19 validate --format json` for all)")
    else:
        for issue in errors:
            env.say(f"{exc.source}: {issue}")


def command(func: Callable[..., int | None]) -> Callable[..., None]:
    """Run a command body and map every outcome to an exit status (cli.md): invalid input or
    configuration -> 2 with every problem listed; a bug -> 1 with a short message, never a
    traceback (set ``CART19_DEBUG=1`` to see one)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from cart19.errors import ConfigError, InputError

        from cart19.errors import OutputError
        from cart19.io.write import check_interrupted

        env = Env.current(quiet=bool(kwargs.get("quiet", False)))
        try:
            _check_output_option(kwargs)
            status = func(*args, **kwargs)
            check_interrupted()
        except OutputError as exc:
            env.error(str(exc))
            raise typer.Exit(ExitCode.INVALID) from None
        except InputError as exc:
            report_input_error(exc, env)
            raise typer.Exit(ExitCode.INVALID) from None
        except ConfigError as exc:
            env.error(f"configuration {exc.source} is invalid; nothing was written")
            for problem in exc.problems:
                env.say(f"  {problem}")
            raise typer.Exit(ExitCode.INVALID) from None
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except KeyboardInterrupt:
            # Ctrl-C, or SIGTERM (cli/__init__.py); atomic_write has removed its temporary file.
            # typer would turn the interrupt into a silent exit 130: say what happened.
            print("interrupted; nothing was written", file=env.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # the reader of a pipe went away (e.g. `| head`): not an error of ours
            _silence_stdout()
            raise typer.Exit(ExitCode.OK) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if os.environ.get("CART19_DEBUG") == "1":
                raise
            from cart19.io.write import environment_error

            converted = environment_error(exc, "the output")
            if isinstance(converted, BrokenPipeError):
                _silence_stdout()
                raise typer.Exit(ExitCode.OK) from None
            if isinstance(converted, OutputError):  # the operating system said no: not a bug
                env.error(str(converted))
                raise typer.Exit(ExitCode.INVALID) from None
            env.error(
                f"internal error ({type(exc).__name__}: {exc}). This is a bug in cart19; "
                "please report it with the command you ran (CART19_DEBUG=1 shows the traceback)."
            )
            raise typer.Exit(ExitCode.BUG) from None
        raise typer.Exit(int(status or ExitCode.OK))

    return wrapper


#: Options that name an input the output must never overwrite, with the words for it.
PROTECTED_INPUTS = {"file": "the event file", "config_path": "the configuration", "subjects": "the subject file",
                    "subjects_path": "the subject file"}  # fmt: skip


def _check_output_option(kwargs: dict[str, Any]) -> None:
    """Before any work: ``-o`` must be writable in principle (not a folder, its folder exists)
    and must not be one of the run's inputs (cli.md, "Output safety")."""
    from cart19.io.write import check_target, protect_inputs

    output = kwargs.get("output")
    if output is None:
        return
    inputs = [(role, kwargs.get(name)) for name, role in PROTECTED_INPUTS.items()]
    inputs += [("an input of this command", value) for name, value in kwargs.items()
               if isinstance(value, Path) and name != "output" and name not in PROTECTED_INPUTS]  # fmt: skip
    protect_inputs(output, inputs)
    check_target(output)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
