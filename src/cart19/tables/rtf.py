"""Study-report tables as one RTF file, with rtflite (pharmaverse's Python port of r2rtf).

Each :class:`~cart19.tables.table.StudyTable` is one ``rtflite.RTFDocument`` (title, column
header, body, footnotes, page header and footer, landscape page); rtflite paginates a long
table (the title and column header repeat on each page) and ``rtflite.assemble_rtf`` joins the
documents with a page break between tables, so each table starts on a new page.

rtflite writes cell text into the RTF as given (it reads ``_``/``^`` as sub/superscript and
LaTeX commands only when ``text_convert`` is on, which is off here): every piece of text from
the data is escaped by :func:`rtf_escape` first (``\\``, ``{``, ``}``, control characters, and
every character outside ASCII as an RTF ``\\uN`` escape), so a term cannot break the file.
rtflite writes no date or time into the file: the same tables give the same bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from cart19.tables.table import PageInfo, StudyTable

#: "Page x of y" in RTF fields (rtflite's default page header text).
PAGE_X_OF_Y = "Page {\\field{\\*\\fldinst PAGE }{\\fldrslt\\fs18 1}} of {\\field{\\*\\fldinst NUMPAGES }{\\fldrslt\\fs18 1}}"
#: Indent of one level of the first column, in twips (0.2 inch).
INDENT_TWIPS = 288
#: Rows per page (rtflite counts the column header and footnote rows too).
ROWS_PER_PAGE = 30
#: Margins in inches: left, right, top, bottom, header, footer.
MARGINS = (1.0, 1.0, 1.25, 1.0, 0.6, 0.6)
#: What rtflite puts between two pages of one table; the bare ``\\page`` that
#: ``assemble_rtf`` puts between two documents follows a table row outside any paragraph, and
#: LibreOffice ignores it there.
PAGE_BREAK = "{\\pard\\fs2\\par}\\page{\\pard\\fs2\\par}"


def rtf_escape(text: str) -> str:
    """Text as RTF characters: ``\\ { }`` escaped, a line break as ``\\line``, other control
    characters as a space, everything outside ASCII as ``\\uc1\\uN*`` (UTF-16 code units, as
    signed 16-bit numbers)."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\line ")
        elif code < 32 or code == 127:
            out.append(" ")
        elif code < 128:
            out.append(ch)
        else:
            units = ch.encode("utf-16-be")
            for i in range(0, len(units), 2):
                unit = int.from_bytes(units[i : i + 2], "big")
                out.append(f"\\uc1\\u{unit - 65536 if unit >= 32768 else unit}*")
    return "".join(out)


def _document(table: StudyTable, page: PageInfo):  # -> rtflite.RTFDocument
    import polars as pl
    import rtflite as rtf

    body = table.frame.select(
        pl.col(name).fill_null("").map_elements(rtf_escape, return_dtype=pl.String) for name in table.frame.columns
    )
    width = table.frame.width
    justify = ["l"] + ["c"] * (width - 1)
    indent = [[level * INDENT_TWIPS] + [0] * (width - 1) for level in table.levels] or [[0] * width]
    return rtf.RTFDocument(
        df=body,
        rtf_page=rtf.RTFPage(orientation="landscape", nrow=ROWS_PER_PAGE, margin=list(MARGINS)),
        rtf_page_header=rtf.RTFPageHeader(
            text=[rtf_escape(f"{page.study}  |  {page.cutoff_text}"), PAGE_X_OF_Y], text_font_size=[9, 9]
        ),
        rtf_page_footer=rtf.RTFPageFooter(text=[rtf_escape(page.footer)], text_font_size=[8]) if page.footer else None,
        rtf_title=rtf.RTFTitle(text=[rtf_escape(table.label)], text_convert=[False], text_format=["b"],
                               text_font_size=[11]),  # fmt: skip
        rtf_column_header=[
            rtf.RTFColumnHeader(
                text=[rtf_escape(h) for h in table.headers],
                text_convert=[False],
                text_justification=justify,
                text_format=["b"] * width,
            )
        ],
        rtf_body=rtf.RTFBody(
            col_rel_width=table.widths,
            text_justification=[justify],
            text_indent_left=indent,
            text_convert=[[False]],
        ),
        rtf_footnote=rtf.RTFFootnote(text=[rtf_escape(line) for line in table.footnote_lines], text_convert=[[False]],
                                     text_font_size=[[8]]),  # fmt: skip
    )


def render_rtf(tables: Sequence[StudyTable], page: PageInfo) -> bytes:
    """The tables as the bytes of one RTF file (ASCII), one table per page."""
    if not tables:
        raise ValueError("no table to render")
    import rtflite as rtf

    with tempfile.TemporaryDirectory(prefix="cart19-rtf-") as folder:
        parts = []
        for i, table in enumerate(tables):
            part = Path(folder) / f"{i:04d}.rtf"
            part.write_text(_document(table, page).rtf_encode(), encoding="ascii")
            parts.append(str(part))
        joined = Path(folder) / "tables.rtf"
        rtf.assemble_rtf(parts, str(joined))
        text = joined.read_text(encoding="ascii")
    return text.replace("\n\\page\n", f"\n{PAGE_BREAK}\n").encode("ascii")
