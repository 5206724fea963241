"""``cart19 cuminc``: the CLI contract of cli.md (formats, --dataset, -o, terminal, exit statuses)."""

from __future__ import annotations

import io
import json

import polars as pl
from conftest import run_cli

from cart19.engine.cuminc import CUMINC_COLUMNS
from cart19.engine.relapse import CIR_COLUMNS

ROWS = [
    {"subject_id": "P1", "event": "infusion", "date": "2024-01-01"},                          # line 2
    {"subject_id": "P1", "event": "assessment", "date": "2024-01-29", "result": "CR"},        # 3
    {"subject_id": "P1", "event": "relapse", "date": "2024-05-01", "result": "hematologic"},  # 4
    {"subject_id": "P1", "event": "death", "date": "2024-06-01", "result": "disease"},        # 5
    {"subject_id": "P2", "event": "infusion", "date": "2024-01-01"},                          # 6
    {"subject_id": "P2", "event": "assessment", "date": "2024-01-29", "result": "CRi"},       # 7
    {"subject_id": "P2", "event": "death", "date": "2024-03-01", "result": "toxicity"},       # 8
    {"subject_id": "P3", "event": "infusion", "date": "2024-01-01"},                          # 9
    {"subject_id": "P3", "event": "assessment", "date": "2024-01-29", "result": "CR"},        # 10
    {"subject_id": "P3", "event": "contact", "date": "2024-12-01"},                           # 11
    {"subject_id": "P4", "event": "infusion", "date": "2024-01-01"},                          # 12: no remission
    {"subject_id": "P4", "event": "assessment", "date": "2024-01-29", "result": "NR"},        # 13
]


def test_dataset_csv_follows_the_column_contract(write_csv):
    result = run_cli("cuminc", write_csv(ROWS), "--dataset")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        ",".join(CIR_COLUMNS),
        "P1,CIR,2024-01-29,2024-05-01,94,0,1,Relapse (hematologic),relapse,4",
        "P2,CIR,2024-01-29,2024-03-01,33,0,2,Death (toxicity),death,8",
        "P3,CIR,2024-01-29,2024-12-01,308,1,0,Last known alive,contact,11",
    ]


def test_summary_csv_follows_the_contract_and_the_hand_worked_figures(write_csv):
    result = run_cli("cuminc", write_csv(ROWS), "--landmarks", "1,3,12", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    frame = pl.read_csv(io.StringIO(result.stdout))
    assert tuple(frame.columns) == CUMINC_COLUMNS
    assert frame.select("cause", "N", "events", "time_months").rows() == [
        ("relapse", 3, 1, 1.0), ("relapse", 3, 1, 3.0), ("relapse", 3, 1, 12.0),
        ("nrm", 3, 1, 1.0), ("nrm", 3, 1, 3.0), ("nrm", 3, 1, 12.0),
    ]  # fmt: skip
    # times 33 (NRM), 94 (relapse), 308 (censored): at 1 month (30.4 days) nothing yet; at 3 months
    # (91.3 days) NRM 1/3; relapse 1/3 from day 94 (2 at risk after the death: 2/3 * 1/2);
    # 12 months (365.25 days) is past the last time (308): empty
    assert frame["estimate"].to_list()[:2] == [0.0, 0.0]
    assert abs(frame["estimate"][4] - 1 / 3) < 1e-12
    assert frame["estimate"][2] is None and frame["estimate"][5] is None
    assert frame["lower"][0] is None  # estimate 0: no log(-log) interval


def test_json_lines_and_parquet_output(write_csv, tmp_path):
    result = run_cli("cuminc", write_csv(ROWS), "--format", "json")
    assert result.exit_code == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 6 and list(objects[0]) == list(CUMINC_COLUMNS)
    target = tmp_path / "cir.parquet"
    result = run_cli("cuminc", write_csv(ROWS), "--dataset", "-o", target)
    assert result.exit_code == 0, result.stderr and result.stdout == ""
    frame = pl.read_parquet(target)
    assert tuple(frame.columns) == CIR_COLUMNS and frame.height == 3


def test_dataset_is_read_back_by_km(write_csv, tmp_path):
    target = tmp_path / "cir.csv"
    assert run_cli("cuminc", write_csv(ROWS), "--dataset", "-o", target).exit_code == 0
    result = run_cli("km", target, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("CIR,3,2,1,")


def test_infusion_origin_from_the_configuration(write_csv, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[cuminc]\norigin = "infusion"\n')
    result = run_cli("cuminc", write_csv(ROWS), "--dataset", "--config", config)
    assert result.exit_code == 0, result.stderr
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["P1", "P2", "P3", "P4"]


def test_terminal_shows_a_table(write_csv):
    result = run_cli("cuminc", write_csv(ROWS), env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "160"})
    assert result.exit_code == 0, result.stderr
    assert "relapse (CIR)" in result.stdout and "death without relapse (NRM)" in result.stdout
    result = run_cli("cuminc", write_csv(ROWS), "--dataset", env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1"})
    assert "1 relapse(s)" in result.stdout and "not written" in result.stdout


def test_bad_input_and_bad_options_exit_2_and_write_nothing(write_csv, tmp_path):
    bad = [*ROWS, {"subject_id": "P5", "event": "assessment", "date": "2024-13-01", "result": "CR"}]
    target = tmp_path / "out.csv"
    result = run_cli("cuminc", write_csv(bad), "-o", target)
    assert result.exit_code == 2 and not target.exists()
    assert "line 14, column date, value '2024-13-01'" in result.stderr
    result = run_cli("cuminc", write_csv(ROWS), "--landmarks", "six")
    assert result.exit_code == 2
    config = tmp_path / "c.toml"
    config.write_text('[cuminc]\nhsct = "sometimes"\n')
    result = run_cli("cuminc", write_csv(ROWS), "--config", config)
    assert result.exit_code == 2 and "cuminc.hsct" in result.stderr
