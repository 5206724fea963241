"""Kaplan-Meier engine: against R survival (fixtures), hand-worked cases, properties."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cart19.engine.km import KM_COLUMNS, km_at, km_curve, km_quantile, km_summary, order_paramcds

FIXTURES = Path(__file__).parent / "fixtures" / "km"
FLOAT_COLS = [
    "median",
    "median_lower",
    "median_upper",
    "time_months",
    "survival",
    "survival_lower",
    "survival_upper",
]
Z95 = 1.959963984540054
TOL = 1e-6


def close(a: float | None, b: float | None, tol: float = TOL) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return abs(a - b) <= tol * max(1.0, abs(b))


def one(aval, cnsr, code="OS", **kw) -> pl.DataFrame:
    return km_summary(pl.DataFrame({"PARAMCD": [code] * len(aval), "AVAL": aval, "CNSR": cnsr}), **kw)


# ---------------------------------------------------------------- against R ------------------


@pytest.fixture(scope="module")
def r_input() -> pl.DataFrame:
    return pl.read_csv(FIXTURES / "km_input.csv", schema_overrides={"AVAL": pl.Float64})


@pytest.fixture(scope="module")
def r_landmarks() -> list[float]:
    return pl.read_csv(FIXTURES / "km_landmarks.csv")["time_months"].to_list()


def _expected(name: str) -> pl.DataFrame:
    return pl.read_csv(FIXTURES / name, schema_overrides=dict.fromkeys(FLOAT_COLS, pl.Float64))


@pytest.mark.parametrize(("name", "level"), [("km_expected.csv", 0.95), ("km_expected_90.csv", 0.90)])
def test_summary_matches_r(r_input, r_landmarks, name, level):
    expected = _expected(name)
    got = km_summary(r_input, landmarks_months=r_landmarks, confidence_level=level)
    assert got.columns == list(KM_COLUMNS)
    assert got.height == expected.height
    # parameter order: OS, EFS, DOR (known codes) first, then the others by name, as R wrote
    assert got["PARAMCD"].to_list() == expected["PARAMCD"].to_list()
    assert got.select("N", "events", "censored").rows() == expected.select("N", "events", "censored").rows()
    mismatches = []
    for g, e in zip(got.iter_rows(named=True), expected.iter_rows(named=True), strict=True):
        for col in FLOAT_COLS:
            want = e[col]
            if col in ("survival_lower", "survival_upper") and e["survival"] == 1.0 and want is None:
                # Documented choice: S = 1 has the CI [1, 1]. R gives NA where a censoring
                # precedes t (and [1, 1] where t is before every observed time).
                want = 1.0
            if not close(g[col], want):
                mismatches.append((e["PARAMCD"], e["time_months"], col, g[col], want))
    assert not mismatches, mismatches[:20]


def test_r_cases_cover_the_edges():
    """The reference data hold the edge cases the brief names (guards the fixture itself)."""
    e = _expected("km_expected.csv")
    codes = set(e["PARAMCD"])
    for code in ["TIES", "HALF_INTERVAL", "HALF_END", "ALL_CENSORED", "ALL_EVENTS", "SINGLE_EVENT",
                 "NOT_REACHED", "UPPER_NR", "BEYOND", "AT_LANDMARK", "ZERO_TIME", "OS"]:  # fmt: skip
        assert code in codes
    assert e.filter(pl.col("PARAMCD") == "HALF_INTERVAL")["median"][0] == 60.0
    assert e.filter(pl.col("PARAMCD") == "HALF_END")["median"][0] == 15.0
    assert e.filter(pl.col("PARAMCD") == "NOT_REACHED")["median"][0] is None
    upper_nr = e.filter(pl.col("PARAMCD") == "UPPER_NR").row(0, named=True)
    assert upper_nr["median"] == 30.0 and upper_nr["median_upper"] is None
    assert e.filter(pl.col("PARAMCD") == "BEYOND")["survival"].null_count() == 4
    assert e.filter(pl.col("PARAMCD") == "OS")["N"][0] == 200


def test_curve_matches_r(r_input):
    curves = pl.read_csv(
        FIXTURES / "km_curve.csv",
        schema_overrides=dict.fromkeys(["time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"], pl.Float64),
    )
    for code, want in curves.group_by("PARAMCD", maintain_order=True):
        rows = r_input.filter(pl.col("PARAMCD") == code[0])
        curve = km_curve(rows["AVAL"].to_numpy(), 1 - rows["CNSR"].to_numpy())
        for ours, theirs in [
            (curve.time, "time"),
            (curve.n_risk, "n_risk"),
            (curve.n_event, "n_event"),
            (curve.n_censor, "n_censor"),
            (curve.surv, "surv"),
            (curve.std_err, "std_err"),
            (curve.lower, "lower"),
            (curve.upper, "upper"),
        ]:
            ref = want[theirs].cast(pl.Float64).to_numpy()
            # NA where S is 0 or 1; std_err is infinite once n = d (S = 0), R writes Inf
            assert np.array_equal(np.isnan(ours), np.isnan(ref)), (code, theirs)
            assert np.array_equal(np.isinf(ours), np.isinf(ref)), (code, theirs)
            finite = np.isfinite(ref)
            diff = np.abs(ours[finite] - ref[finite])
            assert np.all(diff <= TOL * np.maximum(1, np.abs(ref[finite]))), (code, theirs)


# ---------------------------------------------------------------- hand-worked ----------------


def test_hand_worked_seven_subjects():
    # 5+, 10, 10+, 20, 30, 30+, 40+  (+ = censored)
    # t=10: n=6 d=1 S=5/6       Greenwood 1/(6*5)
    # t=20: n=4 d=1 S=5/6*3/4   + 1/(4*3)
    # t=30: n=3 d=1 S=*2/3      + 1/(3*2)
    out = one([5, 10, 10, 20, 30, 30, 40], [1, 0, 1, 0, 0, 1, 1],
              landmarks_months=[1 / 30.4375, 10 / 30.4375, 25 / 30.4375, 40 / 30.4375, 41 / 30.4375])  # fmt: skip
    rows = out.rows(named=True)
    assert [r["N"] for r in rows] == [7] * 5
    assert rows[0]["events"] == 3 and rows[0]["censored"] == 4

    def limits(s: float, var: float) -> tuple[float, float]:
        k = Z95 * math.sqrt(var) / -math.log(s)
        return s ** math.exp(k), s ** math.exp(-k)

    s10, v10 = 5 / 6, 1 / 30
    s20, v20 = s10 * 3 / 4, v10 + 1 / 12
    s30, v30 = s20 * 2 / 3, v20 + 1 / 6
    assert rows[0]["survival"] == 1.0 and rows[0]["survival_lower"] == rows[0]["survival_upper"] == 1.0
    for row, s, v in [(rows[1], s10, v10), (rows[2], s20, v20), (rows[3], s30, v30)]:
        lo, hi = limits(s, v)
        assert close(row["survival"], s) and close(row["survival_lower"], lo) and close(row["survival_upper"], hi)
    assert close(rows[1]["survival_lower"], 0.27312285)  # R prints 0.273 / 0.975
    assert rows[4]["survival"] is None and rows[4]["survival_lower"] is None  # after the last time (40)
    # median: S(30) = 0.417 is the first <= 0.5; lower band at 10 is 0.27 <= 0.5; the upper
    # band never falls to 0.5 (0.77 at 30, the end)
    assert (rows[0]["median"], rows[0]["median_lower"], rows[0]["median_upper"]) == (30.0, 10.0, None)


def test_hand_worked_three_events():
    # 10, 20, 30: S = 2/3, 1/3, 0. Median 20. Lower band at 10: (2/3)^exp(z sqrt(1/6)/log(3/2))
    # = 0.054 -> lower limit 10. Upper band at 20: (1/3)^exp(-z sqrt(2/3)/log 3) = 0.774 > 0.5,
    # and undefined at S = 0 -> upper limit not reached.
    out = one([30, 10, 20], [0, 0, 0], landmarks_months=[15 / 30.4375, 30 / 30.4375])
    r = out.rows(named=True)
    assert (r[0]["median"], r[0]["median_lower"], r[0]["median_upper"]) == (20.0, 10.0, None)
    assert close(r[0]["survival"], 2 / 3)
    assert r[1]["survival"] == 0.0 and r[1]["survival_lower"] is None and r[1]["survival_upper"] is None


def test_event_on_landmark_day_counts():
    # 2 subjects, event on day 487 = 16 months: S(487) = 1/2 (right-continuous)
    out = one([487, 600], [0, 1], landmarks_months=[16])
    assert out["survival"][0] == 0.5
    out = one([488, 600], [0, 1], landmarks_months=[16])
    assert out["survival"][0] == 1.0


def test_median_midpoint_of_flat_half():
    # S = 0.5 from 50 (5 of 10 events) until the next event at 70: median (50 + 70) / 2
    out = one([10, 20, 30, 40, 50, 55, 70, 80, 80, 80], [0, 0, 0, 0, 0, 1, 0, 1, 1, 1])
    assert out["median"][0] == 60.0
    # flat at 0.5 to the end: midpoint with the last observed time (R)
    assert one([10, 20], [0, 1])["median"][0] == 15.0


def test_not_reached_and_degenerate():
    censored = one([15, 40, 200], [1, 1, 1], landmarks_months=[1])
    row = censored.row(0, named=True)
    assert row["followup_median"] == 40.0  # reverse KM: 2/3, 1/3 at the censorings 15 and 40
    assert {k: v for k, v in row.items() if not k.startswith("followup_")} == {
        "PARAMCD": "OS", "N": 3, "events": 0, "censored": 3, "median": None, "median_lower": None,
        "median_upper": None, "time_months": 1.0, "survival": 1.0, "survival_lower": 1.0,
        "survival_upper": 1.0,
    }  # fmt: skip
    single = one([100], [0], landmarks_months=[1, 4])
    assert single["median"].to_list() == [100.0, 100.0]
    assert single["median_lower"].to_list() == [None, None]
    assert single["survival"].to_list() == [1.0, None]  # 121.75 days is after the last time


def test_landmark_beyond_follow_up_is_null():
    out = one([10, 25, 60, 60, 120, 150], [0, 1, 0, 0, 1, 0])
    assert out["time_months"].to_list() == [6.0, 12.0, 24.0]
    assert out["survival"].null_count() == 3


def test_parameter_order_and_extra_columns():
    frame = pl.DataFrame(
        {
            "PARAMCD": ["X", "DOR", "B", "OS", "EFSS2", "b", "EFS"],
            "AVAL": [1, 2, 3, 4, 5, 6, 7],
            "CNSR": [0, 1, 0, 1, 0, 1, 0],
            "USUBJID": list("abcdefg"),
        }
    )
    out = km_summary(frame, landmarks_months=[1])
    assert out["PARAMCD"].to_list() == ["OS", "EFS", "EFSS2", "DOR", "B", "X", "b"]
    assert order_paramcds(["DOR", "OS", "A"]) == ["OS", "DOR", "A"]


def test_empty_and_no_landmarks():
    empty = km_summary(pl.DataFrame({"PARAMCD": [], "AVAL": [], "CNSR": []},
                                    schema={"PARAMCD": pl.String, "AVAL": pl.Int64, "CNSR": pl.Int64}))  # fmt: skip
    assert empty.columns == list(KM_COLUMNS) and empty.height == 0
    out = one([1, 2, 3], [0, 0, 1], landmarks_months=())
    assert out.height == 1 and out["time_months"][0] is None and out["median"][0] == 2.0


def test_lower_level_functions():
    curve = km_curve(np.array([10.0, 20.0]), np.array([1, 0]))
    assert km_quantile(curve) == (15.0, 10.0, None)
    s, lo, hi = km_at(curve, [5, 10, 20, 21])
    assert s[0] == 1 and s[1] == 0.5 and s[2] == 0.5 and np.isnan(s[3])
    assert km_quantile(km_curve(np.array([]), np.array([]))) == (None, None, None)


# ---------------------------------------------------------------- validation -----------------


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (pl.DataFrame({"PARAMCD": ["OS"], "AVAL": [1]}), "CNSR"),
        (pl.DataFrame({"AVAL": [1], "CNSR": [0]}), "PARAMCD"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS", "OS"], "AVAL": [1, 2, 3], "CNSR": [0, 2, 1]}), "CNSR, row 1"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [1, 2], "CNSR": [0, None]}), "CNSR, row 1"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [1, 2], "CNSR": [0.5, 0]}), "CNSR, row 0"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [1, -2], "CNSR": [0, 1]}), "AVAL, row 1"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [None, 2], "CNSR": [0, 1]}), "AVAL, row 0"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [1.0, float("nan")], "CNSR": [0, 1]}), "AVAL, row 1"),
        (pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [1.0, float("inf")], "CNSR": [0, 1]}), "AVAL, row 1"),
        (pl.DataFrame({"PARAMCD": ["OS"], "AVAL": ["12"], "CNSR": [0]}), "AVAL must be numeric"),
        (pl.DataFrame({"PARAMCD": ["OS", None], "AVAL": [1, 2], "CNSR": [0, 1]}), "PARAMCD, row 1"),
    ],
)
def test_invalid_input_names_column_and_row(frame, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        km_summary(frame)


@pytest.mark.parametrize(
    "kwargs",
    [{"confidence_level": 1.0}, {"confidence_level": 0}, {"days_per_month": 0}, {"landmarks_months": [-1]}],
)
def test_invalid_options(kwargs):
    with pytest.raises(ValueError):
        km_summary(pl.DataFrame({"PARAMCD": ["OS"], "AVAL": [1], "CNSR": [0]}), **kwargs)


# ---------------------------------------------------------------- properties -----------------

subjects = st.lists(
    st.tuples(
        st.sampled_from(["OS", "EFS", "DOR", "ZZ"]),
        st.one_of(st.integers(0, 60), st.floats(0, 60, allow_nan=False, allow_infinity=False)),
        st.integers(0, 1),
    ),
    min_size=1,
    max_size=80,
)
landmark_lists = st.lists(st.floats(0, 2.5, allow_nan=False), min_size=1, max_size=6)


def _frame(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {"PARAMCD": [r[0] for r in rows], "AVAL": [float(r[1]) for r in rows], "CNSR": [r[2] for r in rows]}
    )


@settings(max_examples=300, deadline=None)
@given(subjects, landmark_lists, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_properties(rows, marks, level):
    frame = _frame(rows)
    marks = sorted(marks)
    out = km_summary(frame, landmarks_months=marks, confidence_level=level)
    counts = dict(frame.group_by("PARAMCD").len().iter_rows())
    assert out.height == len(counts) * len(marks)
    for (code,), part in out.group_by("PARAMCD", maintain_order=True):
        r0 = part.row(0, named=True)
        assert r0["N"] == counts[code] == r0["events"] + r0["censored"]
        med = (r0["median"], r0["median_lower"], r0["median_upper"])
        if med[0] is not None:
            assert med[1] is None or med[1] <= med[0] + 1e-12
            assert med[2] is None or med[0] <= med[2] + 1e-12
        assert part["median"].n_unique() == 1
        prev = 1.0
        seen_null = False
        for r in part.iter_rows(named=True):
            s = r["survival"]
            if s is None:
                seen_null = True  # after the last time: every later landmark is null too
                continue
            assert not seen_null
            assert 0.0 <= s <= 1.0 and s <= prev + 1e-15
            prev = s
            lo, hi = r["survival_lower"], r["survival_upper"]
            assert (lo is None) == (hi is None)
            if lo is not None:
                assert 0.0 <= lo <= s + 1e-12 and s - 1e-12 <= hi <= 1.0


@settings(max_examples=150, deadline=None)
@given(subjects, st.randoms(use_true_random=False))
def test_invariant_to_row_order(rows, rnd):
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    a = km_summary(_frame(rows), landmarks_months=[0.5, 1, 2])
    b = km_summary(_frame(shuffled), landmarks_months=[0.5, 1, 2])
    assert_frame_equal(a, b)


def test_large_input_is_fast():
    import time

    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pl.DataFrame(
        {
            "PARAMCD": rng.choice(["OS", "EFS", "DOR"], n),
            "AVAL": rng.integers(1, 1000, n),
            "CNSR": rng.integers(0, 2, n),
        }
    )
    start = time.perf_counter()
    out = km_summary(frame)
    assert time.perf_counter() - start < 10
    assert out.group_by("PARAMCD").agg(pl.col("N").first())["N"].sum() == n
