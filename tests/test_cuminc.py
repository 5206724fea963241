"""Cumulative incidence (Aalen-Johansen, cmprsk's variance) and Gray's test against R cmprsk
(tests/fixtures/cuminc, made by make_reference.R; the tests need no R)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cart19.engine.cuminc import (
    CUMINC_COLUMNS,
    GRAY_COLUMNS,
    cif_at,
    cif_curve,
    cif_limits,
    cuminc_summary,
    gray_test,
    gray_tests,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cuminc"
INPUT = pl.read_csv(FIXTURES / "cuminc_input.csv", schema_overrides={"group": pl.String})
EXPECTED = pl.read_csv(FIXTURES / "cuminc_expected.csv")
GRAY = pl.read_csv(FIXTURES / "gray_expected.csv")
CASES = INPUT.get_column("case").unique(maintain_order=True).to_list()
TOL = 1e-6


def _case(code: str) -> pl.DataFrame:
    return INPUT.filter(pl.col("case") == code)


def _close(got: np.ndarray, want: pl.Series) -> None:
    want_values = want.cast(pl.Float64).to_numpy()
    assert np.array_equal(np.isnan(got), np.isnan(want_values)), (got, want_values)
    ok = ~np.isnan(want_values)
    assert np.allclose(got[ok], want_values[ok], rtol=0, atol=TOL), (got, want_values)


@pytest.mark.parametrize("code", CASES)
def test_estimate_variance_and_limits_agree_with_cmprsk(code):
    case = _case(code)
    time, status = case["AVAL"].to_numpy(), case["EVENT"].to_numpy()
    for cause in (1, 2):
        want = EXPECTED.filter((pl.col("case") == code) & (pl.col("cause") == cause))
        curve = cif_curve(time, status, cause)
        if want.height == 0:  # cmprsk leaves out a cause without events: 0 up to the last time
            assert curve.events == 0
            probe = np.array([0.0, float(time.max()), float(time.max()) + 1])
            estimate, variance = cif_at(curve, probe)
            assert estimate[:2].tolist() == [0.0, 0.0] and variance[:2].tolist() == [0.0, 0.0]
            assert np.isnan(estimate[2]) and np.isnan(variance[2])
            continue
        estimate, variance = cif_at(curve, want["time"].to_numpy())
        _close(estimate, want["estimate"])
        _close(variance, want["variance"])
        lower, upper = cif_limits(estimate, variance)
        _close(lower, want["lower"])
        _close(upper, want["upper"])


@pytest.mark.parametrize("code", GRAY.get_column("case").unique(maintain_order=True).to_list())
def test_grays_test_agrees_with_cmprsk(code):
    case = _case(code)
    names = sorted(case["group"].unique().to_list())
    group = np.array([names.index(g) for g in case["group"].to_list()])
    for row in GRAY.filter(pl.col("case") == code).iter_rows(named=True):
        statistic, df, p_value = gray_test(case["AVAL"].to_numpy(), case["EVENT"].to_numpy(), group, row["cause"])
        assert df == row["df"]
        assert statistic == pytest.approx(row["statistic"], abs=TOL)
        assert p_value == pytest.approx(row["p_value"], abs=TOL)


def test_grays_tests_frame_per_cause_with_groups_by_subject():
    case = _case("GRAY3").with_row_index("n").with_columns(pl.format("S{}", "n").alias("USUBJID"))
    groups = case.select(pl.col("USUBJID").alias("subject_id"), "group")
    out = gray_tests(case, groups)
    assert out.columns == list(GRAY_COLUMNS)
    want = GRAY.filter(pl.col("case") == "GRAY3").sort("cause")
    assert out["cause"].to_list() == ["relapse", "nrm"]
    assert out["df"].to_list() == [2, 2]
    assert np.allclose(out["statistic"].to_numpy(), want["statistic"].to_numpy(), atol=TOL)
    assert np.allclose(out["p_value"].to_numpy(), want["p_value"].to_numpy(), atol=TOL)


def test_summary_follows_the_contract_and_r_at_the_landmarks():
    case = _case("RAND1")
    out = cuminc_summary(case)
    assert out.columns == list(CUMINC_COLUMNS)
    assert out["cause"].to_list() == ["relapse"] * 3 + ["nrm"] * 3
    assert out["time_months"].to_list() == [6.0, 12.0, 24.0] * 2
    assert set(out["N"]) == {150}
    assert out.filter(pl.col("cause") == "relapse")["events"].to_list() == [int((case["EVENT"] == 1).sum())] * 3
    for name, cause in (("relapse", 1), ("nrm", 2)):
        want = EXPECTED.filter((pl.col("case") == "RAND1") & (pl.col("cause") == cause))
        want = want.filter(pl.col("time").is_in([m * 30.4375 for m in (6, 12, 24)])).sort("time")
        got = out.filter(pl.col("cause") == name)
        for column in ("estimate", "variance", "lower", "upper"):
            _close(got[column].cast(pl.Float64).fill_null(math.nan).to_numpy(), want[column])


def test_a_landmark_past_the_last_time_keeps_its_row_with_empty_figures():
    out = cuminc_summary(_case("SHORT"))  # last time day 150: 6 months (182.6 days) is past it
    assert out.height == 6
    assert out.select("estimate", "variance", "lower", "upper").null_count().row(0) == (6, 6, 6, 6)
    assert out["events"].to_list() == [2, 2, 2, 1, 1, 1]


def test_where_the_estimate_is_zero_or_one_the_limits_are_empty():
    # every subject relapses: the relapse incidence is 1 from day 30 (landmarks: days 1, 15, 30)
    data = pl.DataFrame({"AVAL": [5, 10, 30], "EVENT": [1, 1, 1]})
    out = cuminc_summary(data, landmarks_months=(0.1, 1.5, 3), days_per_month=10)
    relapse = out.filter(pl.col("cause") == "relapse")
    assert relapse["estimate"].to_list() == [0.0, pytest.approx(2 / 3), 1.0]
    assert relapse["lower"][0] is None and relapse["upper"][0] is None
    assert relapse["lower"][2] is None and relapse["upper"][2] is None
    assert relapse["lower"][1] is not None
    nrm = out.filter(pl.col("cause") == "nrm")
    assert nrm["estimate"].to_list() == [0.0, 0.0, 0.0] and nrm["lower"].null_count() == 3


def test_summary_by_group_has_a_block_per_group_sorted_and_missing_subjects_in_missing():
    data = pl.DataFrame({"USUBJID": ["a", "b", "c", "d", "e"], "AVAL": [10, 20, 30, 40, 50], "EVENT": [1, 0, 2, 1, 0]})
    groups = pl.DataFrame({"subject_id": ["a", "b", "c", "d"], "group": ["x", "B", "x", "B"]})
    out = cuminc_summary(data, groups=groups, landmarks_months=(0.9,))
    assert out.columns == ["group", *CUMINC_COLUMNS]
    assert out.select("group", "cause", "N").rows() == [
        ("(missing)", "relapse", 1), ("(missing)", "nrm", 1),
        ("B", "relapse", 2), ("B", "nrm", 2),
        ("x", "relapse", 2), ("x", "nrm", 2),
    ]  # fmt: skip
    # x: relapse at day 10, death at day 30; at 0.9 months (27.4 days): relapse 1/2, NRM 0
    assert out.filter(pl.col("group") == "x")["estimate"].to_list() == [0.5, 0.0]


def test_bad_values_name_the_column_and_row():
    with pytest.raises(ValueError, match="column EVENT, row 1"):
        cuminc_summary(pl.DataFrame({"AVAL": [1, 2], "EVENT": [0, 3]}))
    with pytest.raises(ValueError, match="column AVAL, row 0"):
        cuminc_summary(pl.DataFrame({"AVAL": [-1, 2], "EVENT": [0, 1]}))
    with pytest.raises(ValueError, match="missing column"):
        cuminc_summary(pl.DataFrame({"AVAL": [1]}))


def test_a_single_group_has_no_test():
    assert gray_test(np.array([1.0, 2.0]), np.array([1, 2]), np.array([0, 0]), 1) == (None, 0, None)


@pytest.mark.parametrize("code", GRAY.get_column("case").unique(maintain_order=True).to_list())
def test_summary_by_group_agrees_with_cmprsk_curves_per_group(code):
    case = _case(code).with_row_index("n").with_columns(pl.format("S{}", "n").alias("USUBJID"))
    groups = case.select(pl.col("USUBJID").alias("subject_id"), "group")
    marks = (1, 3, 6, 12, 24)
    out = cuminc_summary(case, groups=groups, landmarks_months=marks)
    want = pl.read_csv(FIXTURES / "group_expected.csv", schema_overrides={"group": pl.String}).filter(
        pl.col("case") == code
    )
    for (group, cause), rows in want.group_by(["group", "cause"], maintain_order=True):
        name = {1: "relapse", 2: "nrm"}[cause]
        got = out.filter((pl.col("group") == group) & (pl.col("cause") == name)).sort("time_months")
        assert got["N"][0] == case.filter(pl.col("group") == group).height
        for column in ("estimate", "variance"):
            _close(got[column].cast(pl.Float64).fill_null(math.nan).to_numpy(), rows.sort("time")[column])
