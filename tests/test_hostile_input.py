"""Hostile input is refused with a plain message naming where (events-format.md, "What is an
error"; cli.md, exit statuses), in bounded memory, never silently accepted."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

import polars as pl
import pytest

from cart19.errors import InputError
from cart19.io.read import read_events
from conftest import run_cli

HEADER = "subject_id,event,date,end_date,grade,term,soc,serious,related,result"
VALID = f"{HEADER}\nS1,infusion,2024-01-10,,,,,,,\nS1,contact,2024-02-10,,,,,,,\n".encode()


# --------------------------------------------------------------------------- binary content, bounded memory


def _validate_in_bounded_memory(path: str) -> str:
    """stderr of `cart19 validate PATH` in a process limited to 1.5 GiB of address space."""
    code = (
        "import resource, sys\n"
        "from cart19.cli import main\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, resource.RLIM_INFINITY))\n"
        f"sys.argv = ['cart19', 'validate', {path!r}, '--format', 'table']\n"
        "main()\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    stderr = completed.stderr.decode()
    assert completed.returncode == 2, stderr
    return stderr


def test_a_sparse_file_of_valid_rows_then_a_hole_of_nuls_stops_at_the_hole(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(VALID)
    with open(path, "r+b") as handle:
        handle.truncate(2 * 1024**3)  # 2 GiB: a hole of NULs after line 3 (no disk used)
    assert "line 4: a NUL byte (binary data)" in _validate_in_bounded_memory(str(path))


def test_dev_zero_is_refused_at_once():
    assert "line 1: a NUL byte (binary data)" in _validate_in_bounded_memory("/dev/zero")


def test_utf16_input_is_named_with_the_conversion():
    with pytest.raises(InputError) as caught:
        read_events("-", stdin=io.BytesIO(VALID.decode().encode("utf-16")))
    assert "the file is UTF-16 text, not UTF-8" in str(caught.value)
    assert "iconv -f UTF-16 -t UTF-8" in str(caught.value)


# --------------------------------------------------------------------------- the command line's dates


@pytest.mark.parametrize("value", ["20240105", "2024-W01-1", "2024-1-5", "2024-01-05T00:00"])
@pytest.mark.parametrize("option", ["--cutoff", "--as-of"])
def test_only_yyyy_mm_dd_is_a_date_on_the_command_line(value, option):
    result = run_cli("check-dlt", "examples/events.csv", option, value)
    assert result.exit_code == 2
    assert "is not a date in the form YYYY-MM-DD" in result.stderr


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[stopping_rule]\nprior_alpha = inf\n", "stopping_rule.prior_alpha: Input should be a finite number"),
        ("[stopping_rule]\nprior_beta = nan\n", "stopping_rule.prior_beta: Input should be a finite number"),
        ("[km]\ndays_per_month = inf\n", "km.days_per_month: Input should be a finite number"),
        ("[km]\ndays_per_month = 1e-300\n", "km.days_per_month: Input should be greater than or equal to 28"),
        ("[km]\nconfidence_level = 1e-300\n", "km.confidence_level: Input should be greater than or equal to 0.5"),
        ("[km]\nlandmarks_months = [6, inf]\n", "km.landmarks_months.1: Input should be a finite number"),
        ("[dor]\nparamcd = 'OS'\n", "os.paramcd and dor.paramcd are both 'OS'"),
        ("[dor]\nparamcd = 'efs'\n", "dor.paramcd and efs.parameters[0].paramcd are both 'EFS'"),
        ("[os]\nparamcd = ''\n", "os.paramcd: a PARAMCD is a letter"),
        ("[os]\nparam = ''\n", "os.param: String should have at least 1 character"),
    ],
)
def test_a_configuration_value_that_makes_no_sense_is_refused_naming_the_key(tmp_path, toml, words):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    result = run_cli("config", "--config", path)
    assert result.exit_code == 2
    assert words in result.stderr


def test_a_configuration_with_a_utf8_bom_is_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf[km]\nconfidence_level = 0.9\n")
    result = run_cli("config", "--config", path)
    assert result.exit_code == 0, result.stderr
    assert "confidence_level = 0.9" in result.stdout


# --------------------------------------------------------------------------- Parquet types


def _parquet(tmp_path, frame: pl.DataFrame):
    path = tmp_path / "events.parquet"
    frame.write_parquet(path)
    return path


def test_parquet_date_times_with_a_time_zone_are_refused_as_csv_date_times_are(tmp_path):
    frame = pl.DataFrame({"subject_id": ["S1"], "event": ["infusion"], "date": [dt.datetime(2024, 1, 1, 23)]})
    with pytest.raises(InputError) as caught:
        read_events(_parquet(tmp_path, frame.with_columns(pl.col("date").dt.replace_time_zone("UTC"))))
    assert "date-times in the time zone UTC" in str(caught.value)
    with pytest.raises(InputError) as caught:
        read_events(_parquet(tmp_path, frame))
    assert (caught.value.errors[0].line, caught.value.errors[0].column) == (2, "date")
    assert "a time of day" in caught.value.errors[0].message
    # a date stored as a midnight time stamp (pandas' habit) is a date
    midnight = frame.with_columns(pl.lit(dt.datetime(2024, 1, 1)).alias("date"))
    assert read_events(_parquet(tmp_path, midnight)).events["date"].to_list() == [dt.date(2024, 1, 1)]


def test_a_parquet_column_of_the_wrong_type_is_an_input_error_naming_it(tmp_path):
    frame = pl.DataFrame({"subject_id": ["S1"], "event": ["infusion"], "date": [dt.timedelta(days=3)]})
    result = run_cli("validate", _parquet(tmp_path, frame), "--format", "table")
    assert result.exit_code == 2
    assert "column date: the column holds Duration" in result.stderr


def test_a_parquet_grade_far_out_of_range_is_shown_as_written_not_as_missing(tmp_path):
    frame = pl.DataFrame({"subject_id": ["S1", "S1"], "event": ["infusion", "ae"], "term": [None, "Rash"],
                          "date": [dt.date(2024, 1, 1)] * 2, "grade": [None, 1e20]})  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_events(_parquet(tmp_path, frame))
    (issue,) = caught.value.errors
    assert (issue.line, issue.column, issue.value) == (3, "grade", "1e+20")
    assert "from 1 to 5" in issue.message


# --------------------------------------------------------------------------- km


def test_km_reads_parquet_on_standard_input():
    from typer.testing import CliRunner

    from cart19.cli import app

    data = io.BytesIO()
    pl.DataFrame({"PARAMCD": ["OS", "OS"], "AVAL": [10, 20], "CNSR": [0, 1]}).write_parquet(data)
    result = CliRunner().invoke(app, ["km", "-", "--format", "csv"], input=data.getvalue())
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("PARAMCD,N,events,censored,")


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (pl.DataFrame({"PARAMCD": ["OS"], "AVAL": [[1, 2]], "CNSR": [0]}), "column AVAL: the column holds List"),
        (pl.DataFrame({"PARAMCD": ["OS"], "AVAL": [dt.timedelta(days=3)], "CNSR": [0]}),
         "column AVAL: the column holds Duration"),
    ],
    ids=["list", "duration"],
)
def test_km_names_a_column_of_the_wrong_type(tmp_path, frame, words):
    path = tmp_path / "adtte.parquet"
    frame.write_parquet(path)
    result = run_cli("km", path)
    assert result.exit_code == 2
    assert words in result.stderr


def test_km_names_lines_and_columns_in_plain_words(tmp_path):
    path = tmp_path / "adtte.csv"
    path.write_text("PARAMCD,AVAL,CNSR\nOS,-1,0\nOS,2,5\n")
    result = run_cli("km", path)
    assert result.exit_code == 2
    assert "line 2, column AVAL, value '-1': not a number of days >= 0" in result.stderr
    assert "line 3, column CNSR, value '5': not 0 (event) or 1 (censored)" in result.stderr
    assert "0-based" not in result.stderr and "row " not in result.stderr
    path.write_text("PARAMCD,AVAL,CNSR\nOS,1,0\nOS,3\n")
    result = run_cli("km", path)
    assert result.exit_code == 2
    assert "line 3: fewer fields than the 3 of the header" in result.stderr


# --------------------------------------------------------------------------- every problem listed


@pytest.mark.parametrize("bad", [b"S1,contact", b"S1,contact,2024-01-1\xe9"], ids=["field count", "not UTF-8"])
def test_every_problem_of_a_bad_file_is_listed_however_many(tmp_path, bad):
    path = tmp_path / "events.csv"
    path.write_bytes(b"subject_id,event,date\n" + b"\n".join([bad] * 1200) + b"\n")
    result = run_cli("validate", path, "--format", "json")
    assert result.exit_code == 2
    import json

    assert len(json.loads(result.stdout)["errors"]) == 1200
    assert "1200 problem(s) found" in result.stderr
    terminal = run_cli("derive", path, env={"CART19_FORCE_TERMINAL": "1"})
    assert "1200 problem(s) found" in terminal.stderr
    assert "... and 1000 more (use `cart19 validate --format json` for all)" in terminal.stderr


def test_a_configuration_that_is_not_one_is_refused_in_bounded_memory():
    result = run_cli("config", "--config", "/dev/zero")
    assert result.exit_code == 2
    assert "larger than 1 MiB: this is not a configuration file" in result.stderr
