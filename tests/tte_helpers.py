"""Shared by the hand-worked time-to-event tests: build a timeline, derive it, compare a row."""

from __future__ import annotations

import datetime as dt

from cart19.config import Config
from cart19.engine.tte import derive_adtte
from cart19.schema import events_frame

D = dt.date.fromisoformat
INFUSION = ("infusion", "2024-01-01")


def timeline(*records: tuple, subject: str = "S1") -> list[dict]:
    """``(event, date[, result][, {extra columns}])`` -> rows; line = position + 2."""
    rows = []
    for record in records:
        event, date, *rest = record
        row = {"subject_id": subject, "event": event, "date": date}
        for item in rest:
            row.update(item if isinstance(item, dict) else {"result": item})
        rows.append(row)
    return rows


def derive(rows: list[dict], config: Config | None = None) -> dict[str, dict]:
    """The ADTTE rows of one subject, by PARAMCD."""
    out = derive_adtte(events_frame(rows), config or Config())
    return {r["PARAMCD"]: r for r in out.iter_rows(named=True)}


def check(row: dict, **expected) -> None:
    """The row's values equal the expected literals (dates given as ISO strings)."""
    got = {k: row[k] for k in expected}
    want = {k: D(v) if k in ("STARTDT", "ADT") else v for k, v in expected.items()}
    assert got == want
