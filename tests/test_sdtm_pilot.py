"""cart19 on SDTM that nobody here wrote: six subjects of the CDISC pilot study (CDISCPILOT01,
tests/fixtures/sdtm_pilot/, cut by its make_slice.py from the PHUSE test data factory's copy).

It is not a CAR-T trial, so it must not simply "work": every problem is said in plain words,
naming the file, the record, the variable and the value, all at once, with exit status 2 and
nothing written; what the mapping cannot use is a warning that says what it costs.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

PILOT = Path(__file__).resolve().parent / "fixtures" / "sdtm_pilot"


def test_the_pilot_as_delivered_fails_with_every_problem_in_plain_words(tmp_path):
    out = tmp_path / "events.csv"
    result = run_cli("events", PILOT, "-o", out)
    assert result.exit_code == 2
    assert not out.exists()
    assert "2 problem(s) found; nothing was written" in result.stderr
    # the study grades by AESEV: one error naming AETOXGR and the option that maps severity
    assert ("ae.xpt, AETOXGR: the AE domain has no AETOXGR variable (the CTCAE grade), so its 26 AE record(s) "
            "cannot be graded and none is dropped silently: set `sdtm.grade_from_severity = true`") in result.stderr
    # subject 01-710-1083 died on 2013-08-02 (DM) and has a visit on 2013-08-03 (SV, its 84th record)
    assert ("sv.xpt, record 84, SVSTDTC '2013-08-03': dated after the subject's death (2013-08-02 in dm.xpt "
            "record 6)") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def pilot_without_sv(tmp_path):
    """The pilot as a data manager would retry it: grades from AESEV, the visits left out."""
    folder = tmp_path / "sdtm"
    folder.mkdir()
    for domain in ("dm", "ex", "ae", "ds"):
        shutil.copy(PILOT / f"{domain}.xpt", folder / f"{domain}.xpt")
    config = tmp_path / "cart19.toml"
    config.write_text("[sdtm]\ngrade_from_severity = true\n", encoding="utf-8")
    return folder, config


def test_the_pilot_with_severity_grades_maps_and_warns_what_it_cannot_use(tmp_path, pilot_without_sv):
    folder, config = pilot_without_sv
    out = tmp_path / "events.csv"
    result = run_cli("events", folder, "-o", out, "--config", config)
    assert result.exit_code == 0, result.stderr
    # what the missing domains cost, and the values outside a value map, counted
    assert "warning: no RS domain: no assessments, so no response, EFS or DOR events" in result.stderr
    assert ("ae.xpt, AEREL: 26 value(s) outside the value map `sdtm.related_map`, left empty (unknown): "
            "'NONE' (12), 'PROBABLE' (8), 'POSSIBLE' (5), 'REMOTE' (1)") in result.stderr
    # the mapping report per domain
    assert "mapping: DM (dm.xpt): 6 read; 1 death; left out: 6 no RFICDTC (not enrolled)" in result.stderr
    assert "mapping: EX (ex.xpt): 15 read; 6 infusion; left out: 9 a later infusion record" in result.stderr
    assert "mapping: DS (ds.xpt): 13 read; left out: 12 not end of treatment, withdrawal or death, " \
           "1 a death DM records too (DM wins)" in result.stderr
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    aes = [r for r in rows if r["event"] == "ae"]
    assert len(aes) == 26  # AEs are never dropped
    # 01-701-1118's AESTDTC is "2003": written as it is, flagged M (month imputed) ...
    (cough,) = [r for r in aes if r["subject_id"] == "01-701-1118"]
    assert (cough["date"], cough["grade"], cough["dtf"], cough["srcdom"], cough["srcseq"], cough["srcvar"]) == (
        "2003", "1", "M", "AE", "1", "AESTDTC")
    # year and month only (2010-06) stays partial in the event file, as the format allows for ae
    assert sorted(r["date"] for r in aes if r["subject_id"] == "01-701-1192" and len(r["date"]) == 7) == [
        "2010-06", "2010-06"]
    (death,) = [r for r in rows if r["event"] == "death"]
    assert (death["subject_id"], death["date"], death["srcdom"]) == ("01-710-1083", "2013-08-02", "DM")


def test_the_pilot_year_only_onset_reaches_adae_as_1_january_flagged_m(tmp_path, pilot_without_sv):
    folder, config = pilot_without_sv
    result = run_cli("adam", folder, "-o", tmp_path / "adam", "--format", "csv", "--config", config)
    assert result.exit_code == 0, result.stderr
    with open(tmp_path / "adam" / "adae.csv", newline="", encoding="utf-8") as handle:
        (cough,) = [r for r in csv.DictReader(handle) if r["USUBJID"] == "01-701-1118"]
    # ... and imputed as 1 January, before the infusion year (first dose 2014-03-12, day 0):
    # not treatment-emergent
    assert (cough["STUDYID"], cough["ASTDT"], cough["ASTDTF"], cough["TRTEMFL"], cough["SRCSEQ"]) == (
        "CDISCPILOT01", "2003-01-01", "M", "", "1")
