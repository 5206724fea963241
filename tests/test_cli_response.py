"""``cart19 response``: the rates contract of cli.md, the listing, JSON Lines and Parquet, the
terminal tables, bad mrd values, and the example trial's hand-worked figures (examples/README.md,
"Expected best overall response")."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "events.csv"
TERMINAL = {"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "160"}

ROWS = [
    {"subject_id": "A", "event": "infusion", "date": "2024-01-01"},  # line 2
    {"subject_id": "A", "event": "assessment", "date": "2024-01-29", "result": "CRi", "mrd": "Negative"},  # 3: d28
    {"subject_id": "A", "event": "assessment", "date": "2024-03-31", "result": "CR", "mrd": "positive"},  # 4: d90
    {"subject_id": "B", "event": "infusion", "date": "2024-01-01"},  # 5
    {"subject_id": "B", "event": "assessment", "date": "2024-01-29", "result": "NR"},  # 6
    {"subject_id": "B", "event": "assessment", "date": "2024-04-01", "result": "CR", "mrd": "negative"},  # 7: d91
    {"subject_id": "C", "event": "enrolled", "date": "2023-12-01"},  # 8: never infused
]


def test_csv_has_the_contract_columns_and_rows(write_csv):
    result = run_cli("response", write_csv(ROWS))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "population,PARAMCD,n,N,rate,percent,ci_low,ci_high"
    # infused: A (BOR CR, MRD-negative CRi), B (NR: its CR is on day 91); enrolled adds C.
    # R: binom.test(1, 2) -> 0.0125791170934251 0.987420882906575;
    #    binom.test(1, 3) -> 0.00840375865961264 0.905700675949754
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        ("infused", "CR", "1", "2", "50.0"), ("infused", "CRCRH", "1", "2", "50.0"),
        ("infused", "REMISSION", "1", "2", "50.0"), ("infused", "ORR", "1", "2", "50.0"),
        ("infused", "MRDNEG", "1", "2", "50.0"),
        ("enrolled", "CR", "1", "3", "33.3"), ("enrolled", "CRCRH", "1", "3", "33.3"),
        ("enrolled", "REMISSION", "1", "3", "33.3"), ("enrolled", "ORR", "1", "3", "33.3"),
        ("enrolled", "MRDNEG", "1", "3", "33.3"),
    ]  # fmt: skip
    assert float(rows[0][6]) == pytest.approx(0.0125791170934251, abs=1e-12)
    assert float(rows[0][7]) == pytest.approx(0.987420882906575, abs=1e-12)
    assert float(rows[5][4]) == pytest.approx(1 / 3, abs=1e-15)
    assert float(rows[5][6]) == pytest.approx(0.00840375865961264, abs=1e-12)
    assert float(rows[5][7]) == pytest.approx(0.905700675949754, abs=1e-12)


def test_listing_has_bor_and_mrdneg_per_infused_subject(write_csv):
    result = run_cli("response", write_csv(ROWS), "--listing", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "USUBJID,PARAMCD,PARAM,AVALC,ADT,ADY,SRCDOM,SRCSEQ",
        "A,BOR,Best Overall Response,CR,2024-03-31,90,assessment,4",
        "A,MRDNEG,MRD-Negative Remission,Y,2024-01-29,28,assessment,3",
        "B,BOR,Best Overall Response,NR,2024-01-29,28,assessment,6",
        "B,MRDNEG,MRD-Negative Remission,N,,,,",
    ]


def test_json_lines_and_parquet(write_csv, tmp_path):
    path = write_csv(ROWS)
    result = run_cli("response", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert list(first) == ["population", "PARAMCD", "n", "N", "rate", "percent", "ci_low", "ci_high"]
    assert (first["population"], first["PARAMCD"], first["n"], first["N"], first["rate"]) == ("infused", "CR", 1, 2, 0.5)
    target = tmp_path / "adrs.parquet"
    result = run_cli("response", path, "--listing", "-o", target)
    assert result.exit_code == 0 and result.stdout == ""
    listing = pl.read_parquet(target)
    assert listing.schema["ADT"] == pl.Date and listing.schema["ADY"] == pl.Int64
    assert listing.height == 4


def test_the_terminal_shows_rates_distribution_and_time_to_response(write_csv):
    result = run_cli("response", write_csv(ROWS), env=TERMINAL)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Response rates (study day 1–90), 95% exact CI" in out
    assert "Infused (N = 2)" in out and "Enrolled (N = 3)" in out
    assert "1 (50.0%)" in out and "1.3–98.7" in out
    assert "Best overall response, infused subjects (N = 2)" in out
    assert "Time to response among responders (study day)" in out
    listing = run_cli("response", write_csv(ROWS), "--listing", env=TERMINAL)
    assert listing.exit_code == 0 and "MRD-Negative Remission" in listing.stdout


def test_a_bad_mrd_value_and_mrd_on_an_ae_row_name_line_column_and_value(write_csv, tmp_path):
    rows = [
        *ROWS[:3],
        {"subject_id": "A", "event": "assessment", "date": "2024-02-10", "result": "CR", "mrd": "MRD-"},  # line 5
        {"subject_id": "A", "event": "ae", "date": "2024-01-05", "grade": 2, "term": "Pyrexia", "mrd": "negative"},  # 6
    ]
    target = tmp_path / "rates.csv"
    result = run_cli("response", write_csv(rows), "-o", target)
    assert result.exit_code == 2
    assert not target.exists() and result.stdout == ""
    assert "line 5, column mrd, value 'MRD-': mrd must be negative or positive (or empty when not done)" in result.stderr
    assert "line 6, column mrd, value 'negative': mrd is for assessment rows only, not ae rows" in result.stderr


def test_an_invalid_response_configuration_is_exit_2(write_csv, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[response]\nwindow_days = 0\ninterval = "wald"\n', encoding="utf-8")
    result = run_cli("response", write_csv(ROWS), "--config", config)
    assert result.exit_code == 2
    assert "response.window_days" in result.stderr and "response.interval" in result.stderr


def test_the_cutoff_sets_later_assessments_aside(write_csv):
    result = run_cli("response", write_csv(ROWS), "--cutoff", "2024-03-01", "--listing")
    assert result.exit_code == 0, result.stderr
    assert "A,BOR,Best Overall Response,CRi,2024-01-29,28,assessment,3" in result.stdout.splitlines()


def test_help_has_examples_each_on_its_own_line():
    result = run_cli("response", "--help")
    assert result.exit_code == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "cart19 response examples/events.csv" in lines
    assert "cart19 response examples/events.csv --listing --format csv > adrs.csv" in lines


def test_the_example_trials_hand_worked_rates():
    """examples/README.md, "Expected best overall response"."""
    result = run_cli("response", EXAMPLE, "-q")
    assert result.exit_code == 0, result.stderr
    rates = pl.read_csv(io.StringIO(result.stdout))
    got = {(r["population"], r["PARAMCD"]): (r["n"], r["N"], r["percent"]) for r in rates.iter_rows(named=True)}
    assert got == {
        ("infused", "CR"): (6, 14, 42.9), ("infused", "CRCRH"): (6, 14, 42.9),
        ("infused", "REMISSION"): (7, 14, 50.0), ("infused", "ORR"): (9, 14, 64.3),
        ("infused", "MRDNEG"): (6, 14, 42.9),
        ("enrolled", "CR"): (6, 15, 40.0), ("enrolled", "CRCRH"): (6, 15, 40.0),
        ("enrolled", "REMISSION"): (7, 15, 46.7), ("enrolled", "ORR"): (9, 15, 60.0),
        ("enrolled", "MRDNEG"): (6, 15, 40.0),
    }  # fmt: skip
    orr = rates.filter(pl.col("population") == "infused", pl.col("PARAMCD") == "ORR").row(0, named=True)
    assert (orr["ci_low"], orr["ci_high"]) == pytest.approx((0.3513801106, 0.8724015701), abs=1e-9)


def test_the_example_trials_hand_worked_listing():
    result = run_cli("response", EXAMPLE, "--listing", "-q")
    assert result.exit_code == 0, result.stderr
    listing = pl.read_csv(io.StringIO(result.stdout), infer_schema=False)
    bor = dict(listing.filter(pl.col("PARAMCD") == "BOR").select("USUBJID", "AVALC").iter_rows())
    assert bor == {
        "CART19-001": "CR", "CART19-002": "CR", "CART19-003": "CR", "CART19-004": "CR", "CART19-005": "CRi",
        "CART19-006": "MLFS", "CART19-007": "PR", "CART19-008": "NR", "CART19-009": "CR", "CART19-010": "NR",
        "CART19-011": "NR", "CART19-012": "CR", "CART19-014": "ND", "CART19-015": "NR",
    }  # fmt: skip
    mrd = listing.filter(pl.col("PARAMCD") == "MRDNEG", pl.col("AVALC") == "Y").select("USUBJID", "ADT", "ADY").rows()
    assert mrd == [
        ("CART19-001", "2023-03-14", "28"), ("CART19-002", "2023-04-18", "28"), ("CART19-003", "2023-08-07", "90"),
        ("CART19-004", "2023-07-25", "28"), ("CART19-005", "2023-09-12", "28"), ("CART19-009", "2024-04-30", "56"),
    ]  # fmt: skip
    row = listing.filter(pl.col("USUBJID") == "CART19-004", pl.col("PARAMCD") == "BOR").row(0, named=True)
    assert (row["ADT"], row["ADY"], row["SRCSEQ"]) == ("2023-09-25", "90", "71")


def test_mrd_is_read_in_any_case_by_the_coded_and_the_eager_reader(write_csv):
    from cart19.io.read import read_events

    path = write_csv(ROWS)
    coded = read_events(path).events
    eager = read_events("-", stdin=io.BytesIO(path.read_bytes())).events
    assert coded.equals(eager)
    assert coded["mrd"].to_list() == [None, "negative", "positive", None, None, "negative", None]


def test_both_readers_and_the_event_model_reject_the_same_mrd_cells(write_csv):
    from cart19.errors import InputError
    from cart19.events import Event, RowProblem
    from cart19.io.read import read_events

    rows = [
        ROWS[0],
        {"subject_id": "A", "event": "assessment", "date": "2024-01-29", "result": "CR", "mrd": "neg"},  # line 3
        {"subject_id": "A", "event": "relapse", "date": "2024-03-01", "result": "hematologic", "mrd": "positive"},  # 4
    ]
    path = write_csv(rows)
    with pytest.raises(InputError) as coded:
        read_events(path)
    with pytest.raises(InputError) as eager:
        read_events("-", stdin=io.BytesIO(path.read_bytes()))
    assert coded.value.errors == eager.value.errors
    assert [(i.line, i.column, i.value) for i in coded.value.errors] == [(3, "mrd", "neg"), (4, "mrd", "positive")]
    for row in rows[1:]:
        with pytest.raises(RowProblem) as caught:
            Event.from_row(row)
        assert [c for c, _, _ in caught.value.problems] == ["mrd"]
    assert Event.from_row({**rows[1], "mrd": " NEGATIVE "}).mrd == "negative"
