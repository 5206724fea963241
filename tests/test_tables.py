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


# --------------------------------------------------------------------------- the tables added for issue 16


def test_disposition_of_the_small_trial_counts_every_subject_of_the_file(write_csv):
    """Enrolled 4 (A-D); none lymphodepleted (no such record); infused 3 (A, B, C); DLT-evaluable 3
    (each has a contact after day 28: A d60, B d60, C d46); no assessment: none efficacy-evaluable."""
    table = _small_tables(write_csv)[0]
    assert table.title == "Subject disposition" and table.headers[1] == "Enrolled\n(N = 4)\nn (%)"
    assert table.frame.rows() == [
        ("Enrolled (any record)", "4 (100.0)"),
        ("Lymphodepleted", "0"),
        ("Infused with CAR-T (safety set)", "3 (75.0)"),
        ("DLT-evaluable", "3 (75.0)"),
        ("Efficacy-evaluable", "0"),
        ("Withdrawn", "0"),
        ("Died", "0"),
    ]


def test_safety_profile_of_the_small_trial(write_csv):
    """CRS: A grade 3 from d2 to d4 (first episode 3 days), B grade 1 from d1 to d2 (2 days): onset
    median 1.5 (1-2), duration 2.5 (2-3). Period day 0-28: A and B; A's CRS is grade 3 and serious.
    Nobody died."""
    tables = _small_tables(write_csv)
    syndromes = _titled(tables, "CAR-T safety profile: syndromes")
    assert syndromes.frame.row(0) == ("CRS", "2 (66.7)", "1 (33.3)", "1.5 (1\u20132)", "2.5 (2\u20133)", "0")
    assert syndromes.frame.row(1) == ("ICANS", "0", "0", "NE", "NE", "0")
    assert syndromes.frame.get_column("Syndrome").to_list() == ["CRS", "ICANS", "aGVHD", "cGVHD", "infection",
                                                                 "cytopenia"]  # fmt: skip
    periods = _titled(tables, "CAR-T safety profile: treatment-emergent")
    assert periods.frame.rows() == [
        ("Day 0 to day 28", "2 (66.7)", "1 (33.3)", "1 (33.3)"),
        ("Day 29 to day 90", "0", "0", "0"),
        ("Day 91 to day 365", "0", "0", "0"),
        ("Day 366 to day 730", "0", "0", "0"),
    ]
    deaths = _titled(tables, "CAR-T safety profile: deaths")
    assert deaths.headers[1:] == ["By day 28\nn (%)", "By day 100\nn (%)", "By day 730\n(OS window)\nn (%)"]
    assert deaths.frame.get_column("Cause of death").to_list() == [
        "All causes", "Disease", "Toxicity", "Other", "Unknown", "Non-relapse deaths"]  # fmt: skip
    assert deaths.frame.row(5) == ("Non-relapse deaths", "", "0", "")  # counted by safety.nrm_day = 100 only


def test_response_rates_of_a_trial_without_assessments_are_zero_with_exact_upper_limits(write_csv):
    """0 of 3 infused: exact upper limit 1 - 0.025^(1/3) = 0.7076; 0 of 4 enrolled: 1 - 0.025^(1/4) = 0.6024."""
    table = _titled(_small_tables(write_csv), "Best overall response")
    assert table.headers == ["", "Infused\n(N = 3)\nn (%)", "Infused\n\n95% CI", "Enrolled\n(N = 4)\nn (%)",
                             "Enrolled\n\n95% CI"]  # fmt: skip
    assert table.frame.row(0) == ("Complete remission (CR)", "0", "(0.0, 70.8)", "0", "(0.0, 60.2)")
    assert table.frame.height == 5


def test_demography_counts_each_value_among_the_infused(write_csv):
    """Infused A, B, C. cohort: A DL1, B DL2, C not in the file -> (missing); D (DL1) is not infused.
    sex: A F, B empty -> (missing), C (missing)."""
    covariates = pl.DataFrame({"subject_id": ["A", "B", "D", "E"], "cohort": ["DL1", "DL2", "DL1", "DL2"],
                               "sex": ["F", None, "M", "M"]})  # fmt: skip
    tables = _small_tables(write_csv, covariates=covariates)
    assert [t.title for t in tables[:3]] == ["Subject disposition", "Demography and baseline characteristics",
                                             "Overview of treatment-emergent adverse events"]  # fmt: skip
    demography = tables[1]
    assert demography.headers[1] == "CAR-T\n(N = 3)\nn (%)"
    assert demography.frame.rows() == [
        ("cohort", ""), ("(missing)", "1 (33.3)"), ("DL1", "1 (33.3)"), ("DL2", "1 (33.3)"),
        ("sex", ""), ("(missing)", "2 (66.7)"), ("F", "1 (33.3)"),
    ]  # fmt: skip
    assert demography.levels == [0, 1, 1, 1, 0, 1, 1]
    assert "Demography" not in " ".join(t.title for t in _small_tables(write_csv))  # no subject file: no table


def test_dlt_review_by_cohort_has_a_row_per_group_then_the_total():
    """examples/subjects.csv: DL1 001-005 (DLTs 004, 005), DL2 006-010 (DLT 008), DL3 011-015 (013 not
    infused, 014 not evaluable). Exact CIs as R binom.test: 2/5 (0.0527, 0.8534), 1/5 (0.0051, 0.7164),
    0/3 (0, 0.7076). P(rate > 0.3) under Beta(1 + k, 1 + n - k) = P(Binomial(n + 1, 0.3) <= k):
    DL1 0.1176 + 0.3025 + 0.3241 = 0.744; DL2 0.1176 + 0.3025 = 0.420; DL3 0.7^4 = 0.240."""
    from cart19.io.subjects_file import read_subjects, subject_groups

    events = read_events(ROOT / EXAMPLE).events
    groups = subject_groups(read_subjects(ROOT / SUBJECTS), "cohort")
    tables = study_tables(events, Config(), groups=groups, by="cohort")
    assert [t.title for t in tables[6:9]] == [
        "Dose-limiting toxicities (DLT window day 0 to day 28)", "Dose-limiting toxicities by cohort",
        "Dose-limiting toxicities by DLT rule and preferred term"]  # fmt: skip
    table = tables[7]
    assert table.headers[:4] == ["cohort", "Treated\n(infused)", "DLT-evaluable\nn (%)", "With a DLT\nn (%)"]
    assert table.frame.rows() == [
        ("DL1", "5", "5 (100.0)", "2 (40.0)", "3 (60.0)", "0", "0", "40.0 (5.3, 85.3)", "0.744", "Not met"),
        ("DL2", "5", "5 (100.0)", "1 (20.0)", "4 (80.0)", "0", "0", "20.0 (0.5, 71.6)", "0.420", "Not met"),
        ("DL3", "4", "3 (75.0)", "0", "3 (100.0)", "1 (25.0)", "0", "0.0 (0.0, 70.8)", "0.240", "Not met"),
        ("Total", "14", "13 (92.9)", "3 (23.1)", "10 (76.9)", "1 (7.1)", "0", "23.1 (5.0, 53.8)", "0.355", "Not met"),
    ]


@pytest.mark.parametrize("fmt", ["rtf", "docx"])
def test_example_added_tables_read_back_with_the_hand_worked_figures(example_files, fmt):
    """examples/README.md and examples/subjects.csv, worked by hand:
    disposition: 15 enrolled, all lymphodepleted, 14 infused, 13 DLT-evaluable (not 014), 13
    efficacy-evaluable (not 014: no assessment), 1 withdrawn (015), 7 died (003, 005-008, 012, 014).
    Demography among the 14 infused (013 is DL3, Y, 18-39): cohort 5/5/4; prior HSCT N 8, Y 6.
    Deaths: 014 (disease, d21) by day 28 and 100; 7 in the window, 4 of disease (003, 008, 012, 014);
    no non-relapse death by day 100 (014's disease death counts as a relapse).
    Rates: README's table. CIR (7 in remission; 43 C, 91 NRM, 125 R, 181 R, 545 C, 703 C, 703 C):
    NRM 1/6 at 91; CIR 5/6 * 1/5 + 4/6 * 1/4 = 1/3 by 181, so 33.3 and 16.7 at 6 and 12 months; NE at
    24 months (730.5 days > 703, the largest time). OS reverse KM: 13/14 at risk after 22; the
    censorings 46 (12/13), then 119-281 leave 6 at risk; 301 (x5/6 = 0.769), 421 (x4/5 = 0.615), 601
    (x3/4 = 0.462 < 0.5): median follow-up 601 days = 19.7 months."""
    tables = {t.title.split(". ", 1)[1]: t for t in READERS[fmt](example_files[fmt])}
    disposition = tables["Subject disposition"]
    assert [row[1] for row in disposition.rows[1:]] == [
        "15 (100.0)", "15 (100.0)", "14 (93.3)", "13 (86.7)", "13 (86.7)", "1 (6.7)", "7 (46.7)"]  # fmt: skip
    assert disposition.footnotes[0].startswith("Population: enrolled subjects")
    demography = tables["Demography and baseline characteristics"]
    assert demography.rows[1:5] == [["cohort", ""], ["DL1", "5 (35.7)"], ["DL2", "5 (35.7)"], ["DL3", "4 (28.6)"]]
    assert demography.rows[9:12] == [["prior_hsct", ""], ["N", "8 (57.1)"], ["Y", "6 (42.9)"]]
    syndromes = tables["CAR-T safety profile: syndromes of special interest"]
    assert syndromes.cell("CRS") == "12 (85.7)"  # README: Cytokine release syndrome 12 (85.7%)
    assert syndromes.cell("aGVHD") == "3 (21.4)"  # 002, 008, 010
    deaths = tables["CAR-T safety profile: deaths of infused subjects"]
    assert deaths.rows[1][1:] == ["1 (7.1)", "1 (7.1)", "7 (50.0)"]
    assert deaths.cell("Disease", 3) == "4 (28.6)"
    assert deaths.cell("Non-relapse deaths", 2) == "0"
    rates = tables["Best overall response: response rates"]
    assert rates.rows[1] == ["Complete remission (CR)", "6 (42.9)", "(17.7, 71.1)", "6 (40.0)", "(16.3, 67.7)"]
    assert rates.rows[3] == ["Overall remission (CR/CRh/CRi)", "7 (50.0)", "(23.0, 77.0)", "7 (46.7)", "(21.3, 73.4)"]
    assert rates.rows[4][1:] == ["9 (64.3)", "(35.1, 87.2)", "9 (60.0)", "(32.3, 83.7)"]
    assert rates.rows[5][1:] == ["6 (42.9)", "(17.7, 71.1)", "6 (40.0)", "(16.3, 67.7)"]
    cir = tables["Cumulative incidence of relapse and non-relapse mortality"]
    assert cir.rows[0][1:] == ["Events\nn (%)", "At 6 months\n% (95% CI)", "At 12 months\n% (95% CI)",
                               "At 24 months\n% (95% CI)"]  # fmt: skip
    relapse, nrm = cir.rows[1], cir.rows[2]
    assert relapse[1] == "2 (28.6)" and relapse[2].startswith("33.3 (") and relapse[4] == "NE"
    assert nrm[1] == "1 (14.3)" and nrm[3].startswith("16.7 (") and nrm[4] == "NE"
    assert cir.footnotes[0] == ("Population: subjects in remission (CR, CRh, CRi; cuminc.response_set) as a response "
                                "to the infusion, from the first remission (N = 7; cuminc.origin).")  # fmt: skip
    tte = tables["Time-to-event endpoints: Kaplan-Meier summary"]
    followup = next(line for line in tte.footnotes if line.startswith("Median follow-up"))
    assert ": 19.7 months (" in followup and ", 601 days (" in followup


def test_subjects_and_by_on_the_command_line(write_csv, tmp_path):
    """--subjects adds the demography table; --by splits the DLT review (A, C in DL1; B in DL2); a
    --by column the subject file lacks is a usage error naming it, nothing written."""
    subjects = write_csv([["A", "DL1"], ["B", "DL2"], ["C", "DL1"]], name="subjects.csv", header=["subject_id", "cohort"])
    out = tmp_path / "t.docx"
    result = run_cli("tables", write_csv(SMALL), "--subjects", subjects, "--by", "cohort", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    tables = read_docx(out.read_bytes())
    assert tables[1].title == "Table 2. Demography and baseline characteristics"
    assert tables[1].rows[1:] == [["cohort", ""], ["DL1", "2 (66.7)"], ["DL2", "1 (33.3)"]]
    by_cohort = next(t for t in tables if t.title.endswith("Dose-limiting toxicities by cohort"))
    assert [row[:2] for row in by_cohort.rows[1:]] == [["DL1", "2"], ["DL2", "1"], ["Total", "3"]]
    bad = tmp_path / "bad.docx"
    result = run_cli("tables", write_csv(SMALL), "--subjects", subjects, "--by", "arm", "-o", bad)
    assert result.exit_code == 2 and not bad.exists() and "arm" in result.stderr


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["DL1", "DL2", "DL3", None, "absent"]), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
)
def test_demography_blocks_add_up_to_the_infused_whatever_the_file_order(values, rng):
    """Each infused subject is in exactly one value of each covariate ((missing) when empty or not in
    the file), and shuffling the subject file's rows changes nothing."""
    from cart19.tables.build import demography

    ids = [f"S{i:02d}" for i in range(len(values))]
    listed = [(i, v) for i, v in zip(ids, values, strict=True) if v != "absent"]
    covariates = pl.DataFrame({"subject_id": [i for i, _ in listed], "cohort": [v for _, v in listed]},
                              schema={"subject_id": pl.String, "cohort": pl.String})  # fmt: skip
    table = demography(covariates, pl.Series(ids))
    counts = [int(cell.split(" ")[0]) for cell in table.frame.to_series(1).to_list()[1:]]
    assert sum(counts) == len(ids)
    shuffled = covariates.sample(fraction=1.0, shuffle=True, seed=rng.randint(0, 10**6))
    assert demography(shuffled, pl.Series(ids)).frame.equals(table.frame)
