"""The pydantic ``Event``: the Python API's single description of a valid record."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from cart19.events import Event, RowProblem, record_problems

D = dt.date


def test_from_row_gives_canonical_typed_values():
    event = Event.from_row({"subject_id": "S1", "event": " AE ", "date": "2024-02", "end_date": "2024-02-20",
                            "grade": " 3", "term": "Cytokine release syndrome", "serious": "y", "related": "N"})  # fmt: skip
    assert event == Event(subject_id="S1", event="ae", date=D(2024, 2, 1), date_precision="month",
                          end_date=D(2024, 2, 20), grade=3, term="Cytokine release syndrome", serious=True,
                          related=False)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "written", "canonical"),
    [("assessment", "cr", "CR"), ("assessment", "CRH", "CRh"), ("assessment", "mlfs", "MLFS"),
     ("relapse", "Extramedullary", "extramedullary"), ("death", "DISEASE", "disease")],
)  # fmt: skip
def test_results_are_case_insensitive_and_canonicalised(kind, written, canonical):
    assert Event.from_row({"subject_id": "S1", "event": kind, "date": "2024-03-01", "result": written}).result == canonical


def test_from_row_drops_values_the_kind_does_not_take():
    event = Event.from_row({"subject_id": "S1", "event": "contact", "date": "2024-03-01", "grade": "9", "result": "CR"})
    assert (event.grade, event.result) == (None, None)


@pytest.mark.parametrize(
    ("row", "columns"),
    [
        ({"event": "infusion", "date": "2024-01-01"}, ["subject_id"]),
        ({"subject_id": " ", "event": "infusion", "date": "2024-01-01"}, ["subject_id"]),
        ({"subject_id": "S1", "event": "infuse", "date": "2024-01-01"}, ["event"]),
        ({"subject_id": "S1", "event": "infusion", "date": "2024-02-30"}, ["date"]),
        ({"subject_id": "S1", "event": "infusion", "date": "2024-01"}, ["date"]),
        ({"subject_id": "S1", "event": "contact", "date": "2024"}, ["date"]),
        ({"subject_id": "S1", "event": "ae", "date": "1899", "grade": "1", "term": "x"}, ["date"]),
        ({"subject_id": "S1", "event": "infusion", "date": "1899-12-31"}, ["date"]),
        ({"subject_id": "S1", "event": "ae", "date": "2024-01-05", "end_date": "2024-01-04", "grade": "1", "term": "x"},
         ["end_date"]),
        ({"subject_id": "S1", "event": "ae", "date": "2024-01-05"}, ["grade", "term"]),
        ({"subject_id": "S1", "event": "ae", "date": "2024-01-05", "grade": "6", "term": "x", "serious": "yes"},
         ["grade", "serious"]),
        ({"subject_id": "S1", "event": "assessment", "date": "2024-01-05"}, ["result"]),
        ({"subject_id": "S1", "event": "death", "date": "2024-01", "result": "old age"}, ["result"]),
        ({}, ["subject_id", "event", "date"]),
    ],
)
def test_record_problems_name_every_bad_column(row, columns):
    problems = record_problems(row)
    assert [c for c, _, _ in problems] == columns
    with pytest.raises(RowProblem) as caught:
        Event.from_row(row)
    assert caught.value.problems == problems
    assert isinstance(caught.value, ValueError)


def test_partial_dates_are_allowed_for_ae_and_death_only():
    for kind, extra in (("ae", {"grade": "2", "term": "x"}), ("death", {"result": "other"})):
        event = Event.from_row({"subject_id": "S1", "event": kind, "date": "2024-05", **extra})
        assert (event.date, event.date_precision) == (D(2024, 5, 1), "month")


@pytest.mark.parametrize(
    "fields",
    [
        {"event": "infusion", "grade": 3},  # ae-only field on another kind
        {"event": "assessment"},  # result missing
        {"event": "assessment", "result": "cr"},  # typed events hold the canonical spelling
        {"event": "contact", "result": "CR"},
        {"event": "ae", "grade": 3},  # term missing
        {"event": "ae", "grade": 6, "term": "x"},
        {"event": "ae", "grade": 2, "term": "x", "end_date": D(2023, 12, 31)},
        {"event": "infusion", "date_precision": "month"},
        {"event": "infusion", "date": D(1899, 1, 1)},
        {"event": "infusion", "subject_id": " "},
        {"event": "Infusion"},
        {"event": "infusion", "colour": "red"},
    ],
)
def test_direct_construction_enforces_the_same_rules(fields):
    values = {"subject_id": "S1", "date": D(2024, 1, 1)} | fields
    with pytest.raises(ValidationError):
        Event(**values)


def test_events_are_frozen_and_round_trip():
    event = Event(subject_id="S1", event="death", date=D(2024, 1, 1), result="toxicity")
    with pytest.raises(ValidationError):
        event.result = "other"  # type: ignore[misc]
    assert Event.model_validate(event.model_dump()) == event
    assert Event.model_validate_json(event.model_dump_json()) == event
