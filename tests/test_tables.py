"""``cart19 tables``: the study-report tables as RTF (rtflite) and DOCX (python-docx), read
back without LibreOffice (tests/tables_readback.py). Expected values are worked by hand: a
three-subject trial here, and the example trial's outcomes of examples/README.md."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tables_readback import read_docx, read_rtf, rtf_text

from cart19.config import Config
from cart19.io.read import read_events
from cart19.tables.build import study_tables
from cart19.tables.rtf import render_rtf, rtf_escape
from cart19.tables.table import PageInfo, StudyTable, days, months, n_percent, percent, text_frame

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/events.csv"
SUBJECTS = "examples/subjects.csv"
#: The tables without a subject file (no demography table), in order.
TITLES = [
    "Table 1. Subject disposition",
    "Table 2. Overview of treatment-emergent adverse events",
    "Table 3. Treatment-emergent adverse events by system organ class, preferred term and maximum grade",
    "Table 4. CAR-T safety profile: syndromes of special interest",
    "Table 5. CAR-T safety profile: treatment-emergent adverse events by period after the infusion",
    "Table 6. CAR-T safety profile: deaths of infused subjects",
    "Table 7. Dose-limiting toxicities (DLT window day 0 to day 28)",
    "Table 8. Dose-limiting toxicities by DLT rule and preferred term",
    "Table 9. Best overall response: response rates",
    "Table 10. Time-to-event endpoints: Kaplan-Meier summary",
    "Table 11. Cumulative incidence of relapse and non-relapse mortality",
]
#: With --subjects: the demography table second, the others one number later.
EXAMPLE_TITLES = [
    TITLES[0],
    "Table 2. Demography and baseline characteristics",
    *[f"Table {i + 2}.{title.split('.', 1)[1]}" for i, title in enumerate(TITLES[1:], start=1)],
]
READERS = {"rtf": read_rtf, "docx": read_docx}


# --------------------------------------------------------------------------- formats


def test_counts_are_n_and_percent_to_one_decimal_rounded_half_away_from_zero():
    assert n_percent(13, 14) == "13 (92.9)"
    assert n_percent(1, 16) == "1 (6.3)"  # 6.25 -> 6.3
    assert n_percent(1, 8) == "1 (12.5)"
    assert n_percent(2, 3) == "2 (66.7)"
    assert n_percent(14, 14) == "14 (100.0)"
    assert n_percent(0, 14) == "0" and n_percent(0, 0) == "0"


def test_days_months_and_percentages_say_ne_when_not_estimable():
    assert days(281.0) == "281" and days(150.5) == "150.5" and days(None) == "NE" and days(float("nan")) == "NE"
    assert months(281.0, 30.4375) == "9.2" and months(None, 30.4375) == "NE"
    assert percent(0.85119) == "85.1" and percent(None) == "NE"


def test_a_table_is_display_text_with_one_width_per_column_and_one_indent_per_row():
    frame = text_frame([["a", "1"]], ["", "n"])
    with pytest.raises(ValueError, match="not display text"):
        StudyTable("t", pl.DataFrame({"x": [1]}), "p")
    with pytest.raises(ValueError, match="widths"):
        StudyTable("t", frame, "p", col_widths=(1.0,))
    with pytest.raises(ValueError, match="indent"):
        StudyTable("t", frame, "p", indent=(0, 1))
    table = StudyTable("Title", frame, "everyone.", ("Rule.",), number="7")
    assert table.label == "Table 7. Title" and table.footnote_lines == ["Population: everyone.", "Rule."]


def test_text_from_the_data_cannot_break_the_rtf():
    assert rtf_escape("{a} \\b") == "\\{a\\} \\\\b"
    assert rtf_escape("\u2265 \u00e9") == "\\uc1\\u8805* \\uc1\\u233*"
    assert rtf_escape("x\ny\tz") == "x\\line y z"
    assert rtf_escape("\U0001d6fc") == "\\uc1\\u-10187*\\uc1\\u-8452*"  # U+D835 U+DEFC, the UTF-16 surrogate pair
    for text in ("{a} \\b", "\u2265 \u00e9 \U0001d6fc", "x_1^2 \\alpha"):
        assert rtf_text(rtf_escape(text)) == text


# --------------------------------------------------------------------------- a small trial


SMALL = [
    # A: CRS grade 3 (serious, related) and a headache grade 1; max grade 3
    ["A", "infusion", "2024-01-01", "", "", "", "", "", "", ""],
    ["A", "ae", "2024-01-03", "2024-01-05", "3", "Cytokine release syndrome", "Immune system disorders", "Y", "Y", ""],
    ["A", "ae", "2024-01-04", "2024-01-04", "1", "Headache", "Nervous system disorders", "N", "N", ""],
    ["A", "contact", "2024-03-01", "", "", "", "", "", "", ""],
    # B: CRS grade 1 only
    ["B", "infusion", "2024-02-01", "", "", "", "", "", "", ""],
    ["B", "ae", "2024-02-02", "2024-02-03", "1", "Cytokine release syndrome", "Immune system disorders", "N", "N", ""],
    ["B", "contact", "2024-04-01", "", "", "", "", "", "", ""],
    # C: no AE; D: never infused (not in the safety set)
    ["C", "infusion", "2024-02-15", "", "", "", "", "", "", ""],
    ["C", "contact", "2024-04-01", "", "", "", "", "", "", ""],
    ["D", "enrolled", "2024-01-10", "", "", "", "", "", "", ""],
    ["D", "ae", "2024-01-12", "2024-01-13", "4", "Sepsis", "Infections and infestations", "Y", "N", ""],
]


def _small_tables(write_csv, **options) -> list[StudyTable]:
    events = read_events(write_csv(SMALL)).events
    return study_tables(events, Config(), **options)


def _titled(tables, start: str):
    """The table whose title starts with ``start``."""
    return next(t for t in tables if t.title.startswith(start))


def test_teae_overview_of_three_infused_subjects(write_csv):
    """N = 3 (D is not infused). A: max grade 3, serious, related; B: max grade 1; C: none."""
    overview = _titled(_small_tables(write_csv), "Overview")
    rows = dict(zip(overview.frame.to_series(0), overview.frame.to_series(1), strict=True))
    assert overview.headers[1] == "CAR-T\n(N = 3)\nn (%)"
    assert rows == {
        "Subjects with any TEAE": "2 (66.7)",
        "Maximum grade 1": "1 (33.3)",
        "Maximum grade 2": "0",
        "Maximum grade 3": "1 (33.3)",
        "Maximum grade 4": "0",
        "Maximum grade 5": "0",
        "Subjects with a TEAE of grade \u2265 3": "1 (33.3)",
        "Subjects with a serious TEAE": "1 (33.3)",
        "Subjects with a TEAE related to CAR-T": "1 (33.3)",
        "Subjects with a fatal TEAE (grade 5)": "0",
    }
    assert overview.population.startswith("safety set") and "(N = 3)" in overview.population


def test_soc_pt_table_puts_each_term_under_its_class_most_frequent_class_first(write_csv):
    table = _titled(_small_tables(write_csv), "Treatment-emergent adverse events by system")
    assert table.frame.rows() == [
        # label, any, grade 1..5, grade >= 3
        ("Subjects with any TEAE", "2 (66.7)", "1 (33.3)", "0", "1 (33.3)", "0", "0", "1 (33.3)"),
        ("Immune system disorders", "2 (66.7)", "1 (33.3)", "0", "1 (33.3)", "0", "0", "1 (33.3)"),
        ("Cytokine release syndrome", "2 (66.7)", "1 (33.3)", "0", "1 (33.3)", "0", "0", "1 (33.3)"),
        ("Nervous system disorders", "1 (33.3)", "1 (33.3)", "0", "0", "0", "0", "0"),
        ("Headache", "1 (33.3)", "1 (33.3)", "0", "0", "0", "0", "0"),
    ]
    assert table.levels == [0, 0, 1, 0, 1]


def test_row_order_of_the_input_changes_no_table(write_csv):
    forward = _small_tables(write_csv)
    backward = study_tables(read_events(write_csv(SMALL[::-1], name="reversed.csv")).events, Config())
    for a, b in zip(forward, backward, strict=True):
        assert a.label == b.label and a.frame.equals(b.frame) and a.footnotes == b.footnotes


def test_a_trial_without_dlt_or_infusion_still_gives_every_table(write_csv):
    events = read_events(write_csv([["D", "enrolled", "2024-01-10", "", "", "", "", "", "", ""]])).events
    tables = study_tables(events, Config())
    assert [t.label for t in tables] == TITLES
    assert _titled(tables, "Dose-limiting toxicities by").frame.row(0) == ("Subjects with a DLT", "0")
    page = PageInfo("S", dt.date(2024, 1, 10))
    assert [t.title for t in read_rtf(render_rtf(tables, page))] == TITLES


# --------------------------------------------------------------------------- the example trial


@pytest.fixture(scope="module")
def example_files(tmp_path_factory, request) -> dict[str, bytes]:
    """The example trial's tables, written by the command as a user runs it (from the project root)."""
    folder = tmp_path_factory.mktemp("tables")
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        for fmt in ("rtf", "docx"):
            result = run_cli("tables", EXAMPLE, "--subjects", SUBJECTS, "-o", folder / f"tables.{fmt}")
            assert result.exit_code == 0, result.stderr
            out[fmt] = (folder / f"tables.{fmt}").read_bytes()
    return out


@pytest.mark.parametrize("fmt", ["rtf", "docx"])
def test_regenerating_the_committed_example_gives_the_same_bytes(example_files, fmt):
    """If this fails after a deliberate change:
    cart19 tables examples/events.csv --subjects examples/subjects.csv -o examples/tables.FMT"""
    assert example_files[fmt] == (ROOT / "examples" / f"tables.{fmt}").read_bytes()


@pytest.mark.parametrize("fmt", ["rtf", "docx"])
def test_example_tables_read_back_with_the_hand_worked_figures(example_files, fmt):
    """examples/README.md: safety set N = 14; grade >= 3 13 (92.9%); serious 7; CRS 12 (85.7%);
    DLT 3 of 13 evaluable = 23.1%, exact CI 5.0% to 53.8%, P = 0.355, not met; DLTs of 004 (rule
    crs_grade3_over_3d), 005 (cytopenia_grade4_unresolved_day28), 008 (acute_gvhd_grade3); OS 7 events, EFS 9 events of 14; DOR 8 rows, 3 events. OS by hand: S drops below 0.5 at
    281 days (14 -> 13/14 at 22, censored 46, x11/12 at 119, x10/11, x9/10, x8/9, x7/8, x6/7 at
    281 = 0.464), 0.851 at 6 months (182.6 days)."""
    tables = READERS[fmt](example_files[fmt])
    assert [t.title for t in tables] == EXAMPLE_TITLES
    _, _, overview, soc_pt, _, _, _, dlt, by_rule, _, tte, _ = tables
    assert overview.rows[0][1] == "CAR-T\n(N = 14)\nn (%)"
    assert overview.cell("Subjects with any TEAE") == "14 (100.0)"
    assert overview.cell("Subjects with a TEAE of grade \u2265 3") == "13 (92.9)"
    assert overview.cell("Subjects with a serious TEAE") == "7 (50.0)"
    assert overview.cell("Maximum grade 5") == "2 (14.3)"
    assert overview.footnotes[0] == "Population: safety set: every subject with a CAR-T infusion (N = 14)."
    assert soc_pt.cell("Cytokine release syndrome", soc_pt.column("Any grade")) == "12 (85.7)"
    assert soc_pt.cell("Acute graft versus host disease", soc_pt.column("Any grade")) == "3 (21.4)"
    assert soc_pt.cell("Neutrophil count decreased", soc_pt.column("Any grade")) == "12 (85.7)"
    assert dlt.cell("DLT-evaluable subjects") == "13 (92.9)"
    assert dlt.cell("With a DLT") == "3 (23.1)"
    assert dlt.cell("DLT rate, % (95% CI)") == "23.1 (5.0, 53.8)"
    assert dlt.cell("P(true DLT rate > 0.3), Beta(1, 1) prior") == "0.355"
    assert dlt.cell("Safety stopping rule (stop when the probability > 0.8)") == "Not met"
    # 004 CRS grade 3 for 4 days, 008 acute GVHD grade 3, 005 neutropenia grade 4 to d40: 1 of 13 each
    assert by_rule.rows[0][1] == "DLT-evaluable\n(N = 13)\nn (%)"
    assert [row[1] for row in by_rule.rows[1:]] == [
        "3 (23.1)", "0", "1 (7.7)", "1 (7.7)", "0", "0", "1 (7.7)", "1 (7.7)", "0", "0", "0", "1 (7.7)", "1 (7.7)"
    ]
    assert by_rule.cell("Rule 1: grade 3 CRS lasting more than 3 days (72 hours)") == "1 (7.7)"
    assert [row[0] for row in by_rule.rows[1:] if row[1] != "0"][2::2] == [
        "Cytokine release syndrome", "Acute graft versus host disease", "Neutrophil count decreased"
    ]
    assert tte.rows[0][1:] == ["OS\n(N = 14)", "EFS\n(N = 14)", "EFSS1\n(N = 14)", "EFSS2\n(N = 14)",
                               "EFSS3\n(N = 14)", "DOR\n(N = 8)", "RFS\n(N = 7)"]  # fmt: skip
    assert tte.cell("Events, n (%)", 1) == "7 (50.0)" and tte.cell("Events, n (%)", 2) == "9 (64.3)"
    assert tte.cell("Events, n (%)", 6) == "3 (37.5)"
    assert tte.cell("Events, n (%)", 7) == "3 (42.9)"  # RFS: 003, 004, 005 of 7 (examples/README.md)
    assert tte.cell("Median, days (95% CI)", 1).startswith("281 (")
    assert tte.cell("Median, days (95% CI)", 6).startswith("NE (")  # DOR: S never falls to 0.5
    assert tte.cell("Estimate at 6 months, % (95% CI)", 1).startswith("85.1 (")
    assert tte.cell("Estimate at 24 months, % (95% CI)", 2) == "NE"  # after EFS's last observation
    for table in tables:
        assert table.footnotes[0].startswith("Population: ")


def test_rtf_and_docx_show_the_same_tables(example_files):
    rtf, docx = read_rtf(example_files["rtf"]), read_docx(example_files["docx"])
    assert [(t.title, t.rows, t.footnotes) for t in rtf] == [(t.title, t.rows, t.footnotes) for t in docx]


def test_page_header_names_the_study_and_the_data_date_with_page_x_of_y(example_files):
    import io

    import docx

    document = docx.Document(io.BytesIO(example_files["docx"]))
    header = document.sections[0].header
    assert header.paragraphs[0].text.endswith("Data as of 2025-10-26 (latest record; no cutoff given)")
    xml = header._element.xml
    assert 'w:instr="PAGE"' in xml and 'w:instr="NUMPAGES"' in xml
    rtf = example_files["rtf"].decode("ascii")
    assert "Data as of 2025-10-26 (latest record; no cutoff given)" in rtf
    assert "\\fldinst PAGE" in rtf and "\\fldinst NUMPAGES" in rtf
    assert rtf.count("\\page") >= len(EXAMPLE_TITLES) - 1  # a new page for each table


# --------------------------------------------------------------------------- the command


def test_a_cutoff_is_in_the_header_and_sets_later_records_aside(tmp_path):
    out = tmp_path / "t.docx"
    result = run_cli("tables", ROOT / EXAMPLE, "-o", out, "--cutoff", "2024-01-31", "--title", "Study X")
    assert result.exit_code == 0, result.stderr
    document_header = read_docx(out.read_bytes())
    import docx

    header = docx.Document(str(out)).sections[0].header.paragraphs[0].text
    assert header == "Study X  |  Data cutoff: 2024-01-31"
    # infused by 2024-01-31: 001-008 (examples/README.md)
    assert document_header[1].rows[0][1] == "CAR-T\n(N = 8)\nn (%)"


@pytest.mark.parametrize(
    ("name", "extra"),
    [("tables.pdf", []), ("tables", []), ("tables.rtf", ["--format", "docx"]), ("tables.csv", ["--format", "xlsx"])],
)
def test_an_output_that_is_not_rtf_or_docx_is_a_usage_error_before_any_work(tmp_path, name, extra):
    out = tmp_path / name
    result = run_cli("tables", tmp_path / "missing.csv", "-o", out, *extra)
    assert result.exit_code == 2 and not out.exists()
    assert "missing.csv" not in result.stderr  # the input was not read


def test_format_option_wins_for_another_extension(tmp_path):
    out = tmp_path / "tables.doc"
    result = run_cli("tables", ROOT / EXAMPLE, "-o", out, "--format", "rtf", "-q")
    assert result.exit_code == 0 and out.read_bytes().startswith(b"{\\rtf1")


def test_invalid_input_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("subject_id,event,date\nA,infusion,2024-13-01\n", encoding="utf-8")
    out = tmp_path / "t.rtf"
    result = run_cli("tables", bad, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert "line 2" in result.stderr or ":2" in result.stderr


@pytest.mark.parametrize("fmt", ["rtf", "docx"])
def test_hostile_terms_come_back_as_written(write_csv, tmp_path, fmt):
    term = "Rash {x} \\par \u00e9 \u2265 x_1^2 \\alpha"
    rows = [
        ["A", "infusion", "2024-01-01", "", "", "", "", "", "", ""],
        ["A", "ae", "2024-01-03", "2024-01-05", "2", term, "Skin } disorders {", "N", "N", ""],
    ]
    out = tmp_path / f"t.{fmt}"
    assert run_cli("tables", write_csv(rows), "-o", out, "-q").exit_code == 0
    soc_pt = READERS[fmt](out.read_bytes())[2]
    assert [row[0] for row in soc_pt.rows[1:]] == ["Subjects with any TEAE", "Skin } disorders {", term]


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**6).flatmap(lambda total: st.tuples(st.integers(1, total), st.just(total))))
def test_n_percent_is_the_exact_percentage_rounded_half_away_from_zero(pair):
    n, total = pair
    exact = Fraction(1000 * n, total)  # tenths of a percent
    tenths = int(exact) + (1 if exact - int(exact) >= Fraction(1, 2) else 0)
    assert n_percent(n, total) == f"{n} ({tenths // 10}.{tenths % 10})"


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40))
def test_any_text_is_escaped_to_ascii_rtf_and_reads_back_as_written(text):
    escaped = rtf_escape(text)
    assert escaped.isascii()
    assert rtf_text(escaped) == text
