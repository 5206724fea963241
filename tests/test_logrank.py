"""The log-rank test (km --by COL --tests) against R survival::survdiff (tests/fixtures/logrank,
made by make_reference.R) and on timelines worked by hand."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cart19.engine.survtests import logrank, logrank_tests
from conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "logrank"


def test_agrees_with_r_survdiff_to_1e_6():
    """Tied times, three groups, a group without events, a group never at risk at an event
    time (left out, as survdiff does), and survival::lung by sex and by ECOG score."""
    data = pl.read_csv(FIXTURES / "logrank_input.csv", schema_overrides={"AVAL": pl.Float64, "group": pl.String})
    expected = pl.read_csv(FIXTURES / "logrank_expected.csv").sort("PARAMCD")
    got = logrank_tests(data, "group").sort("PARAMCD")
    assert got["PARAMCD"].to_list() == expected["PARAMCD"].to_list()
    assert got["df"].to_list() == expected["df"].to_list()
    for column in ("statistic", "p_value"):
        for ours, theirs in zip(got[column], expected[column], strict=True):
            assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-12)


def test_two_subjects_one_event_each_worked_by_hand():
    # A dies on day 1, B on day 2. Day 1: both at risk, 1 death: E_A = 1/2, V = 1 * 1/2 * 1/2 = 1/4.
    # Day 2: B alone at risk: E_B += 1, no variance. O_B - E_B = 1 - 3/2 = -1/2; chi2 = (1/4) / (1/4) = 1.
    statistic, df, p_value = logrank([1, 2], [1, 1], ["A", "B"])
    assert statistic == pytest.approx(1.0)
    assert df == 1
    assert p_value == pytest.approx(0.31731050786291415)


def test_one_group_or_no_event_has_no_test():
    assert logrank([1, 2, 3], [1, 0, 1], ["A", "A", "A"]) == (0.0, 0, None)
    assert logrank([1, 2, 3], [0, 0, 0], ["A", "B", "A"]) == (0.0, 0, None)


def test_km_tests_command_writes_the_contract_columns(write_csv):
    path = write_csv(
        [["1", "OS", 1, 0, "A"], ["2", "OS", 2, 0, "B"], ["3", "EFS", 1, 0, "A"], ["4", "EFS", 2, 0, ""]],
        name="adtte.csv",
        header=["USUBJID", "PARAMCD", "AVAL", "CNSR", "cohort"],
    )
    result = run_cli("km", path, "--by", "cohort", "--tests")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "PARAMCD,statistic,df,p_value"
    rows = list(pl.read_csv(result.stdout.encode()).iter_rows())
    # EFS: the empty cohort is the group "(missing)": the same timeline as OS
    assert [(code, df) for code, _, df, _ in rows] == [("OS", 1), ("EFS", 1)]
    for _, statistic, _, p_value in rows:
        assert statistic == pytest.approx(1.0) and p_value == pytest.approx(0.3173105078629141)


def test_tests_without_by_is_an_error(write_csv):
    path = write_csv([["OS", 1, 0]], name="adtte.csv", header=["PARAMCD", "AVAL", "CNSR"])
    result = run_cli("km", path, "--tests")
    assert result.exit_code == 2
    assert "--by" in result.stderr
