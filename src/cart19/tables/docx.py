"""Study-report tables as one Word (DOCX) file, with python-docx.

One landscape section; each :class:`~cart19.tables.table.StudyTable` starts on a new page with
its title ("Table N. ..."), then the table (the column header row repeats on every page a long
table runs over), then its footnotes in a smaller font. The page header names the study and
the data cutoff with "Page x of y" (Word's PAGE and NUMPAGES fields, which python-docx has no
call for: they are written as ``w:fldSimple`` elements); the footer names the program.

python-docx stamps nothing of the moment into the document itself, but the ZIP archive it
writes carries the time of writing on every member: :func:`_stable_zip` rewrites the archive
with one fixed time (the data cutoff), and the core properties (created, modified) are set to
the same, so the same tables give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from cart19.tables.table import PageInfo, StudyTable

#: Page (inches): landscape US Letter, as the RTF.
PAGE_WIDTH, PAGE_HEIGHT = 11.0, 8.5
MARGIN = 0.9
FONT = "Times New Roman"
BODY_PT, TITLE_PT, NOTE_PT = 9, 11, 8
#: Indent of one level of the first column, in inches.
INDENT_INCHES = 0.2
#: Before 1980 a ZIP member cannot be dated.
_ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


def _field(paragraph: Any, instruction: str, placeholder: str) -> None:
    """A simple field (``PAGE``, ``NUMPAGES``) at the end of a paragraph."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _repeat_as_header(row: Any) -> None:
    """Mark a table row as the header row repeated at the top of each page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    properties.append(flag)


def _cell_text(
    cell: Any, text: str, *, bold: bool = False, align: Any = None, indent: float = 0.0, keep: bool = False
) -> None:
    from docx.shared import Inches, Pt

    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_before = Pt(0.5)
    paragraph.paragraph_format.space_after = Pt(0.5)
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.left_indent = Inches(indent)
    if keep:  # the last row stays on the page of the footnotes
        paragraph.paragraph_format.keep_with_next = True
    run = paragraph.add_run(text)  # (a "\n" becomes a line break)
    run.bold = bold


def _add_table(document: Any, table: StudyTable, first: bool) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.page_break_before = not first
    title.paragraph_format.keep_with_next = True
    title.paragraph_format.space_after = Pt(8)
    run = title.add_run(table.label)
    run.bold = True
    run.font.size = Pt(TITLE_PT)

    usable = PAGE_WIDTH - 2 * MARGIN
    widths = [usable * w / sum(table.widths) for w in table.widths]
    rows = table.cells()
    grid = document.add_table(rows=1 + len(rows), cols=table.frame.width)
    grid.style = document.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    aligns = [WD_ALIGN_PARAGRAPH.LEFT] + [WD_ALIGN_PARAGRAPH.CENTER] * (table.frame.width - 1)
    for j, (cell, header) in enumerate(zip(grid.rows[0].cells, table.headers, strict=True)):
        _cell_text(cell, header, bold=True, align=aligns[j])
    _repeat_as_header(grid.rows[0])
    for i, (row, values, level) in enumerate(zip(grid.rows[1:], rows, table.levels, strict=True)):
        for j, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            _cell_text(cell, value, align=aligns[j], indent=level * INDENT_INCHES if j == 0 else 0.0,
                       keep=i == len(rows) - 1)  # fmt: skip
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = Inches(width)
        for cell in column.cells:
            cell.width = Inches(width)

    lines = table.footnote_lines
    for i, line in enumerate(lines):
        note = document.add_paragraph()
        note.paragraph_format.space_before = Pt(4 if i == 0 else 0)
        note.paragraph_format.space_after = Pt(0)
        note.paragraph_format.keep_with_next = i < len(lines) - 1
        note.add_run(line).font.size = Pt(NOTE_PT)


def _page_furniture(section: Any, page: PageInfo) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header.add_run(f"{page.study}  |  {page.cutoff_text}").font.size = Pt(BODY_PT)
    numbers = section.header.add_paragraph()
    numbers.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    numbers.add_run("Page ").font.size = Pt(BODY_PT)
    _field(numbers, "PAGE", "1")
    numbers.add_run(" of ").font.size = Pt(BODY_PT)
    _field(numbers, "NUMPAGES", "1")
    if page.footer:
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run(page.footer).font.size = Pt(NOTE_PT)


def _stable_zip(data: bytes, when: dt.datetime) -> bytes:
    """The archive with every member dated ``when`` (not the time it was written)."""
    stamp = max(when, _ZIP_EPOCH).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = member.external_attr
            target.writestr(info, source.read(member.filename))
    return out.getvalue()


def render_docx(tables: Sequence[StudyTable], page: PageInfo) -> bytes:
    """The tables as the bytes of one DOCX file, one table per page."""
    if not tables:
        raise ValueError("no table to render")
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Inches, Pt

    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Inches(PAGE_WIDTH), Inches(PAGE_HEIGHT)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Inches(MARGIN))
    section.header_distance = section.footer_distance = Inches(0.5)
    _page_furniture(section, page)
    for i, table in enumerate(tables):
        _add_table(document, table, first=i == 0)

    when = dt.datetime.combine(page.cutoff or _ZIP_EPOCH.date(), dt.time(), tzinfo=dt.UTC)
    properties = document.core_properties
    properties.title = "Study report tables"
    properties.subject = page.study
    properties.author = properties.last_modified_by = "cart19"
    properties.comments = page.footer
    properties.created = properties.modified = when.replace(tzinfo=None)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stable_zip(buffer.getvalue(), when)
