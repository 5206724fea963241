"""Properties of the TEAE tables and the DLT review that hold for any input (hypothesis)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart19.config import Config
from cart19.engine.dlt import dlt_review
from cart19.engine.teae import teae_tables
from cart19.schema import events_frame

CONFIG = Config()
BASE = dt.date(2024, 1, 1)
TERMS = ["Nausea", "Cytokine release syndrome", "ICANS", "Neutropenia", "Hypotension", "Pyrexia", "Sepsis"]
SOCS = [None, "Gastrointestinal disorders", "Immune system disorders", "Investigations"]
tri = st.sampled_from([None, True, False])


@st.composite
def trials(draw):
    n_subjects = draw(st.integers(0, 6))
    rows: list[dict] = []
    for s in range(n_subjects):
        sid = f"S{s}"
        infused = draw(st.booleans()) or s == 0
        start = BASE + dt.timedelta(days=draw(st.integers(0, 30)))
        if infused:
            rows.append({"subject_id": sid, "event": "infusion", "date": start})
        for _ in range(draw(st.integers(0, 5))):
            onset = start + dt.timedelta(days=draw(st.integers(-5, 740)))
            length = draw(st.one_of(st.none(), st.integers(0, 40)))
            rows.append(
                {
                    "subject_id": sid,
                    "event": "ae",
                    "date": onset,
                    "end_date": None if length is None else onset + dt.timedelta(days=length),
                    "grade": draw(st.integers(1, 5)),
                    "term": draw(st.sampled_from(TERMS)),
                    "soc": draw(st.sampled_from(SOCS)),
                    "serious": draw(tri),
                    "related": draw(tri),
                }
            )
        if draw(st.booleans()):
            rows.append({"subject_id": sid, "event": "contact", "date": start + dt.timedelta(days=draw(st.integers(0, 60)))})
    return rows


def wide(tables: pl.DataFrame) -> pl.DataFrame:
    return tables.pivot(on="grade", index=["table", "soc", "term"], values="n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trials())
def test_counts_are_consistent_in_every_cell(rows):
    tables = teae_tables(events_frame(rows), CONFIG)
    assert (tables["n"] <= tables["N"]).all()
    assert tables.group_by("table", "soc", "term").len()["len"].eq(7).all()
    cells = wide(tables)
    assert (cells["1"] + cells["2"] + cells["3"] + cells["4"] + cells["5"] == cells["any"]).all()
    assert (cells["3"] + cells["4"] + cells["5"] == cells[">=3"]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trials(), st.integers(1, 400), st.integers(1, 5), st.sampled_from(TERMS), st.sampled_from(SOCS + ["New SOC"]))
def test_a_pre_infusion_ae_changes_no_table(rows, days_before, grade, term, soc):
    infusion = next(r for r in rows if r["event"] == "infusion") if any(r["event"] == "infusion" for r in rows) else None
    if infusion is None:
        return
    extra = {
        "subject_id": infusion["subject_id"],
        "event": "ae",
        "date": infusion["date"] - dt.timedelta(days=days_before),
        "grade": grade,
        "term": term,
        "soc": soc,
        "serious": True,
        "related": True,
    }
    before = teae_tables(events_frame(rows), CONFIG)
    after = teae_tables(events_frame([*rows, extra]), CONFIG)
    assert before.equals(after)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trials(), st.randoms(use_true_random=False))
def test_the_order_of_input_rows_changes_nothing(rows, random):
    shuffled = [dict(r, line=i + 2) for i, r in enumerate(rows)]
    random.shuffle(shuffled)
    ordered = [dict(r, line=i + 2) for i, r in enumerate(rows)]
    assert teae_tables(events_frame(ordered), CONFIG).equals(teae_tables(events_frame(shuffled), CONFIG))
    first, second = dlt_review(events_frame(ordered), CONFIG), dlt_review(events_frame(shuffled), CONFIG)
    assert first.to_json_dict() == second.to_json_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trials())
def test_dlt_review_counts_add_up(rows):
    review = dlt_review(events_frame(rows), CONFIG)
    counts = review.status_counts()
    assert sum(counts.values()) == review.subjects.height
    assert review.evaluable == counts["dlt"] + counts["no_dlt"]
    assert review.dlt == counts["dlt"] <= review.evaluable
    if review.evaluable:
        assert review.ci_low <= review.rate <= review.ci_high
    else:
        assert review.rate is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trials(), st.integers(0, 60), st.lists(st.tuples(st.integers(1, 100), st.integers(1, 5)), max_size=5))
def test_records_after_the_review_date_change_nothing_but_the_set_aside_count(rows, review_day, later):
    as_of = BASE + dt.timedelta(days=review_day)
    subjects = sorted({r["subject_id"] for r in rows}) or ["S0"]
    extra = [
        {"subject_id": subjects[i % len(subjects)], "event": "ae", "date": as_of + dt.timedelta(days=d),
         "grade": g, "term": "Hypotension"}
        for i, (d, g) in enumerate(later)
    ]  # fmt: skip
    before = dlt_review(events_frame(rows), CONFIG, as_of).to_json_dict()
    after = dlt_review(events_frame([*rows, *extra]), CONFIG, as_of).to_json_dict()
    assert after.pop("set_aside") == before.pop("set_aside") + len(extra)
    assert after == before
