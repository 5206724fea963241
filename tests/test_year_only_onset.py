"""A year-only AE onset (``YYYY``) in the event file (events-format.md, "Partial dates"; sdtm.md):
"an AE onset YYYY becomes 1 January, or the infusion date when that year holds the infusion
(flag M, month imputed)"; any other kind with a year alone is an error.

One patient, infused on 2024-03-05 (2024 is a leap year), with AEs whose onset is a year:

=====  ==========  ==========  ==================  =====  =====  ===========================
line   date        end_date    imputed to          flag   day    why
=====  ==========  ==========  ==================  =====  =====  ===========================
3      2023                    2023-01-01          M      -429   a year before the infusion's
4      2024                    2024-03-05          M      0      the infusion's year: emergent
5      2024        2024-02-10  2024-02-10          M      -24    ... but not after its own end
6      2025                    2025-01-01          M      302    a year after the infusion's
7      2024-03                 2024-03-05          D      0      (the month rule, for contrast)
=====  ==========  ==========  ==================  =====  =====  ===========================

Days: 2023-01-01 -> 2024-01-01 is 365 days, 2024-01-01 -> 2024-03-05 is 31 + 29 + 4 = 64, so
-429; 2024-02-10 -> 2024-03-05 is 19 + 5 = 24; 2024-03-05 -> 2025-01-01 is 366 - 64 = 302.
The same AEs from SDTM (AESTDTC = 2023, ...) give the same dates and flags.
"""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import polars as pl
import pytest

from cart19.config import Config
from cart19.engine.adam import adae
from cart19.errors import InputError
from cart19.io.read import read_events
from cart19.report.build import data_quality_warnings
from conftest import csv_text, run_cli
from sdtm_helpers import dm, ex_infusion, write_study

D = dt.date
ROWS = [
    {"subject_id": "P1", "event": "infusion", "date": "2024-03-05"},
    {"subject_id": "P1", "event": "ae", "date": "2023", "grade": "1", "term": "Hypertension"},
    {"subject_id": "P1", "event": "ae", "date": "2024", "grade": "2", "term": "Pyrexia"},
    {"subject_id": "P1", "event": "ae", "date": "2024", "end_date": "2024-02-10", "grade": "1", "term": "Rash"},
    {"subject_id": "P1", "event": "ae", "date": "2025", "grade": "1", "term": "Cough"},
    {"subject_id": "P1", "event": "ae", "date": "2024-03", "grade": "3", "term": "Sepsis"},
    {"subject_id": "P1", "event": "contact", "date": "2025-06-01"},
]
#: line -> (date, date_imputed, month_imputed), worked out in the module's docstring
EXPECTED = {
    2: (D(2024, 3, 5), False, False),
    3: (D(2023, 1, 1), True, True),
    4: (D(2024, 3, 5), True, True),
    5: (D(2024, 2, 10), True, True),
    6: (D(2025, 1, 1), True, True),
    7: (D(2024, 3, 5), True, False),
    8: (D(2025, 6, 1), False, False),
}
#: the teae listing: AESEQ (the line), ASTDT, ASTDTF, ASTDY, TRTEMFL
LISTING = [
    ("3", "2023-01-01", "M", "-429", None),
    ("5", "2024-02-10", "M", "-24", None),
    ("4", "2024-03-05", "M", "0", "Y"),
    ("7", "2024-03-05", "D", "0", "Y"),
    ("6", "2025-01-01", "M", "302", "Y"),
]


def _text(rows=ROWS) -> str:
    return csv_text(rows)


def _plain(tmp_path, rows=ROWS):
    """A plain CSV file: the streaming (coded) reader."""
    path = tmp_path / "events.csv"
    path.write_text(_text(rows), encoding="utf-8", newline="")
    return path


def _with_bom(tmp_path, rows=ROWS):
    """The same with a BOM: the eager reader."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _text(rows).encode("utf-8"))
    return path


def _imputed(events: pl.DataFrame) -> dict[int, tuple]:
    rows = events.select("line", "date", "date_imputed", "month_imputed").iter_rows()
    return {line: (date, day, month) for line, date, day, month in rows}


def test_a_year_only_ae_onset_is_imputed_by_both_readers_with_flag_m(tmp_path):
    streamed = read_events(_plain(tmp_path))
    eager = read_events(_with_bom(tmp_path))
    assert streamed.subjects is not None and eager.subjects is None  # (only the coded reader has codes)
    assert _imputed(streamed.events) == EXPECTED
    assert _imputed(eager.events) == EXPECTED
    assert streamed.events.equals(eager.events)


def test_row_order_does_not_change_the_imputed_dates(tmp_path):
    # the infusion on the last line, after the AEs it decides; lines now count from the end
    result = read_events(_plain(tmp_path, ROWS[::-1]))
    last = len(ROWS) + 1
    assert _imputed(result.events) == {last + 2 - line: value for line, value in EXPECTED.items()}


def test_without_an_infusion_a_year_only_onset_is_1_january(tmp_path):
    rows = [{"subject_id": "P2", "event": "enrolled", "date": "2024-03-01"},
            {"subject_id": "P2", "event": "ae", "date": "2024", "grade": "1", "term": "Cough"}]  # fmt: skip
    for path in (_plain(tmp_path, rows), _with_bom(tmp_path, rows)):
        assert _imputed(read_events(path).events) == {2: (D(2024, 3, 1), False, False), 3: (D(2024, 1, 1), True, True)}


def test_standard_input_reads_a_year_only_onset_as_the_file_does(tmp_path):
    result = read_events("-", stdin=io.BytesIO(_text().encode()))
    assert _imputed(result.events) == EXPECTED


@pytest.mark.parametrize("write", [_plain, _with_bom], ids=["streaming", "eager"])
def test_the_ae_listing_flags_a_year_only_onset_m_and_in_the_infusion_year_it_is_emergent(tmp_path, write):
    result = run_cli("teae", write(tmp_path), "--listing", "--format", "csv", "--quiet")
    assert result.exit_code == 0, result.stderr
    listing = pl.read_csv(io.StringIO(result.stdout), infer_schema=False)
    assert listing.select("AESEQ", "ASTDT", "ASTDTF", "ASTDY", "TRTEMFL").rows() == LISTING


def test_adae_carries_astdtf_m(tmp_path):
    events = read_events(_plain(tmp_path)).events
    frame, _ = adae(events, Config(), studyid="S1")
    assert frame.select("SRCSEQ", "ASTDT", "ASTDTF").rows() == [
        (3, D(2023, 1, 1), "M"), (5, D(2024, 2, 10), "M"), (4, D(2024, 3, 5), "M"), (7, D(2024, 3, 5), "D"),
        (6, D(2025, 1, 1), "M")]  # fmt: skip


@pytest.mark.parametrize(("onset", "adt", "flag"), [("2025", "2025-01-01", "M"), ("2025-02", "2025-02-01", "D")])
def test_adttes_adtf_is_m_when_the_last_known_alive_date_is_a_year_only_onset(tmp_path, onset, adt, flag):
    """P3, infused 2024-03-05, CR on 2024-04-02, and last seen in an AE with onset 2025 (imputed
    to 2025-01-01, flag M: month and day imputed) or 2025-02 (2025-02-01, flag D). OS is
    censored at that last known alive date: AVAL = 302 + 1 = 303 (or 302 + 31 + 1 = 334), SRCDOM
    ae, SRCSEQ its line 4, ADTF the onset's flag. EFS is censored at the last adequate
    assessment (line 3), whose date is whole: no ADTF."""
    rows = [{"subject_id": "P3", "event": "infusion", "date": "2024-03-05"},
            {"subject_id": "P3", "event": "assessment", "date": "2024-04-02", "result": "CR"},
            {"subject_id": "P3", "event": "ae", "date": onset, "grade": "1", "term": "Cough"}]  # fmt: skip
    result = run_cli("derive", _plain(tmp_path, rows), "--format", "csv", "--quiet")
    assert result.exit_code == 0, result.stderr
    adtte = pl.read_csv(io.StringIO(result.stdout), infer_schema=False)
    rows_by_param = {r[0]: r[1:] for r in adtte.select("PARAMCD", "ADT", "AVAL", "CNSR", "SRCDOM", "SRCSEQ", "ADTF").rows()}
    aval = "303" if flag == "M" else "334"
    assert rows_by_param["OS"] == (adt, aval, "1", "ae", "4", flag)
    assert rows_by_param["EFS"] == ("2024-04-02", "29", "1", "assessment", "3", None)


def test_the_reports_data_quality_list_says_flag_m_for_a_year_only_onset(tmp_path):
    events = read_events(_plain(tmp_path)).events
    assert data_quality_warnings(events, SimpleNamespace(warnings=[])) == [
        "P1: ae on line 3 has a partial date, imputed to 2023-01-01 (flag M)",
        "P1: ae on line 4 has a partial date, imputed to 2024-03-05 (flag M)",
        "P1: ae on line 5 has a partial date, imputed to 2024-02-10 (flag M)",
        "P1: ae on line 6 has a partial date, imputed to 2025-01-01 (flag M)",
        "P1: ae on line 7 has a partial date, imputed to 2024-03-05 (flag D)",
    ]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("write", [_plain, _with_bom], ids=["streaming", "eager"])
def test_a_year_alone_on_any_other_kind_is_an_error_naming_line_column_and_value(tmp_path, write):
    rows = [*ROWS[:1], {"subject_id": "P1", "event": "contact", "date": "2024"},
            {"subject_id": "P1", "event": "death", "date": "2026", "result": "other"}]  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_events(write(tmp_path, rows))
    assert [(i.line, i.column, i.value, i.message) for i in caught.value.errors] == [
        (3, "date", "2024", ("a year alone (YYYY) is allowed for ae rows only, not for contact; give the full "
                             "date YYYY-MM-DD")),
        (4, "date", "2026", ("a year alone (YYYY) is allowed for ae rows only, not for death; give the full "
                             "date YYYY-MM-DD (or YYYY-MM)")),
    ]  # fmt: skip


@pytest.mark.parametrize("write", [_plain, _with_bom], ids=["streaming", "eager"])
def test_a_year_that_is_no_date_of_the_format_is_an_error(tmp_path, write):
    rows = [*ROWS[:1], {"subject_id": "P1", "event": "ae", "date": "1899", "grade": "1", "term": "Old"},
            {"subject_id": "P1", "event": "ae", "date": "0000", "grade": "1", "term": "Older"},
            {"subject_id": "P1", "event": "ae", "date": "2024", "end_date": "2023-12-31", "grade": "1", "term": "Rash"},
            {"subject_id": "P1", "event": "ae", "date": "9999", "grade": "1", "term": "Later"},
            {"subject_id": "P1", "event": "ae", "date": "2024-03-06", "end_date": "2024", "grade": "1",
             "term": "Cold"}]  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_events(write(tmp_path, rows))
    found = sorted((i.line, i.column, i.value, i.message.split(":")[0].split(";")[0]) for i in caught.value.errors)
    assert found == [
        (3, "date", "1899", "a date before 1900"),
        (4, "date", "0000", "a date before 1900"),
        # the year's earliest day is 1 January: an end in the year before is before the onset
        (5, "end_date", "2023-12-31", "end_date is before the AE's date 2024"),
        (6, "date", "9999", "a date after 2199"),
        (7, "end_date", "2024", "not a date"),
    ]


# ------------------------------------------------------------------ SDTM: the same rule


def _sdtm(tmp_path):
    aes = [("2023", ""), ("2024", ""), ("2024", "2024-02-10"), ("2025", ""), ("2024-03", "")]
    ae = [{"USUBJID": "P1", "AESEQ": str(seq), "AEDECOD": "Pyrexia", "AETOXGR": "1", "AESTDTC": start, "AEENDTC": end}
          for seq, (start, end) in enumerate(aes, start=1)]  # fmt: skip
    return write_study(tmp_path / "sdtm", {"dm": dm("P1"), "ex": [ex_infusion("P1", "2024-03-05")], "ae": ae})


def _listing(source) -> list[tuple]:
    result = run_cli("teae", source, "--listing", "--format", "csv", "--quiet")
    assert result.exit_code == 0, result.stderr
    frame = pl.read_csv(io.StringIO(result.stdout), infer_schema=False)
    return frame.select("AESEQ", "ASTDT", "ASTDTF", "ASTDY", "TRTEMFL").rows()


def test_sdtm_and_the_event_file_give_a_year_only_onset_the_same_date_and_flag(tmp_path):
    # the SDTM listing names each AE by its AESEQ: 1 = 2023, 2 = 2024, 3 = 2024 ending
    # 2024-02-10, 4 = 2025, 5 = 2024-03; the event file's by its line (LISTING)
    by_sdtm = _listing(_sdtm(tmp_path))
    assert [seq for seq, *_ in by_sdtm] == ["1", "3", "2", "5", "4"]
    assert [rest for _, *rest in by_sdtm] == [list(rest) for _, *rest in LISTING]


def test_the_event_file_mapped_from_sdtm_keeps_the_year_and_reads_back_the_same(tmp_path):
    out = tmp_path / "events.csv"
    result = run_cli("events", _sdtm(tmp_path), "-o", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    written = pl.read_csv(out, infer_schema=False).filter(pl.col("event") == "ae")
    assert written.select("date", "end_date", "srcseq", "dtf").rows() == [
        ("2023", None, "1", "M"), ("2024", None, "2", "M"), ("2024", "2024-02-10", "3", "M"),
        ("2024-03", None, "5", None), ("2025", None, "4", "M")]  # fmt: skip
    # read back (dtf and the src* columns are unknown to the format: kept out), the same dates and flags
    assert [rest for _, *rest in _listing(out)] == [list(rest) for _, *rest in LISTING]
