"""``cart19 adam``: ADTTE and define.json into a folder, in each submission format."""

from __future__ import annotations

import json

import polars as pl
import pyreadstat
import pytest
from conftest import run_cli

from tte_helpers import INFUSION, timeline

NO_EPOCH = {"SOURCE_DATE_EPOCH": None}  # (CliRunner unsets a variable given as None)


def rows() -> list[dict]:
    """Two infused subjects: S1 dies on day 10; S2 is in CR at day 28 and alive at day 90."""
    return [
        *timeline(INFUSION, ("death", "2024-01-10", "toxicity"), subject="S1"),
        *timeline(INFUSION, ("assessment", "2024-01-28", "CR"), ("contact", "2024-03-30"), subject="S2"),
    ]


@pytest.mark.parametrize("fmt", ["xpt", "json", "ndjson", "parquet", "csv"])
def test_writes_the_four_datasets_and_define_into_the_folder(write_csv, tmp_path, fmt):
    out = tmp_path / "adam" / "nested"
    result = run_cli("adam", write_csv(rows()), "-o", out, "--format", fmt, env=NO_EPOCH)
    assert result.exit_code == 0, result.stderr
    names = [f"{name}.{fmt}" for name in ("adsl", "adae", "adrs", "adtte")]
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "define.json"])
    assert result.stdout.splitlines() == [str(out / name) for name in [*names, "define.json"]]
    definition = json.loads((out / "define.json").read_text(encoding="utf-8"))
    assert definition["studyid"] == "CART19"
    assert [(d["name"], d["records"]) for d in definition["datasets"]] == [
        ("ADSL", 2),
        ("ADAE", 0),
        ("ADRS", 5),  # S1: BOR ND, MRDNEG N; S2: OVR CR, BOR CR, MRDNEG N
        ("ADTTE", 12),  # S1: OS + 4 EFS; S2: OS + 4 EFS + DOR + RFS
    ]


def test_the_xpt_holds_the_derived_rows_and_the_creation_time_is_the_latest_date(write_csv, tmp_path):
    result = run_cli("adam", write_csv(rows()), "-o", tmp_path, env=NO_EPOCH)
    assert result.exit_code == 0, result.stderr
    frame, meta = pyreadstat.read_xport(str(tmp_path / "adtte.xpt"), output_format="polars")
    assert meta.table_name == "ADTTE"
    # the latest date in the input is S2's contact on 2024-03-30
    assert str(meta.creation_time) == "2024-03-30 00:00:00"
    os_rows = frame.filter(pl.col("PARAMCD") == "OS").select("USUBJID", "AVAL", "CNSR").rows()
    assert os_rows == [("S1", 10.0, 0.0), ("S2", 90.0, 1.0)]


def test_json_creation_time_from_source_date_epoch_else_the_cutoff(write_csv, tmp_path):
    events = write_csv(rows())
    run_cli("adam", events, "-o", tmp_path / "a", "--format", "json", "--cutoff", "2024-02-01", env=NO_EPOCH)
    document = json.loads((tmp_path / "a" / "adtte.json").read_text(encoding="utf-8"))
    assert document["datasetJSONCreationDateTime"] == "2024-02-01T00:00:00"
    assert document["dbLastModifiedDateTime"] == "2024-02-01T00:00:00"
    # 1751241600 s after 1970-01-01 UTC is 2025-06-30T00:00:00
    run_cli("adam", events, "-o", tmp_path / "b", "--format", "json", env={"SOURCE_DATE_EPOCH": "1751241600"})
    document = json.loads((tmp_path / "b" / "adtte.json").read_text(encoding="utf-8"))
    assert document["datasetJSONCreationDateTime"] == "2025-06-30T00:00:00"
    assert document["dbLastModifiedDateTime"] == "2024-03-30T00:00:00"


def test_same_input_same_bytes(write_csv, tmp_path):
    events = write_csv(rows())
    for folder in ("a", "b"):
        assert run_cli("adam", events, "-o", tmp_path / folder, "--format", "ndjson", env=NO_EPOCH).exit_code == 0
    for name in ("adtte.ndjson", "define.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_study_id_from_the_configuration(write_csv, tmp_path):
    config = tmp_path / "cart19.toml"
    config.write_text('[study]\nstudyid = "XYZ-101"\noriginator = "Example Pharma"\n', encoding="utf-8")
    result = run_cli("adam", write_csv(rows()), "-o", tmp_path / "out", "--format", "csv", "--config", config,
                     env=NO_EPOCH)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    frame = pl.read_csv(tmp_path / "out" / "adtte.csv")
    assert frame.get_column("STUDYID").unique().to_list() == ["XYZ-101"]
    assert json.loads((tmp_path / "out" / "define.json").read_text(encoding="utf-8"))["studyid"] == "XYZ-101"


def test_a_folder_that_is_a_file_is_refused(write_csv, tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me", encoding="utf-8")
    result = run_cli("adam", write_csv(rows()), "-o", target, env=NO_EPOCH)
    assert result.exit_code == 2
    assert "is an existing file, not a folder" in result.stderr
    assert target.read_text(encoding="utf-8") == "keep me"


def test_a_subject_id_over_200_bytes_stops_the_xpt_and_writes_nothing(write_csv, tmp_path):
    """A subject_id of 201 characters (the event format sets no limit) becomes a USUBJID XPT
    cannot hold: one error per record of that subject in every dataset (ADTTE: OS, EFS, EFSS1-3,
    records 1-5, before S2's), naming the dataset and USUBJID; nothing is written, not even the
    folder."""
    long_id = "A" * 201
    events = write_csv([*timeline(INFUSION, ("death", "2024-01-10", "toxicity"), subject=long_id),
                        *timeline(INFUSION, subject="S2")])  # fmt: skip
    result = run_cli("adam", events, "-o", tmp_path / "out", env=NO_EPOCH)
    assert result.exit_code == 2, result.stderr
    assert not (tmp_path / "out").exists()
    lines = [line for line in result.stderr.splitlines() if "column USUBJID" in line]
    shown = "A" * 59 + "…"  # (the message shortens the value; the data are never cut)
    assert lines == [
        f"{name} (xpt): column USUBJID, value '{shown}': record {n} of {name}: 201 bytes; XPT allows at most 200"
        for name, records in [("ADSL", 1), ("ADRS", 2), ("ADTTE", 5)]  # (ADRS: BOR ND and MRDNEG N)
        for n in range(1, records + 1)
    ]
    # Dataset-JSON has no such limit
    assert run_cli("adam", events, "-o", tmp_path / "out", "--format", "json", env=NO_EPOCH).exit_code == 0


def test_bad_source_date_epoch_is_an_error(write_csv, tmp_path):
    result = run_cli("adam", write_csv(rows()), "-o", tmp_path / "out", env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.exit_code == 2
    assert "SOURCE_DATE_EPOCH" in result.stderr
    assert not (tmp_path / "out").exists()


def test_help_lists_what_it_writes_with_examples_on_their_own_lines():
    text = run_cli("adam", "--help").stdout
    assert all(name in text for name in ("adsl:", "adae:", "adrs:", "adtte:", "define.json"))
    assert "\n    cart19 adam examples/events.csv -o adam\n" in text


def test_an_input_in_the_folder_is_never_overwritten(write_csv, tmp_path):
    events = write_csv(rows(), name="adtte.csv")
    before = events.read_bytes()
    result = run_cli("adam", events, "-o", tmp_path, "--format", "csv", env=NO_EPOCH)
    assert result.exit_code == 2
    assert "is the event file" in result.stderr and "writing it would destroy the input" in result.stderr
    assert events.read_bytes() == before and not (tmp_path / "define.json").exists()


def test_a_folder_that_cannot_be_made_is_a_plain_error(write_csv, tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = run_cli("adam", write_csv(rows()), "-o", tmp_path / "file" / "sub", env=NO_EPOCH)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot write into {tmp_path / 'file' / 'sub'}: ")
    assert "nothing was written" in result.stderr
