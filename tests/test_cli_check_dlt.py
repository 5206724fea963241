"""``cart19 check-dlt``: the JSON contract of cli.md, --as-of, and exit status 3 when the stopping
rule is met, checked against the hand-worked DLT review of examples/README.md."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli, run_process

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "events.csv"
EXAMPLE_CONFIG = ROOT / "examples" / "cart19.toml"
TERMINAL = {"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "160"}


def test_example_review_matches_the_hand_worked_one():
    result = run_cli("check-dlt", EXAMPLE)  # piped: the JSON object
    assert result.exit_code == 0, result.stderr
    review = json.loads(result.stdout)
    statuses = {s["subject_id"]: s["status"] for s in review["subjects"]}
    assert statuses == {
        **{f"CART19-{i:03d}": "no_dlt" for i in (1, 2, 3, 6, 7, 9, 10, 11, 12, 15)},
        "CART19-004": "dlt",
        "CART19-005": "dlt",
        "CART19-008": "dlt",
        "CART19-014": "not_evaluable",
    }
    rules = {s["subject_id"]: s["dlt_rules"] for s in review["subjects"] if s["status"] == "dlt"}
    assert rules == {
        "CART19-004": ["crs_grade3_over_3d"],
        "CART19-005": ["cytopenia_grade4_unresolved_day28"],
        "CART19-008": ["acute_gvhd_grade3"],
    }
    assert review["review_date"] == "2025-10-26"
    assert (review["evaluable"], review["dlt"]) == (13, 3)
    assert review["rate"] == pytest.approx(3 / 13)
    assert round(review["ci_low"], 3) == 0.050 and round(review["ci_high"], 3) == 0.538
    assert round(review["posterior_probability"], 3) == 0.355
    assert review["stopping_rule_met"] is False


def test_a_stricter_stopping_rule_is_met_and_exits_3():
    result = run_cli("check-dlt", EXAMPLE, "--config", EXAMPLE_CONFIG)
    assert result.exit_code == 3, result.stderr
    review = json.loads(result.stdout)
    assert round(review["posterior_probability"], 3) == 0.698  # P(rate > 0.20 | Beta(4, 11))
    assert review["stopping_rule_met"] is True


def test_exit_status_3_through_the_real_entry_point_and_output_still_written(tmp_path):
    target = tmp_path / "review.json"
    result = run_process("check-dlt", EXAMPLE, "--config", EXAMPLE_CONFIG, "-o", target, "--quiet")
    assert result.exit_code == 3
    assert json.loads(target.read_text())["stopping_rule_met"] is True


def test_as_of_a_meeting_date_puts_a_subject_in_window():
    # CART19-014 was infused 2024-10-22; on 2024-11-05 it is day 14 of 28 (its death on d21 is
    # after the review date and set aside)
    result = run_cli("check-dlt", EXAMPLE, "--as-of", "2024-11-05", "--format", "json")
    assert result.exit_code == 0, result.stderr
    review = json.loads(result.stdout)
    subject = next(s for s in review["subjects"] if s["subject_id"] == "CART19-014")
    assert (subject["status"], subject["reason"], subject["window_day"]) == ("in_window", "day 14 of 28", 14)
    assert {s["subject_id"] for s in review["subjects"]} == {f"CART19-{i:03d}" for i in range(1, 15) if i != 13}
    assert "set aside" in result.stderr


def test_as_of_defaults_to_the_cutoff():
    result = run_cli("check-dlt", EXAMPLE, "--cutoff", "2024-11-05")
    review = json.loads(result.stdout)
    assert review["review_date"] == "2024-11-05"


def test_csv_has_one_row_per_subject():
    result = run_cli("check-dlt", EXAMPLE, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    frame = pl.read_csv(io.StringIO(result.stdout))
    assert frame.columns[:3] == ["subject_id", "status", "reason"]
    assert frame.filter(pl.col("subject_id") == "CART19-008").row(0, named=True)["dlt_rules"] == "acute_gvhd_grade3"


def test_terminal_shows_each_subject_the_rate_and_the_verdict():
    result = run_cli("check-dlt", EXAMPLE, env=TERMINAL)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "CART19-014" in out and "died on day 21 (disease) without a DLT" in out
    assert "crs_grade3_over_3d" in out
    assert "DLT rate: 3/13 evaluable = 23.1% (exact 95% CI 5.0% to 53.8%)" in out
    assert "P(DLT rate > 0.3) = 0.355" in out and "not met" in out


def test_safety_warnings_go_to_standard_error(write_csv):
    rows = [
        {"subject_id": "S1", "event": "infusion", "date": "2024-01-01"},
        {"subject_id": "S1", "event": "death", "date": "2024-01-10", "result": "toxicity"},
    ]
    result = run_cli("check-dlt", write_csv(rows))
    assert result.exit_code == 0, result.stderr
    assert "death of toxicity on day 9" in result.stderr
    assert json.loads(result.stdout)["warnings"] == [
        "S1: death of toxicity on day 9 (in the DLT window) with no grade 5 AE recorded; check the AE records"
    ]


def test_a_bad_as_of_date_is_a_usage_error():
    result = run_cli("check-dlt", EXAMPLE, "--as-of", "2024-13-01")
    assert result.exit_code == 2


def test_safety_warnings_on_stderr_are_capped_but_json_keeps_them_all(tmp_path):
    """25 subjects whose grade 4 neutropenia is unassessable (death on day 5): 25 warnings in
    the JSON, 20 on standard error and one line counting the other 5."""
    import json

    from typer.testing import CliRunner

    from cart19.cli import app

    lines = ["subject_id,event,date,end_date,grade,term,soc,serious,related,result"]
    for i in range(25):
        s = f"S{i:02d}"
        lines += [f"{s},infusion,2024-01-01,,,,,,,",
                  f"{s},ae,2024-01-02,,4,Neutrophil count decreased,Investigations,N,Y,",
                  f"{s},death,2024-01-06,,,,,,,disease"]  # fmt: skip
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check-dlt", str(path), "--format", "json"])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["warnings"]) == 25
    printed = [line for line in result.stderr.splitlines() if line.startswith("warning: S")]
    assert len(printed) == 20
    assert "warning: ... and 5 more safety warnings (--format json lists them all)" in result.stderr.splitlines()
