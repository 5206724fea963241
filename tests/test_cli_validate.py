"""``cart19 validate``: output formats, exit statuses and streams (cli.md)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, run_process

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "events.csv"
H = "subject_id,event,date,end_date,grade,term,soc,serious,related,result"
VALID = (H + "\nS1,infusion,2024-01-10,,,,,,,\nS1,ae,2024-01,,2,Nausea,,,,\nS2,enrolled,2024-01-02,,,,,,,\n").encode()


def test_valid_file_table_summary_on_stdout(write_bytes):
    result = run_cli("validate", write_bytes(VALID), "--format", "table")
    assert result.exit_code == 0
    assert "valid (3 records)" in result.stdout
    assert "infused subjects" in result.stdout
    assert result.stderr == "warning: 1 subject(s) without an infusion are outside the treated set and in no endpoint: S2\n"


def test_the_untreated_warning_names_a_subject_as_written_on_stderr_and_in_json(write_bytes):
    """S[b] has records but no infusion: the warning names it as written, on standard error (a
    plain line, not rich markup: no backslash before the bracket) and in the JSON warnings."""
    path = write_bytes((H + "\nS[b],enrolled,2024-01-02,,,,,,,\nS2,infusion,2024-01-10,,,,,,,\n").encode())
    text = "1 subject(s) without an infusion are outside the treated set and in no endpoint: S[b]"
    assert run_cli("validate", path, "--format", "table").stderr == f"warning: {text}\n"
    document = json.loads(run_cli("validate", path, "--format", "json").stdout)
    assert [w["message"] for w in document["warnings"]] == [text]
    assert run_cli("check-dlt", path, "--format", "json").stderr == f"warning: {text}\n"


def test_valid_file_json_document(write_bytes):
    result = run_cli("validate", write_bytes(VALID), "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["valid"] is True and document["errors"] == []
    assert document["summary"] == {
        "records": 3, "subjects": 2, "infused_subjects": 1,
        "events_by_kind": {"enrolled": 1, "lymphodepletion": 0, "infusion": 1, "assessment": 0, "relapse": 0,
                           "ae": 1, "hsct": 0, "new_therapy": 0, "end_of_treatment": 0, "contact": 0, "death": 0,
                           "withdrawal": 0},
        "first_date": "2024-01-02", "last_date": "2024-01-10", "imputed_dates": 1,
    }  # fmt: skip


def test_piped_output_defaults_to_json(write_bytes):
    result = run_process("validate", write_bytes(VALID))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True


def test_warnings_go_to_stderr_and_quiet_silences_them(write_bytes):
    path = write_bytes(b"subject_id,event,date,site\nS1,infusion,2024-01-10,Paris\n")
    loud = run_cli("validate", path, "--format", "table")
    assert loud.exit_code == 0 and "warning:" in loud.stderr and "warning:" not in loud.stdout
    quiet = run_cli("validate", path, "--format", "table", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    document = json.loads(run_cli("validate", path, "--format", "json").stdout)
    assert [w["column"] for w in document["warnings"]] == ["site"]


def test_invalid_file_json_lists_every_error_and_exit_2(write_bytes):
    path = write_bytes((H + "\nS1,infusion,2024-02-30,,,,,,,\nS1,ae,2024-03-01,,9,,,,,\n").encode())
    result = run_cli("validate", path, "--format", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert [(e["line"], e["column"]) for e in document["errors"]] == [(2, "date"), (3, "grade"), (3, "term")]
    assert document["errors"][0]["value"] == "2024-02-30"


def test_invalid_file_on_a_terminal_shows_a_table_on_stderr(write_bytes):
    path = write_bytes((H + "\nS1,infusion,2024-02-30,,,,,,,\n").encode())
    result = run_cli("validate", path, env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1"})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "2024-02-30" in result.stderr and "not a real calendar date" in result.stderr


def test_an_unknown_format_is_a_usage_error(write_bytes):
    result = run_cli("validate", write_bytes(VALID), "--format", "xml")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_the_example_trial_is_valid():
    if not EXAMPLE.exists():  # pragma: no cover
        return
    result = run_cli("validate", EXAMPLE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["subjects"] >= 10


def test_a_subject_never_infused_is_counted_in_a_warning():
    import json

    from typer.testing import CliRunner

    from cart19.cli import app

    result = CliRunner().invoke(app, ["validate", "examples/events.csv", "--format", "json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    messages = [w["message"] for w in document["warnings"]]
    assert "1 subject(s) without an infusion are outside the treated set and in no endpoint: CART19-013" in messages
    assert document["summary"]["subjects"] == 15 and document["summary"]["infused_subjects"] == 14
