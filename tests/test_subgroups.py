"""Subject-level data (--subjects) and subgroups (--by): the subject file's checks, the
covariates in derive and check-dlt, and the split summaries of km, teae and check-dlt, each on a
timeline worked by hand (examples/README.md for the example trial's DLTs)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli, run_process

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "events.csv"
EXAMPLE_SUBJECTS = ROOT / "examples" / "subjects.csv"
TERMINAL = {"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "200"}


def subjects_file(tmp_path: Path, text: str, name: str = "subjects.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the subject file --------------------------------------------------------------------------


def test_every_problem_of_a_subject_file_is_listed_with_its_line_and_nothing_is_written(tmp_path):
    bad = subjects_file(tmp_path, "subject_id,cohort\nCART19-001,DL1\nCART19-002,DL2\nCART19-001,DL3\n,DL1\n")
    target = tmp_path / "adtte.csv"
    result = run_cli("derive", EXAMPLE, "--subjects", bad, "-o", target)
    assert result.exit_code == 2
    assert "line 4, column subject_id, value 'CART19-001': subject_id given twice (first on line 2)" in result.stderr
    assert "line 5, column subject_id" in result.stderr and "empty subject_id" in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("column", ["USUBJID", "aval", "PARAMCD", "status", "group"])
def test_a_covariate_named_like_an_output_column_is_an_error(tmp_path, column):
    bad = subjects_file(tmp_path, f"subject_id,{column}\nCART19-001,x\n")
    result = run_cli("derive", EXAMPLE, "--subjects", bad)
    assert result.exit_code == 2
    assert f"line 1, column {column}: an output column already has this name" in result.stderr


def test_a_subject_file_without_subject_id_is_an_error(tmp_path):
    result = run_cli("validate", EXAMPLE, "--subjects", subjects_file(tmp_path, "id,cohort\nA,1\n"), "--format", "json")
    assert result.exit_code == 2
    assert "no subject_id column" in json.loads(result.stdout)["errors"][0]["message"]


def test_subjects_in_one_file_only_are_named_in_warnings(tmp_path):
    rows = "".join(f"CART19-{i:03d},DL1\n" for i in (1, 2, 3)) + "X-9,DL2\nX-8,DL2\n"
    result = run_cli("validate", EXAMPLE, "--subjects", subjects_file(tmp_path, "subject_id,cohort\n" + rows))
    assert result.exit_code == 0
    warnings = [w["message"] for w in json.loads(result.stdout)["warnings"]]
    assert ("12 subject(s) of the event file are not in the subject file (their covariates are empty, group "
            "(missing)): CART19-004, CART19-005, CART19-006, CART19-007, CART19-008 and 7 more") in warnings
    assert "2 subject(s) of the subject file have no record in the event file: X-8, X-9" in warnings


def test_a_parquet_subject_file_is_read_as_text(tmp_path):
    path = tmp_path / "subjects.parquet"
    pl.DataFrame({"subject_id": ["CART19-001"], "dose": [3]}).write_parquet(path)
    result = run_cli("derive", EXAMPLE, "--subjects", path, "--quiet")
    assert result.exit_code == 0, result.stderr
    first = pl.read_csv(result.stdout.encode(), infer_schema=False).row(0, named=True)
    assert (first["USUBJID"], first["dose"]) == ("CART19-001", "3")


# --- covariates in the subject-level outputs ---------------------------------------------------


def test_derive_writes_the_covariates_verbatim_after_the_contract_columns(tmp_path):
    path = subjects_file(tmp_path, "subject_id,cohort,age\nCART19-001,DL1,007\nCART19-002, DL 2 ,\n")
    result = run_cli("derive", EXAMPLE, "--subjects", path, "--quiet")
    assert result.exit_code == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header == ("USUBJID,PARAMCD,PARAM,STARTDT,ADT,AVAL,AVALU,CNSR,EVNTDESC,CNSDTDSC,SRCDOM,SRCSEQ,ADTF,"
                      "cohort,age")  # fmt: skip
    by_subject = {row.split(",")[0]: row.split(",")[-2:] for row in rows}
    assert by_subject["CART19-001"] == ["DL1", "007"]  # text as written: 007 stays 007
    assert by_subject["CART19-002"] == [" DL 2 ", ""]
    assert by_subject["CART19-003"] == ["", ""]  # not in the subject file


def test_derive_then_km_by_cohort_through_a_pipe():
    derived = run_process("derive", EXAMPLE, "--subjects", EXAMPLE_SUBJECTS, "--quiet")
    assert derived.exit_code == 0, derived.stderr
    result = run_process("km", "-", "--by", "cohort", input=derived.stdout.encode())
    assert result.exit_code == 0, result.stderr
    summary = pl.read_csv(result.stdout.encode())
    assert summary.columns[0] == "group"
    os_n = summary.filter(pl.col("PARAMCD") == "OS").unique(["group"], maintain_order=True).select("group", "N")
    assert os_n.rows() == [("DL1", 5), ("DL2", 5), ("DL3", 4)]  # CART19-013 (DL3) was never infused


def test_check_dlt_subject_rows_carry_the_covariates(tmp_path):
    result = run_cli("check-dlt", EXAMPLE, "--subjects", EXAMPLE_SUBJECTS, "--quiet")
    review = json.loads(result.stdout)
    first = review["subjects"][0]
    assert list(first)[-4:] == ["cohort", "dose_level", "prior_hsct", "age_group"]
    assert (first["subject_id"], first["cohort"], first["age_group"]) == ("CART19-001", "DL1", "18-39")
    table = run_cli("check-dlt", EXAMPLE, "--subjects", EXAMPLE_SUBJECTS, "--format", "csv", "--quiet")
    assert table.stdout.splitlines()[0].endswith(",dlt_terms,dlt_rules,cohort,dose_level,prior_hsct,age_group")


# --- km --by -----------------------------------------------------------------------------------

ADTTE_HEADER = ["USUBJID", "PARAMCD", "AVAL", "CNSR", "cohort"]


def test_km_by_gives_each_group_its_own_curve(write_csv):
    # A: event day 10, censored day 20 -> S = 1/2 from day 10 on, flat: median midway 10..20 = 15.
    # B: events days 5 and 15 -> S = 1/2 then 0: median midway 5..15 = 10. (missing): one censored.
    path = write_csv(
        [["1", "OS", 10, 0, "A"], ["2", "OS", 20, 1, "A"], ["3", "OS", 5, 0, "B"], ["4", "OS", 15, 0, "B"],
         ["5", "OS", 30, 1, ""]],  # fmt: skip
        name="adtte.csv",
        header=ADTTE_HEADER,
    )
    result = run_cli("km", path, "--by", "COHORT", "--landmarks", "1")  # the name in any case
    assert result.exit_code == 0, result.stderr
    rows = pl.read_csv(result.stdout.encode()).select("group", "N", "events", "censored", "median").rows()
    assert rows == [("(missing)", 1, 0, 1, None), ("A", 2, 1, 1, 15.0), ("B", 2, 2, 0, 10.0)]


def test_km_by_an_unknown_column_lists_the_columns(write_csv):
    path = write_csv([["1", "OS", 10, 0, "A"]], name="adtte.csv", header=ADTTE_HEADER)
    result = run_cli("km", path, "--by", "arm")
    assert result.exit_code == 2
    assert "--by 'arm' is not a column of the ADTTE table; its columns: USUBJID, PARAMCD, AVAL, CNSR, cohort" in result.stderr


def test_km_reads_only_the_columns_it_needs(write_csv):
    # a broken date in a column km does not read changes nothing
    path = write_csv([["1", "OS", 10, 0, "A", "not a date"]], name="adtte.csv", header=[*ADTTE_HEADER, "ADT"])
    result = run_cli("km", path, "--landmarks", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("OS,1,1,0,")


# --- teae --by ---------------------------------------------------------------------------------

TEAE_EVENTS = [
    {"subject_id": "S1", "event": "infusion", "date": "2024-01-01"},
    {"subject_id": "S1", "event": "ae", "date": "2024-01-05", "grade": 3, "term": "Nausea",
     "soc": "Gastrointestinal disorders", "serious": "N", "related": "Y"},
    {"subject_id": "S2", "event": "infusion", "date": "2024-01-01"},
    {"subject_id": "S2", "event": "ae", "date": "2024-01-03", "grade": 1, "term": "Fatigue",
     "soc": "General disorders", "serious": "N", "related": "N"},
    {"subject_id": "S3", "event": "infusion", "date": "2024-01-01"},
    {"subject_id": "S4", "event": "infusion", "date": "2024-01-01"},
    {"subject_id": "S4", "event": "ae", "date": "2024-01-02", "grade": 2, "term": "Nausea",
     "soc": "Gastrointestinal disorders", "serious": "Y", "related": "N"},
    {"subject_id": "S5", "event": "infusion", "date": "2024-01-01"},
]  # fmt: skip
# S1 in A; S2 and S3 in B; level C has only X9, who has no record; S5 (no AE) alone in D;
# S4 is not in the file
TEAE_SUBJECTS = "subject_id,cohort\nS1,A\nS2,B\nS3,B\nX9,C\nS5,D\n"


def test_teae_by_cohort_blocks_per_group_then_the_total(write_csv, tmp_path):
    events = write_csv(TEAE_EVENTS)
    result = run_cli("teae", events, "--subjects", subjects_file(tmp_path, TEAE_SUBJECTS), "--by", "cohort")
    assert result.exit_code == 0, result.stderr
    tables = pl.read_csv(result.stdout.encode(), infer_schema=False)
    assert tables.columns == ["group", "table", "soc", "term", "grade", "n", "N", "percent"]
    assert tables["group"].unique(maintain_order=True).to_list() == ["(missing)", "A", "B", "C", "D", "Total"]
    overall = tables.filter((pl.col("table") == "overall") & (pl.col("grade") == "any"))
    assert overall.select("group", "n", "N", "percent").rows() == [
        ("(missing)", "1", "1", "100.0"),  # S4
        ("A", "1", "1", "100.0"),  # S1
        ("B", "1", "2", "50.0"),  # S2 of S2, S3
        ("C", "0", "0", None),  # no subject with a record: an empty group
        ("D", "0", "1", "0.0"),  # a subject, no AE
        ("Total", "3", "5", "60.0"),
    ]
    serious = tables.filter((pl.col("table") == "serious") & (pl.col("grade") == "any"))
    assert serious.select("group", "n").rows() == [("(missing)", "1"), ("A", "0"), ("B", "0"), ("C", "0"), ("D", "0"),
                                                   ("Total", "1")]  # fmt: skip
    socs = tables.filter((pl.col("table") == "soc") & (pl.col("grade") == "any")).select("group", "soc", "n")
    assert socs.rows() == [
        ("(missing)", "Gastrointestinal disorders", "1"),
        ("A", "Gastrointestinal disorders", "1"),
        ("B", "General disorders", "1"),
        ("Total", "Gastrointestinal disorders", "2"),
        ("Total", "General disorders", "1"),
    ]
    a_grades = tables.filter((pl.col("group") == "A") & (pl.col("table") == "overall")).select("grade", "n").rows()
    assert a_grades == [("any", "1"), (">=3", "1"), ("1", "0"), ("2", "0"), ("3", "1"), ("4", "0"), ("5", "0")]


def test_teae_by_on_a_terminal_has_a_column_per_group(write_csv, tmp_path):
    events = write_csv(TEAE_EVENTS)
    result = run_cli("teae", events, "--subjects", subjects_file(tmp_path, TEAE_SUBJECTS), "--by", "cohort", env=TERMINAL)
    assert result.exit_code == 0, result.stderr
    assert "TEAEs by cohort, any grade" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "Any TEAE" in line)
    assert [cell.strip() for cell in line.strip("│ ").split("│")][1:] == [
        "1 (100.0%)", "1 (100.0%)", "1 (50.0%)", "0", "0 (0.0%)", "3 (60.0%)"]  # fmt: skip


def test_by_without_subjects_or_with_an_unknown_column_is_a_clear_error(write_csv, tmp_path):
    events = write_csv(TEAE_EVENTS)
    alone = run_cli("teae", events, "--by", "cohort")
    assert alone.exit_code == 2 and "give --subjects FILE" in alone.stderr
    unknown = run_cli("teae", events, "--subjects", subjects_file(tmp_path, TEAE_SUBJECTS), "--by", "dose")
    assert unknown.exit_code == 2
    assert "--by 'dose' is not a column of the subject file; its columns: cohort" in unknown.stderr


# --- check-dlt --by ----------------------------------------------------------------------------


def test_check_dlt_by_cohort_rule_met_in_one_cohort_exits_3(tmp_path):
    # the example's DLTs: CART19-004, -005 (both in A here) and -008; CART19-014 not evaluable;
    # CART19-013 never infused. A: 2/2 -> P(rate > 0.3 | Beta(3, 1)) = 1 - 0.3^3 = 0.973 > 0.8.
    ids = [f"CART19-{i:03d}" for i in (1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 15)]
    text = "subject_id,cohort\nCART19-004,A\nCART19-005,A\n" + "".join(f"{i},B\n" for i in ids) + "X-99,C\n"
    result = run_cli("check-dlt", EXAMPLE, "--subjects", subjects_file(tmp_path, text), "--by", "cohort")
    assert result.exit_code == 3, result.stderr
    review = json.loads(result.stdout)
    assert review["stopping_rule_met"] is False  # overall 3/13: 0.355
    assert review["stopping_rule_met_groups"] == ["A"]
    assert "the stopping rule is met in 1 group(s) of cohort: A" in result.stderr
    groups = {g["group"]: g for g in review["groups"]}
    assert list(groups) == ["(missing)", "A", "B", "C"]
    a = groups["A"]
    assert (a["treated"], a["evaluable"], a["dlt"], a["rate"]) == (2, 2, 2, 1.0)
    assert a["ci_low"] == pytest.approx(0.025**0.5) and a["ci_high"] == 1.0  # exact: (alpha/2)^(1/n)
    assert a["posterior_probability"] == pytest.approx(1 - 0.3**3)
    assert a["stopping_rule_met"] is True
    b = groups["B"]
    assert (b["treated"], b["evaluable"], b["dlt"], b["no_dlt"]) == (11, 11, 1, 10)
    missing = groups["(missing)"]  # CART19-014, not evaluable
    assert (missing["treated"], missing["evaluable"], missing["rate"], missing["not_evaluable"]) == (1, 0, None, 1)
    assert missing["posterior_probability"] == pytest.approx(0.7)  # the prior alone: P(p > 0.3 | Beta(1, 1))
    c = groups["C"]  # a level with no subject in the event file
    assert (c["treated"], c["evaluable"], c["ci_low"], c["stopping_rule_met"]) == (0, 0, None, False)


def test_check_dlt_by_on_a_terminal_says_which_cohort(tmp_path):
    text = "subject_id,cohort\nCART19-004,A\nCART19-005,A\n"
    result = run_cli("check-dlt", EXAMPLE, "--subjects", subjects_file(tmp_path, text), "--by", "cohort", "--quiet",
                     env=TERMINAL)  # fmt: skip
    assert result.exit_code == 3
    assert "A: 2 treated, DLT 2/2 evaluable = 100.0%" in result.stdout
    assert "Stopping rule met in: A" in result.stdout


def test_example_cohorts_split_the_example_review():
    result = run_cli("check-dlt", EXAMPLE, "--subjects", EXAMPLE_SUBJECTS, "--by", "cohort", "--quiet")
    assert result.exit_code == 0
    groups = [(g["group"], g["treated"], g["evaluable"], g["dlt"]) for g in json.loads(result.stdout)["groups"]]
    assert groups == [("DL1", 5, 5, 2), ("DL2", 5, 5, 1), ("DL3", 4, 3, 0)]


def test_a_covariate_value_named_total_is_refused_by_teae_by(write_csv, tmp_path):
    events = write_csv(TEAE_EVENTS)
    result = run_cli("teae", events, "--subjects", subjects_file(tmp_path, "subject_id,arm\nS1,Total\n"), "--by", "arm")
    assert result.exit_code == 2
    assert "'Total', the name of the whole trial's block" in result.stderr


def test_km_by_on_a_terminal_shows_the_groups_and_the_log_rank_table(write_csv):
    path = write_csv([["1", "OS", 1, 0, "A"], ["2", "OS", 2, 0, "[red]B"]], name="adtte.csv", header=ADTTE_HEADER)
    result = run_cli("km", path, "--by", "cohort", env=TERMINAL)
    assert result.exit_code == 0, result.stderr
    assert "[red]B" in result.stdout  # data shown as text, not read as markup
    assert "Log-rank test" in result.stdout and "│ OS        │      1.000 │  1 │  0.3173 │" in result.stdout


def test_a_repeated_or_empty_column_name_and_a_ragged_line_are_named(tmp_path):
    header = run_cli("derive", EXAMPLE, "--subjects", subjects_file(tmp_path, "subject_id,,cohort,cohort\nA,1,2,3\n"))
    assert header.exit_code == 2
    assert "line 1, column cohort: this column name appears more than once in the header" in header.stderr
    assert "line 1: column 2 has no name" in header.stderr
    ragged = run_cli("derive", EXAMPLE, "--subjects", subjects_file(tmp_path, "subject_id,cohort\nA,1\nB,1,2\n"))
    assert ragged.exit_code == 2
    assert "line 3: 3 cells where the header has 2" in ragged.stderr
