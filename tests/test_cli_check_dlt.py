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


# --- the JSON document: the JSON library's, from the review's data ---------------------------

EVENTS_3 = """subject_id,event,date,end_date,grade,term,soc,serious,related,result
S-01,infusion,2024-01-01,,,,,,,
S-01,ae,2024-01-04,2024-01-06,4,Insuffisance rénale aiguë,Renal and urinary disorders,Y,Y,
S-01,contact,2024-03-01,,,,,,,
S-02,infusion,2024-01-01,,,,,,,
S-02,contact,2024-03-01,,,,,,,
S-03,infusion,2024-02-20,,,,,,,
S-03,contact,2024-02-25,,,,,,,
"""
#: S-01's cohort holds a double quote and a backslash (CSV doubles the quote)
SUBJECTS_3 = 'subject_id,cohort\nS-01,"Dose ""A"" 1\\2"\nS-02,Dose B\nS-03,Dose B\n'
DOSE_A = 'Dose "A" 1\\2'


def test_three_subjects_json_document_is_json_dumps_of_the_hand_worked_review(tmp_path):
    """S-01: grade 4 acute kidney injury (a French term) on day 3, a DLT by nonhaem_grade4; S-02
    followed to day 60 with no AE: no_dlt; S-03 infused 2024-02-20 and reviewed on 2024-03-01
    (the latest date): day 10 of 28. Evaluable 2, DLT 1: rate 1/2, exact 95% CI
    [1 - sqrt(0.975), sqrt(0.975)], P(rate > 0.3 | Beta(2, 2)) = 1 - (3 * 0.3^2 - 2 * 0.3^3) = 0.784.
    By cohort: Dose "A" 1\\2 has 1/1 (CI [0.025, 1], P(rate > 0.3 | Beta(2, 1)) = 1 - 0.3^2 =
    0.91 > 0.8: met, exit 3); Dose B 0/1 (CI [0, 0.975], P = 0.7^2 = 0.49).

    The file is the standard library's ``json.dumps(data, indent=2, ensure_ascii=False)`` and a
    newline, byte for byte, but for the subject rows: each is one line, compact, indented by four
    spaces; the term as UTF-8, the quote and backslash escaped."""
    events, subjects, target = tmp_path / "events.csv", tmp_path / "subjects.csv", tmp_path / "review.json"
    events.write_text(EVENTS_3, encoding="utf-8")
    subjects.write_text(SUBJECTS_3, encoding="utf-8")
    result = run_cli("check-dlt", events, "--subjects", subjects, "--by", "cohort", "-o", target)
    assert result.exit_code == 3, result.stderr

    document = target.read_bytes()
    data = json.loads(document)
    assert document == _indented_with_subject_lines(data)
    assert "Insuffisance rénale aiguë".encode() in document
    assert b'"cohort":"Dose \\"A\\" 1\\\\2"' in document
    assert document.count(b"\n") == len(_indented_with_subject_lines({**data, "subjects": []}).splitlines()) + 4

    no_dlt = {"dlt_terms": [], "dlt_rules": [], "dlt_events": []}
    assert data["subjects"] == [
        {"subject_id": "S-01", "status": "dlt", "dlt_terms": ["Insuffisance rénale aiguë"],
         "window_end": "2024-01-29", "infusion_date": "2024-01-01", "reason": "DLT: Insuffisance rénale aiguë",
         "window_day": None, "dlt_rules": ["nonhaem_grade4"],
         "dlt_events": [{"line": 3, "term": "Insuffisance rénale aiguë", "grade": 4, "study_day": 3,
                         "end_date": "2024-01-06", "rules": ["nonhaem_grade4"]}],
         "cohort": DOSE_A},
        {"subject_id": "S-02", "status": "no_dlt", **no_dlt, "window_end": "2024-01-29",
         "infusion_date": "2024-01-01", "reason": "followed through day 28 without a DLT", "window_day": None,
         "cohort": "Dose B"},
        {"subject_id": "S-03", "status": "in_window", **no_dlt, "window_end": "2024-03-19",
         "infusion_date": "2024-02-20", "reason": "day 10 of 28", "window_day": 10, "cohort": "Dose B"},
    ]  # fmt: skip
    assert list(data["subjects"][1]) == list(data["subjects"][0])  # every row in the same key order
    assert data["review_date"] == "2024-03-01"
    assert (data["treated"], data["evaluable"], data["dlt"], data["set_aside"], data["warnings"]) == (3, 2, 1, 0, [])
    assert data["status_counts"] == {"dlt": 1, "no_dlt": 1, "in_window": 1, "not_evaluable": 0}
    assert (data["rate"], data["ci_low"], data["ci_high"], data["posterior_probability"]) == pytest.approx(
        (0.5, 1 - 0.975**0.5, 0.975**0.5, 0.784)
    )
    assert data["stopping_rule_met"] is False
    groups = {g.pop("group"): g for g in data["groups"]}
    assert list(groups) == [DOSE_A, "Dose B"]
    assert groups[DOSE_A] == {"treated": 1, "evaluable": 1, "dlt": 1, "rate": 1.0, "ci_low": pytest.approx(0.025),
                              "ci_high": 1.0, "posterior_probability": pytest.approx(0.91),
                              "stopping_rule_met": True, "no_dlt": 0, "in_window": 0, "not_evaluable": 0}  # fmt: skip
    assert groups["Dose B"] == {"treated": 2, "evaluable": 1, "dlt": 0, "rate": 0.0, "ci_low": 0.0,
                                "ci_high": pytest.approx(0.975), "posterior_probability": pytest.approx(0.49),
                                "stopping_rule_met": False, "no_dlt": 1, "in_window": 1, "not_evaluable": 0}  # fmt: skip
    assert data["stopping_rule_met_groups"] == [DOSE_A]


def _indented_with_subject_lines(data: dict) -> bytes:
    """``json.dumps(data, indent=2, ensure_ascii=False)`` and a newline, but for ``subjects``:
    one compact object per line, indented by four spaces."""
    rows = ",\n".join("    " + json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in data["subjects"])
    subjects = f"[\n{rows}\n  ]" if rows else "[]"
    placeholder = {**data, "subjects": "SUBJECT ROWS"}
    return (json.dumps(placeholder, indent=2, ensure_ascii=False) + "\n").replace('"SUBJECT ROWS"', subjects).encode()


def test_the_json_document_is_the_review_data_written_by_the_json_library(tmp_path):
    """In process: the bytes are the JSON library's writing of ``to_json_dict()``, and they read
    back as that same dict."""
    from cart19.config import Config
    from cart19.engine.dlt import dlt_review
    from cart19.io.read import read_events
    from cart19.io.write import json_document

    path = tmp_path / "events.csv"
    path.write_text(EVENTS_3, encoding="utf-8")
    review = dlt_review(read_events(path).events, Config())
    data = review.to_json_dict()
    document = json_document(data)
    assert document == (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    assert json.loads(document) == data
    assert [s["status"] for s in data["subjects"]] == ["dlt", "no_dlt", "in_window"]
    # the subject rows as a frame (what check-dlt writes): polars writes them, one per line,
    # and they read back as the same dicts, in the same key order
    framed = json_document(review.to_json_dict(subjects_as_frame=True))
    assert framed == _indented_with_subject_lines(data)
    assert json.loads(framed) == data
    assert [list(row) for row in json.loads(framed)["subjects"]] == [list(row) for row in data["subjects"]]


def test_json_document_writes_a_frame_as_its_rows_one_per_line():
    """A polars frame among the values: the array of its rows, each ``to_dicts()``'s object,
    written by polars one per line; text as UTF-8 with JSON's escapes (a quote, a backslash, a
    carriage return and a line break, a control character), a line separator U+2028 left as it is (it is no line
    break of the document), nulls, nested lists and structs; an empty frame is ``[]``."""
    import polars as pl

    from cart19.io.write import json_document

    frame = pl.DataFrame({"id": ['é "q" \\', "a\r\nb\t\x01\u2028", None], "n": [1, None, 3],
                          "rules": [["x"], [], None]}).with_columns(pair=pl.struct("n", "id"))  # fmt: skip
    document = json_document({"before": 1, "rows": frame, "empty": frame.clear(), "after": [2]})
    assert document == (
        b'{\n  "before": 1,\n  "rows": [\n'
        b'    {"id":"\xc3\xa9 \\"q\\" \\\\","n":1,"rules":["x"],"pair":{"n":1,"id":"\xc3\xa9 \\"q\\" \\\\"}},\n'
        b'    {"id":"a\\r\\nb\\t\\u0001\xe2\x80\xa8","n":null,"rules":[],"pair":{"n":null,"id":"a\\r\\nb\\t\\u0001\xe2\x80\xa8"}},\n'
        b'    {"id":null,"n":3,"rules":null,"pair":{"n":3,"id":null}}\n'
        b'  ],\n  "empty": [],\n  "after": [\n    2\n  ]\n}\n'
    )
    assert json.loads(document)["rows"] == frame.to_dicts()


def test_json_document_spells_tiny_floats_as_orjson_does_the_same_numbers():
    """The one deliberate difference from ``json.dumps``: a float below 1e-4 is spelt without
    a zero-padded exponent (2.5e-7, not 2.5e-07) or in full (0.00009, not 9e-05); it reads back
    as the same number."""
    from cart19.io.write import json_document

    document = json_document({"ci_low": 2.5e-07, "rate": 9e-05, "posterior_probability": 0.784})
    assert document == b'{\n  "ci_low": 2.5e-7,\n  "rate": 0.00009,\n  "posterior_probability": 0.784\n}\n'
    assert json.loads(document) == {"ci_low": 2.5e-07, "rate": 9e-05, "posterior_probability": 0.784}
