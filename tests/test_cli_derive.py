"""``cart19 derive``: the CLI contract of cli.md (formats, -o, terminal summary, exit statuses)."""

from __future__ import annotations

import io
import json

import polars as pl

from conftest import run_cli

from cart19.engine.tte import ADTTE_COLUMNS

CONTRACT_HEADER = "USUBJID,PARAMCD,PARAM,STARTDT,ADT,AVAL,AVALU,CNSR,EVNTDESC,CNSDTDSC,SRCDOM,SRCSEQ,ADTF"

ROWS = [
    {"subject_id": "P1", "event": "infusion", "date": "2024-01-01"},                       # line 2
    {"subject_id": "P1", "event": "assessment", "date": "2024-01-29", "result": "CR"},     # 3
    {"subject_id": "P1", "event": "relapse", "date": "2024-05-01", "result": "hematologic"},  # 4
    {"subject_id": "P1", "event": "death", "date": "2024-06", "result": "disease"},        # 5, partial
    {"subject_id": "P2", "event": "infusion", "date": "2024-01-01"},                       # 6
    {"subject_id": "P2", "event": "assessment", "date": "2024-01-29", "result": "NR"},     # 7
    {"subject_id": "P2", "event": "assessment", "date": "2024-02-26", "result": "NR"},     # 8
    {"subject_id": "P2", "event": "contact", "date": "2024-07-01"},                        # 9
    {"subject_id": "P3", "event": "enrolled", "date": "2024-01-01"},                       # 10: untreated
]


def test_csv_on_standard_output_follows_the_column_contract(write_csv):
    result = run_cli("derive", write_csv(ROWS))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == CONTRACT_HEADER
    assert len(lines) == 1 + 7 + 5  # P1: OS, EFS x4, DOR, RFS; P2: OS, EFS x4
    assert lines[1] == "P1,OS,Overall Survival (days),2024-01-01,2024-06-01,153,DAYS,0,Death (disease),,death,5,D"
    assert lines[6] == "P1,DOR,Duration of Remission (days),2024-01-29,2024-05-01,94,DAYS,0,Relapse (hematologic),,relapse,4,"
    assert lines[7] == "P1,RFS,Relapse-Free Survival (days),2024-01-29,2024-05-01,94,DAYS,0,Relapse (hematologic),,relapse,4,"
    assert lines[8] == "P2,OS,Overall Survival (days),2024-01-01,2024-07-01,183,DAYS,1,,Last known alive,contact,9,"
    assert "without an infusion" in result.stderr


def test_json_lines_have_one_object_per_row(write_csv):
    result = run_cli("derive", write_csv(ROWS), "--format", "json")
    assert result.exit_code == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 12
    assert list(objects[0]) == list(ADTTE_COLUMNS)
    assert objects[2] == {
        "USUBJID": "P1", "PARAMCD": "EFSS1", "PARAM": "Event-Free Survival, Failure at Actual Date (days)",
        "STARTDT": "2024-01-01", "ADT": "2024-05-01", "AVAL": 122, "AVALU": "DAYS", "CNSR": 0,
        "EVNTDESC": "Relapse (hematologic)", "CNSDTDSC": None, "SRCDOM": "relapse", "SRCSEQ": 4, "ADTF": None,
    }


def test_output_file_format_follows_its_extension(write_csv, tmp_path):
    target = tmp_path / "adtte.parquet"
    result = run_cli("derive", write_csv(ROWS), "-o", target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    frame = pl.read_parquet(target)
    assert tuple(frame.columns) == ADTTE_COLUMNS
    assert frame.height == 12
    assert frame.filter(pl.col("USUBJID") == "P2", pl.col("PARAMCD") == "EFSS1").row(0, named=True)["AVAL"] == 57


def test_cutoff_sets_records_aside_with_a_warning(write_csv):
    result = run_cli("derive", write_csv(ROWS), "--cutoff", "2024-03-31")
    assert result.exit_code == 0, result.stderr
    frame = pl.read_csv(io.StringIO(result.stdout))
    os_p1 = frame.filter(pl.col("USUBJID") == "P1", pl.col("PARAMCD") == "OS").row(0, named=True)
    assert (os_p1["ADT"], os_p1["CNSR"]) == ("2024-01-29", 1)
    assert "after the cutoff" in result.stderr


def test_terminal_shows_a_summary_per_parameter_and_where_the_dataset_went(write_csv, tmp_path):
    target = tmp_path / "adtte.csv"
    result = run_cli("derive", write_csv(ROWS), "-o", target, env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    for code in ("OS", "EFS", "EFSS1", "EFSS2", "EFSS3", "DOR", "RFS"):
        assert code in result.stdout
    assert "written to" in result.stdout and "adtte.csv" in result.stdout.replace("\n", "")
    assert target.read_text().splitlines()[0] == CONTRACT_HEADER


def test_terminal_without_output_file_says_the_dataset_was_not_written(write_csv):
    result = run_cli("derive", write_csv(ROWS), env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    assert "not written" in result.stdout
    assert CONTRACT_HEADER not in result.stdout


def test_invalid_input_exits_2_and_writes_nothing(write_csv, tmp_path):
    target = tmp_path / "adtte.csv"
    bad = [*ROWS, {"subject_id": "P2", "event": "assessment", "date": "2024-02-30", "result": "CR"}]
    result = run_cli("derive", write_csv(bad), "-o", target)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert not target.exists()
    assert "2024-02-30" in result.stderr
