"""Every error class of events-format.md ("What is an error"), each with its exact line,
column and message; and the same files through the CLI: exit status 2, a plain message on
standard error, no traceback, nothing on standard output."""

from __future__ import annotations

import json

import pytest

from cart19.errors import InputError
from cart19.io.read import read_events
from conftest import run_cli, run_process

H = "subject_id,event,date,end_date,grade,term,soc,serious,related,result"
INF = "S1,infusion,2024-01-10,,,,,,,"


def csv(*lines: str, header: str = H, eol: str = "\n") -> bytes:
    return (eol.join([header, *lines]) + eol).encode("utf-8")


# (id, file bytes, [(line, column, part of the message)]) -- the complete list of errors
CASES: list[tuple[str, bytes, list[tuple[int | None, str | None, str]]]] = [
    ("missing-required-column", b"subject_id,event\nS1,infusion\n", [(1, "date", "missing required column(s) date")]),
    ("missing-all-required", b"foo,bar\n1,2\n", [(1, "subject_id, event, date", "missing required column(s)")]),
    ("unknown-event", csv(INF, "S1,infuse,2024-01-11,,,,,,,"), [(3, "event", "unknown event")]),
    ("missing-event", csv(INF, "S1,,2024-01-11,,,,,,,"), [(3, "event", "event is missing")]),
    ("missing-subject", csv(INF, ",contact,2024-01-11,,,,,,,"), [(3, "subject_id", "subject_id is missing")]),
    ("missing-date", csv(INF, "S1,contact,,,,,,,,"), [(3, "date", "date is missing")]),
    ("unparseable-date", csv(INF, "S1,contact,11/01/2024,,,,,,,"), [(3, "date", "not a date")]),
    ("impossible-date", csv(INF, "S1,contact,2024-02-30,,,,,,,"), [(3, "date", "not a real calendar date")]),
    ("impossible-month", csv(INF, "S1,ae,2024-13,,2,Nausea,,,,"), [(3, "date", "not a real month")]),
    ("partial-date-assessment", csv(INF, "S1,assessment,2024-02,,,,,,,CR"),
     [(3, "date", "a partial date (YYYY-MM) is not allowed for assessment")]),
    ("partial-date-infusion", csv("S1,infusion,2024-01,,,,,,,"),
     [(2, "date", "a partial date (YYYY-MM) is not allowed for infusion")]),
    ("year-only-contact", csv(INF, "S1,contact,2024,,,,,,,"),
     [(3, "date", "a year alone (YYYY) is allowed for ae rows only, not for contact; give the full date YYYY-MM-DD")]),
    ("year-only-death", csv(INF, "S1,death,2024,,,,,,,disease"),
     [(3, "date", "a year alone (YYYY) is allowed for ae rows only, not for death; give the full date YYYY-MM-DD "
                  "(or YYYY-MM)")]),
    ("year-only-ae-1899", csv(INF, "S1,ae,1899,,2,Nausea,,,,"), [(3, "date", "a date before 1900")]),
    ("year-only-ae-0000", csv(INF, "S1,ae,0000,,2,Nausea,,,,"), [(3, "date", "a date before 1900")]),
    ("year-only-ae-end-before-year", csv(INF, "S1,ae,2024,2023-12-31,2,Nausea,,,,"),
     [(3, "end_date", "end_date is before the AE's date 2024")]),
    ("year-only-end-date", csv(INF, "S1,ae,2024-01-12,2024,2,Nausea,,,,"), [(3, "end_date", "must be a full date")]),
    ("year-only-ae-9999", csv(INF, "S1,ae,9999,,2,Nausea,,,,"), [(3, "date", "a date after 2199")]),
    ("grade-6", csv(INF, "S1,ae,2024-01-11,,6,Nausea,,,,"), [(3, "grade", "grade must be a whole number from 1 to 5")]),
    ("grade-0", csv(INF, "S1,ae,2024-01-11,,0,Nausea,,,,"), [(3, "grade", "from 1 to 5")]),
    ("grade-2.5", csv(INF, "S1,ae,2024-01-11,,2.5,Nausea,,,,"), [(3, "grade", "from 1 to 5")]),
    ("grade-text", csv(INF, "S1,ae,2024-01-11,,high,Nausea,,,,"), [(3, "grade", "from 1 to 5")]),
    ("grade-missing", csv(INF, "S1,ae,2024-01-11,,,Nausea,,,,"), [(3, "grade", "grade is missing")]),
    ("term-missing", csv(INF, "S1,ae,2024-01-11,,2,,,,,"), [(3, "term", "term is missing")]),
    ("result-missing-assessment", csv(INF, "S1,assessment,2024-02-10,,,,,,,"),
     [(3, "result", "result is missing; assessment needs one of: CR, CRh")]),
    ("result-wrong-assessment", csv(INF, "S1,assessment,2024-02-10,,,,,,,remission"),
     [(3, "result", "not a result for assessment")]),
    ("result-missing-relapse", csv(INF, "S1,relapse,2024-02-10,,,,,,,"), [(3, "result", "result is missing; relapse")]),
    ("result-wrong-relapse", csv(INF, "S1,relapse,2024-02-10,,,,,,,CNS"), [(3, "result", "not a result for relapse")]),
    ("result-missing-death", csv(INF, "S1,death,2024-02-10,,,,,,,"), [(3, "result", "result is missing; death")]),
    ("result-wrong-death", csv(INF, "S1,death,2024-02-10,,,,,,,CRS"), [(3, "result", "not a result for death")]),
    ("end-before-date", csv(INF, "S1,ae,2024-01-12,2024-01-11,2,Nausea,,,,"),
     [(3, "end_date", "end_date is before the AE's date 2024-01-12")]),
    ("end-date-partial", csv(INF, "S1,ae,2024-01-12,2024-02,2,Nausea,,,,"), [(3, "end_date", "must be a full date")]),
    ("end-date-impossible", csv(INF, "S1,ae,2024-01-12,2024-02-31,2,Nausea,,,,"),
     [(3, "end_date", "not a real calendar date")]),
    ("date-before-1900", csv("S1,infusion,1899-12-31,,,,,,,"), [(2, "date", "a date before 1900")]),
    ("end-date-before-1900", csv(INF, "S1,ae,1899-12-01,1899-12-31,2,Nausea,,,,"),
     [(3, "date", "a date before 1900"), (3, "end_date", "a date before 1900")]),
    ("serious-not-yn", csv(INF, "S1,ae,2024-01-11,,2,Nausea,,maybe,,"), [(3, "serious", "serious must be Y or N")]),
    ("two-infusions", csv(INF, "S1,contact,2024-01-11,,,,,,,", "S1,infusion,2024-01-12,,,,,,,"),
     [(4, "event", "a second infusion for subject S1 (the first is on line 2)")]),
    ("two-deaths", csv(INF, "S1,death,2024-03-01,,,,,,,disease", "S1,death,2024-03-05,,,,,,,other"),
     [(4, "event", "a second death for subject S1 (the first is on line 3)")]),
    ("record-after-death", csv(INF, "S1,death,2024-03-01,,,,,,,disease", "S1,contact,2024-03-02,,,,,,,"),
     [(4, "date", "dated after the subject's death (2024-03-01 on line 3)")]),
    ("record-after-partial-death", csv(INF, "S1,death,2024-03,,,,,,,disease", "S1,contact,2024-04-01,,,,,,,"),
     [(4, "date", "dated after the subject's death")]),
    ("ae-ends-after-death", csv(INF, "S1,ae,2024-02-20,2024-03-02,3,Sepsis,,,,", "S1,death,2024-03-01,,,,,,,toxicity"),
     [(3, "end_date", "the AE ends after the subject's death (2024-03-01 on line 4)")]),
    ("non-utf8", b"subject_id,event,date\nS1,infusion,2024-01-10\nS\xe91,contact,2024-01-11\n",
     [(3, None, "not UTF-8")]),
    ("non-utf8-latin1-file", "subject_id,event,date,term\nS1,infusion,2024-01-10,\nS1,ae,2024-01-11,Fièvre\n"
     .encode("latin-1"), [(3, None, "not UTF-8")]),
    ("empty-file", b"", [(None, None, "the file is empty")]),
    ("whitespace-only-file", b"  \n\n", [(None, None, "the file is empty")]),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", [(3, None, "not a text (CSV) file")]),
    ("nul-after-64k", csv(INF, *["S1,contact,2024-01-11,,,,,,,"] * 3000, "S1,contact,2024-01-1\x002,,,,,,,"),
     [(3003, None, "a NUL byte (binary data)")]),
    ("nul-after-64k-eager", b"\xef\xbb\xbf" + csv(INF, *["S1,contact,2024-01-11,,,,,,,"] * 3000, "S1,\x00"),
     [(3003, None, "a NUL byte (binary data)")]),
    ("fewer-fields", csv(INF, "S1,contact,2024-01-11,,,,,,,", "S1,contact,2024-01-12", "S1,contact,2024-01-13,,,,,,,"),
     [(4, None, "3 fields where the header has 10")]),
    ("cut-mid-record", csv(INF, "S1,contact,2024-01-11,,,,,,,", "S1,ae,2024-01-12,,3,Nau").rstrip(b"\n"),
     [(4, None, "6 fields where the header has 10")]),
    ("fewer-fields-quoted", csv(INF, 'S1,ae,2024-01-12,,3,"Rash, maculo-papular",,,,', 'S1,ae,2024-01-12,,3,"a,b"'),
     [(4, None, "6 fields where the header has 10")]),
    ("sep-line", b"sep=,\n" + csv(INF), [(1, None, "'sep=,' is a separator hint that Excel writes")]),
    ("utf-16", csv(INF).decode().encode("utf-16"), [(None, None, "the file is UTF-16 text, not UTF-8: convert it")]),
    ("json", b'{"subject_id": "S1", "event": "infusion", "date": "2024-01-10"}\n',
     [(1, "subject_id, event, date", "missing required column(s)")]),
    ("semicolons", b"subject_id;event;date\nS1;infusion;2024-01-10\n", [(1, "subject_id, event, date", "comma-separated")]),
    ("too-many-fields", csv(INF, "S1,contact,2024-01-11,,,,,,,,extra", "S1,contact,2024-01-12,,,,,,,"),
     [(3, None, "11 fields where the header has 10")]),
    ("duplicate-header-column", b"subject_id,event,date,Date\nS1,infusion,2024-01-10,2024-01-10\n",
     [(1, "date", "the column 'date' appears twice in the header (columns 3 and 4)")]),
    ("unclosed-quote", b'subject_id,event,date,term\nS1,infusion,2024-01-10,\nS1,ae,2024-01-11,"Nausea\n'
     b"S1,contact,2024-01-12,\n", [(3, None, "not valid CSV")]),
]


def _where(issue) -> tuple[int | None, str | None]:
    return issue.line, issue.column


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=i) for i, d, e in CASES])
def test_every_error_is_reported_with_its_line_column_and_message(write_bytes, data, expected):
    path = write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_events(path)
    errors = caught.value.errors
    assert sorted((_where(i) for i in errors), key=repr) == sorted(((l, c) for l, c, _ in expected), key=repr)
    for line, column, fragment in expected:
        (issue,) = [i for i in errors if _where(i) == (line, column)]
        assert fragment in issue.message
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=i) for i, d, e in CASES])
def test_every_error_exits_2_with_a_plain_message_and_nothing_on_stdout(write_bytes, data, expected):
    path = write_bytes(data)
    result = run_cli("validate", path, "--format", "table")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "problem(s) found" in result.stderr
    for line, column, fragment in expected:
        shown = [s for s in result.stderr.splitlines() if fragment in s]
        assert shown, result.stderr
        if line is not None:
            assert any(f"line {line}" in s for s in shown)
        if column is not None:
            assert any(f"column {column}" in s for s in shown)


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=i) for i, d, e in CASES[:8] + CASES[-10:]])
def test_json_format_lists_the_same_errors(write_bytes, data, expected):
    path = write_bytes(data)
    result = run_cli("validate", path, "--format", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["valid"] is False and document["summary"] is None
    assert {(e["line"], e["column"]) for e in document["errors"]} == {(l, c) for l, c, _ in expected}


def test_every_problem_of_a_file_is_reported_together(write_bytes):
    data = csv(
        INF,
        "S1,infuse,2024-01-11,,,,,,,",
        "S1,assessment,2024-02,,,,,,,CR",
        "S1,ae,2024-01-12,,7,,,,,",
        "S2,relapse,2024-02-30,,,,,,,",
    )
    with pytest.raises(InputError) as caught:
        read_events(write_bytes(data))
    assert [_where(i) for i in caught.value.errors] == [
        (3, "event"), (4, "date"), (5, "grade"), (5, "term"), (6, "date"), (6, "result"),
    ]  # fmt: skip


def test_bad_bytes_on_several_lines_are_each_named(write_bytes):
    data = b"subject_id,event,date\nS\xff1,infusion,2024-01-10\nS1,contact,2024-01-11\nS\xfe1,contact,2024-01-12\n"
    with pytest.raises(InputError) as caught:
        read_events(write_bytes(data))
    assert [i.line for i in caught.value.errors] == [2, 4]
    assert caught.value.errors[0].value == "ff"


def test_missing_path_and_a_folder_exit_2_with_plain_words(tmp_path):
    missing = run_cli("validate", tmp_path / "nope.csv", "--format", "table")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "no such file" in missing.stderr and "Traceback" not in missing.stderr
    folder = run_cli("validate", tmp_path, "--format", "table")
    assert folder.exit_code == 2 and folder.stdout == ""
    assert "is a folder" in folder.stderr


def test_real_process_invalid_input_exits_2_without_a_traceback(write_bytes):
    path = write_bytes(csv(INF, "S1,contact,2024-02-30,,,,,,,"))
    result = run_process("validate", path, "--format", "table")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "line 3, column date, value '2024-02-30'" in result.stderr
    assert "Traceback" not in result.stderr
    # piped without --format: JSON on stdout, and the problems also in words on stderr
    piped = run_process("validate", path)
    assert piped.exit_code == 2
    assert json.loads(piped.stdout)["errors"][0]["line"] == 3
    assert "line 3" in piped.stderr


def test_a_corrupt_parquet_file_is_an_input_error(write_bytes):
    path = write_bytes(b"PAR1 this is not really parquet", name="events.parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_events(path)
    assert run_cli("validate", path, "--format", "table").exit_code == 2


def test_a_nested_parquet_column_of_the_format_is_an_input_error(tmp_path):
    import polars as pl

    path = tmp_path / "events.parquet"
    pl.DataFrame({"subject_id": ["S1"], "event": ["infusion"], "date": [["2024-01-10"]]}).write_parquet(path)
    with pytest.raises(InputError, match="column date: the column holds List"):
        read_events(path)
