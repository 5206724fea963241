"""Median follow-up by the reverse Kaplan-Meier method against R survival
(tests/fixtures/km/km_followup.csv, made by make_followup.R on the cases of km_input.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cart19.engine.km import KM_COLUMNS, km_followup, km_summary

FIXTURES = Path(__file__).parent / "fixtures" / "km"
INPUT = pl.read_csv(FIXTURES / "km_input.csv", schema_overrides={"AVAL": pl.Float64})
FOLLOWUP = ("followup_median", "followup_lower", "followup_upper")
EXPECTED = pl.read_csv(FIXTURES / "km_followup.csv", schema_overrides=dict.fromkeys(FOLLOWUP, pl.Float64))


def _same(got: float | None, want: float | None) -> bool:
    return (got is None and want is None) or (got is not None and want is not None and abs(got - want) <= 1e-6)


def test_reverse_km_median_and_ci_agree_with_survfit_on_every_case():
    summary = km_summary(INPUT, landmarks_months=(6,))
    assert summary.columns == list(KM_COLUMNS)
    assert list(KM_COLUMNS[-3:]) == ["followup_median", "followup_lower", "followup_upper"]
    got = {r["PARAMCD"]: r for r in summary.iter_rows(named=True)}
    bad = []
    for want in EXPECTED.iter_rows(named=True):
        row = got[want["PARAMCD"]]
        for column in ("followup_median", "followup_lower", "followup_upper"):
            if not _same(row[column], want[column]):
                bad.append((want["PARAMCD"], column, row[column], want[column]))
    assert not bad, bad[:10]


def test_follow_up_of_a_hand_worked_sample():
    # times 10 (death), 20 (censored), 30 (censored), 40 (death): reversed, the censorings at 20
    # and 30 are the "events": S(20) = 2/3 (3 at risk), S(30) = 1/3: the median is day 30
    median, _, _ = km_followup(np.array([10.0, 20, 30, 40]), np.array([1.0, 0, 0, 1]))
    assert median == 30


def test_every_landmark_row_repeats_the_follow_up():
    data = pl.DataFrame({"PARAMCD": ["OS"] * 4, "AVAL": [10, 20, 30, 40], "CNSR": [0, 1, 1, 0]})
    out = km_summary(data)
    assert out["followup_median"].to_list() == [30.0, 30.0, 30.0]


@pytest.mark.parametrize("cnsr", [[0, 0, 0], [1, 1, 1]])
def test_follow_up_is_empty_where_no_censoring_reaches_half(cnsr):
    data = pl.DataFrame({"PARAMCD": ["OS"] * 3, "AVAL": [10, 20, 30], "CNSR": cnsr})
    row = km_summary(data, landmarks_months=()).row(0, named=True)
    if cnsr[0] == 0:  # nobody censored: the reverse curve never falls
        assert row["followup_median"] is None
    else:
        assert row["followup_median"] == 20.0
