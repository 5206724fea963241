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

import mmap
import sys
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


def short_record_lines(data: bytes, width: int) -> pl.Series:
    """Physical lines (header = 1) of the CSV bytes ``data`` holding fewer fields than the
    header's ``width``, counting the commas outside quotes; blank lines and lines of a quoted line
    break are left to the parser. A file with an odd number of quotes ends inside a quoted field
    (polars would close it): its last line is listed too."""
    import io

    # each physical line as one text: split on a byte the file does not hold
    separator = next((chr(b) for b in range(0x1F, 0, -1) if bytes([b]) not in data), None)
    if separator is None:
        return _short_record_lines_slowly(data, width)
    lines = pl.scan_csv(io.BytesIO(data), has_header=False, separator=separator, quote_char=None,
                        schema={"text": pl.String}, encoding="utf8-lossy")  # fmt: skip
    text = pl.col("text")
    quotes = text.str.count_matches('"', literal=True).fill_null(0)
    # at most this many fields (a comma inside quotes only adds one); the exact count of a
    # line with quotes is needed only when the upper bound is not already short
    most = text.str.count_matches(",", literal=True).fill_null(0) + 1
    exact = text.str.replace_all('"[^"]*"', "").str.count_matches(",", literal=True) + 1
    blank = text.fill_null("").str.strip_chars() == ""
    counted = (
        lines.with_row_index("line", offset=1)
        .with_columns(quotes.alias("_quotes"), most.alias("_most"), blank.alias("_blank"))
        .collect()
    )
    whole = ~pl.col("_blank") & (pl.col("_quotes") % 2 == 0) & (pl.col("line") > 1)
    listed = counted.filter(
        whole & ((pl.col("_most") < width) | ((pl.col("_quotes") > 0) & (exact < width)))
    )["line"].cast(pl.Int64).to_list()
    if counted.height and counted["_quotes"].sum() % 2 == 1:  # the file ends inside a quoted field
        listed.append(counted.height)
    return pl.Series("line", listed, dtype=pl.Int64)


def _short_record_lines_slowly(data: bytes, width: int) -> pl.Series:
    """:func:`short_record_lines` in Python, for a file that holds every byte 0x01-0x1F."""
    import re

    listed = []
    lines = data.decode("utf-8", "replace").split("\n")
    for number, line in enumerate(lines, start=1):
        quotes = line.count('"')
        if number > 1 and line.strip() and quotes % 2 == 0 and re.sub('"[^"]*"', "", line).count(",") + 1 < width:
            listed.append(number)
    if data.count(b'"') % 2 == 1:
        listed.append(len(lines))
    return pl.Series("line", listed, dtype=pl.Int64)


def count_byte_unless_nul(view: mmap.mmap, byte: int) -> int | None:
    """How many times ``byte`` occurs in ``view`` (a file's memory map), or None when it holds
    a NUL byte (binary content), in one pass and bounded memory (a large file: numpy, in
    chunks of 256 KiB, which stay in the processor's cache: ~0.045 s for 150 MB; a small one:
    Python's bytes)."""
    if len(view) < 1 << 22:  # (numpy's import costs more than counting a few MB in Python)
        data = view[:]
        return None if b"\x00" in data else data.count(bytes([byte]))
    import numpy as np

    total, step = 0, 1 << 18
    whole = np.frombuffer(view, dtype=np.uint8)
    for start in range(0, len(whole), step):
        chunk = whole[start : start + step]
        if chunk.min() == 0:
            total = None
            break
        total += int(np.count_nonzero(chunk == byte))
    del whole, chunk  # (a memory map cannot be closed while numpy looks at it)
    return total


def fields_add_up(
    commas: int,
    header_commas: int,
    coded: pl.DataFrame,
    columns: list[str],
    values: pl.Series,
    texts: dict[str, tuple[pl.Series, pl.Series]] | None = None,
) -> bool:
    """Whether every record of a streamed CSV file has all the header's fields, checked in
    aggregate (no pass over the lines): the file's commas must be the header's, plus
    ``width - 1`` per record, plus those inside the cells. ``coded`` is the read table (one row
    per record), ``columns`` its columns that came from the file, in file order, ``values`` the
    texts of its Categorical codes. ``texts``: for a text column, its distinct values and each
    record's index among them (the reader's subject codes), when known: their commas are then
    counted once per distinct value. ``commas``: the file's (:func:`count_byte_unless_nul`),
    ``header_commas``: its header's. False (a record short of fields, or a blank line, which
    this sum cannot tell apart) sends the file to the line-by-line reader."""
    width = len(columns)
    if coded.height and coded.select(pl.all_horizontal(pl.col(columns).is_null()).any()).item():
        return False  # a blank (or all-empty, or cut short and empty) line
    texts = texts or {}
    # the codes of the values that hold commas (a few, e.g. the SOC "Injury, poisoning and
    # procedural complications"), grouped by how many: each column's cells are then counted
    # by a look-up of their codes among those (a gather of every cell's count took ~4x as long)
    per_code = values.str.count_matches(",", literal=True)
    with_commas = (
        pl.DataFrame({"commas": per_code})
        .with_row_index("code")
        .filter(pl.col("commas") > 0)
        .group_by("commas")
        .agg(pl.col("code").cast(pl.UInt32))
        .rows()
    )
    inside = 0
    for name in columns:
        column = coded.get_column(name)
        if name in texts:
            distinct, index = texts[name]
            per_value = distinct.str.count_matches(",", literal=True).cast(pl.UInt64)
            if per_value.sum():
                inside += int(per_value.gather(index.drop_nulls()).sum() or 0)
        elif column.dtype == pl.String:
            inside += int(column.str.count_matches(",", literal=True).sum() or 0)
        else:
            physical = column.to_physical()
            for count, codes in with_commas:
                inside += count * int(physical.is_in(pl.Series(codes, dtype=pl.UInt32).implode()).sum())
    expected = header_commas + (width - 1) * coded.height + inside
    return commas == expected
