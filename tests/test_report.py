"""The safety review report: one self-contained HTML file, checked as text and as structure
(sections in order, tables by id, cells, row highlights, escaping, no external resources,
provenance), not by eye. The expected figures are the hand-worked ones of examples/README.md."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import sys
import tomllib
from html.parser import HTMLParser

import pytest
from plot_helpers import EXAMPLE, ROOT
from typer.testing import CliRunner

import cart19
from cart19.cli import app
from cart19.config import Config, config_from_mapping
from cart19.report import SECTIONS, generation_time

pytest.importorskip("matplotlib")

runner = CliRunner()
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


class Page(HTMLParser):
    """The structure a reader sees: the section ids in order, and every table of a
    ``div.table-block`` by its id as headers, rows of cell text and each row's class."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.tables: dict[str, dict] = {}
        self._block: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._row_class = ""
        self._head = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        elif tag == "div" and "table-block" in (a.get("class") or ""):
            self._block = a["id"]
            self.tables[self._block] = {"headers": [], "rows": [], "classes": [], "text": ""}
        elif tag == "thead":
            self._head = True
        elif tag == "tr" and self._block:
            self._row, self._row_class = [], a.get("class") or ""
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._block:
            table = self.tables[self._block]
            if self._head:
                table["headers"] = self._row
            else:
                table["rows"].append(self._row)
                table["classes"].append(self._row_class)
            self._row = None
        elif tag == "thead":
            self._head = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._block:
            self.tables[self._block]["text"] += data

    def rows(self, table: str) -> dict[str, list[str]]:
        """The rows of ``table`` by their first cell."""
        return {row[0]: row for row in self.tables[table]["rows"]}


def _report(tmp_path, *args: str, source: str | None = None, epoch: str | None = EPOCH, name: str = "review.html", **kw):
    out = tmp_path / name
    env = {"SOURCE_DATE_EPOCH": epoch} if epoch is not None else {}
    result = runner.invoke(app, ["report", source or str(EXAMPLE), "-o", str(out), "-q", *args], env=env, **kw)
    return result, out


@pytest.fixture(scope="module")
def example_html(tmp_path_factory):
    result, out = _report(tmp_path_factory.mktemp("report"))
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(example_html):
    return Page(example_html)


def _section(text: str, name: str) -> str:
    return text.split(f'<section id="{name}">')[1].split("</section>")[0]


def test_every_section_is_there_in_order(page, example_html):
    assert page.sections == list(SECTIONS)
    for heading in ("1. Disposition", "2. Dose-limiting toxicity review", "3. CAR-T safety profile",
                    "4. Treatment-emergent adverse events", "5. Efficacy", "6. Figures",
                    "7. Data-quality warnings", "Appendix: configuration used"):  # fmt: skip
        assert heading in example_html
    assert '<figure id="swimmer">' in example_html and '<figure id="km">' in example_html


def test_disposition_of_the_example(page):
    rows = page.rows("disposition-table")
    assert rows["Enrolled (every subject in the file)"][1] == "15 (100.0%)"
    assert rows["Infused with CAR-T (the safety set)"][1] == "14 (93.3%)"
    assert rows["DLT-evaluable"][1] == "13 (92.9%)"  # 13 of the 14 infused: CART19-014 is not
    assert rows["Died"][1] == "7 (46.7%)"
    assert rows["Withdrawn"][1] == "1 (6.7%)"


def test_dlt_review_numbers_match_the_hand_worked_example(page, example_html):
    # examples/README.md: 3 of 13 evaluable = 23.1%, exact 95% CI 5.0% to 53.8%, P = 0.355, not met
    dlt = _section(example_html, "dlt")
    assert "3 of 13 evaluable subjects had a DLT: 23.1%" in dlt and "95% CI 5.0% to 53.8%" in dlt
    assert "is 0.355, not above the threshold 0.8" in dlt
    assert '<div class="verdict not-met" id="stopping-rule">Stopping rule not met' in dlt
    subjects = page.rows("dlt-subjects")
    assert set(subjects) == {f"CART19-{i:03d}" for i in range(1, 16)} - {"CART19-013"}  # never infused
    # the DLTs first, in plain words: the rule's description, not its name
    assert [r[0] for r in page.tables["dlt-subjects"]["rows"][:4]] == ["CART19-004", "CART19-005", "CART19-008",
                                                                       "CART19-014"]  # fmt: skip
    assert page.tables["dlt-subjects"]["classes"][:3] == ["dlt"] * 3
    assert subjects["CART19-004"][3:] == ["DLT", "Rule 1: grade 3 CRS lasting more than 3 days (72 hours)"]
    assert subjects["CART19-005"][4] == "Rule 6: grade 4 neutropenia or thrombocytopenia not resolved by day 28"
    assert subjects["CART19-014"][3:] == ["Not evaluable", "died on day 21 (disease) without a DLT"]
    assert subjects["CART19-009"][3] == "No DLT"
    events = page.rows("dlt-events")
    assert events["CART19-008"][1:4] == ["Acute graft versus host disease", "3", "18"]
    assert events["CART19-008"][6] == "Rule 3: grade 3 or 4 acute GVHD"
    # code names and machine statuses appear only in the rules table's "Configuration name"
    shown = "".join(page.tables[t]["text"] for t in ("dlt-subjects", "dlt-events", "dlt-possible"))
    for code in ("cytopenia_grade4_unresolved_day28", "crs_grade3_over_3d", "not_evaluable", "no_dlt", "in_window"):
        assert code not in shown
    assert page.rows("dlt-rules")["Rule 3: grade 3 or 4 acute GVHD"][1] == "acute_gvhd_grade3"
    assert page.tables["dlt-possible"]["rows"] == []


def test_safety_profile_of_the_example(page):
    syndromes = page.rows("syndromes")
    assert syndromes["CRS"][1] == "12 (85.7%)"  # every infused subject but 011 and 015
    deaths = page.tables["death-listing"]["rows"]
    # README: 014 d21, 005 d118, 007 d190, 008 d200, 006 d236 (imputed), 003 d241, 012 d280
    assert [(r[0], r[2], r[3]) for r in deaths] == [
        ("CART19-014", "21", "disease"), ("CART19-005", "118", "toxicity"), ("CART19-007", "190", "other"),
        ("CART19-008", "200", "disease"), ("CART19-006", "236", "unknown"), ("CART19-003", "241", "disease"),
        ("CART19-012", "280", "disease"),
    ]  # fmt: skip
    assert page.rows("deaths")["All causes"][1:] == ["1 (7.1%)", "1 (7.1%)", "7 (50.0%)"]
    sae = page.tables["sae-listing"]
    fatal = [row for row, kind in zip(sae["rows"], sae["classes"], strict=True) if kind == "dlt"]
    assert [(r[0], r[1], r[3]) for r in fatal] == [("CART19-005", "Bronchopulmonary aspergillosis", "5"),
                                                   ("CART19-014", "Disease progression", "5")]  # fmt: skip
    assert "CART19-013" not in sae["text"]  # sepsis, never infused: not a TEAE
    assert page.rows("periods")["Day 0 to 28"][1] == "14 (100.0%)"


def test_teae_tables_are_sorted_by_frequency_with_soc_subtotals(page):
    overview = page.rows("teae-overview")
    assert overview["Any TEAE"][1] == "14 (100.0%)"
    assert overview[f"A TEAE of grade \u2265 3"][1] == "13 (92.9%)"
    assert overview["A serious TEAE"][1] == "7 (50.0%)"
    table = page.tables["teae-soc-pt"]
    socs = [(row, kind) for row, kind in zip(table["rows"], table["classes"], strict=True)]
    counts = [int(row[1].split()[0]) for row, kind in socs if kind == "subtotal"]
    assert counts == sorted(counts, reverse=True) and len(counts) >= 5
    rows = {row[0].strip("\u2003"): row for row, _ in socs}
    assert rows["Cytokine release syndrome"][1] == "12 (85.7%)"
    assert table["rows"][0][0] == "Investigations"  # 14 subjects, the most frequent class


def test_efficacy_of_the_example(page):
    rates = page.rows("response-rates")
    assert rates["Complete remission (CR)"][1] == "6 (42.9%)"  # 001, 002, 003, 004, 009, 012
    assert rates["Complete remission (CR)"][3] == "6 (40.0%)"  # of the 15 enrolled
    km = page.rows("km-summary")
    assert km["OS"][1:4] == ["14", "7", "281 (191\u2013not reached)"]
    assert km["DOR"][1:4] == ["8", "3", "not reached (63\u2013not reached)"]
    assert page.rows("bor")["CR"][1] == "6 (42.9%)"
    assert len(page.tables["cuminc-summary"]["rows"]) == 2


def test_no_external_resources_scripts_or_links(example_html):
    assert "http://" not in example_html and "https://" not in example_html
    assert "<script" not in example_html.lower() and "<link" not in example_html.lower()
    assert "@import" not in example_html and "url(" not in example_html
    sources = re.findall(r'src="([^"]*)"', example_html)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    for s in sources:
        assert base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    hrefs = re.findall(r'href="([^"]*)"', example_html)
    assert hrefs and all(h.startswith("#") for h in hrefs)


def test_print_stylesheet_keeps_tables_whole_and_the_appendix_compact(example_html):
    style = example_html.split("<style>")[1].split("</style>")[0]
    printed = style.split("@media print")[1]
    assert ".table-block { break-inside: avoid; }" in printed and "thead { display: table-header-group; }" in printed
    assert "section#config pre" in printed and "column-count: 3" in printed


def test_templates_are_package_data():
    from importlib.resources import files

    templates = files("cart19.report") / "templates"
    assert {"report.html.j2", "_table.html.j2", "style.css.j2"} <= {p.name for p in templates.iterdir()}


def test_sha256_is_that_of_the_input_file(example_html):
    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert f'<tr><td>Input SHA-256</td><td class="mono">{digest}</td></tr>' in example_html


def test_provenance_version_review_date_configuration_digest_and_generation_time(example_html):
    from cart19.config import to_toml

    assert "<tr><td>Tool</td><td>cart19 " + cart19.__version__ + "</td></tr>" in example_html
    assert "<tr><td>DLT review as of</td><td>2025-10-26</td></tr>" in example_html
    assert "<tr><td>Data cutoff</td><td>none (all records used)</td></tr>" in example_html
    assert "<tr><td>Generated</td><td>2026-01-01T00:00:00Z</td></tr>" in example_html
    digest = hashlib.sha256(to_toml(Config()).encode()).hexdigest()
    assert f'<tr><td>Configuration SHA-256</td><td class="mono">{digest}</td></tr>' in example_html


def test_configuration_in_the_report_reads_back_to_the_one_used(example_html):
    pre = _section(example_html, "config").split("<pre>")[1].split("</pre>")[0]
    assert config_from_mapping(tomllib.loads(html.unescape(pre))) == Config()


def test_warnings_list_the_untreated_subject_and_imputed_dates(example_html):
    warnings = _section(example_html, "warnings")
    assert "1 subject(s) without an infusion" in warnings
    assert "CART19-006: death on line" in warnings and "imputed to 2024-05-26" in warnings


def test_source_date_epoch_makes_the_report_reproducible(tmp_path):
    first, a = _report(tmp_path, name="a.html")
    second, b = _report(tmp_path, name="b.html")
    assert first.exit_code == second.exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_without_source_date_epoch_the_time_is_now():
    import datetime as dt

    before = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    assert generation_time({}) >= before
    assert generation_time({"SOURCE_DATE_EPOCH": "0"}) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        generation_time({"SOURCE_DATE_EPOCH": "yesterday"})


def test_bad_source_date_epoch_is_exit_2(tmp_path):
    result, out = _report(tmp_path, epoch="soon")
    assert result.exit_code == 2 and not out.exists()


def test_untrusted_text_from_the_data_is_escaped(tmp_path):
    evil_id = "<script>alert('id')</script> & co"
    evil_term = "<img src=x onerror=alert(1)>"
    data = (
        "subject_id,event,date,end_date,grade,term,soc,serious,related,result\n"
        f'"{evil_id}",infusion,2024-01-01,,,,,,,\n'
        f'"{evil_id}",ae,2024-01-03,2024-01-10,4,"{evil_term}","<b>SOC</b>",Y,Y,\n'
        f'"{evil_id}",assessment,2024-01-29,,,,,,,CR\n'
        f'"{evil_id}",contact,2024-03-01,,,,,,,\n'
    )
    path = tmp_path / "evil.csv"
    path.write_text(data, encoding="utf-8")
    result, out = _report(tmp_path, source=str(path))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text and "<img src=x" not in text and "<b>SOC</b>" not in text
    assert "&lt;script&gt;alert(" in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    page = Page(text)  # and a reader sees the text as written: in the DLT table and the SAE listing
    assert page.rows("dlt-subjects")[evil_id][3] == "DLT"
    assert page.rows("sae-listing")[evil_id][1:3] == [evil_term, "<b>SOC</b>"]


def test_cutoff_and_as_of_are_shown_and_applied(tmp_path):
    result, out = _report(tmp_path, "--cutoff", "2024-06-30")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<tr><td>Data cutoff</td><td>2024-06-30</td></tr>" in text
    assert "<tr><td>DLT review as of</td><td>2024-06-30</td></tr>" in text
    assert "CART19-014" not in text  # infused after the cutoff
    assert "record(s) dated after the cutoff 2024-06-30 were set aside" in text
    result, out = _report(tmp_path, "--as-of", "2024-06-20", name="asof.html")
    text = out.read_text(encoding="utf-8")
    # 011 was infused 2024-06-11: day 9 of 28 at the review
    assert Page(text).rows("dlt-subjects")["CART19-011"][3:] == ["In DLT window", "on day 9 of 28 at the review"]


def test_example_configuration_meets_the_stopping_rule(tmp_path):
    result, out = _report(tmp_path, "--config", str(ROOT / "examples" / "cart19.toml"))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '<div class="verdict met" id="stopping-rule">Stopping rule MET' in text
    assert "is 0.698, above the threshold" in text
    assert "modified (see the appendix)" in text


def test_report_reads_standard_input_and_hashes_its_bytes(tmp_path):
    data = EXAMPLE.read_bytes()
    result, out = _report(tmp_path, source="-", input=data)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert hashlib.sha256(data).hexdigest() in text and "standard input" in text


def test_report_needs_an_html_file_name(tmp_path):
    result, out = _report(tmp_path, name="review.pdf")
    assert result.exit_code == 2 and not out.exists()


def test_without_matplotlib_the_report_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result, out = _report(tmp_path)
    assert result.exit_code == 2 and not out.exists()
    assert "pip install 'cart19[plot]'" in result.output


def test_invalid_input_exit_2_and_nothing_written(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("subject_id,event,date\nA,infusion,2024-13-01\n", encoding="utf-8")
    result, out = _report(tmp_path, source=str(bad))
    assert result.exit_code == 2 and not out.exists()


def test_a_trial_with_no_infused_subject_still_gives_a_report(tmp_path):
    path = tmp_path / "none.csv"
    path.write_text("subject_id,event,date\nA,enrolled,2024-01-01\n", encoding="utf-8")
    result, out = _report(tmp_path, source=str(path))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert all(f'<section id="{s}">' in text for s in SECTIONS)
    assert "<img" not in text and "0 of 0 evaluable subjects had a DLT" in text


def test_committed_example_report_is_self_contained():
    text = (ROOT / "examples" / "review.html").read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text.lower()
    assert hashlib.sha256(EXAMPLE.read_bytes()).hexdigest() in text


def test_an_as_of_after_the_cutoff_gives_way_to_it_as_in_check_dlt(tmp_path):
    """--as-of 2024-08-01 with --cutoff 2024-06-20: both commands review as of the cutoff, so
    CART19-011 (infused 2024-06-11, no data after the cutoff) is in window, day 9 of 28, not
    "not evaluable" for lack of records that were set aside."""
    import json

    args = ("--cutoff", "2024-06-20", "--as-of", "2024-08-01")
    result, out = _report(tmp_path, *args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<tr><td>DLT review as of</td><td>2024-06-20</td></tr>" in text
    assert Page(text).rows("dlt-subjects")["CART19-011"][3:] == ["In DLT window", "on day 9 of 28 at the review"]
    assert "--as-of 2024-08-01 is after the cutoff 2024-06-20: the review is as of the cutoff" in text
    dlt = CliRunner().invoke(app, ["check-dlt", str(EXAMPLE), *args, "--format", "json"])
    subjects = {s["subject_id"]: s for s in json.loads(dlt.stdout)["subjects"]}
    assert subjects["CART19-011"]["status"] == "in_window" and subjects["CART19-011"]["window_day"] == 9
    assert "--as-of 2024-08-01 is after the cutoff 2024-06-20: the review is as of the cutoff" in dlt.stderr


POSSIBLE = """subject_id,event,date,end_date,grade,term,soc,serious,related,result
P-01,infusion,2024-01-01,,,,,,,
P-01,ae,2024-01-03,,3,Cytokine release syndrome,Immune system disorders,Y,Y,
P-01,contact,2024-01-05,,,,,,,
Q-02,infusion,2023-11-01,,,,,,,
Q-02,contact,2023-12-15,,,,,,,
"""


def test_a_possible_dlt_in_an_open_window_is_highlighted_in_the_dlt_section(tmp_path):
    """P-01: infused 2024-01-01, grade 3 CRS from day 2 still ongoing at the review on
    2024-01-05 (day 4): 3 days so far, not yet "more than 3 days" (rule 1), so no DLT yet but a
    possible one; the subject is in the DLT window, day 4 of 28. Q-02: followed to day 44, no DLT."""
    path = tmp_path / "possible.csv"
    path.write_text(POSSIBLE, encoding="utf-8")
    result, out = _report(tmp_path, "--as-of", "2024-01-05", source=str(path))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    possible = page.tables["dlt-possible"]
    assert possible["classes"] == ["possible"]
    assert possible["rows"][0][:7] == ["P-01", "Cytokine release syndrome", "3", "2", "ongoing after 3 days",
                                       "Rule 1: grade 3 CRS lasting more than 3 days (72 hours)",
                                       "may still become a DLT"]  # fmt: skip
    subjects = page.rows("dlt-subjects")
    assert subjects["P-01"][3:] == ["In DLT window: possible DLT", "on day 4 of 28 at the review"]
    assert subjects["Q-02"][3] == "No DLT"
    dlt = _section(text, "dlt")
    assert '<p class="alert" id="possible-alert">1 possible DLT in an open or ended DLT window' in dlt
    assert "0 of 1 evaluable subjects had a DLT" in dlt


def test_listings_are_bounded_and_say_what_they_leave_out(tmp_path, monkeypatch):
    """12 infused subjects (more than ALL_SUBJECTS_LIMIT, here 10), each with one serious grade 3
    hypoxia lasting 10 days (rule 5: more than 7 days, a DLT), followed to day 40. With the
    listings capped at 5 rows, each lists 5 and says of how many."""
    import cart19.report.build as build

    monkeypatch.setattr(build, "LISTING_LIMIT", 5)
    monkeypatch.setattr(build, "ALL_SUBJECTS_LIMIT", 10)
    lines = ["subject_id,event,date,end_date,grade,term,soc,serious,related,result"]
    for i in range(12):
        lines += [f"S{i:03d},infusion,2024-01-01,,,,,,,",
                  f"S{i:03d},ae,2024-01-03,2024-01-12,3,Hypoxia,Respiratory disorders,Y,N,",
                  f"S{i:03d},contact,2024-02-10,,,,,,,"]  # fmt: skip
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, out = _report(tmp_path, source=str(path))
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.tables["sae-listing"]["rows"]) == 5
    assert "5 of 12 serious adverse events are listed" in page.tables["sae-listing"]["text"]
    assert len(page.tables["dlt-events"]["rows"]) == 5
    assert "5 of 12 qualifying adverse events are listed" in page.tables["dlt-events"]["text"]
    assert len(page.tables["dlt-subjects"]["rows"]) == 5
    assert "12 subjects were treated: the 0 with no DLT are counted above" in page.tables["dlt-subjects"]["text"]
    assert page.rows("teae-overview")["A serious TEAE"][1] == "12 (100.0%)"


def test_by_gives_the_dlt_review_per_cohort(tmp_path):
    """examples/subjects.csv: the review per cohort, by the same rule as check-dlt --by."""
    import json

    subjects = str(ROOT / "examples" / "subjects.csv")
    result, out = _report(tmp_path, "--subjects", subjects, "--by", "cohort")
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    table = page.tables["dlt-by-group"]
    assert page.rows("dlt-subjects") and "<tr><td>Groups</td><td>by cohort (--by)</td></tr>" in out.read_text("utf-8")
    # and each listing says the subject's cohort (examples/subjects.csv: CART19-004 is in DL1)
    assert page.tables["dlt-subjects"]["headers"][:2] == ["Subject", "Group"]
    assert page.rows("dlt-subjects")["CART19-004"][1:5] == ["DL1", "2023-06-27", "2023-07-25", "DLT"]
    assert page.rows("dlt-events")["CART19-004"][1] == "DL1"
    dlt = CliRunner().invoke(app, ["check-dlt", str(EXAMPLE), "--subjects", subjects, "--by", "cohort",
                                   "--format", "json"])  # fmt: skip
    groups = json.loads(dlt.stdout)["groups"]
    assert len(groups) >= 2
    assert [row[0] for row in table["rows"]] == [g["group"] for g in groups]
    assert [row[1:4] for row in table["rows"]] == [[str(g["treated"]), str(g["evaluable"]), str(g["dlt"])] for g in groups]


def test_the_order_of_the_records_does_not_change_the_report():
    """The same records in another order (each keeps its input line): the same bytes."""
    import datetime as dt

    from cart19.io.read import read_events
    from cart19.report import ReportSource, build_report

    events = read_events(str(EXAMPLE)).events
    source = ReportSource(name="events.csv", sha256="0" * 64)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=16)
    assert shuffled.get_column("line").to_list() != events.get_column("line").to_list()
    assert build_report(shuffled, Config(), source, generated=when) == build_report(events, Config(), source, generated=when)
