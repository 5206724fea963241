"""Hostile input through the real CLI (typer's CliRunner on cart19.cli.app, in-process, with
catch_exceptions=False so a raised exception fails the test) and, for a few cases, through
``python -m cart19``.

The contract (cli.md): every input ends in a correct result (exit 0, or 3 from check-dlt's
stopping rule) or a clear exit-2 message on standard error -- never a traceback, never exit 1.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_process

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "events.csv"
EXAMPLE_BYTES = EXAMPLE.read_bytes()
HEADER = b"subject_id,event,date,end_date,grade,term,soc,serious,related,result"

#: Every command that reads events (and km, which reads an ADTTE), as argument lists with
#: {in} and {out} placeholders. Plots and the report draw figures and are slower: they run on
#: fewer examples (PLOT_COMMANDS).
COMMANDS: list[list[str]] = [
    ["validate", "{in}"],
    ["validate", "{in}", "--format", "json"],
    ["derive", "{in}"],
    ["derive", "{in}", "--format", "json"],
    ["derive", "{in}", "-o", "{out}.parquet"],
    ["derive", "{in}", "--excel-safe", "--cutoff", "2024-06-30"],
    ["teae", "{in}"],
    ["teae", "{in}", "--listing"],
    ["check-dlt", "{in}"],
    ["check-dlt", "{in}", "--format", "csv", "--as-of", "2023-03-01"],
    ["safety", "{in}"],
    ["safety", "{in}", "--listing", "--cutoff", "2024-06-30"],
    ["km", "{in}"],
]
PLOT_COMMANDS: list[list[str]] = [
    ["plot", "swimmer", "{in}", "-o", "{out}.png"],
    ["plot", "km", "{in}", "-o", "{out}.svg"],
    ["report", "{in}", "-o", "{out}.html"],
]

def fuzz(n: int) -> settings:
    """Hypothesis settings of a fuzz test: n examples, no deadline (polars' first call is slow)."""
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))


#: One command per generated case (drawn by hypothesis), so the suite stays around a minute.
any_command = st.sampled_from(COMMANDS)


class Runner:
    """Runs the CLI in-process on bytes written to a file; checks the exit contract."""

    def __init__(self, folder: Path):
        from typer.testing import CliRunner

        try:
            self.runner = CliRunner(mix_stderr=False)  # click < 8.2
        except TypeError:
            self.runner = CliRunner()
        self.folder = folder
        self.count = 0

    def run(self, data: bytes, command: list[str], *, name: str = "in.csv"):
        from cart19.cli import app

        self.count += 1
        source = self.folder / name
        source.write_bytes(data)
        out = self.folder / f"out{self.count}"
        args = [a.replace("{in}", str(source)).replace("{out}", str(out)) for a in command]
        result = self.runner.invoke(app, args, catch_exceptions=False, env={"SOURCE_DATE_EPOCH": "0", "CART19_DEBUG": "1"})
        allowed = (0, 2, 3) if command[0] == "check-dlt" else (0, 2)
        stderr = result.stderr
        assert result.exit_code in allowed, f"{args}: exit {result.exit_code}\n{stderr[-2000:]}"
        assert "Traceback" not in stderr and "internal error" not in stderr, stderr[-2000:]
        if result.exit_code == 2:
            assert "error:" in stderr, f"{args}: exit 2 without a message"
            assert not out.with_suffix(".parquet").exists() and not list(self.folder.glob(f"out{self.count}.*"))
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


# --------------------------------------------------------------------------- strategies

example_lines = EXAMPLE_BYTES.splitlines(keepends=True)

nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from([
        "\u202eCART19-001", "\U0001f600", "e\u0301\u0301\u0301", "\u05e9\u05dc\u05d5\u05dd", "\ufeff", "\x00",
        "=HYPERLINK(\"x\")", "+cmd", "-2+3", "@SUM(1)", "\u2028", "\r", "\n", '"', "'", ",", ";", "\t",
        "x" * 100_000, "9" * 40, "1" + "0" * 30, "99999-01-01", "9999-12-31", "2024-02-30", "0000-01-01",
        "2024-13", "NaN", "inf", "-0", "CR", "cr", "ae", "AE", " infusion ", "death",
    ]),
)  # fmt: skip


@st.composite
def mutated_example(draw) -> bytes:
    """The example trial with a few cells replaced by nasty text (quoted when needed)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(EXAMPLE_BYTES.decode(), newline="")))
    for _ in range(draw(st.integers(1, 4))):
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = draw(nasty_text)
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@st.composite
def mangled_bytes(draw) -> bytes:
    """The example's bytes, cut, re-delimited, re-terminated, prefixed or spliced."""
    data = EXAMPLE_BYTES
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["cut", "delimiter", "endings", "bom", "splice", "dup_header", "drop_header",
                                    "drop_line", "quote"]))  # fmt: skip
        if how == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        elif how == "delimiter":
            data = data.replace(b",", draw(st.sampled_from([b";", b"\t", b"|", b", "])))
        elif how == "endings":
            lines = data.split(b"\n")
            data = b"".join(line + draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])) for line in lines)
        elif how == "bom":
            data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"])) + data
        elif how == "splice":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif how == "dup_header":
            at = draw(st.integers(1, max(1, data.count(b"\n"))))
            lines = data.split(b"\n")
            data = b"\n".join(lines[:at] + [HEADER] + lines[at:])
        elif how == "drop_header":
            data = data.split(b"\n", 1)[-1]
        elif how == "drop_line":
            lines = data.split(b"\n")
            del lines[draw(st.integers(0, len(lines) - 1))]
            data = b"\n".join(lines)
        elif how == "quote":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + b'"' + data[at:]
    return data


small_trial_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "\u202eC\U0001f600", "=D"]),
        st.sampled_from(["enrolled", "lymphodepletion", "infusion", "assessment", "relapse", "ae", "hsct",
                         "new_therapy", "end_of_treatment", "contact", "death", "withdrawal", "INFUSION"]),
        st.dates(dt.date(2022, 1, 1), dt.date(2025, 12, 31)).map(str),
        st.sampled_from(["", "2024-06-30", "2023-01-01"]),
        st.sampled_from(["", "1", "3", "4", "5"]),
        st.sampled_from(["", "Cytokine release syndrome", "ICANS", "Nausea", "Sepsis", "Neutrophil count decreased"]),
        st.sampled_from(["", "CR", "NR", "PD", "hematologic", "disease", "toxicity"]),
    ),
    max_size=40,
)  # fmt: skip


def rows_to_csv(rows) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["subject_id", "event", "date", "end_date", "grade", "term", "result"])
    writer.writerows(rows)
    return out.getvalue().encode()


# --------------------------------------------------------------------------- the fuzz tests


@fuzz(100)
@given(data=st.binary(max_size=2000), command=any_command)
def test_random_bytes(tmp_path_factory, data, command):
    Runner(tmp_path_factory.mktemp("bytes")).run(data, command)


@fuzz(150)
@given(data=mangled_bytes(), command=any_command)
def test_mangled_example_bytes(tmp_path_factory, data, command):
    Runner(tmp_path_factory.mktemp("mangled")).run(data, command)


@fuzz(150)
@given(data=mutated_example(), command=any_command)
def test_example_with_nasty_cells(tmp_path_factory, data, command):
    Runner(tmp_path_factory.mktemp("cells")).run(data, command)


@fuzz(120)
@given(rows=small_trial_rows, command=any_command)
def test_random_small_trials(tmp_path_factory, rows, command):
    """Clinically random (mostly invalid, sometimes valid) timelines: the engines see every
    combination of kinds, dates and grades the validator lets through."""
    Runner(tmp_path_factory.mktemp("trials")).run(rows_to_csv(rows), command)


@fuzz(6)
@given(data=st.one_of(mutated_example(), small_trial_rows.map(rows_to_csv)), command=st.sampled_from(PLOT_COMMANDS))
def test_plots_and_report(tmp_path_factory, data, command):
    pytest.importorskip("matplotlib")
    Runner(tmp_path_factory.mktemp("plots")).run(data, command)


@fuzz(30)
@given(
    command=st.sampled_from([["km", "{in}"], ["km", "{in}", "--format", "json"], ["km", "{in}", "--landmarks", "1,2"]]),
    data=st.one_of(
        st.binary(max_size=500),
        st.lists(st.tuples(st.sampled_from(["OS", "EFS", "=X", "", "\u202e"]),
                           st.sampled_from(["1", "0", "-5", "1e308", "nan", "inf", "", "x", "10" * 20, "3.5"]),
                           st.sampled_from(["0", "1", "2", "-1", "", "0.5", "nan"])), max_size=30)
        .map(lambda rows: ("PARAMCD,AVAL,CNSR\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)).encode()),
    )
)  # fmt: skip
def test_km_on_hostile_adtte(tmp_path_factory, command, data):
    Runner(tmp_path_factory.mktemp("km")).run(data, command, name="adtte.csv")


@fuzz(40)
@given(cut=st.integers(1, len(EXAMPLE_BYTES) - 1), command=st.sampled_from([["validate", "{in}"], ["derive", "{in}"]]))
def test_a_file_cut_mid_record_is_refused_naming_the_last_line(tmp_path_factory, cut, command):
    """Every path (streamed or not) refuses a last record with fewer fields than the header."""
    import csv
    import io

    data = EXAMPLE_BYTES[:cut]
    last_line = data.rsplit(b"\n", 1)[-1]
    if not last_line or b"\n" not in data:
        return  # cut at a line break (a whole file) or in the header (a file of fewer columns)
    line_number = data.count(b"\n") + 1
    fields = next(csv.reader(io.StringIO(last_line.decode())))
    quoted = last_line.count(b'"') % 2 == 1  # cut inside a quoted field: an unclosed quote
    result = Runner(tmp_path_factory.mktemp("cut")).run(data, command)
    if quoted or len(fields) < 10:
        assert result.exit_code == 2, result.stderr
        assert f"line {line_number}" in result.stderr, result.stderr


@fuzz(40)
@given(at=st.integers(0, len(EXAMPLE_BYTES)), command=st.sampled_from([["validate", "{in}"], ["derive", "{in}"]]))
def test_a_nul_byte_anywhere_is_refused_naming_its_line(tmp_path_factory, at, command):
    data = EXAMPLE_BYTES[:at] + b"\x00" + EXAMPLE_BYTES[at:]
    result = Runner(tmp_path_factory.mktemp("nul")).run(data, command)
    assert result.exit_code == 2
    line = EXAMPLE_BYTES[:at].count(b"\n") + 1
    assert f"line {line}: a NUL byte (binary data)" in result.stderr


@fuzz(40)
@given(at=st.integers(0, len(EXAMPLE_BYTES)), char=st.sampled_from([chr(c) for c in range(1, 32) if c not in (9, 10, 13)]
                                                                   + ["\x7f", "\x85", "\x9b"]),
       command=any_command)  # fmt: skip
def test_a_control_character_anywhere_ends_in_a_result_or_a_clear_error(tmp_path_factory, at, char, command):
    data = EXAMPLE_BYTES[:at] + char.encode() + EXAMPLE_BYTES[at:]
    result = Runner(tmp_path_factory.mktemp("control")).run(data, command)
    assert "\x1b" not in result.stderr


# --------------------------------------------------------------------------- named hostile cases

ONE = HEADER + b"\nA,infusion,2024-01-01,,,,,,,\nA,ae,2024-01-02,2024-01-09,3,Nausea,,,,\nA,contact,2024-03-01,,,,,,,\n"

NAMED: dict[str, bytes] = {
    "empty": b"",
    "only a BOM": b"\xef\xbb\xbf",
    "blank lines": b"\n\n\r\n",
    "header only": HEADER + b"\n",
    "header only, no newline": HEADER,
    "header only, CR": HEADER + b"\r",
    "BOM": b"\xef\xbb\xbf" + EXAMPLE_BYTES,
    "UTF-16": EXAMPLE_BYTES.decode().encode("utf-16"),
    "CRLF": EXAMPLE_BYTES.replace(b"\n", b"\r\n"),
    "lone CR": EXAMPLE_BYTES.replace(b"\n", b"\r"),
    "mixed endings": b"".join(line + (b"\r", b"\n", b"\r\n")[i % 3] for i, line in enumerate(EXAMPLE_BYTES.splitlines())),
    "semicolons": EXAMPLE_BYTES.replace(b",", b";"),
    "tabs": EXAMPLE_BYTES.replace(b",", b"\t"),
    "latin-1": ONE.replace(b"Nausea", "Naus\xe9e".encode("latin-1")),
    "NUL": ONE.replace(b"Nausea", b"Nau\x00sea"),
    "NUL after 64 KiB": EXAMPLE_BYTES + b"".join(b"Z%d,contact,2024-01-01,,,,,,,\n" % i for i in range(3000)) + b"Z,contact,2024-01-01,,,,,,,\x00\n",
    "duplicated header line": ONE + HEADER + b"\n",
    "duplicated column": b"subject_id,event,date,date\nA,infusion,2024-01-01,2024-01-01\n",
    "missing columns": b"subject_id,date\nA,2024-01-01\n",
    "blank column name": b"subject_id,event,date,\nA,infusion,2024-01-01,\n",
    "quoted newline in a term": ONE.replace(b"Nausea", b'"Nau\nsea"'),
    "capitalised header and a quoted newline": ONE.replace(b"subject_id,event", b"Subject_ID, EVENT").replace(
        b"Nausea", b'"Nau\nsea"'),
    "quoted newline in the header": b'"subject\n_id",event,date\nA,infusion,2024-01-01\n',
    "unclosed quote": ONE.replace(b"Nausea", b'"Nausea'),
    "cut mid-record": ONE[:-10],
    "100k-char term": ONE.replace(b"Nausea", b"N" * 100_000),
    "100k-char subject": ONE.replace(b"A,", b"S" * 100_000 + b","),
    "year 99999": ONE.replace(b"2024-01-01", b"99999-01-01"),
    "year 9999": ONE.replace(b"2024-", b"9999-"),
    "year 2199": ONE.replace(b"2024-", b"2199-"),
    "grade 10**30": ONE.replace(b",3,", b",1" + b"0" * 30 + b","),
    "grade -0": ONE.replace(b",3,", b",-0,"),
    "RTL, emoji and combining marks": ONE.replace(b"A,", "\u202eA\U0001f600e\u0301,".encode()).replace(
        b"Nausea", "\u05d1\u05d7\u05d9\u05dc\u05d4 \U0001f922".encode()),
    "line separator U+2028": ONE.replace(b"Nausea", "Nau\u2028sea".encode()),
    "formula subject": ONE.replace(b"A,", b"=HYPERLINK(1),"),
    "extra fields": ONE.replace(b"2024-03-01,,,,,,,", b"2024-03-01,,,,,,,,,,"),
    "parquet magic then junk": b"PAR1" + os.urandom(64),
}


#: The commands every named case goes through (the reader is shared; these are the engines).
NAMED_COMMANDS = [["validate", "{in}", "--format", "json"], ["derive", "{in}"], ["check-dlt", "{in}"],
                  ["teae", "{in}", "--listing"], ["safety", "{in}"]]  # fmt: skip


@pytest.mark.parametrize("data", list(NAMED.values()), ids=list(NAMED))
def test_named_hostile_input(cli, data):
    for command in NAMED_COMMANDS:
        cli.run(data, command)


def test_named_hostile_input_through_plots_and_report(cli):
    pytest.importorskip("matplotlib")
    for name in ("RTL, emoji and combining marks", "header only", "100k-char term"):
        for command in PLOT_COMMANDS:
            cli.run(NAMED[name], command)


def test_line_endings_and_bom_do_not_change_the_result(cli):
    reference = cli.run(EXAMPLE_BYTES, ["derive", "{in}"]).stdout
    for name in ("BOM", "CRLF", "lone CR", "mixed endings"):
        assert cli.run(NAMED[name], ["derive", "{in}"]).stdout == reference, name


def test_line_numbers_survive_a_capitalised_header_and_quoted_line_breaks(cli):
    """Found by fuzzing: header names that change when normalised (Subject_ID -> subject_id)
    plus a quoted line break made the line-number expression look for the old names (exit 1)."""
    import json

    data = (b"Subject_ID,Event,Date,Term,Grade\nX,infusion,2024-01-01,,\nX,ae,2024-01-02,\"Nau\nsea\",2\n"
            b"X,ae,2024-01-03,Rash,9\n")  # fmt: skip
    result = cli.run(data, ["validate", "{in}", "--format", "json"])
    errors = json.loads(result.stdout)["errors"]
    assert [(e["line"], e["column"], e["value"]) for e in errors] == [(5, "grade", "9")]


def test_the_errors_name_what_is_wrong(cli):
    expectations = {
        "empty": "the file is empty",
        "semicolons": "missing required column",
        "latin-1": "not UTF-8",
        "NUL": "binary data",
        "unclosed quote": "unclosed quote",
        "year 99999": "not a date",
        "year 9999": "a date after 2199",
        "grade 10**30": "grade must be a whole number from 1 to 5",
        "duplicated column": "appears twice",
        "extra fields": "fields where the header has",
    }
    for name, text in expectations.items():
        result = cli.run(NAMED[name], ["derive", "{in}"])
        assert result.exit_code == 2 and text in result.stderr, (name, result.stderr)
        assert result.stdout == ""


# --------------------------------------------------------------------------- the real process


@pytest.mark.parametrize("name", ["lone CR", "year 9999", "unclosed quote", "UTF-16"])
def test_hostile_input_through_the_real_process(tmp_path, name):
    path = tmp_path / "in.csv"
    path.write_bytes(NAMED[name])
    for command in (["derive", path], ["check-dlt", path]):
        result = run_process(*command, env={"SOURCE_DATE_EPOCH": "0"})
        assert result.exit_code in (0, 2, 3), (command, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_random_bytes_on_standard_input_through_the_real_process():
    rng = random.Random(19)
    for size in (0, 300):
        data = bytes(rng.randrange(256) for _ in range(size))
        result = run_process("validate", "-", input=data)
        assert result.exit_code == 2 and "Traceback" not in result.stderr
