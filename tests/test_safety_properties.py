"""Properties of the safety profile that hold for any trial (hypothesis)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart19.config import Config
from cart19.engine.safety import safety_profile
from cart19.engine.terms import term_key
from cart19.schema import events_frame

CONFIG = Config()
BASE = dt.date(2024, 1, 1)
TERMS = ["Cytokine release syndrome", "cytokine  RELEASE syndrome", "ICANS", "Neutropenia", "Nausea", "Sepsis",
         "Chronic graft-versus-host disease"]  # fmt: skip
SOCS = [None, "Infections and infestations", "Immune system disorders"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def trials(draw):
    rows: list[dict] = []
    for s in range(draw(st.integers(1, 6))):
        sid = f"S{s}"
        start = BASE + dt.timedelta(days=draw(st.integers(0, 30)))
        rows.append({"subject_id": sid, "event": "enrolled", "date": start - dt.timedelta(days=20)})
        infused = draw(st.booleans()) or s == 0
        last = start
        if infused:
            rows.append({"subject_id": sid, "event": "infusion", "date": start})
            for _ in range(draw(st.integers(0, 6))):
                onset = start + dt.timedelta(days=draw(st.sampled_from([-1, 0, 1, 2, 3, 5, 28, 29, 90, 91, 400, 731])))
                length = draw(st.one_of(st.none(), st.integers(0, 10)))
                end = None if length is None else onset + dt.timedelta(days=length)
                rows.append({"subject_id": sid, "event": "ae", "date": onset, "end_date": end,
                             "grade": draw(st.integers(1, 5)), "term": draw(st.sampled_from(TERMS)),
                             "soc": draw(st.sampled_from(SOCS)), "serious": draw(st.sampled_from([None, True, False]))})  # fmt: skip
                last = max(last, end or onset)
            if draw(st.booleans()):
                rows.append({"subject_id": sid, "event": "relapse", "date": start + dt.timedelta(days=40),
                             "result": "hematologic"})  # fmt: skip
                last = max(last, start + dt.timedelta(days=40))
        if draw(st.booleans()):
            cause = draw(st.sampled_from(["disease", "toxicity", "other", "unknown"]))
            rows.append({"subject_id": sid, "event": "death", "date": last + dt.timedelta(days=draw(st.integers(0, 120))),
                         "result": cause})  # fmt: skip
    return rows


@SETTINGS
@given(rows=trials())
def test_counts_never_exceed_the_safety_set(rows):
    summary = safety_profile(events_frame(rows), CONFIG).summary
    infused = len({r["subject_id"] for r in rows if r["event"] == "infusion"})
    counted = summary.filter(pl.col("N").is_not_null())
    assert set(counted.get_column("N")) == {infused}
    assert (counted.get_column("value") <= infused).all()
    for name in ("CRS", "ICANS", "cGVHD", "infection", "cytopenia"):
        stats = dict(summary.filter(pl.col("item") == name).select("statistic", "value").iter_rows())
        assert sum(stats[f"n_grade_{g}"] for g in range(1, 6)) == stats["n_any"]
        assert stats["n_ongoing"] <= stats["n_any"]


@SETTINGS
@given(rows=trials())
def test_the_maximum_grade_of_a_syndrome_is_the_maximum_of_its_rows(rows):
    profile = safety_profile(events_frame(rows), CONFIG)
    infusion = {r["subject_id"]: r["date"] for r in rows if r["event"] == "infusion"}
    crs = term_key("Cytokine release syndrome")
    expected: dict[str, int] = {}
    for r in rows:
        if r["event"] == "ae" and term_key(r["term"]) == crs and 0 <= (r["date"] - infusion[r["subject_id"]]).days <= 730:
            expected[r["subject_id"]] = max(expected.get(r["subject_id"], 0), r["grade"])
    got = dict(profile.listing.filter(pl.col("group") == "CRS").select("USUBJID", "max_grade").iter_rows())
    assert got == expected


@SETTINGS
@given(rows=trials(), data=st.data())
def test_the_result_does_not_depend_on_row_order(rows, data):
    events = events_frame(rows)  # each record keeps its line: the same records, in another order
    shuffled = events[data.draw(st.permutations(range(events.height)))]
    first, second = safety_profile(events, CONFIG), safety_profile(shuffled, CONFIG)
    assert first.summary.equals(second.summary)
    assert first.listing.equals(second.listing)
    assert first.deaths.equals(second.deaths)
    assert first.never_infused.equals(second.never_infused)
    assert first.warnings == second.warnings
