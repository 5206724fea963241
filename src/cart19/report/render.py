"""Lay the report out: :class:`~cart19.report.build.Report` in, HTML text out.

The templates (``templates/*.html.j2``, package data) are rendered by Jinja2 with autoescaping
on, so every piece of text from the data (subject IDs, terms, SOCs, warnings, the file name)
is escaped by the template engine; no HTML is assembled in Python strings. ``StrictUndefined``
makes a misspelt field an error rather than an empty cell.
"""

from __future__ import annotations

from functools import cache

import jinja2

from cart19 import __version__
from cart19.report.build import SECTIONS, Report


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cart19.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(report: Report) -> str:
    """The report as one self-contained HTML document (CSS inline, figures as ``data:`` URIs,
    no script, no link outside the file)."""
    template = environment().get_template("report.html.j2")
    return template.render(report=report, sections=SECTIONS, version=__version__)
