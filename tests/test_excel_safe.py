"""CSV formula injection (docs/data-checks.md): subject IDs and terms such as =HYPERLINK(...)
reach CSV outputs. Default: verbatim (a faithful machine format) with a warning counting the
cells; --excel-safe: such text cells prefixed with a single quote (OWASP)."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from cart19.cli.common import Format, excel_safe_frame, formula_cells, frame_bytes
from conftest import run_cli

RISKY_IDS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"]
RISKY_START = ("=", "+", "-", "@", "\t", "\r")


def trial_rows() -> list[dict]:
    rows = []
    for n, subject in enumerate([*RISKY_IDS, "SAFE-1"]):
        rows += [
            {"subject_id": subject, "event": "infusion", "date": "2024-01-01"},
            {"subject_id": subject, "event": "ae", "date": "2024-01-03", "end_date": "2024-01-10", "grade": 3,
             "term": "=1+1" if n % 2 else "Nausea", "soc": "@soc" if n == 1 else "Gastrointestinal disorders"},
            {"subject_id": subject, "event": "assessment", "date": "2024-02-01", "result": "CR"},
            {"subject_id": subject, "event": "contact", "date": "2024-06-01"},
        ]  # fmt: skip
    return rows


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def risky(rows: list[list[str]]) -> int:
    return sum(cell.startswith(RISKY_START) for row in rows[1:] for cell in row)


@pytest.mark.parametrize(
    "args",
    [("derive",), ("teae",), ("teae", "--listing"), ("check-dlt", "--format", "csv")],
    ids=["derive", "teae", "listing", "check-dlt"],
)
def test_default_is_verbatim_with_a_warning_and_excel_safe_quotes_exactly_those_cells(write_csv, args):
    path = write_csv(trial_rows())
    plain = run_cli(*args, path)
    assert plain.exit_code in (0, 3), plain.stderr  # 3: check-dlt's stopping rule
    rows = cells(plain.stdout)
    n = risky(rows)
    assert n > 0
    assert any(cell in {*RISKY_IDS, "=1+1", "@soc"} for row in rows for cell in row)  # verbatim
    assert f"warning: {n} CSV cell(s) start with =, +, -, @" in plain.stderr

    safe = run_cli(*args, path, "--excel-safe")
    assert safe.exit_code == plain.exit_code
    assert "CSV cell(s) start with" not in safe.stderr
    safe_rows = cells(safe.stdout)
    assert risky(safe_rows) == 0
    assert len(safe_rows) == len(rows)
    for row, safe_row in zip(rows, safe_rows, strict=True):
        for cell, safe_cell in zip(row, safe_row, strict=True):
            assert safe_cell == ("'" + cell if cell.startswith(RISKY_START) else cell)


def test_km_quotes_a_formula_like_paramcd(write_bytes):
    path = write_bytes(b"PARAMCD,AVAL,CNSR\n=1+1,10,0\n=1+1,20,1\nOS,5,0\n", name="adtte.csv")
    plain = run_cli("km", path)
    assert plain.exit_code == 0 and "warning:" in plain.stderr
    safe = run_cli("km", path, "--excel-safe")
    assert {row[0] for row in cells(safe.stdout)[1:]} == {"'=1+1", "OS"}


def test_excel_safe_leaves_json_and_parquet_and_files_without_risky_cells_unchanged(write_csv, tmp_path):
    path = write_csv(trial_rows())
    for fmt in ("json", "parquet"):
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        assert run_cli("derive", path, "-o", a).exit_code == 0
        assert run_cli("derive", path, "-o", b, "--excel-safe").exit_code == 0
        assert a.read_bytes() == b.read_bytes()
    plain = run_cli("derive", "examples/events.csv")
    assert "CSV cell(s)" not in plain.stderr
    safe = run_cli("derive", "examples/events.csv", "--excel-safe")
    assert (safe.stdout, safe.stderr) == (plain.stdout, plain.stderr)


def test_the_helpers_touch_text_columns_only():
    frame = pl.DataFrame({"t": ["=a", "-1", "a=b", None, "\tx", "@"], "n": [-1, 2, 3, 4, 5, 6]})
    assert formula_cells(frame) == 4
    assert excel_safe_frame(frame).to_dict(as_series=False) == {
        "t": ["'=a", "'-1", "a=b", None, "'\tx", "'@"],
        "n": [-1, 2, 3, 4, 5, 6],
    }
    assert frame_bytes(frame, Format.csv, excel_safe=True).startswith(b"t,n\n'=a,-1\n")
    assert formula_cells(frame.clear()) == 0
