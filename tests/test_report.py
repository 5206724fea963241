"""The safety review report: one self-contained HTML file, checked as text (sections, numbers,
no external resources, escaping, provenance), not by eye."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import sys
import tomllib

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


def test_every_section_is_there(example_html):
    for section in SECTIONS:
        assert f'<section id="{section}">' in example_html, section
    for heading in ("Dose-limiting toxicity review", "Treatment-emergent adverse events", "Swimmer plot",
                    "Kaplan&ndash;Meier summary", "Data-quality warnings", "Configuration used"):  # fmt: skip
        assert heading in example_html


def test_dlt_review_numbers_match_the_hand_worked_example(example_html):
    # examples/README.md: 3 of 13 evaluable = 23.1%, exact 95% CI 5.0% to 53.8%, P = 0.355, not met
    assert "<strong>3 of 13</strong> evaluable = 23.1%" in example_html
    assert "95% CI 5.0% to 53.8%" in example_html
    assert "= 0.355" in example_html and "<strong>not met</strong>" in example_html
    assert '<tr class="dlt"><td>CART19-004</td>' in example_html
    assert '<tr class="not_evaluable"><td>CART19-014</td>' in example_html
    assert "CART19-013" not in example_html.split('<section id="dlt">')[1].split("</section>")[0]


def test_teae_overview_matches_the_example(example_html):
    teae = example_html.split('<section id="teae">')[1].split("</section>")[0]
    assert "<tr><td>Any TEAE</td><td>14 (100.0%)</td></tr>" in teae
    assert "<tr><td>Grade &ge; 3</td><td>13 (92.9%)</td></tr>" in teae
    assert "<tr><td>Serious TEAE</td><td>7 (50.0%)</td></tr>" in teae
    assert "<td>Cytokine release syndrome</td><td>12 (85.7%)</td>" in teae


def test_km_summary_matches_cart19_km(example_html):
    km = example_html.split('<section id="km">')[1].split("</section>")[0]
    assert "<tr><td>OS</td><td>14</td><td>7</td><td>7</td><td>281 (191&ndash;NR)</td>" in km
    assert "<tr><td>DOR</td><td>8</td><td>3</td><td>5</td><td>NR (63&ndash;NR)</td>" in km


def test_no_external_resources_scripts_or_links(example_html):
    assert "http://" not in example_html and "https://" not in example_html
    assert "<script" not in example_html.lower() and "<link" not in example_html.lower()
    assert "@import" not in example_html and "url(" not in example_html
    sources = re.findall(r'src="([^"]*)"', example_html)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    for s in sources:
        assert base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    hrefs = re.findall(r'href="([^"]*)"', example_html)
    assert hrefs and all(h.startswith("#") for h in hrefs)


def test_sha256_is_that_of_the_input_file(example_html):
    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert f'<span class="mono" id="sha256">{digest}</span>' in example_html


def test_provenance_version_review_date_and_generation_time(example_html):
    assert f"cart19 {cart19.__version__}" in example_html
    assert "<tr><td>DLT review as of</td><td>2025-10-26</td></tr>" in example_html
    assert "<tr><td>Data cutoff</td><td>none (all records used)</td></tr>" in example_html
    assert '<span id="generated">2026-01-01T00:00:00Z</span>' in example_html


def test_configuration_in_the_report_reads_back_to_the_one_used(example_html):
    pre = example_html.split('<section id="config">')[1].split("<pre>")[1].split("</pre>")[0]
    assert config_from_mapping(tomllib.loads(html.unescape(pre))) == Config()


def test_warnings_list_the_untreated_subject_and_imputed_dates(example_html):
    warnings = example_html.split('<section id="warnings">')[1].split("</section>")[0]
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
    assert html.escape(evil_id) in text and html.escape(evil_term) in text


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
    assert '<tr class="in_window"><td>CART19-011</td>' in text and "day 9 of 28" in text


def test_example_configuration_meets_the_stopping_rule(tmp_path):
    result, out = _report(tmp_path, "--config", str(ROOT / "examples" / "cart19.toml"))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '<div class="verdict met" id="stopping-rule">' in text and "<strong>MET</strong>" in text
    assert "= 0.698" in text
    assert "modified (see below)" in text


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
    assert "<img" not in text and "<strong>0 of 0</strong>" in text


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
    assert '<tr class="in_window"><td>CART19-011</td>' in text and "day 9 of 28" in text
    assert "--as-of 2024-08-01 is after the cutoff 2024-06-20: the review is as of the cutoff" in text
    dlt = CliRunner().invoke(app, ["check-dlt", str(EXAMPLE), *args, "--format", "json"])
    subjects = {s["subject_id"]: s for s in json.loads(dlt.stdout)["subjects"]}
    assert subjects["CART19-011"]["status"] == "in_window" and subjects["CART19-011"]["window_day"] == 9
    assert "--as-of 2024-08-01 is after the cutoff 2024-06-20: the review is as of the cutoff" in dlt.stderr
