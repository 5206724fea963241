"""--subjects and --by on the efficacy and safety summaries (response, cuminc, safety), on a
five-subject trial worked by hand. Infusion 2024-01-01 for the infused:

* A, cohort X: CR on day 28, MRD negative; alive on 2024-06-01.
* B, cohort X: NR on day 28; alive on 2024-06-01.
* C, cohort Y: CRi on day 28, MRD positive; relapse on day 100 (2024-04-10); alive 2024-06-01.
* D, in no row of the subject file (group "(missing)"): PR on day 28; alive on 2024-06-01.
* E, cohort Y: enrolled, never infused.
"""

from __future__ import annotations

import polars as pl
import pytest

from conftest import run_cli
from tte_helpers import INFUSION, timeline

SUBJECTS = "subject_id,cohort\nA,X\nB,X\nC,Y\nE,Y\n"
ALIVE = ("contact", "2024-06-01")


def trial() -> list[dict]:
    return [
        *timeline(INFUSION, ("assessment", "2024-01-29", "CR", {"mrd": "negative"}), ALIVE, subject="A"),
        *timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ALIVE, subject="B"),
        *timeline(INFUSION, ("assessment", "2024-01-29", "CRi", {"mrd": "positive"}),
                  ("relapse", "2024-04-10", "hematologic"), ALIVE, subject="C"),  # fmt: skip
        *timeline(INFUSION, ("assessment", "2024-01-29", "PR"), ALIVE, subject="D"),
        *timeline(("enrolled", "2023-12-01"), subject="E"),
    ]


@pytest.fixture
def files(write_csv, tmp_path):
    subjects = tmp_path / "subjects.csv"
    subjects.write_text(SUBJECTS, encoding="utf-8")
    return write_csv(trial()), subjects


def _csv(result) -> pl.DataFrame:
    assert result.exit_code == 0, result.stderr
    return pl.read_csv(result.stdout.encode(), infer_schema_length=0)


def test_response_rates_per_cohort_then_the_whole_trial_as_total(files):
    events, subjects = files
    rates = _csv(run_cli("response", events, "--subjects", subjects, "--by", "cohort", "--format", "csv"))
    assert rates.columns[0] == "group"
    got = {(g, p, c): (int(n), int(big_n)) for g, p, c, n, big_n in
           rates.select("group", "population", "PARAMCD", "n", "N").iter_rows()}  # fmt: skip
    assert list(dict.fromkeys(rates.get_column("group"))) == ["(missing)", "X", "Y", "Total"]
    # X: A (CR, MRD-negative) and B (NR)
    assert [got[("X", "infused", c)] for c in ("CR", "CRCRH", "REMISSION", "ORR", "MRDNEG")] == [(1, 2)] * 5
    # Y: C (CRi, MRD-positive); E enrolled but never infused counts as a non-responder
    assert [got[("Y", "infused", c)] for c in ("CR", "CRCRH", "REMISSION", "ORR", "MRDNEG")] == [
        (0, 1), (0, 1), (1, 1), (1, 1), (0, 1)]
    assert got[("Y", "enrolled", "REMISSION")] == (1, 2)
    # (missing): D (PR)
    assert got[("(missing)", "infused", "ORR")] == (1, 1) and got[("(missing)", "infused", "REMISSION")] == (0, 1)
    # Total: the figures without --by
    assert [got[("Total", "infused", c)] for c in ("CR", "REMISSION", "ORR", "MRDNEG")] == [
        (1, 4), (2, 4), (3, 4), (1, 4)]
    assert got[("Total", "enrolled", "ORR")] == (3, 5)
    plain = _csv(run_cli("response", events, "--format", "csv"))
    assert rates.filter(pl.col("group") == "Total").drop("group").equals(plain)


def test_response_listing_carries_the_covariates_after_the_contract_columns(files):
    events, subjects = files
    listing = _csv(run_cli("response", events, "--listing", "--subjects", subjects, "--format", "csv"))
    assert listing.columns == ["USUBJID", "PARAMCD", "PARAM", "AVALC", "ADT", "ADY", "SRCDOM", "SRCSEQ", "cohort"]
    bor = {s: (v, c) for s, p, v, c in listing.select("USUBJID", "PARAMCD", "AVALC", "cohort").iter_rows()
           if p == "BOR"}  # fmt: skip
    assert bor == {"A": ("CR", "X"), "B": ("NR", "X"), "C": ("CRi", "Y"), "D": ("PR", None)}


def test_cuminc_per_cohort_and_the_dataset_with_covariates(files):
    events, subjects = files
    summary = _csv(run_cli("cuminc", events, "--subjects", subjects, "--by", "cohort", "--format", "csv"))
    # the remission population is A (cohort X, censored) and C (cohort Y, relapse on day 100)
    cells = {(g, c): (int(n), int(e)) for g, c, n, e in summary.select("group", "cause", "N", "events").iter_rows()}
    assert cells == {("X", "relapse"): (1, 0), ("X", "nrm"): (1, 0), ("Y", "relapse"): (1, 1), ("Y", "nrm"): (1, 0)}
    dataset = _csv(run_cli("cuminc", events, "--dataset", "--subjects", subjects, "--format", "csv"))
    assert dataset.columns[-1] == "cohort" and dataset.columns[:10] == [
        "USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR", "EVENT", "EVNTDESC", "SRCDOM", "SRCSEQ"]
    # C: from the CRi on 2024-01-29 to the relapse on 2024-04-10: AVAL = 72 + 1 = 73
    assert dataset.select("USUBJID", "EVENT", "AVAL", "cohort").rows() == [("A", "0", "125", "X"), ("C", "1", "73", "Y")]


def test_cuminc_tests_writes_grays_test_per_cause_and_needs_by(files):
    events, subjects = files
    tests = _csv(run_cli("cuminc", events, "--subjects", subjects, "--by", "cohort", "--tests", "--format", "csv"))
    assert tests.columns == ["cause", "statistic", "df", "p_value"]
    assert tests.get_column("cause").to_list() == ["relapse", "nrm"]
    missing_by = run_cli("cuminc", events, "--tests")
    assert missing_by.exit_code == 2 and "--tests needs --by" in missing_by.stderr


def test_safety_per_cohort_then_total_equal_to_the_plain_summary(files):
    events, subjects = files
    split = _csv(run_cli("safety", events, "--subjects", subjects, "--by", "cohort", "--format", "csv"))
    assert list(dict.fromkeys(split.get_column("group"))) == ["(missing)", "X", "Y", "Total"]
    plain = _csv(run_cli("safety", events, "--format", "csv"))
    assert split.filter(pl.col("group") == "Total").drop("group").equals(plain)
    infused = {g: n for g, t, i, s, n in split.select("group", "table", "item", "statistic", "N").iter_rows()
               if t == "syndrome" and i == "CRS" and s == "n_any"}  # fmt: skip
    assert infused == {"(missing)": "1", "X": "2", "Y": "1", "Total": "4"}


@pytest.mark.parametrize("command", ["response", "cuminc", "safety"])
def test_by_a_column_that_does_not_exist_names_the_columns_that_do(files, command):
    events, subjects = files
    result = run_cli(command, events, "--subjects", subjects, "--by", "dose")
    assert result.exit_code == 2
    assert "dose" in result.stderr and "cohort" in result.stderr


@pytest.mark.parametrize("command", ["response", "safety", "teae"])
def test_a_group_named_total_is_refused_where_total_is_the_whole_trial(write_csv, tmp_path, command):
    subjects = tmp_path / "subjects.csv"
    subjects.write_text("subject_id,cohort\nA,Total\nB,X\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    result = run_cli(command, write_csv(trial()), "--subjects", subjects, "--by", "cohort", "-o", target)
    assert result.exit_code == 2 and not target.exists()
    assert "a value of --by is 'Total'" in result.stderr
