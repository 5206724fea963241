"""Best overall response, MRD-negative remission and the response rates
(efficacy.md, "Best overall response and response rates"), on hand-worked timelines.

Every subject is infused on 2024-01-01 (study day 0) unless said otherwise; ``day(n)`` is study
day n. Lines are given explicitly where SRCSEQ is checked.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cart19.config import Config, ResponseConfig, config_from_mapping
from cart19.engine.response import (
    LISTING_COLUMNS,
    RATES_COLUMNS,
    best_overall_response,
    bor_distribution,
    proportion_interval,
    response_listing,
    response_rates,
    response_times,
)
from cart19.schema import events_frame

INFUSION_DATE = dt.date(2024, 1, 1)
REFERENCE = Path(__file__).parent / "fixtures" / "response" / "binom_reference.csv"


def day(n: int) -> dt.date:
    return INFUSION_DATE + dt.timedelta(days=n)


def subject(sid: str, *records: tuple, infused: bool = True) -> list[dict]:
    """``(event, study day[, result[, mrd]])`` records of one subject, after its infusion."""
    rows = [{"subject_id": sid, "event": "enrolled", "date": day(-30)}]
    if infused:
        rows.append({"subject_id": sid, "event": "infusion", "date": INFUSION_DATE})
    for event, n, *rest in records:
        row = {"subject_id": sid, "event": event, "date": day(n)}
        if rest:
            row["result"] = rest[0]
        if len(rest) > 1:
            row["mrd"] = rest[1]
        rows.append(row)
    return rows


def numbered(rows: list[dict]) -> list[dict]:
    """The rows with ``line`` = position + 2, as in a CSV file."""
    return [{**row, "line": i} for i, row in enumerate(rows, start=2)]


def bor_of(rows: list[dict], config: Config | None = None) -> dict[str, dict]:
    out = best_overall_response(events_frame(rows), config)
    return {r["subject_id"]: r for r in out.iter_rows(named=True)}


# --------------------------------------------------------------------------- BOR


def test_best_result_wins_and_its_date_is_the_first_assessment_with_it():
    rows = subject("S1", ("assessment", 28, "CRi"), ("assessment", 56, "CR"), ("assessment", 84, "CR"))
    got = bor_of(numbered(rows))["S1"]
    # lines: 2 enrolled, 3 infusion, 4 CRi, 5 CR (day 56), 6 CR (day 84)
    assert (got["bor"], got["bor_date"], got["bor_line"]) == ("CR", day(56), 5)


def test_two_assessments_with_the_best_result_on_one_day_take_the_lower_line():
    rows = numbered(subject("S1", ("assessment", 28, "PR"), ("assessment", 28, "PR")))
    rows = [rows[0], rows[1], rows[3], rows[2]]  # file order no longer line order
    got = bor_of(rows)["S1"]
    assert (got["bor"], got["bor_date"], got["bor_line"]) == ("PR", day(28), 4)


def test_every_result_ranks_in_the_spec_order():
    order = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE")
    for best, worse in zip(order, order[1:]):
        rows = subject("S1", ("assessment", 28, worse), ("assessment", 60, best))
        assert bor_of(rows)["S1"]["bor"] == best, (best, worse)


def test_no_assessment_in_the_window_is_not_done_with_no_date():
    rows = subject("S1", ("death", 10, "toxicity"))
    got = bor_of(rows)["S1"]
    assert (got["bor"], got["bor_date"], got["bor_line"], got["mrd_negative"]) == ("ND", None, None, False)


def test_only_not_evaluable_assessments_make_bor_ne():
    rows = subject("S1", ("assessment", 28, "NE"), ("assessment", 60, "NE"))
    assert bor_of(rows)["S1"]["bor"] == "NE"


def test_an_assessment_on_day_90_counts_and_one_on_day_91_does_not():
    rows = subject("A", ("assessment", 28, "NR"), ("assessment", 90, "CR")) + subject(
        "B", ("assessment", 28, "NR"), ("assessment", 91, "CR")
    )
    got = bor_of(rows)
    assert (got["A"]["bor"], got["A"]["bor_date"]) == ("CR", day(90))
    assert (got["B"]["bor"], got["B"]["bor_date"]) == ("NR", day(28))


def test_the_window_is_configuration():
    rows = subject("B", ("assessment", 28, "NR"), ("assessment", 91, "CR"))
    config = Config(response=ResponseConfig(window_days=120))
    assert bor_of(rows, config)["B"]["bor"] == "CR"


def test_the_day_0_marrow_is_baseline_not_response():
    rows = subject("S1", ("assessment", 0, "CR"))
    assert bor_of(rows)["S1"]["bor"] == "ND"


def test_a_remission_after_a_salvage_transplant_is_not_the_products():
    # NR at day 28, salvage HSCT on day 40 (before any response), CR at day 80: BOR NR
    rows = subject("S1", ("assessment", 28, "NR"), ("hsct", 40), ("assessment", 80, "CR"))
    assert bor_of(rows)["S1"]["bor"] == "NR"


def test_a_consolidative_transplant_after_the_response_does_not_stop_the_count():
    # PR at day 28, HSCT on day 40 after it, CR at day 80: the transplant is not salvage
    rows = subject("S1", ("assessment", 28, "PR"), ("hsct", 40), ("assessment", 80, "CR"))
    assert bor_of(rows)["S1"]["bor"] == "CR"


def test_a_response_after_new_therapy_is_not_counted_but_one_on_its_start_day_is():
    rows = subject("A", ("assessment", 28, "NR"), ("new_therapy", 35), ("assessment", 70, "CR")) + subject(
        "B", ("assessment", 28, "NR"), ("new_therapy", 35), ("assessment", 35, "PR")
    )
    got = bor_of(rows)
    assert got["A"]["bor"] == "NR"
    assert got["B"]["bor"] == "PR"


def test_a_subject_never_infused_has_no_bor():
    rows = subject("S1", infused=False) + subject("S2", ("assessment", 28, "CR"))
    assert set(bor_of(rows)) == {"S2"}


# --------------------------------------------------------------------------- MRD


def test_mrd_negative_cri_is_an_mrd_negative_remission_and_mrd_positive_cr_is_not():
    rows = numbered(
        subject("P", ("assessment", 28, "CRi", "negative"), ("assessment", 56, "CR", "positive"))
        + subject("Q", ("assessment", 28, "CR", "positive"))
        + subject("R", ("assessment", 28, "MLFS", "negative"))  # not a remission
        + subject("T", ("assessment", 28, "CR"))  # MRD not done
    )
    got = bor_of(rows)
    # P: lines 2 enrolled, 3 infusion, 4 CRi (MRD-), 5 CR (MRD+)
    assert (got["P"]["bor"], got["P"]["bor_line"]) == ("CR", 5)
    assert (got["P"]["mrd_negative"], got["P"]["mrd_negative_date"], got["P"]["mrd_negative_line"]) == (True, day(28), 4)
    assert [got[s]["mrd_negative"] for s in ("Q", "R", "T")] == [False, False, False]


def test_an_mrd_negative_remission_after_day_90_does_not_count():
    rows = subject("S1", ("assessment", 28, "CR", "positive"), ("assessment", 91, "CR", "negative"))
    assert bor_of(rows)["S1"]["mrd_negative"] is False


# --------------------------------------------------------------------------- a small trial, worked by hand

#: 13 enrolled, 12 infused. BOR: CR S01 S02 S03; CRh S04; CRi S13; MLFS S05; PR S06; NR S07 S08;
#: PD S12; NE S09; ND S10; S11 never infused. MRD-negative remission: S01, S02 (its CRi), S13.
TRIAL = (
    subject("S01", ("assessment", 28, "CR", "negative"))
    + subject("S02", ("assessment", 28, "CRi", "negative"), ("assessment", 56, "CR", "positive"))
    + subject("S03", ("assessment", 28, "NR"), ("assessment", 60, "CR", "positive"))
    + subject("S04", ("assessment", 28, "NR"), ("assessment", 56, "CRh"))
    + subject("S05", ("assessment", 28, "MLFS", "negative"))
    + subject("S06", ("assessment", 35, "PR"), ("assessment", 70, "NR"))
    + subject("S07", ("assessment", 28, "NR"), ("assessment", 91, "CR", "negative"))
    + subject("S08", ("assessment", 28, "NR"), ("hsct", 40), ("assessment", 80, "CR", "negative"))
    + subject("S09", ("assessment", 28, "NE"))
    + subject("S10", ("death", 12, "toxicity"))
    + subject("S11", infused=False)
    + subject("S12", ("assessment", 28, "PD"))
    + subject("S13", ("assessment", 42, "CRi", "negative"))
)


def _rates(rows=TRIAL, config: Config | None = None, groups=None) -> dict[tuple, dict]:
    out = response_rates(events_frame(rows), config, groups)
    key = ("group", "population", "PARAMCD") if groups is not None else ("population", "PARAMCD")
    return {tuple(r[k] for k in key): r for r in out.iter_rows(named=True)}


def test_the_trials_bor_distribution():
    dist = bor_distribution(best_overall_response(events_frame(TRIAL)))
    assert dict(dist.select("AVALC", "n").iter_rows()) == {
        "CR": 3, "CRh": 1, "CRi": 1, "MLFS": 1, "PR": 1, "NR": 2, "PD": 1, "NE": 1, "ND": 1,
    }  # fmt: skip
    assert dist["N"].unique().to_list() == [12]
    assert dist.filter(pl.col("AVALC") == "CR")["percent"].item() == 25.0


def test_the_trials_numerators_and_denominators():
    got = {k: (r["n"], r["N"]) for k, r in _rates().items()}
    assert got == {
        ("infused", "CR"): (3, 12), ("infused", "CRCRH"): (4, 12), ("infused", "REMISSION"): (5, 12),
        ("infused", "ORR"): (7, 12), ("infused", "MRDNEG"): (3, 12),
        ("enrolled", "CR"): (3, 13), ("enrolled", "CRCRH"): (4, 13), ("enrolled", "REMISSION"): (5, 13),
        ("enrolled", "ORR"): (7, 13), ("enrolled", "MRDNEG"): (3, 13),
    }  # fmt: skip


def test_the_trials_rates_percent_and_exact_cis():
    out = response_rates(events_frame(TRIAL))
    assert tuple(out.columns) == RATES_COLUMNS
    assert out["population"].to_list() == ["infused"] * 5 + ["enrolled"] * 5
    assert out["PARAMCD"].to_list() == ["CR", "CRCRH", "REMISSION", "ORR", "MRDNEG"] * 2
    rates = _rates()
    # R: binom.test(5, 12)$conf.int and binom.test(7, 13)$conf.int
    remission = rates[("infused", "REMISSION")]
    assert remission["rate"] == pytest.approx(5 / 12)
    assert remission["percent"] == 41.7
    assert (remission["ci_low"], remission["ci_high"]) == pytest.approx((0.151652229808, 0.723330314318), abs=1e-9)
    orr = rates[("enrolled", "ORR")]
    assert orr["percent"] == 53.8
    assert (orr["ci_low"], orr["ci_high"]) == pytest.approx((0.251345482270, 0.807767558199), abs=1e-9)


def test_time_to_first_response_and_remission_among_responders():
    times = response_times(best_overall_response(events_frame(TRIAL)))
    got = {r["measure"]: (r["n"], r["median"], r["min"], r["max"]) for r in times.iter_rows(named=True)}
    # responders' first response: S01 28, S02 28, S03 60, S04 56, S05 28, S06 35, S13 42
    # their first remission: S01 28, S02 28 (CRi), S03 60, S04 56, S13 42
    assert got == {"first_response": (7, 35.0, 28, 60), "first_remission": (5, 42.0, 28, 60)}


def test_the_listing_rows_of_a_responder_a_not_done_and_an_mrd_negative_cri():
    rows = numbered(TRIAL)
    listing = response_listing(best_overall_response(events_frame(rows)))
    assert tuple(listing.columns) == LISTING_COLUMNS
    assert listing.height == 24  # two rows per infused subject
    by = {(r["USUBJID"], r["PARAMCD"]): r for r in listing.iter_rows(named=True)}
    # S02: lines 5 enrolled, 6 infusion, 7 CRi MRD- (day 28), 8 CR MRD+ (day 56)
    assert by[("S02", "BOR")] == {"USUBJID": "S02", "PARAMCD": "BOR", "PARAM": "Best Overall Response",
                                  "AVALC": "CR", "ADT": day(56), "ADY": 56, "SRCDOM": "assessment", "SRCSEQ": 8}
    assert by[("S02", "MRDNEG")] == {"USUBJID": "S02", "PARAMCD": "MRDNEG", "PARAM": "MRD-Negative Remission",
                                     "AVALC": "Y", "ADT": day(28), "ADY": 28, "SRCDOM": "assessment", "SRCSEQ": 7}
    assert by[("S10", "BOR")]["AVALC"] == "ND"
    assert [by[("S10", "BOR")][k] for k in ("ADT", "ADY", "SRCDOM", "SRCSEQ")] == [None, None, None, None]
    assert by[("S03", "MRDNEG")]["AVALC"] == "N" and by[("S03", "MRDNEG")]["ADT"] is None
    assert listing["USUBJID"].to_list()[:4] == ["S01", "S01", "S02", "S02"]
    assert ("S11", "BOR") not in by


def test_rates_per_group_and_a_never_infused_subject_in_its_groups_enrolled_denominator():
    groups = pl.DataFrame({"subject_id": ["S01", "S02", "S03", "S11", "S12"], "group": ["b", "b", "a", "a", "b"]})
    got = _rates(groups=groups)
    # a: S03 (CR), S11 (never infused); b: S01, S02 (CR, MRD-), S12 (PD); the rest (missing)
    assert (got[("a", "infused", "CR")]["n"], got[("a", "infused", "CR")]["N"]) == (1, 1)
    assert (got[("a", "enrolled", "CR")]["n"], got[("a", "enrolled", "CR")]["N"]) == (1, 2)
    assert (got[("b", "infused", "MRDNEG")]["n"], got[("b", "infused", "MRDNEG")]["N"]) == (2, 3)
    assert (got[("(missing)", "infused", "ORR")]["n"], got[("(missing)", "infused", "ORR")]["N"]) == (4, 8)
    out = response_rates(events_frame(TRIAL), None, groups)
    assert out.columns[0] == "group"
    assert out["group"].unique(maintain_order=True).to_list() == ["(missing)", "a", "b"]


def test_a_group_without_infused_subjects_has_n_0_of_n_0_and_no_rate():
    groups = pl.DataFrame({"subject_id": ["S11"], "group": ["never"]})
    row = _rates(groups=groups)[("never", "infused", "ORR")]
    assert (row["n"], row["N"], row["rate"], row["percent"], row["ci_low"], row["ci_high"]) == (0, 0, None, None, None, None)


def test_no_subjects_gives_every_rate_with_n_0_of_n_0():
    out = response_rates(events_frame([]))
    assert out.height == 10
    assert out["N"].to_list() == [0] * 10 and out["rate"].null_count() == 10


def test_a_configured_rate_and_response_set():
    config = config_from_mapping({
        "response_sets": {"remission": ["CR", "CRh"]},
        "response": {"rates": [{"paramcd": "REM", "param": "Remission", "bor_in": "remission"},
                               {"paramcd": "MRD", "param": "MRD-", "bor_in": "remission", "mrd_negative": True}]},
    })  # fmt: skip
    got = {k: (r["n"], r["N"]) for k, r in _rates(config=config).items() if k[0] == "infused"}
    # remission without CRi: S01-S04 (S13's CRi no longer counts); MRD-negative remission: S01 only
    # (S02's MRD-negative result is on its CRi)
    assert got == {("infused", "REM"): (4, 12), ("infused", "MRD"): (1, 12)}


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [  # R 4.2: binom.test(k, n)$conf.int
        (0, 10, 0.0, 0.308497107819),
        (10, 10, 0.691502892181, 1.0),
        (3, 10, 0.066739511178, 0.652452850060),
        (1, 2, 0.012579117093, 0.987420882907),
    ],
)
def test_clopper_pearson_limits_are_rs_binom_test(k, n, low, high):
    assert proportion_interval(k, n, ResponseConfig()) == pytest.approx((low, high), abs=1e-11)


def test_the_confidence_level_and_the_wilson_option():
    # R: binom.test(3, 10, conf.level = 0.9); prop.test(3, 10, correct = FALSE)
    assert proportion_interval(3, 10, ResponseConfig(confidence_level=0.9)) == pytest.approx(
        (0.087264433914, 0.606624216105), abs=1e-11
    )
    assert proportion_interval(3, 10, ResponseConfig(interval="wilson")) == pytest.approx(
        (0.107791267406, 0.603221852539), abs=1e-11
    )


def test_both_intervals_agree_with_the_r_fixture():
    with open(REFERENCE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 148
    for row in rows:
        k, n, level = int(row["k"]), int(row["n"]), float(row["level"])
        exact = proportion_interval(k, n, ResponseConfig(confidence_level=level))
        wilson = proportion_interval(k, n, ResponseConfig(confidence_level=level, interval="wilson"))
        assert exact == pytest.approx((float(row["cp_low"]), float(row["cp_high"])), abs=1e-9), row
        assert wilson == pytest.approx((float(row["wilson_low"]), float(row["wilson_high"])), abs=1e-9), row


# --------------------------------------------------------------------------- properties

RESULTS = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE")


@st.composite
def trials(draw) -> tuple[list[dict], pl.DataFrame]:
    """(rows with fixed lines, a grouping of their subjects)."""
    rows: list[dict] = []
    for i in range(draw(st.integers(0, 8))):
        sid = f"P{i}"
        records = []
        for _ in range(draw(st.integers(0, 4))):
            mrd = draw(st.sampled_from((None, "negative", "positive")))
            records.append(("assessment", draw(st.integers(0, 120)), draw(st.sampled_from(RESULTS)), mrd))
        for kind in ("hsct", "new_therapy"):
            if draw(st.integers(0, 3)) == 0:
                records.append((kind, draw(st.integers(1, 100))))
        rows += subject(sid, *records, infused=draw(st.integers(0, 4)) > 0)
    rows = numbered(rows)
    subjects = sorted({r["subject_id"] for r in rows})
    grouped = [s for s in subjects if draw(st.booleans())]
    groups = pl.DataFrame({"subject_id": grouped, "group": [draw(st.sampled_from("xy")) for _ in grouped]},
                          schema={"subject_id": pl.String, "group": pl.String})  # fmt: skip
    return rows, groups


@settings(max_examples=30, deadline=None)
@given(data=trials(), shuffle=st.randoms(use_true_random=False))
def test_rates_are_proportions_within_their_interval_and_row_order_changes_nothing(data, shuffle):
    rows, groups = data
    shuffled = list(rows)
    shuffle.shuffle(shuffled)
    events, other = events_frame(rows), events_frame(shuffled)
    rates = response_rates(events)
    assert_frame_equal(rates, response_rates(other))
    bor = best_overall_response(events)
    assert_frame_equal(response_listing(bor), response_listing(best_overall_response(other)))
    assert (rates["n"] <= rates["N"]).all()
    defined = rates.filter(pl.col("N") > 0)
    assert defined["rate"].is_between(0, 1).all()
    assert (defined["ci_low"] <= defined["rate"] + 1e-12).all() and (defined["rate"] <= defined["ci_high"] + 1e-12).all()
    assert defined["ci_low"].is_between(0, 1).all() and defined["ci_high"].is_between(0, 1).all()
    # the infused are among the enrolled: never a larger numerator or denominator
    wide = rates.pivot(on="population", index="PARAMCD", values=["n", "N"])
    assert (wide["n_infused"] <= wide["n_enrolled"]).all() and (wide["N_infused"] <= wide["N_enrolled"]).all()


@settings(max_examples=30, deadline=None)
@given(data=trials())
def test_per_group_numerators_and_denominators_add_up_to_the_overall(data):
    rows, groups = data
    events = events_frame(rows)
    overall = response_rates(events)
    by_group = response_rates(events, None, groups)
    summed = by_group.group_by("population", "PARAMCD").agg(pl.col("n").sum(), pl.col("N").sum())
    joined = overall.join(summed, on=["population", "PARAMCD"], how="left", suffix="_groups")
    if overall["N"].max() and events.height:
        assert joined["n"].to_list() == joined["n_groups"].to_list()
        assert joined["N"].to_list() == joined["N_groups"].to_list()
    assert by_group["group"].to_list() == sorted(by_group["group"].to_list())
