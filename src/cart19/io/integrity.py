"""Is this a text CSV file at all, and is every record whole? Checks made before (or beside)
the parser, in bounded memory, so a hostile file is refused with a message naming its line:

* binary content (a NUL byte anywhere, ``/dev/zero``, a file whose valid rows are followed by
  a gigabyte hole of NULs) stops the read at the first chunk that holds it;
* UTF-16 text (Excel's "Unicode text") is named as such, with the command that converts it;
* an Excel ``sep=,`` first line is named as such;
* a record with fewer fields than the header (a file cut mid-record): polars fills the missing
  fields with nulls, so the field count of every line is checked here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import polars as pl

from cart19.errors import InputError, Issue

#: Bytes read at a time: the memory a binary file can make us hold beyond its text.
CHUNK = 1 << 20
PARQUET_MAGIC = b"PAR1"

_ICONV_HINT = "convert it to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8 FILE > FILE-utf8.csv` (or save as 'CSV UTF-8')"


def _file_error(source: str, line: int | None, message: str) -> InputError:
    return InputError(source, [Issue(line, None, None, message)])


def looks_utf16(head: bytes) -> bool:
    """UTF-16 text: a UTF-16 byte-order mark, or ASCII text with a NUL after (or before) each
    character in the first bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = head[:4096]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    mostly, rarely = 0.9, 0.1
    return (even.count(0) > mostly * len(even) and odd.count(0) < rarely * len(odd)) or (
        odd.count(0) > mostly * len(odd) and even.count(0) < rarely * len(even)
    )


def binary_error(source: str, data: bytes, position: int, lines_before: int) -> InputError:
    """The error for a NUL byte at ``position`` of ``data`` (``lines_before``: line breaks read
    before ``data``)."""
    if lines_before == 0 and looks_utf16(data):
        return _file_error(source, None, f"the file is UTF-16 text, not UTF-8: {_ICONV_HINT}")
    line = lines_before + data.count(b"\n", 0, position) + 1
    return _file_error(source, line, "a NUL byte (binary data): this is not a text (CSV) file, or it is damaged "
                                     "from this line on")  # fmt: skip


def read_source(source: str, stdin: BinaryIO | None = None) -> bytes:
    """The bytes of an event file (a path, or ``-`` for standard input), read chunk by chunk:
    a NUL byte in a text file stops the read there (bounded memory, the line named). Parquet
    (by its magic bytes) is read whole."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_stream(source, stream)
    try:
        with open(source, "rb") as stream:
            return _read_stream(source, stream)
    except FileNotFoundError:
        raise _file_error(source, None, "no such file; check the path") from None
    except IsADirectoryError:
        raise _file_error(source, None, "this is a folder, not an event file") from None
    except PermissionError:
        raise _file_error(source, None, "permission denied: the file cannot be read") from None
    except OSError as exc:
        raise _file_error(source, None, f"the file cannot be read ({exc.strerror or exc})") from None


def _read_stream(source: str, stream: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    lines = 0
    binary_allowed = False
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if not chunks and chunk[:4] == PARQUET_MAGIC:
            binary_allowed = True
        if not binary_allowed:
            position = chunk.find(b"\x00")
            if position >= 0:
                raise binary_error(source, chunk, position, lines)
            lines += chunk.count(b"\n")
        chunks.append(chunk)
    return b"".join(chunks)


def sep_hint(first_line: bytes) -> str | None:
    """The message for an Excel ``sep=X`` first line, or None."""
    text = first_line.strip().lstrip(b"\xef\xbb\xbf")
    if text.lower().startswith(b"sep=") and len(text) <= 6:
        return (f"{text.decode('utf-8', 'replace')!r} is a separator hint that Excel writes, not the header: "
                "delete that line (the header must be the first line)")  # fmt: skip
    return None


def short_record_lines(source: str | bytes, width: int) -> pl.Series:
    """Physical lines (header = 1) holding fewer fields than the header's ``width``, counting the
    commas outside quotes; blank lines and lines of a quoted line break are left to the parser.
    ``source``: a path or the file's bytes."""
    import io

    text = io.BytesIO(source) if isinstance(source, bytes) else source
    lines = pl.scan_csv(text, has_header=False, separator="\x1f", quote_char=None, schema={"text": pl.String},
                        truncate_ragged_lines=True, encoding="utf8-lossy")  # fmt: skip
    line = pl.col("text").fill_null("").str.strip_chars_end("\r")
    fields = line.str.replace_all('"[^"]*"', "").str.count_matches(",", literal=True) + 1
    whole = line.str.count_matches('"', literal=True) % 2 == 0  # not a piece of a quoted line break
    return (
        lines.with_row_index("line", offset=1)
        .filter((pl.col("line") > 1) & (line.str.strip_chars() != "") & whole & (fields < width))
        .select(pl.col("line").cast(pl.Int64))
        .collect(engine="streaming")
        .to_series()
    )
