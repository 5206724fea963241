"""One event record as a pydantic model: the Python API's description of a valid event.

:meth:`Event.from_row` takes a row as it stands in the file (text cells) and applies the same
record-level rules as the vectorised checks of :mod:`cart19.io.validate`; a property test
feeds both the same random rows and requires them to agree. File-level rules (one infusion,
nothing after death) need the whole file and live in the validator only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cart19.config import EventKind
from cart19.model import (
    AE_ONLY_COLUMNS,
    COLUMNS,
    EARLIEST_YEAR,
    EVENT_KINDS,
    FULL_DATE_PATTERN,
    GRADE_PATTERN,
    MONTH_DATE_PATTERN,
    MRD_KIND,
    MRD_VALUES,
    PARTIAL_DATE_KINDS,
    RESULTS_BY_KIND,
    YEAR_DATE_KINDS,
    YEAR_DATE_PATTERN,
    YES_NO,
    canonical_mrd,
    canonical_result,
    clean_cell,
    describe_invisible,
    invisible_characters,
)


class RowProblem(ValueError):
    """A row that is not a valid event; ``problems`` holds (column, value, message) for each."""

    def __init__(self, problems: list[tuple[str, str | None, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{c}: {m}" for c, _, m in problems))


_clean = clean_cell


def _date_bounds(text: str) -> tuple[str, dt.date | None]:
    """(form, earliest possible day) of a date cell: form is full, month, year or bad."""
    if re.fullmatch(FULL_DATE_PATTERN, text):
        try:
            return "full", dt.date.fromisoformat(text)
        except ValueError:
            return "full", None
    if re.fullmatch(MONTH_DATE_PATTERN, text):
        try:
            return "month", dt.date.fromisoformat(text + "-01")
        except ValueError:
            return "month", None
    if re.fullmatch(YEAR_DATE_PATTERN, text):
        try:
            return "year", dt.date(int(text), 1, 1)
        except ValueError:  # year 0
            return "year", None
    return "bad", None


class Event(BaseModel):
    """A valid event record (events-format.md). Dates are the earliest possible day of the
    written date; ``date_precision`` says whether the day was given (``day``), only the month
    (``month``) or only the year (``year``, an AE onset), to be imputed by the reader's rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str = Field(min_length=1)
    event: EventKind
    date: dt.date
    date_precision: Literal["day", "month", "year"] = "day"
    end_date: dt.date | None = None
    grade: int | None = Field(default=None, ge=1, le=5)
    term: str | None = None
    soc: str | None = None
    serious: bool | None = None
    related: bool | None = None
    result: str | None = None
    #: ``assessment`` only: measurable residual disease; None = not done
    mrd: Literal["negative", "positive"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        problems = _record_problems_of_model(self)
        if problems:
            raise ValueError("; ".join(f"{c}: {m}" for c, _, m in problems))
        return self

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Event:
        """Validate a row of text cells (as in the CSV) into an :class:`Event`.

        Raises :class:`RowProblem` listing every problem of the row."""
        problems = record_problems(row)
        if problems:
            raise RowProblem(problems)
        cells = {k: _clean(row.get(k)) for k in ("event", "date", "end_date", "grade", "term", "soc",
                                                  "serious", "related", "result", "mrd")}  # fmt: skip
        kind = cells["event"].lower()  # type: ignore[union-attr]
        form, low = _date_bounds(cells["date"])  # type: ignore[arg-type]
        is_ae = kind == "ae"
        yes_no = {"Y": True, "N": False}
        return cls(
            subject_id=str(row.get("subject_id")),
            event=kind,  # type: ignore[arg-type]
            date=low,  # type: ignore[arg-type]
            date_precision=form if form in ("month", "year") else "day",  # type: ignore[arg-type]
            end_date=dt.date.fromisoformat(cells["end_date"]) if is_ae and cells["end_date"] else None,
            grade=int(cells["grade"]) if is_ae and cells["grade"] else None,  # type: ignore[arg-type]
            term=cells["term"] if is_ae else None,
            soc=cells["soc"] if is_ae else None,
            serious=yes_no[cells["serious"].upper()] if is_ae and cells["serious"] else None,  # type: ignore[union-attr]
            related=yes_no[cells["related"].upper()] if is_ae and cells["related"] else None,  # type: ignore[union-attr]
            result=canonical_result(kind, cells["result"]) if cells["result"] and kind in RESULTS_BY_KIND else None,
            mrd=canonical_mrd(cells["mrd"]) if cells["mrd"] and kind == MRD_KIND else None,  # type: ignore[arg-type]
        )


def record_problems(row: Mapping[str, object]) -> list[tuple[str, str | None, str]]:
    """Every record-level problem of a row of text cells: (column, value, message)."""
    cell = {k: _clean(row.get(k)) for k in ("event", "date", "end_date", "grade", "term", "serious", "related", "result",
                                            "mrd")}  # fmt: skip
    problems: list[tuple[str, str | None, str]] = []
    if _clean(row.get("subject_id")) is None:
        problems.append(("subject_id", None, "subject_id is missing"))
    kind = cell["event"].lower() if cell["event"] else None
    if kind is None:
        problems.append(("event", None, "event is missing"))
    elif kind not in EVENT_KINDS:
        problems.append(("event", cell["event"], "unknown event"))
    low = None
    if cell["date"] is None:
        problems.append(("date", None, "date is missing"))
    else:
        form, low = _date_bounds(cell["date"])
        if form == "bad":
            problems.append(("date", cell["date"], "not an accepted date form"))
        elif low is None:
            problems.append(("date", cell["date"], "not a real date"))
        elif form == "month" and kind in EVENT_KINDS and kind not in PARTIAL_DATE_KINDS:
            problems.append(("date", cell["date"], "a partial date is not allowed for this event"))
        elif form == "year" and kind in EVENT_KINDS and kind not in YEAR_DATE_KINDS:
            problems.append(("date", cell["date"], "a year alone is allowed for ae rows only"))
        if low is not None and low.year < EARLIEST_YEAR:
            problems.append(("date", cell["date"], f"a date before {EARLIEST_YEAR}"))
    if kind == "ae":
        if cell["end_date"] is not None:
            end_form, end = _date_bounds(cell["end_date"])
            if end_form != "full" or end is None:
                problems.append(("end_date", cell["end_date"], "not a full date"))
            else:
                if end.year < EARLIEST_YEAR:
                    problems.append(("end_date", cell["end_date"], f"a date before {EARLIEST_YEAR}"))
                if low is not None and end < low:
                    problems.append(("end_date", cell["end_date"], "end_date is before date"))
        if cell["grade"] is None:
            problems.append(("grade", None, "grade is missing"))
        elif not re.fullmatch(GRADE_PATTERN, cell["grade"]):
            problems.append(("grade", cell["grade"], "grade must be 1-5"))
        if cell["term"] is None:
            problems.append(("term", None, "term is missing"))
        for flag in ("serious", "related"):
            if cell[flag] is not None and cell[flag].upper() not in YES_NO:  # type: ignore[union-attr]
                problems.append((flag, cell[flag], f"{flag} must be Y or N"))
    for column in COLUMNS:  # "Text cells": trimmed, but subject_id as written
        text = row.get(column)
        text = (None if text is None else str(text)) if column == "subject_id" else _clean(text)
        if text is not None and invisible_characters(text):
            problems.append((column, text, describe_invisible(text)))
    if kind in RESULTS_BY_KIND:
        if cell["result"] is None:
            problems.append(("result", None, "result is missing"))
        elif canonical_result(kind, cell["result"]) is None:
            problems.append(("result", cell["result"], "not a result for this event"))
    if cell["mrd"] is not None and kind in EVENT_KINDS:
        if kind != MRD_KIND:
            problems.append(("mrd", cell["mrd"], f"mrd is for {MRD_KIND} rows only"))
        elif canonical_mrd(cell["mrd"]) is None:
            problems.append(("mrd", cell["mrd"], f"mrd must be one of {list(MRD_VALUES)}"))
    return problems


def _record_problems_of_model(event: Event) -> list[tuple[str, str | None, str]]:
    """The rules that bind fields of an already-typed event together."""
    problems: list[tuple[str, str | None, str]] = []
    if _clean(event.subject_id) is None:
        problems.append(("subject_id", event.subject_id, "subject_id is missing"))
    if event.event != "ae":
        for name in AE_ONLY_COLUMNS:
            if getattr(event, name) is not None:
                problems.append((name, str(getattr(event, name)), f"{name} is for ae rows only"))
    else:
        if event.grade is None:
            problems.append(("grade", None, "grade is missing"))
        if not event.term:
            problems.append(("term", None, "term is missing"))
        if event.end_date is not None and event.end_date < event.date:
            problems.append(("end_date", str(event.end_date), "end_date is before date"))
    if event.date_precision == "month" and event.event not in PARTIAL_DATE_KINDS:
        problems.append(("date", str(event.date), "a partial date is not allowed for this event"))
    if event.date_precision == "year" and event.event not in YEAR_DATE_KINDS:
        problems.append(("date", str(event.date), "a year alone is allowed for ae rows only"))
    if event.date.year < EARLIEST_YEAR:
        problems.append(("date", str(event.date), f"a date before {EARLIEST_YEAR}"))
    allowed = RESULTS_BY_KIND.get(event.event)
    if allowed is not None and event.result not in allowed:
        problems.append(("result", event.result, f"result must be one of {list(allowed)}"))
    if allowed is None and event.result is not None:
        problems.append(("result", event.result, "this event takes no result"))
    if event.mrd is not None and event.event != MRD_KIND:
        problems.append(("mrd", event.mrd, f"mrd is for {MRD_KIND} rows only"))
    return problems
