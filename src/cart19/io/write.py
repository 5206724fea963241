"""Every output, safely: the one place a command's result reaches a file or standard output.

Format-agnostic: a *writer* is a function that writes the bytes of one format into a *sink*,
either a path (polars, matplotlib and the like write a path themselves, with no copy in
Python) or a binary file object. This module decides where those bytes go (cli.md, "Output
safety"):

* a regular file (or a new one) is written through a temporary file in the same folder, then
  renamed into place: a failed or interrupted run keeps the earlier file, and the new file
  keeps the earlier one's permission bits (and owner, when we may set it);
* anything else (a FIFO, a character device such as ``/dev/null``, ``/dev/stdout``) is opened
  and written as a stream: it is never replaced by a regular file;
* an output that is one of the run's inputs (the event file, the configuration, the subject
  file; also through a link or another spelling of the path) is refused before any work;
* problems of the environment (a missing folder, a folder given as the output, a read-only or
  full file system, permission denied, standard output closed) become :class:`OutputError`, a
  plain message with exit status 2; a reader that goes away early is :class:`BrokenPipeError`;
* a Ctrl-C (or SIGTERM) seen at any time during the run stops the run before anything is
  committed, even when a library swallowed the ``KeyboardInterrupt`` it raised.

:func:`json_document` gives the bytes of a JSON document, from orjson.

The command line imports this module at start: only the standard library is imported when it
loads (orjson when :func:`json_document` is first called).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any, BinaryIO

from cart19.errors import OutputError

#: Where a writer writes: a path (a ``str``) or a binary file object.
Sink = str | BinaryIO
Writer = Callable[[Sink], None]

# --------------------------------------------------------------------------- interrupts

_interrupted = False


def on_interrupt(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM handler: remember the interrupt, then raise ``KeyboardInterrupt``.

    The memory matters: a signal that arrives while polars runs a query can come back to
    Python as an error polars raises (and a reader may catch it and try another way). The
    flag still stops the run at the next :func:`check_interrupted`, before anything is written.
    """
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    return _interrupted


def check_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if an interrupt arrived at any time during the run."""
    if _interrupted:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- errors of the environment

_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)|\[Errno (\d+)\]")


def os_error_number(exc: BaseException) -> int | None:
    """The ``errno`` of an OSError, or of a library error that carries one in its text
    (polars says "... (os error 28)")."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    match = _OS_ERROR_NUMBER.search(str(exc))
    return int(match.group(1) or match.group(2)) if match else None


_PLAIN = {
    errno.ENOSPC: "the disk is full (no space left on the device)",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file would be larger than this system allows (file size limit)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "this is a folder, not a file",
    errno.EBADF: "it is closed or not open for writing",
    errno.EIO: "input/output error of the device",
}


def environment_error(exc: BaseException, what: str) -> BaseException:
    """The exception to raise for a failure of the environment while writing ``what``: a
    :class:`BrokenPipeError` when the reader went away, else an :class:`OutputError` in plain
    words. ``exc`` itself when it is not an error of the operating system."""
    number = os_error_number(exc)
    if number is None:
        return exc
    if number == errno.EPIPE:
        return BrokenPipeError(errno.EPIPE, "the reader of the output went away")
    if "standard output" in str(exc):  # (ClosedStream's error, perhaps wrapped by a library)
        what = "to standard output"
    reason = _PLAIN.get(number) or (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
    return OutputError(f"cannot write {what}: {reason}; nothing was written")


# --------------------------------------------------------------------------- checks before any work


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def protect_inputs(output: str | Path | None, inputs: Iterable[tuple[str, str | Path | None]]) -> None:
    """Refuse an output that is one of the run's inputs (exit 2, before any work).

    ``inputs`` are (role, path) pairs, e.g. ``("the event file", "x.csv")``; ``-`` stands for
    standard input, which counts when it is a file redirected from the output path. The same
    file is recognised by device and inode, so a link or another spelling of the path is
    caught too. Streams (a FIFO, ``/dev/null``) are never the same file as an input to protect.
    """
    if output is None or str(output) == "-":
        return
    try:
        target = os.stat(output)
    except OSError:
        return  # a new file: it cannot be an input
    if not stat.S_ISREG(target.st_mode):
        return
    for role, path in inputs:
        if not isinstance(path, (str, Path)):  # (an option of that name may be a number: simulate's --subjects)
            continue
        try:
            source = os.fstat(0) if str(path) == "-" else os.stat(path)
        except (OSError, ValueError):
            continue
        if _same_file(source, target):
            spelled = "standard input" if str(path) == "-" else str(path)
            raise OutputError(
                f"the output {str(output)!r} is {role} ({spelled}): writing it would destroy the input; "
                "choose another output file. Nothing was written"
            )


def _is_stream_path(path: str | Path) -> bool:
    """An existing path under /dev or /proc (``/dev/stdout`` may lead to a regular file: it is
    still the process's stream, not a file to replace)."""
    text = os.path.abspath(path)
    return text.startswith(("/dev/", "/proc/"))


def check_target(output: str | Path | None) -> None:
    """Refuse, before any work, an output that cannot be written: a folder, a path whose folder
    is missing or is a file. (Permissions and a full disk show when writing.)"""
    if output is None or str(output) == "-":
        return
    path = Path(output)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        raise OutputError(f"cannot write {str(output)!r}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise environment_error(exc, repr(str(output))) from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputError(f"cannot write {str(output)!r}: it is a folder; give a file name, e.g. "
                              f"{str(path / 'out.csv')!r}")  # fmt: skip
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise OutputError(f"cannot write {str(output)!r}: the folder {str(folder)!r} does not exist") from None
    except NotADirectoryError:
        raise OutputError(f"cannot write {str(output)!r}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise environment_error(exc, repr(str(output))) from None
    if not stat.S_ISDIR(folder_mode):
        raise OutputError(f"cannot write {str(output)!r}: {str(folder)!r} is a file, not a folder")


# --------------------------------------------------------------------------- writing


@contextmanager
def open_sink(sink: Sink) -> Iterator[BinaryIO]:
    """A binary file object for a sink (for writers that write bytes themselves)."""
    if isinstance(sink, str):
        with open(sink, "wb") as handle:
            yield handle
    else:
        with nullcontext(sink) as handle:
            yield handle


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_output(path: str | Path, write: Writer) -> None:
    """Write one output file with ``write`` (see the module's docstring for what is safe)."""
    check_interrupted()
    what = repr(str(path))
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise environment_error(exc, what) from None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise OutputError(f"cannot write {what}: it is a folder; give a file name")
    if existing is not None and (not stat.S_ISREG(existing.st_mode) or _is_stream_path(path)):
        _write_stream(path, write, what)
        return
    # a link is followed: the file it points to is replaced, the link stays
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise environment_error(exc, what) from None
    os.close(fd)
    try:
        mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_umask()
        os.chmod(tmp_name, mode)  # mkstemp makes 0600: the earlier file's bits, or the usual ones
        if existing is not None and hasattr(os, "chown"):
            try:
                os.chown(tmp_name, existing.st_uid, existing.st_gid)
            except OSError:
                pass  # only the owner's group or root may: keep ours
        write(tmp_name)
        with open(tmp_name, "rb+") as handle:
            os.fsync(handle.fileno())
        check_interrupted()
        os.replace(tmp_name, target)
    except BaseException as exc:
        # Ctrl-C during a polars write arrives twice: the second KeyboardInterrupt comes at the
        # first call made here and must not skip the cleanup (so the try is the first thing).
        while True:
            try:
                Path(tmp_name).unlink(missing_ok=True)
                break
            except KeyboardInterrupt:
                continue
        if isinstance(exc, Exception):
            converted = environment_error(exc, what)
            if converted is not exc:
                raise converted from None
        raise


def _write_stream(path: str | Path, write: Writer, what: str) -> None:
    """A FIFO or a device: opened and written in place (a stream cannot be replaced)."""
    try:
        with open(path, "wb") as handle:
            write(handle)
            handle.flush()
    except Exception as exc:
        converted = environment_error(exc, what)
        if converted is exc:
            raise
        raise converted from None


def write_bytes(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` safely."""
    payload = data.encode("utf-8") if isinstance(data, str) else data

    def write(sink: Sink) -> None:
        with open_sink(sink) as handle:
            handle.write(payload)

    write_output(path, write)


def json_document(data: Any) -> bytes:
    """``data`` (text, numbers, booleans, None, lists, dicts) as a JSON document, by orjson:
    indented by two spaces, keys in the dicts' order, text as UTF-8 (not ``\\u`` escapes), a
    newline at the end. The bytes of ``json.dumps(data, indent=2, ensure_ascii=False) + "\\n"``,
    at a tenth of the time or less on a large document, but for two spellings: a float from
    1e-9 to 1e-4 (orjson writes ``2.5e-7`` and ``0.00009`` where Python writes ``2.5e-07`` and
    ``9e-05``: the same numbers), and NaN or infinity (``null``, not ``NaN``).

    A polars DataFrame among the values is the array of its rows, each the object ``to_dicts()``
    gives, one row per line, written by polars' JSON writer (:func:`_frame_rows`): no Python
    object is made for a cell (check-dlt's 100k subject rows: ~0.15 s less than ``to_dicts()``
    and orjson)."""
    import orjson

    return orjson.dumps(data, default=_frame_rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _frame_rows(value: Any) -> Any:
    """orjson's ``default``: a polars DataFrame as a list of its rows, each one line of polars'
    JSON Lines (a JSON text never holds a raw line break) that orjson writes as it stands."""
    import io

    import orjson
    import polars as pl

    if not isinstance(value, pl.DataFrame):
        raise TypeError(f"{type(value).__name__} is not JSON")
    buffer = io.BytesIO()
    value.write_ndjson(buffer)
    return [orjson.Fragment(line) for line in buffer.getvalue().splitlines()]


def write_to_stdout(data: bytes | memoryview | str, stdout: IO[str] | Any = None) -> None:
    """Write ``data`` to standard output (or ``stdout``), all at once, after a last check for an
    interrupt. A closed standard output is an :class:`OutputError`; a reader gone away a
    :class:`BrokenPipeError`."""
    check_interrupted()
    stdout = sys.stdout if stdout is None else stdout
    try:
        binary = getattr(stdout, "buffer", None)
        stdout.flush()
        if binary is not None:
            binary.write(data.encode("utf-8") if isinstance(data, str) else data)
            binary.flush()
        else:  # a text-only stream (e.g. in tests)
            stdout.write(data if isinstance(data, str) else str(data, "utf-8"))
            stdout.flush()
    except Exception as exc:
        converted = environment_error(exc, "to standard output")
        if converted is exc:
            raise
        raise converted from None


def stream_to_stdout(write: Writer, stdout: IO[str] | Any = None) -> None:
    """Run a writer straight into standard output's binary stream (for outputs too large to
    hold as bytes, e.g. ``simulate``'s CSV block by block)."""
    check_interrupted()
    stdout = sys.stdout if stdout is None else stdout
    try:
        stdout.flush()
        binary = stdout.buffer
        write(binary)
        binary.flush()
    except Exception as exc:
        converted = environment_error(exc, "to standard output")
        if converted is exc:
            raise
        raise converted from None


class ClosedStream:
    """Standard output when the process started with it closed (``>&-``): writing to it is an
    error of the environment, said plainly, not an ``AttributeError`` on ``None``."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    @property
    def buffer(self) -> ClosedStream:
        return self

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise ValueError("standard output is closed")


class DiscardStream:
    """Standard error when the process started with it closed: messages are dropped (rather
    than sent to standard output, where ``print(file=None)`` would put them)."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
