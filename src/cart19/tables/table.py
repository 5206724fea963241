"""A study-report table as data, and the number formats of a clinical study report.

A :class:`StudyTable` holds display text only (every cell is already formatted), so each
renderer just lays it out and two formats of the same table cannot disagree on a number.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

#: What a cell shows for a statistic that cannot be estimated (a median never reached, a
#: confidence limit undefined, a landmark after the last observation).
NE = "NE"


@dataclass(frozen=True)
class StudyTable:
    """One table of the study report.

    ``frame``: the rows as display text, every column ``String`` (a null shows as an empty
    cell); the column names are the column headers (``\\n`` breaks a header over lines).
    ``population``: who is counted (printed as the first footnote, "Population: ...").
    ``footnotes``: the rules behind the numbers, one line each, then abbreviations.
    ``number``: "1", "2", ... (or "14.3.1"): set by :func:`numbered`, printed "Table N. title".
    ``col_widths``: relative column widths (default: the first column three times the others).
    ``indent``: per row, the indent level of the first cell (0 = none; 1 = a term under its
    class, etc.); default all 0.
    """

    title: str
    frame: pl.DataFrame
    population: str
    footnotes: tuple[str, ...] = ()
    number: str = ""
    col_widths: tuple[float, ...] | None = None
    indent: tuple[int, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.frame.width == 0:
            raise ValueError(f"table {self.title!r} has no columns")
        not_text = [name for name, dtype in self.frame.schema.items() if dtype != pl.String]
        if not_text:
            raise ValueError(f"table {self.title!r}: columns {not_text} are not display text (String)")
        if self.col_widths is not None and len(self.col_widths) != self.frame.width:
            raise ValueError(f"table {self.title!r}: {len(self.col_widths)} widths for {self.frame.width} columns")
        if self.indent is not None and len(self.indent) != self.frame.height:
            raise ValueError(f"table {self.title!r}: {len(self.indent)} indent levels for {self.frame.height} rows")

    @property
    def label(self) -> str:
        """``Table N. Title``."""
        return f"Table {self.number}. {self.title}" if self.number else self.title

    @property
    def headers(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def widths(self) -> list[float]:
        if self.col_widths is not None:
            return [float(w) for w in self.col_widths]
        return [3.0] + [1.0] * (self.frame.width - 1)

    @property
    def levels(self) -> list[int]:
        return list(self.indent) if self.indent is not None else [0] * self.frame.height

    @property
    def footnote_lines(self) -> list[str]:
        """The lines printed under the table: the population first, then the footnotes."""
        return [f"Population: {self.population}", *self.footnotes]

    def cells(self) -> list[list[str]]:
        """The body as rows of text (nulls as empty text)."""
        return [["" if v is None else v for v in row] for row in self.frame.iter_rows()]


def numbered(tables: Sequence[StudyTable], start: int = 1) -> list[StudyTable]:
    """The tables numbered in order, 1, 2, ... (their order in the report)."""
    from dataclasses import replace

    return [replace(table, number=str(start + i)) for i, table in enumerate(tables)]


@dataclass(frozen=True)
class PageInfo:
    """What every page says in its header and footer."""

    #: the study, on the left of the header
    study: str
    #: the data cutoff (the date the records were cut at, or the latest record's date)
    cutoff: dt.date | None
    #: whether ``cutoff`` was given (--cutoff) or is the latest date in the file
    cutoff_given: bool = True
    #: the footer line (program, version, input)
    footer: str = ""

    @property
    def cutoff_text(self) -> str:
        if self.cutoff is None:
            return "Data cutoff: none (no records)"
        if self.cutoff_given:
            return f"Data cutoff: {self.cutoff.isoformat()}"
        return f"Data as of {self.cutoff.isoformat()} (latest record; no cutoff given)"


# --------------------------------------------------------------------------- number formats


def percent_tenths(n: int, total: int) -> int:
    """``1000 n / total`` rounded half away from zero, in integers (the engines' rounding of a
    percentage to one decimal: 1/16 -> 63 tenths, 2/3 -> 667)."""
    return (2000 * n + total) // (2 * total)


def n_percent(n: int, total: int) -> str:
    """``n (%)`` with the percentage of ``total`` to one decimal: ``13 (92.9)``; ``0`` alone
    when the count is 0 or there is nobody to count."""
    if n == 0 or total == 0:
        return str(n)
    tenths = percent_tenths(n, total)
    return f"{n} ({tenths // 10}.{tenths % 10})"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(proportion: float | None) -> str:
    """A proportion as a percentage to one decimal (``0.2308`` -> ``23.1``); NE when missing."""
    return NE if _missing(proportion) else f"{100 * proportion:.1f}"


def interval(low: str, high: str) -> str:
    """A confidence interval as ``(low, high)``."""
    return f"({low}, {high})"


def days(value: float | None) -> str:
    """Days as the KM summary gives them: whole days without decimals (``209``), a midpoint
    with one (``150.5``); NE when missing."""
    if _missing(value):
        return NE
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def months(value_days: float | None, days_per_month: float) -> str:
    """Days as months to one decimal (``days / days_per_month``); NE when missing."""
    return NE if _missing(value_days) else f"{value_days / days_per_month:.1f}"


def text_frame(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> pl.DataFrame:
    """Rows of display text as a frame whose columns are ``headers`` (all String)."""
    return pl.DataFrame(
        [list(row) for row in rows], schema={h: pl.String for h in headers}, orient="row"
    )
