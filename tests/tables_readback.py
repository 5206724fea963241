"""Reading the study-report tables back from the files cart19 writes, without LibreOffice:
the DOCX with python-docx, the RTF with a small parser of the few RTF constructs rtflite
writes for titles and cells."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ReadTable:
    title: str
    #: every row, the column header first, as cell texts
    rows: list[list[str]]
    footnotes: list[str]

    def cell(self, label: str, column: int = 1) -> str:
        """The cell of ``column`` in the first body row whose first cell is ``label``."""
        for row in self.rows[1:]:
            if row[0] == label:
                return row[column]
        raise KeyError(f"{label!r} not in {self.title!r}: {[r[0] for r in self.rows]}")

    def column(self, header_start: str) -> int:
        for i, header in enumerate(self.rows[0]):
            if header.startswith(header_start):
                return i
        raise KeyError(header_start)


def read_docx(data: bytes | Path) -> list[ReadTable]:
    """The tables of a DOCX: each table with the paragraph before it (its title) and the
    paragraphs after it up to the next title (its footnotes)."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data) if isinstance(data, bytes) else str(data))
    out: list[ReadTable] = []
    title = ""
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            if block.text.startswith("Table "):
                title = block.text
            elif out and block.text:
                out[-1].footnotes.append(block.text)
        elif isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            out.append(ReadTable(title, rows, []))
    return out


_UNICODE = re.compile(r"\\uc1\\u(-?\d+)\*")


def rtf_text(raw: str) -> str:
    r"""Plain text of an RTF cell or paragraph as rtflite writes it (\uN*, \line, \{ \} \\)."""

    def code(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return chr(n + 65536 if n < 0 else n)

    text = raw.replace("\\line ", "\n")
    text = re.sub(r"\\([\\{}])", lambda m: "\x00" + m.group(1), text)  # protect escaped characters
    text = _UNICODE.sub(code, text)
    text = text.encode("utf-16", "surrogatepass").decode("utf-16")  # join surrogate pairs
    return text.replace("\x00", "")


_TITLE = re.compile(r"\{\\pard[^{]*\{\\f\d+\\b (Table .*?)\}\\par\}")
_CELL = re.compile(r"\\pard\\hyphpar[^{]*\{\\f\d+(?:\\b)? ((?:[^{}\\]|\\[\\{}]|\\uc1\\u-?\d+\*|\\line )*)\}\\cell")


def read_rtf(data: bytes | Path) -> list[ReadTable]:
    """The tables of the RTF: split at the titles; rows are the ``\\trowd ... \\row`` groups;
    the last row of each page (the footnotes) is kept apart. A table over several pages
    repeats its title and column header: those repeats are dropped."""
    text = (data if isinstance(data, bytes) else Path(data).read_bytes()).decode("ascii")
    pieces = _TITLE.split(text)
    tables: dict[str, ReadTable] = {}
    for title, body in zip(pieces[1::2], pieces[2::2], strict=True):
        title = rtf_text(title)
        rows = [[rtf_text(c) for c in _CELL.findall(row)] for row in body.split("\\trowd")[1:]]
        header, *rest = rows
        footnotes = rest.pop()[0].split("\n") if rest and len(rest[-1]) == 1 else []
        if title in tables:
            tables[title].rows.extend(rest)
            tables[title].footnotes = footnotes or tables[title].footnotes
        else:
            tables[title] = ReadTable(title, [header, *rest], footnotes)
    return list(tables.values())
