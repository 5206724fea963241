"""Terminal polish: every command's --help keeps its examples one per line, usage lines name
their arguments plainly, warnings name the subjects they count, and a header without records
is a warning."""

from __future__ import annotations

import re

import pytest
from conftest import run_cli

COMMANDS = [
    [], ["validate"], ["events"], ["derive"], ["adam"], ["km"], ["response"], ["cuminc"], ["teae"], ["check-dlt"],
    ["safety"], ["simulate"], ["tables"], ["config"], ["plot"], ["plot", "swimmer"], ["plot", "km"],
    ["plot", "cuminc"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "cart19")
def test_help_has_examples_each_on_its_own_line_and_a_plain_usage_line(command):
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    usage = next(line for line in lines if line.startswith("Usage:"))
    assert "{" not in usage and "}" not in usage, usage
    examples = [line for line in lines if re.match(r"^\s+cart19 \S", line)]
    assert len(examples) >= 2, result.stdout
    for line in examples:  # one example a line: a second `cart19` only after a pipe
        assert line.count("cart19 ") == 1 or "| cart19 " in line, line


def test_km_argument_is_an_adtte_table():
    out = run_cli("km", "--help").stdout
    assert "Usage: cart19 km [OPTIONS] ADTTE" in out.replace("python -m cart19", "cart19")
    assert "ADTTE table" in out.split("Arguments:")[1]


def test_check_dlt_states_its_piped_format_once():
    out = run_cli("check-dlt", "--help").stdout
    assert "csv when piped" not in out
    assert out.count("piped or with --format json") == 1


def test_simulate_offers_only_the_formats_it_writes(tmp_path):
    out = run_cli("simulate", "--help").stdout
    assert "<csv|json|parquet>" in out and "table" not in out
    assert run_cli("simulate", "-n", "2", "--format", "table").exit_code == 2


def test_untreated_warning_names_the_first_subjects_then_the_count(write_csv):
    rows = [{"subject_id": f"U{n}", "event": "enrolled", "date": "2024-01-02"} for n in (5, 1, 4, 2, 3)]
    rows.append({"subject_id": "T1", "event": "infusion", "date": "2024-01-03"})
    result = run_cli("derive", write_csv(rows), "--format", "csv")
    assert result.exit_code == 0
    assert ("warning: 5 subject(s) without an infusion are outside the treated set and in no endpoint: "
            "U1, U2, U3 and 2 more") in result.stderr  # fmt: skip


@pytest.mark.parametrize(("command", "extra"), [("validate", []), ("derive", []), ("derive", ["--cutoff", "2024-12-31"]),
                                                ("derive", ["--cutoff", "2024-01-04"])])  # fmt: skip
def test_untreated_warning_is_the_same_whatever_the_record_order(write_csv, command, extra):
    # subjects interleaved (the reader numbers them through categories), kept together, and
    # with records set aside by a cutoff (the warning then groups the text): the same subjects
    rows = [{"subject_id": s, "event": e, "date": d} for s, e, d in (
        ("U3", "enrolled", "2024-01-02"), ("T1", "enrolled", "2024-01-02"), ("U1", "enrolled", "2024-01-02"),
        ("T1", "infusion", "2024-01-03"), ("U3", "contact", "2024-01-09"), ("U2", "enrolled", "2024-01-02"))]
    for order in (rows, sorted(rows, key=lambda r: r["subject_id"])):
        result = run_cli(command, write_csv(order), "--format", "json" if command == "validate" else "csv", *extra)
        assert result.exit_code == 0
        assert "3 subject(s) without an infusion are outside the treated set and in no endpoint: U1, U2, U3" in (
            result.stderr + result.stdout)


@pytest.mark.parametrize("command", [["derive", "--format", "csv"], ["validate", "--format", "json"]])
def test_a_header_without_records_is_a_warning(tmp_path, command):
    path = tmp_path / "empty.csv"
    path.write_text("subject_id,event,date\n", encoding="utf-8")
    result = run_cli(command[0], path, *command[1:])
    assert result.exit_code == 0
    assert "the input has no records (a header only)" in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["km"], ["cuminc"], ["simulate"], ["tables"], ["plot", "swimmer"]],
                         ids=lambda c: " ".join(c))  # fmt: skip
def test_options_name_their_values_not_their_python_types(command):
    options = run_cli(*command, "--help").stdout.split("Options:")[1]
    assert "<str>" not in options and "<int" not in options
