"""``cart19 teae``: the long CSV contract of cli.md, JSON Lines, the listing, the terminal tables,
checked against the hand-worked headline counts of examples/README.md."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "events.csv"
TERMINAL = {"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "160"}

ROWS = [
    {"subject_id": "A", "event": "infusion", "date": "2024-01-01"},  # line 2
    {"subject_id": "A", "event": "ae", "date": "2023-12-30", "grade": 3, "term": "Nausea"},  # 3: pre-infusion
    {"subject_id": "A", "event": "ae", "date": "2024-01-03", "grade": 2, "term": "Nausea",
     "soc": "Gastrointestinal disorders", "serious": "N", "related": "Y"},  # 4
    {"subject_id": "B", "event": "infusion", "date": "2024-01-01"},  # 5
    {"subject_id": "B", "event": "ae", "date": "2024-01", "grade": 1, "term": "Rash"},  # 6: partial -> infusion date
    {"subject_id": "C", "event": "infusion", "date": "2024-01-01"},  # 7
]  # fmt: skip


def test_csv_is_long_with_the_contract_columns(write_csv):
    result = run_cli("teae", write_csv(ROWS))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "table,soc,term,grade,n,N,percent"
    assert lines[1:8] == [
        "overall,,,any,2,3,66.7",
        "overall,,,>=3,0,3,0.0",
        "overall,,,1,1,3,33.3",
        "overall,,,2,1,3,33.3",
        "overall,,,3,0,3,0.0",
        "overall,,,4,0,3,0.0",
        "overall,,,5,0,3,0.0",
    ]
    assert "related,,,2,1,3,33.3" in lines
    assert "soc,Uncoded,,1,1,3,33.3" in lines
    assert "soc_pt,Gastrointestinal disorders,Nausea,2,1,3,33.3" in lines
    assert len(lines) == 1 + 7 * (3 + 2 + 2)


def test_json_lines_one_object_per_cell(write_csv):
    result = run_cli("teae", write_csv(ROWS), "--format", "json")
    assert result.exit_code == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert objects[0] == {"table": "overall", "soc": None, "term": None, "grade": "any", "n": 2, "N": 3, "percent": 66.7}


def test_listing_has_the_adae_records_with_the_imputation_flag(write_csv):
    result = run_cli("teae", write_csv(ROWS), "--listing")
    assert result.exit_code == 0, result.stderr
    listing = pl.read_csv(io.StringIO(result.stdout), infer_schema=False)
    assert listing.select("USUBJID", "AESEQ", "ASTDT", "ASTDTF", "ASTDY", "TRTEMFL").rows() == [
        ("A", "3", "2023-12-30", None, "-2", None),
        ("A", "4", "2024-01-03", None, "2", "Y"),
        ("B", "6", "2024-01-01", "D", "0", "Y"),
    ]


def test_example_trial_headline_counts(tmp_path):
    target = tmp_path / "teae.csv"
    result = run_cli("teae", EXAMPLE, "-o", target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    tables = pl.read_csv(target, schema_overrides={"grade": pl.String})

    def n(table: str, grade: str = "any", term: str | None = None) -> tuple[int, float]:
        rows = tables.filter(pl.col("table") == table, pl.col("grade") == grade)
        if term is not None:
            rows = rows.filter(pl.col("term") == term)
        return rows.select("n", "percent").row(0)

    # examples/README.md, "Expected TEAE headline counts"
    assert set(tables["N"]) == {14}
    assert n("overall") == (14, 100.0)
    assert n("overall", ">=3") == (13, 92.9)
    assert [n("overall", g)[0] for g in ("1", "2", "3", "4", "5")] == [0, 1, 7, 4, 2]
    assert n("serious")[0] == 7
    assert n("related")[0] == 14
    assert n("soc_pt", term="Cytokine release syndrome") == (12, 85.7)
    assert n("soc_pt", term="Immune effector cell-associated neurotoxicity syndrome")[0] == 5
    assert n("soc_pt", term="Neutrophil count decreased")[0] == 12
    assert n("soc_pt", term="Acute graft versus host disease")[0] == 3
    assert "Nausea" not in tables.filter(pl.col("table") == "soc_pt")["term"].to_list()  # 001's is pre-infusion
    assert n("soc_pt", term="Headache")[0] == 1  # 001's 2023-02 headache, imputed to the infusion date


def test_terminal_shows_n_and_percent(write_csv):
    result = run_cli("teae", write_csv(ROWS), env=TERMINAL)
    assert result.exit_code == 0, result.stderr
    assert "Any TEAE" in result.stdout
    assert "2 (66.7%)" in result.stdout
    assert "Gastrointestinal disorders" in result.stdout and "Nausea" in result.stdout


def test_invalid_input_exits_2_and_writes_nothing(write_csv, tmp_path):
    target = tmp_path / "teae.csv"
    bad = [*ROWS, {"subject_id": "C", "event": "ae", "date": "2024-01-05", "grade": 7, "term": "Rash"}]
    result = run_cli("teae", write_csv(bad), "-o", target)
    assert result.exit_code == 2
    assert not target.exists()
