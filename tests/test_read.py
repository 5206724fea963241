"""Reading valid input in every form the format allows (CSV with BOM/CRLF/quoted newlines,
Parquet, standard input) and the canonical frame it yields, including partial-date imputation."""

from __future__ import annotations

import datetime as dt
import io
import json

import polars as pl
import pytest

from cart19.errors import InputError
from cart19.io.read import read_events
from cart19.schema import EVENTS_SCHEMA
from conftest import run_cli, run_process

H = "subject_id,event,date,end_date,grade,term,soc,serious,related,result"
D = dt.date


def csv(*lines: str, header: str = H, eol: str = "\n") -> bytes:
    return (eol.join([header, *lines]) + eol).encode("utf-8")


def test_header_only_file_is_valid_with_zero_records(write_bytes):
    result = read_events(write_bytes(csv()))
    assert result.events.height == 0
    assert result.events.schema == EVENTS_SCHEMA
    assert result.warnings == []
    cli = run_cli("validate", write_bytes(csv(header="subject_id,event,date")), "--format", "json")
    assert cli.exit_code == 0
    assert json.loads(cli.stdout)["summary"]["records"] == 0


def test_header_without_a_line_break_is_valid(write_bytes):
    assert read_events(write_bytes(b"subject_id,event,date")).events.height == 0


def test_the_canonical_frame_holds_typed_canonical_values(write_bytes):
    data = csv(
        "S1,Infusion,2024-01-10,,,,,,,",
        " S1 ,AE, 2024-01-11 ,2024-01-13,3 ,Cytokine release syndrome,Immune system disorders,y,N,",
        "S1,assessment,2024-02-10,,,,,,,cr",
        "S1,assessment,2024-03-10,,,,,,,crh",
        "S1,relapse,2024-04-10,,,,,,,Hematologic",
        "S1,death,2024-05-10,,,,,,,DISEASE",
    )
    events = read_events(write_bytes(data)).events
    assert events.schema == EVENTS_SCHEMA
    assert events["line"].to_list() == [2, 3, 4, 5, 6, 7]
    assert events["event"].to_list() == ["infusion", "ae", "assessment", "assessment", "relapse", "death"]
    assert events["result"].to_list() == [None, None, "CR", "CRh", "hematologic", "disease"]
    ae = events.row(1, named=True)
    assert ae["subject_id"] == " S1 "  # verbatim
    assert (ae["date"], ae["end_date"], ae["grade"], ae["serious"], ae["related"]) == (D(2024, 1, 11), D(2024, 1, 13), 3, True, False)
    assert not events["date_imputed"].any()


def test_the_kind_is_one_of_the_formats_kinds_whichever_reader_read_it(write_bytes):
    """``event`` is the Enum of the format's kinds (schema.EVENT_KIND) from the streaming reader,
    the eager one (a BOM sends the file there) and Parquet; a kind compares with its text and
    is written as its text."""
    from cart19.schema import EVENT_KIND

    data = csv("S1,Infusion,2024-01-10,,,,,,,", "S1,AE,2024-01-11,,2,Nausea,,,,")
    parquet = io.BytesIO()
    pl.DataFrame({"subject_id": ["S1"], "event": ["infusion"], "date": [D(2024, 1, 10)]}).write_parquet(parquet)
    paths = [write_bytes(data), write_bytes(b"\xef\xbb\xbf" + data, "bom.csv"),
             write_bytes(parquet.getvalue(), "events.parquet")]  # fmt: skip
    for events in (read_events(path).events for path in paths):
        assert events.schema["event"] == EVENT_KIND
        assert events.filter(pl.col("event") == "infusion").height == 1
        assert events.filter(pl.col("event").is_in(["ae", "death"])).height == events.height - 1
        assert events.select("event").write_csv().splitlines()[1] == "infusion"


def test_subject_ids_are_text_never_numbers(write_bytes):
    events = read_events(write_bytes(b"subject_id,event,date\n007,infusion,2024-01-10\n1e3,infusion,2024-01-10\n")).events
    assert events["subject_id"].to_list() == ["007", "1e3"]


def test_an_ae_ending_on_the_death_date_is_fine(write_bytes):
    data = csv("S1,infusion,2024-01-10,,,,,,,", "S1,ae,2024-02-20,2024-03-01,5,Sepsis,,,,",
               "S1,death,2024-03-01,,,,,,,toxicity", "S1,contact,2024-03-01,,,,,,,")  # fmt: skip
    assert read_events(write_bytes(data)).events.height == 4


def test_unknown_column_is_one_warning_never_an_error(write_bytes):
    data = b"subject_id,event,date,site,notes\nS1,infusion,2024-01-10,Paris,x\nS1,contact,2024-01-11,Paris,\n"
    result = read_events(write_bytes(data))
    assert result.events.height == 2
    (warning,) = result.warnings
    assert (warning.line, warning.column, warning.severity) == (1, "site, notes", "warning")
    cli = run_cli("validate", write_bytes(data), "--format", "table")
    assert cli.exit_code == 0
    assert cli.stderr.count("warning:") == 1 and "site, notes" in cli.stderr


def test_header_names_are_trimmed_and_case_insensitive(write_bytes):
    data = b" Subject_ID ,EVENT,Date\nS1,infusion,2024-01-10\n"
    assert read_events(write_bytes(data)).events["subject_id"].to_list() == ["S1"]


def test_utf8_bom_and_crlf_line_endings(write_bytes):
    data = b"\xef\xbb\xbf" + csv("S1,infusion,2024-01-10,,,,,,,", "S1,contact,2024-01-11,,,,,,,", eol="\r\n")
    events = read_events(write_bytes(data)).events
    assert events["subject_id"].to_list() == ["S1", "S1"]
    assert events["line"].to_list() == [2, 3]
    bad = b"\xef\xbb\xbf" + csv("S1,infusion,2024-01-10,,,,,,,", "S1,contact,2024-01-1x,,,,,,,", eol="\r\n")
    with pytest.raises(InputError) as caught:
        read_events(write_bytes(bad))
    assert [(i.line, i.column, i.value) for i in caught.value.errors] == [(3, "date", "2024-01-1x")]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_quoted_fields_with_line_breaks_keep_later_line_numbers_right(write_bytes, eol):
    lines = [
        "S1,infusion,2024-01-10,,,,,,,",
        f'S1,ae,2024-01-11,,2,"Nausea{eol}(see note{eol}below)",,,,',  # lines 3-5
        f'S1,ae,2024-01-12,,2,Vomiting,"Gastrointestinal{eol}disorders",,,',  # lines 6-7
        "S1,contact,2024-02-30,,,,,,,",  # line 8
        "S1,ae,2024-01-13,,9,Rash,,,,",  # line 9
    ]
    with pytest.raises(InputError) as caught:
        read_events(write_bytes(csv(*lines, eol=eol)))
    assert [(i.line, i.column) for i in caught.value.errors] == [(8, "date"), (9, "grade")]
    events = read_events(write_bytes(csv(*lines[:3], eol=eol))).events
    assert events["line"].to_list() == [2, 3, 6]
    assert events["term"][1] == f"Nausea{eol}(see note{eol}below)"


def test_line_numbers_stay_right_on_the_slow_path(write_bytes):
    # a record with too many fields sends the file down the python csv path; the line numbers
    # of the records after a quoted line break must still be right
    data = csv('S1,ae,2024-01-11,,2,"a\nb",,,,', "S1,contact,2024-01-12,,,,,,,,extra")
    with pytest.raises(InputError) as caught:
        read_events(write_bytes(data))
    assert [i.line for i in caught.value.errors] == [4]


def test_blank_rows_are_skipped_with_one_warning_and_do_not_shift_lines(write_bytes):
    data = b"subject_id,event,date\nS1,infusion,2024-01-10\n\n,,\n   \nS1,contact,2024-01-1x\n"
    with pytest.raises(InputError) as caught:
        read_events(write_bytes(data))
    assert [(i.line, i.column) for i in caught.value.errors] == [(6, "date")]
    result = read_events(write_bytes(data.replace(b"1x", b"11")))
    assert result.events["line"].to_list() == [2, 6]
    assert [w.message for w in result.warnings if "blank" in w.message] == ["3 blank row(s) skipped"]


def test_a_blank_row_of_spaces_is_no_subject_of_the_events(write_bytes):
    # a row whose subject_id is spaces and every other cell empty is skipped as blank; its
    # "identifier" is then no subject of the events (the untreated warning named it)
    data = csv("S2,enrolled,2024-01-02,,,,,,,", "   ,,,,,,,,,", "S1,enrolled,2024-01-03,,,,,,,", "S1,infusion,2024-01-10,,,,,,,")
    result = read_events(write_bytes(data))
    assert [w.message for w in result.warnings if "blank" in w.message] == ["1 blank row(s) skipped"]
    assert result.subjects is not None
    assert result.subjects.ids.to_list() == ["S2", "S1"]
    assert result.subjects.ids.gather(result.subjects.codes).to_list() == result.events["subject_id"].to_list()
    out = run_cli("validate", "--format", "json", write_bytes(data))
    untreated = [w["message"] for w in json.loads(out.stdout)["warnings"] if "without an infusion" in w["message"]]
    assert untreated == ["1 subject(s) without an infusion are outside the treated set and in no endpoint: S2"]


def test_values_ignored_on_non_ae_rows_are_a_warning(write_bytes):
    result = read_events(write_bytes(csv("S1,infusion,2024-01-10,,3,,,,,CR")))
    assert {(w.line, w.column) for w in result.warnings} == {(2, "grade"), (2, "result")}
    assert result.events.row(0, named=True)["grade"] is None


# --------------------------------------------------------------------------- Parquet, stdin


def _parquet_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1"],
            "event": ["infusion", "ae", "assessment"],
            "date": [D(2024, 1, 10), D(2024, 1, 11), D(2024, 2, 10)],
            "end_date": [None, D(2024, 1, 12), None],
            "grade": [None, 2, None],
            "term": [None, "Cytokine release syndrome", None],
            "serious": [None, True, None],
            "result": [None, None, "cr"],
        }
    )


def test_parquet_input_with_typed_columns(tmp_path):
    path = tmp_path / "events.parquet"
    _parquet_frame().write_parquet(path)
    events = read_events(path).events
    assert events["line"].to_list() == [2, 3, 4]
    assert events["grade"].to_list() == [None, 2, None]
    assert events["serious"].to_list() == [None, True, None]
    assert events["result"].to_list() == [None, None, "CR"]
    assert run_cli("validate", path, "--format", "table").exit_code == 0


def test_parquet_errors_name_the_row_as_a_csv_export_would(tmp_path):
    path = tmp_path / "events.parquet"
    _parquet_frame().with_columns(pl.Series("grade", [None, 7, None])).write_parquet(path)
    with pytest.raises(InputError) as caught:
        read_events(path)
    assert [(i.line, i.column, i.value) for i in caught.value.errors] == [(3, "grade", "7")]


def test_parquet_float_grades_and_unknown_nested_columns(tmp_path):
    path = tmp_path / "events.parquet"
    frame = _parquet_frame().with_columns(
        pl.col("grade").cast(pl.Float64), pl.Series("tags", [[1], [2], []]), pl.Series("when", [dt.datetime(2024, 1, 1)] * 3)
    )
    frame.write_parquet(path)
    result = read_events(path)
    assert result.events["grade"].to_list() == [None, 2, None]
    assert [w.column for w in result.warnings] == ["tags, when"]


def test_stdin_csv(write_bytes):
    data = csv("S1,infusion,2024-01-10,,,,,,,", "S1,contact,2024-01-11,,,,,,,")
    assert read_events("-", stdin=io.BytesIO(data)).events.height == 2
    result = run_process("validate", "-", "--format", "json", input=data)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["records"] == 2
    bad = run_process("validate", "-", "--format", "table", input=csv("S1,infusion,2024-01-1x,,,,,,,"))
    assert bad.exit_code == 2 and bad.stdout == ""
    assert "-: line 2, column date" in bad.stderr


def test_stdin_parquet_is_recognised_by_its_magic_bytes():
    buffer = io.BytesIO()
    _parquet_frame().write_parquet(buffer)
    assert read_events("-", stdin=io.BytesIO(buffer.getvalue())).events.height == 3
    result = run_cli("validate", "-", "--format", "json", input=buffer.getvalue())
    assert result.exit_code == 0, result.stderr


def test_sha256_of_the_input_bytes(write_bytes):
    import hashlib

    data = csv("S1,infusion,2024-01-10,,,,,,,")
    assert read_events(write_bytes(data), with_sha256=True).sha256 == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- imputation


def _imputed(write_bytes, *lines: str) -> dict[int, tuple[dt.date, bool]]:
    events = read_events(write_bytes(csv(*lines))).events
    return {line: (date, flag) for line, date, flag in events.select("line", "date", "date_imputed").iter_rows()}


def test_ae_partial_date_in_the_infusion_month_becomes_the_infusion_date(write_bytes):
    got = _imputed(write_bytes, "S1,infusion,2024-01-10,,,,,,,", "S1,ae,2024-01,,2,Nausea,,,,")
    assert got[3] == (D(2024, 1, 10), True)
    assert got[2] == (D(2024, 1, 10), False)


def test_ae_partial_date_in_another_month_becomes_the_first(write_bytes):
    got = _imputed(write_bytes, "S1,infusion,2024-01-10,,,,,,,", "S1,ae,2024-02,,2,Nausea,,,,",
                   "S1,ae,2023-12,,1,Rash,,,,")  # fmt: skip
    assert got[3] == (D(2024, 2, 1), True)
    assert got[4] == (D(2023, 12, 1), True)


def test_ae_partial_date_without_an_infusion_becomes_the_first(write_bytes):
    assert _imputed(write_bytes, "S1,ae,2024-02,,2,Nausea,,,,")[2] == (D(2024, 2, 1), True)


def test_ae_partial_date_in_the_infusion_month_that_ended_before_it_is_placed_on_its_end(write_bytes):
    got = _imputed(write_bytes, "S1,infusion,2024-01-10,,,,,,,", "S1,ae,2024-01,2024-01-05,2,Nausea,,,,")
    assert got[3] == (D(2024, 1, 5), True)


def test_death_partial_date_becomes_the_first_of_the_month(write_bytes):
    got = _imputed(write_bytes, "S1,infusion,2024-01-10,,,,,,,", "S1,death,2024-03,,,,,,,disease")
    assert got[3] == (D(2024, 3, 1), True)


def test_death_partial_date_becomes_the_last_other_record_when_later(write_bytes):
    got = _imputed(write_bytes, "S1,infusion,2024-01-10,,,,,,,", "S1,contact,2024-03-17,,,,,,,",
                   "S1,death,2024-03,,,,,,,disease", "S2,contact,2024-03-25,,,,,,,")  # fmt: skip
    assert got[4] == (D(2024, 3, 17), True)  # S2's record does not count


def test_death_partial_date_counts_an_ae_end_date_as_a_dated_record(write_bytes):
    got = _imputed(write_bytes, "S1,infusion,2024-01-10,,,,,,,", "S1,ae,2024-02-20,2024-03-09,4,Sepsis,,,,",
                   "S1,death,2024-03,,,,,,,toxicity")  # fmt: skip
    assert got[4] == (D(2024, 3, 9), True)


def test_imputed_dates_are_counted_in_the_summary(write_bytes):
    path = write_bytes(csv("S1,infusion,2024-01-10,,,,,,,", "S1,ae,2024-01,,2,Nausea,,,,", "S1,death,2024-03,,,,,,,other"))
    result = run_cli("validate", path, "--format", "json")
    assert json.loads(result.stdout)["summary"]["imputed_dates"] == 2


# --------------------------------------------------------------------------- line numbers, property

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TERM = st.sampled_from(("Nausea", "a\nb", "a\r\nb", "x\n\ny", "", "p, q", 'say "hi"'))


@settings(max_examples=100, deadline=None)
@given(terms=st.lists(_TERM, min_size=1, max_size=12), eol=st.sampled_from(("\n", "\r\n")),
       blank_after=st.sets(st.integers(0, 11)), bad=st.integers(0, 11))  # fmt: skip
def test_line_numbers_follow_quoted_line_breaks_and_blank_lines(terms, eol, blank_after, bad):
    """Each record's line is the physical line it starts on, whatever line breaks the quoted
    fields before it hold, with either line ending, with blank lines in between."""
    import csv as csv_module

    bad %= len(terms)
    buffer = io.StringIO()
    writer = csv_module.writer(buffer, lineterminator=eol)
    writer.writerow(["subject_id", "event", "date", "grade", "term"])
    starts = []
    line = 2
    for index, term in enumerate(terms):
        starts.append(line)
        date = "2024-02-30" if index == bad else "2024-01-11"
        writer.writerow(["S1", "ae", date, "2", term or "x"])
        line += 1 + (term or "x").count("\n")
        if index in blank_after:
            buffer.write(eol)
            line += 1
    data = buffer.getvalue().encode()
    with pytest.raises(InputError) as caught:
        read_events("-", stdin=io.BytesIO(data))
    assert [(i.line, i.column) for i in caught.value.errors] == [(starts[bad], "date")]
    fixed = data.replace(b"2024-02-30", b"2024-01-12")
    assert read_events("-", stdin=io.BytesIO(fixed)).events["line"].to_list() == starts
