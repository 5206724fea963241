"""The safety review report: one self-contained HTML file for the people in the room.

* :mod:`cart19.report.build` runs the engines and turns their frames into display text (the
  report's *content*: :class:`~cart19.report.build.Report`), bounding every listing;
* :mod:`cart19.report.render` lays that out with the Jinja2 templates of ``templates/``
  (autoescaping on: every piece of text from the data is escaped by the template engine).

:func:`build_report` does both and returns the HTML text. Nothing is read or written here.
"""

from __future__ import annotations

from cart19.report.build import (
    SECTIONS,
    Report,
    ReportSource,
    as_of_notes,
    build_report,
    data_quality_warnings,
    gather,
    generation_time,
)
from cart19.report.render import render

__all__ = [
    "SECTIONS",
    "Report",
    "ReportSource",
    "as_of_notes",
    "build_report",
    "data_quality_warnings",
    "gather",
    "generation_time",
    "render",
]
