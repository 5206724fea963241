"""SDTM in (sdtm.md): every default mapping row with a record that maps and one that does not,
dates as SDTM writes them, the untidy cases, and the readers of every format.

Each study is a few hand-written records; the expected events are written out here, worked
from sdtm.md's table, never computed by the code under test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart19.config import SDTMConfig, config_from_mapping
from cart19.errors import InputError
from cart19.io.sdtm import read_sdtm
from cart19.io.sdtm.formats import read_domain
from conftest import run_cli
from sdtm_helpers import dm, ex_fludarabine, ex_infusion, write_domain, write_study

D = dt.date
#: CDISC's Dataset-JSON examples, in the shared folder beside the project (``../shared``)
STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards" / "dataset-json"


def _events(result, *columns: str) -> list[tuple]:
    cols = columns or ("subject_id", "event", "date", "result")
    return sorted(result.events.select(cols).iter_rows(), key=lambda r: tuple("" if v is None else str(v) for v in r))


def _file(result, subject: str | None = None) -> list[dict]:
    frame = result.event_file
    if subject is not None:
        frame = frame.filter(pl.col("subject_id") == subject)
    return frame.to_dicts()


def _outcomes(result, domain: str) -> dict[str, int]:
    rows = result.report.filter(pl.col("domain") == domain)
    return dict(rows.select("outcome", "records").iter_rows())


def _messages(issues) -> list[str]:
    return [str(i) for i in issues]


# ------------------------------------------------------------------ the mapping, row by row


def test_dm_consent_is_enrolment_and_a_subject_without_one_is_left_out(tmp_path):
    study = write_study(tmp_path / "s", {"dm": [*dm("P1"), {"USUBJID": "P2", "RFICDTC": ""}]})
    result = read_sdtm(study)
    assert _events(result) == [("P1", "enrolled", D(2024, 1, 2), None)]
    assert _outcomes(result, "DM") == {"enrolled": 1, "left out: no RFICDTC (not enrolled)": 1}
    # DM has no --SEQ: the record number
    assert result.provenance.select("srcdom", "srcseq", "srcvar").row(0) == ("DM", 1, "RFICDTC")


def test_ex_first_product_record_is_the_infusion_and_fludarabine_the_lymphodepletion(tmp_path):
    study = write_study(tmp_path / "s", {
        "dm": dm("P1"),
        "ex": [ex_infusion("P1", "2024-02-08", seq=3), ex_fludarabine("P1", "2024-01-27", seq=1),
               ex_fludarabine("P1", "2024-01-28", seq=2), ex_infusion("P1", "2024-02-01T09:30", seq=4)],
    })  # fmt: skip
    result = read_sdtm(study)
    assert _events(result, "event", "date") == [
        ("enrolled", D(2024, 1, 2)), ("infusion", D(2024, 2, 1)), ("lymphodepletion", D(2024, 1, 27))]  # fmt: skip
    traced = {r["event"]: (r["srcdom"], r["srcseq"], r["srcvar"]) for r in _file(result)}
    assert traced["infusion"] == ("EX", 4, "EXSTDTC")
    assert traced["lymphodepletion"] == ("EX", 1, "EXSTDTC")
    assert _outcomes(result, "EX") == {
        "infusion": 1, "lymphodepletion": 1,
        "left out: a later infusion record (the first per subject is the infusion)": 1,
        "left out: a later lymphodepletion record (the first per subject is the lymphodepletion)": 1}  # fmt: skip


def test_product_treatments_choose_the_infusion_records(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [
        {"USUBJID": "P1", "EXSEQ": "1", "EXTRT": "TOCILIZUMAB", "EXSTDTC": "2024-01-30"},
        {"USUBJID": "P1", "EXSEQ": "2", "EXTRT": "cd19 car-t ", "EXSTDTC": "2024-02-01"}]})  # fmt: skip
    config = SDTMConfig(product_treatments=("CD19 CAR-T",))
    result = read_sdtm(study, config)
    assert ("P1", "infusion", D(2024, 2, 1), None) in _events(result)
    assert _outcomes(result, "EX")["left out: EXTRT not in `sdtm.product_treatments` nor lymphodepletion"] == 1
    # by default every EX record that is not lymphodepletion is the product: the first is the infusion
    assert ("P1", "infusion", D(2024, 1, 30), None) in _events(read_sdtm(study))


def test_cm_lymphodepletion_and_new_therapy(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "cm": [
        {"USUBJID": "P1", "CMSEQ": "1", "CMTRT": "Cyclophosphamide", "CMSTDTC": "2024-01-26"},
        {"USUBJID": "P1", "CMSEQ": "2", "CMTRT": "BLINATUMOMAB", "CMCAT": "CANCER THERAPY",
         "CMSCAT": "subsequent anti-cancer therapy", "CMSTDTC": "2024-05-01"},
        {"USUBJID": "P1", "CMSEQ": "3", "CMTRT": "PARACETAMOL", "CMCAT": "GENERAL", "CMSTDTC": "2024-02-02"}]})  # fmt: skip
    result = read_sdtm(study)
    assert _events(result, "event", "date") == [
        ("enrolled", D(2024, 1, 2)), ("infusion", D(2024, 2, 1)), ("lymphodepletion", D(2024, 1, 26)),
        ("new_therapy", D(2024, 5, 1))]  # fmt: skip
    assert _outcomes(result, "CM") == {"lymphodepletion": 1, "new_therapy": 1,
                                       "left out: not lymphodepletion nor a new anti-cancer therapy": 1}  # fmt: skip


def _rs(seq: int, testcd: str, result: str, date: str, **more: str) -> dict[str, object]:
    return {"USUBJID": "P1", "RSSEQ": str(seq), "RSTESTCD": testcd, "RSSTRESC": result, "RSDTC": date, **more}


def test_rs_overall_response_mrd_and_relapse(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "rs": [
        _rs(1, "OVRLRESP", "CRH", "2024-02-29", RSEVAL=""),
        _rs(2, "MRD", "NEGATIVE", "2024-02-29T10:00"),
        _rs(3, "OVRLRESP", "SD", "2024-03-28", RSEVAL="INVESTIGATOR"),
        _rs(4, "OVRLRESP", "PD", "2024-03-28", RSEVAL="INDEPENDENT ASSESSOR"),
        _rs(5, "MRD", "POSITIVE", "2024-04-15"),
        _rs(6, "OVRLRESP", "RELAPSE", "2024-05-02", RSLOC="CNS"),
        _rs(7, "OVRLRESP", "Relapsed disease", "2024-05-03", RSLOC="BONE MARROW"),
        _rs(8, "BLAST", "3", "2024-02-29"),
        _rs(9, "OVRLRESP", "", "2024-04-25", RSSTAT="NOT DONE")]})  # fmt: skip
    result = read_sdtm(study)
    rows = [(r["event"], r["date"], r["result"], r["mrd"], r["srcseq"]) for r in _file(result) if r["srcdom"] == "RS"]
    assert rows == [
        ("assessment", "2024-02-29", "CRh", "negative", 1),
        ("assessment", "2024-03-28", "NR", None, 3),
        ("relapse", "2024-05-02", "extramedullary", None, 6),
        ("relapse", "2024-05-03", "hematologic", None, 7),
    ]
    assert _outcomes(result, "RS") == {
        "assessment": 2, "relapse": 2,
        "left out: MRD result, given to the assessment of its date": 1,
        "left out: MRD result without an OVRLRESP assessment on its date": 1,
        "left out: another evaluator (RSEVAL not in `sdtm.evaluators`)": 1,
        "left out: not done (RSSTAT)": 1,
        "left out: RSTESTCD not OVRLRESP or MRD": 1}  # fmt: skip


def _ae(seq: int, **more: str) -> dict[str, object]:
    base = {"USUBJID": "P1", "AESEQ": str(seq), "AETERM": "fever", "AEDECOD": "Pyrexia", "AEBODSYS": "General disorders",
            "AETOXGR": "2", "AESER": "N", "AEREL": "POSSIBLY RELATED", "AESTDTC": "2024-02-03", "AEENDTC": "2024-02-05"}  # fmt: skip
    return {**base, **more}


def test_ae_fields_and_values_outside_a_value_map(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "ae": [
        _ae(1),
        _ae(2, AEDECOD="", AETERM="Chills", AESER="Y", AEREL="UNLIKELY RELATED", AETOXGR="1", AEENDTC=""),
        _ae(3, AEREL="REMOTE", AESER="MAYBE"),
        _ae(4, AEREL="REMOTE")]})  # fmt: skip
    result = read_sdtm(study)
    aes = result.events.filter(pl.col("event") == "ae")
    got = sorted(aes.select("term", "soc", "grade", "serious", "related", "date", "end_date").iter_rows(),
                 key=lambda r: (r[0], str(r[4])))  # fmt: skip
    assert got == [
        ("Chills", "General disorders", 1, True, False, D(2024, 2, 3), None),
        ("Pyrexia", "General disorders", 2, None, None, D(2024, 2, 3), D(2024, 2, 5)),
        ("Pyrexia", "General disorders", 2, False, None, D(2024, 2, 3), D(2024, 2, 5)),
        ("Pyrexia", "General disorders", 2, False, True, D(2024, 2, 3), D(2024, 2, 5)),
    ]
    warnings = _messages(result.warnings)
    assert "ae.csv, AEREL: 2 value(s) outside the value map `sdtm.related_map`, left empty (unknown): 'REMOTE' (2)" in warnings
    assert "ae.csv, AESER: 1 value(s) outside the value map `sdtm.serious_map`, left empty (unknown): 'MAYBE' (1)" in warnings


def test_pr_transplant_after_the_infusion_is_hsct(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "pr": [
        {"USUBJID": "P1", "PRSEQ": "1", "PRTRT": "Allogeneic stem cell transplant", "PRSTDTC": "2022-06-01"},
        {"USUBJID": "P1", "PRSEQ": "2", "PRTRT": "BONE MARROW BIOPSY", "PRSTDTC": "2024-02-28"},
        {"USUBJID": "P1", "PRSEQ": "3", "PRTRT": "PROCEDURE", "PRDECOD": "ALLO-HSCT", "PRSTDTC": "2024-06-01"}]})  # fmt: skip
    result = read_sdtm(study)
    assert [(r["event"], r["date"], r["srcseq"]) for r in _file(result) if r["srcdom"] == "PR"] == [
        ("hsct", "2024-06-01", 3)]
    assert _outcomes(result, "PR") == {"hsct": 1, "left out: a transplant before the infusion": 1,
                                       "left out: not a transplant (`sdtm.hsct_words`)": 1}  # fmt: skip


def test_ds_end_of_treatment_withdrawal_and_both_from_one_record(tmp_path):
    def ds(seq, decod, epoch, date, cat="DISPOSITION EVENT"):
        return {"USUBJID": "P1", "DSSEQ": str(seq), "DSTERM": decod, "DSDECOD": decod, "DSCAT": cat, "EPOCH": epoch,
                "DSSTDTC": date}  # fmt: skip

    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "ds": [
        ds(1, "INFORMED CONSENT OBTAINED", "SCREENING", "2024-01-02", cat="PROTOCOL MILESTONE"),
        ds(2, "WITHDRAWAL BY SUBJECT", "TREATMENT", "2024-04-01"),
        ds(3, "COMPLETED", "FOLLOW-UP", "2024-09-01")]})  # fmt: skip
    result = read_sdtm(study)
    assert [(r["event"], r["date"], r["srcseq"]) for r in _file(result) if r["srcdom"] == "DS"] == [
        ("end_of_treatment", "2024-04-01", 2), ("withdrawal", "2024-04-01", 2)]
    assert _outcomes(result, "DS") == {"end_of_treatment": 1, "withdrawal": 1,
                                       "left out: not end of treatment, withdrawal or death": 2}  # fmt: skip


def test_death_dm_wins_and_the_cause_comes_from_dd_else_dsterm(tmp_path):
    def ds_death(subject, date, term="DEATH", seq=1):
        return {"USUBJID": subject, "DSSEQ": str(seq), "DSTERM": term, "DSDECOD": "DEATH", "DSCAT": "DISPOSITION EVENT",
                "EPOCH": "FOLLOW-UP", "DSSTDTC": date}  # fmt: skip

    study = write_study(tmp_path / "s", {
        "dm": dm("P1", "P2", "P3", "P4", "P5", P1={"DTHDTC": "2024-06-01"}, P4={"DTHDTC": "2024-07"}),
        "ex": [ex_infusion(s) for s in ("P1", "P2", "P3", "P4", "P5")],
        # P1: DM and DS disagree on the date: DM wins
        "ds": [ds_death("P1", "2024-06-03"), ds_death("P2", "2024-05-01", term="Adverse event"),
               ds_death("P3", "2024-05-02"), ds_death("P5", "2024-05-04", term="car accident")],
        "dd": [{"USUBJID": "P1", "DDSEQ": "1", "DDTESTCD": "PRCDTH", "DDSTRESC": "Disease progression"},
               {"USUBJID": "P2", "DDSEQ": "1", "DDTESTCD": "SECDTH", "DDSTRESC": "SEPSIS"}],
    })  # fmt: skip
    result = read_sdtm(study)
    deaths = [(r["subject_id"], r["date"], r["result"], r["srcdom"], r["srcvar"]) for r in _file(result)
              if r["event"] == "death"]  # fmt: skip
    assert deaths == [
        ("P1", "2024-06-01", "disease", "DM", "DTHDTC"),
        ("P2", "2024-05-01", "toxicity", "DS", "DSSTDTC"),  # DSTERM: no PRCDTH in DD
        ("P3", "2024-05-02", "unknown", "DS", "DSSTDTC"),  # no cause anywhere
        ("P4", "2024-07", "unknown", "DM", "DTHDTC"),
        ("P5", "2024-05-04", "other", "DS", "DSSTDTC"),  # a text outside the map
    ]
    assert _outcomes(result, "DS") == {"death": 3, "left out: a death DM records too (DM wins)": 1}
    assert _outcomes(result, "DD") == {"cause of death": 1, "left out: DDTESTCD not PRCDTH": 1}


def test_sv_visits_and_ss_alive_are_contacts(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")],
        "sv": [{"USUBJID": "P1", "VISIT": "DAY 28", "SVSTDTC": "2024-02-29T08:00"},
               {"USUBJID": "P1", "VISIT": "DAY 90", "SVSTDTC": ""}],
        "ss": [{"USUBJID": "P1", "SSSEQ": "1", "SSSTRESC": "ALIVE", "SSDTC": "2024-08-01"},
               {"USUBJID": "P1", "SSSEQ": "2", "SSSTRESC": "UNKNOWN", "SSDTC": "2024-09-01"}]})  # fmt: skip
    result = read_sdtm(study)
    contacts = [(r["date"], r["srcdom"], r["srcseq"], r["srcvar"]) for r in _file(result) if r["event"] == "contact"]
    assert contacts == [("2024-02-29", "SV", 1, "SVSTDTC"), ("2024-08-01", "SS", 1, "SSDTC")]
    assert _outcomes(result, "SV") == {"contact": 1, "left out: no SVSTDTC": 1}
    assert _outcomes(result, "SS") == {"contact": 1, "left out: SSSTRESC not in ALIVE": 1}


# ------------------------------------------------------------------ dates


def test_partial_dates_with_and_without_a_time(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1", "2024-02-01T14:05:00")], "ae": [
        _ae(1, AESTDTC="2024-02T10:00", AEENDTC="2024-02-05T23:59"),  # month with a time: the infusion month
        _ae(2, AESTDTC="2024-03", AEENDTC=""),  # month: first day
        _ae(3, AESTDTC="2024-02-03T07", AEENDTC="2024-02-04")]})  # fmt: skip
    result = read_sdtm(study)
    assert _events(result, "event", "date", "date_imputed", "end_date") == [
        ("ae", D(2024, 2, 1), True, D(2024, 2, 5)),
        ("ae", D(2024, 2, 3), False, D(2024, 2, 4)),
        ("ae", D(2024, 3, 1), True, None),
        ("enrolled", D(2024, 1, 2), False, None),
        ("infusion", D(2024, 2, 1), False, None),
    ]


def test_a_partial_date_where_the_format_allows_none_names_the_record(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1", "2024-02T10:00")]})
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    (error,) = caught.value.errors
    assert str(error) == ("ex.csv, record 1, EXSTDTC '2024-02': a partial date (YYYY-MM) is not allowed for "
                          "infusion; give the full date YYYY-MM-DD")  # fmt: skip


def test_year_only_ae_onset_is_imputed_with_flag_m(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1", "P2"), "ex": [ex_infusion("P1", "2024-02-01"),
                                                                      ex_infusion("P2", "2024-02-01")], "ae": [
        _ae(1, AESTDTC="2019", AEENDTC=""),  # a condition from long before: 1 January
        _ae(2, AESTDTC="2024", AEENDTC=""),  # the infusion's year: the infusion date
        _ae(3, AESTDTC="2024", AEENDTC="2024-01-20"),  # ... but not after its end
        {**_ae(1, AESTDTC="2024", AEENDTC=""), "USUBJID": "P2"}]})  # fmt: skip
    result = read_sdtm(study)
    # the event file keeps the year as AESTDTC has it (the event format allows YYYY for an ae:
    # reading the file back imputes the same); dtf says it is imputed
    aes = [(r["subject_id"], r["date"], r["end_date"], r["dtf"]) for r in _file(result) if r["event"] == "ae"]
    assert sorted(aes, key=str) == [("P1", "2019", None, "M"), ("P1", "2024", "2024-01-20", "M"),
                                    ("P1", "2024", None, "M"), ("P2", "2024", None, "M")]  # fmt: skip
    aes = result.events.filter(pl.col("event") == "ae").sort("subject_id", "date")
    assert aes.select("subject_id", "date", "date_imputed", "month_imputed", "end_date").rows() == [
        ("P1", D(2019, 1, 1), True, True, None), ("P1", D(2024, 1, 20), True, True, D(2024, 1, 20)),
        ("P1", D(2024, 2, 1), True, True, None), ("P2", D(2024, 2, 1), True, True, None)]  # fmt: skip


# ------------------------------------------------------------------ untidy studies


def test_a_dm_only_folder_maps_and_says_what_is_missing(tmp_path):
    study = write_study(tmp_path / "s", {"DM": dm("P1", P1={"DTHDTC": "2024-03-01"})})
    result = read_sdtm(study)
    assert _events(result) == [("P1", "death", D(2024, 3, 1), "unknown"), ("P1", "enrolled", D(2024, 1, 2), None)]
    warnings = _messages(result.warnings)
    assert "no EX domain: no infusions, so no subject is treated and every endpoint is empty" in warnings
    assert "no RS domain: no assessments, so no response, EFS or DOR events" in warnings
    assert "no AE domain: no adverse events, so no TEAE table and no DLT" in warnings
    assert len([w for w in warnings if w.startswith("no ")]) == 9


def test_no_dm_is_an_error(tmp_path):
    study = write_study(tmp_path / "s", {"ae": [_ae(1)]})
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    assert "no DM domain" in str(caught.value.errors[0])


def test_unknown_extra_variables_are_ignored(tmp_path):
    plain = {"dm": dm("P1"), "ex": [ex_infusion("P1")], "ae": [_ae(1)]}
    extra = {"dm": dm("P1", P1={"ZZFLAG": "odd", "AGE": "43"}), "ex": [{**ex_infusion("P1"), "EXLOT": "L-7"}],
             "ae": [{**_ae(1), "AESPID": "x", "AECUSTOM": "=1+1"}]}  # fmt: skip
    a, b = read_sdtm(write_study(tmp_path / "a", plain)), read_sdtm(write_study(tmp_path / "b", extra))
    assert a.events.equals(b.events)
    assert _messages(a.warnings) == _messages(b.warnings)
    assert b.covariates.to_dicts() == [{"subject_id": "P1", "AGE": "43"}]
    # a file of another domain is not read (not even opened): a warning
    (tmp_path / "b" / "define.json").write_text("not json", encoding="utf-8")
    assert "1 file(s) not read (define.json): the mapping reads the domains DM, EX, CM, RS, AE, PR, DS, DD, SV, SS" in _messages(
        read_sdtm(tmp_path / "b").warnings)


def test_aesev_without_aetoxgr_is_one_error_naming_the_option(tmp_path):
    aes = [{k: v for k, v in _ae(i, AESEV=sev).items() if k != "AETOXGR"}
           for i, sev in enumerate(["MILD", "Severe", "LIFE THREATENING"], start=1)]  # fmt: skip
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "ae": aes})
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    (error,) = caught.value.errors
    assert error.column == "AETOXGR"
    assert "3 AE record(s) cannot be graded" in error.message
    assert "`sdtm.grade_from_severity = true`" in error.message
    # with the option, MILD 1 and SEVERE 3; a severity outside the map is left empty: a missing grade
    config = config_from_mapping({"sdtm": {"grade_from_severity": True}}).sdtm
    with pytest.raises(InputError) as caught:
        read_sdtm(study, config)
    (error,) = caught.value.errors
    assert str(error).startswith("ae.csv, record 3, AESEV: grade is missing")
    config = config_from_mapping({"sdtm": {"grade_from_severity": True,
                                           "severity_map": {"MILD": 1, "SEVERE": 3, "LIFE THREATENING": 4}}}).sdtm  # fmt: skip
    assert _events(read_sdtm(study, config), "grade") == [(None,), (None,), (1,), (3,), (4,)]


def test_a_domain_without_seq_takes_the_record_number(tmp_path):
    aes = [{k: v for k, v in _ae(i).items() if k != "AESEQ"} for i in (1, 2)]
    result = read_sdtm(write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "ae": aes}))
    assert [(r["srcdom"], r["srcseq"]) for r in _file(result) if r["event"] == "ae"] == [("AE", 1), ("AE", 2)]


def test_every_problem_of_every_file_at_once_with_file_record_variable_and_value(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1", "P2", P2={"DTHDTC": "2024-03-01"}),
        "ex": [ex_infusion("P1", "2024-02-30"), ex_infusion("P2")],
        "ae": [_ae(1, AETOXGR="7"), {**_ae(2), "USUBJID": "P2", "AESTDTC": "2024-03-05"}],
        "rs": [_rs(1, "OVRLRESP", "VGPR", "2024-03-01")]})  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    assert sorted(_messages(caught.value.errors)) == [
        "ae.csv, record 1, AETOXGR '7': grade must be a whole number from 1 to 5 (CTCAE v5.0); AE grades come from "
        "`sdtm.ae_grade` (or AESEV with `sdtm.grade_from_severity`)",
        "ae.csv, record 2, AEENDTC '2024-02-05': end_date is before the AE's date 2024-03-05",
        "ae.csv, record 2, AESTDTC '2024-03-05': dated after the subject's death (2024-03-01 in dm.csv record 2)",
        "ex.csv, record 1, EXSTDTC '2024-02-30': not a real calendar date",
        "rs.csv, record 1, RSSTRESC 'VGPR': not a result for assessment; expected one of: CR, CRh, CRi, MLFS, PR, NR, "
        "PD, NE; RSSTRESC values are mapped by `sdtm.response_map`",
    ]
    assert any(w.startswith("rs.csv, RSSTRESC: 1 value(s) outside the value map `sdtm.response_map`")
               for w in _messages(caught.value.warnings))


def test_a_control_character_in_an_sdtm_value_names_its_file_record_and_variable(tmp_path):
    # (the coded check of the mapped rows hands such a table to the full, row-by-row check)
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")],
                                         "ae": [_ae(1, AEDECOD="PYR\x1bEXIA")]})  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    assert _messages(caught.value.errors) == [
        "ae.csv, record 1, AEDECOD 'PYR\\x1bEXIA': a control character U+001B at character 4; such characters split a "
        "subject in two or hide a term from a rule without anyone seeing why: remove it"
    ]


def test_the_events_come_with_their_subjects_as_codes(tmp_path):
    result = read_sdtm(write_study(tmp_path / "s", {"dm": dm("P2", "P1"), "ex": [ex_infusion("P1"), ex_infusion("P2")]}))
    assert result.subjects.ids.to_list() == ["P1", "P2"]
    assert result.subjects.codes.to_list() == [0, 0, 1, 1]
    assert result.events.get_column("subject_id").to_list() == ["P1", "P1", "P2", "P2"]


def test_a_file_that_cannot_be_read_is_named(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1", "2024-02-31")]})
    (study / "ae.json").write_text("{not json", encoding="utf-8")
    (study / "rs.xpt").write_bytes(b"not a transport file at all" * 10)
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    messages = _messages(caught.value.errors)
    assert len(messages) == 3  # the readable domains are mapped and checked too
    assert messages[0].startswith("ae.json: not valid JSON")
    assert messages[1].startswith("rs.xpt: not a readable SAS transport (XPT) file")
    assert messages[2] == "ex.csv, record 1, EXSTDTC '2024-02-31': not a real calendar date"


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize("fmt", ["xpt", "json", "ndjson", "parquet"])
def test_a_domain_file_in_each_format_gives_the_same_events(tmp_path, fmt):
    aes = [_ae(1), _ae(2, AESTDTC="2024", AEENDTC="", AEREL="N"), _ae(3, AESTDTC="2024-02T08:00")]
    base = {"dm": dm("P1"), "ex": [ex_infusion("P1")]}
    reference = read_sdtm(write_study(tmp_path / "csv", {**base, "ae": aes}))
    other = write_study(tmp_path / fmt, base)
    write_domain(other, "AE", aes, fmt)  # (upper-case name: any case)
    result = read_sdtm(other)
    assert result.events.equals(reference.events)
    assert result.event_file.equals(reference.event_file)


def test_dataset_json_examples_read_the_same_from_json_ndjson_and_xpt():
    adtte = [read_domain(STANDARDS / f"adtte.{suffix}") for suffix in ("json", "ndjson", "xpt")]
    assert adtte[0].equals(adtte[1]) and adtte[0].equals(adtte[2])
    assert adtte[0].height == 254
    first = adtte[0].row(0, named=True)
    assert (first["USUBJID"], first["AGE"], first["TRTSDT"], first["SRCSEQ"]) == ("01-701-1015", "63", "2014-01-02", "1")
    adsl = [read_domain(STANDARDS / f"adsl.{suffix}") for suffix in ("json", "xpt")]
    assert adsl[0].equals(adsl[1])


# ------------------------------------------------------------------ the command line


def test_events_command_writes_the_event_file_and_reports_the_mapping(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1"), ex_fludarabine("P1")],
                                         "rs": [_rs(1, "OVRLRESP", "CR", "2024-03-01"), _rs(2, "BLAST", "1", "2024-03-01")]})  # fmt: skip
    out, report = tmp_path / "events.csv", tmp_path / "mapping.csv"
    result = run_cli("events", study, "-o", out, "--report", report)
    assert result.exit_code == 0, result.stderr
    assert out.read_text().splitlines() == [
        "subject_id,event,date,end_date,grade,term,soc,serious,related,result,mrd,srcdom,srcseq,srcvar,dtf",
        "P1,enrolled,2024-01-02,,,,,,,,,DM,1,RFICDTC,",
        "P1,lymphodepletion,2024-01-27,,,,,,,,,EX,1,EXSTDTC,",
        "P1,infusion,2024-02-01,,,,,,,,,EX,2,EXSTDTC,",
        "P1,assessment,2024-03-01,,,,,,,CR,,RS,1,RSDTC,",
    ]
    assert "mapping: RS (rs.csv): 2 read; 1 assessment; left out: 1 RSTESTCD not OVRLRESP or MRD" in result.stderr
    assert "domain,file,read,outcome,records\nDM,dm.csv,1,enrolled,1\n" in report.read_text()
    # the event file it wrote derives what the folder derives
    a = run_cli("derive", study)
    b = run_cli("derive", out)
    cols = ["USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR"]
    assert pl.read_csv(a.stdout.encode()).select(cols).equals(pl.read_csv(b.stdout.encode()).select(cols))


def test_derive_from_sdtm_names_the_sdtm_records(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1", P1={"DTHDTC": "2024-05-10"}),
                                         "ex": [ex_infusion("P1", seq=7)]})  # fmt: skip
    result = run_cli("derive", study, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    os_row = [line for line in result.stdout.splitlines() if ",OS," in line]
    assert os_row == ["P1,OS,Overall Survival (days),2024-02-01,2024-05-10,100,DAYS,0,Death (unknown),,DM,1,,DTHDTC"]
    assert result.stdout.splitlines()[0].endswith(",ADTF,SRCVAR")


def test_invalid_sdtm_exits_2_and_writes_nothing(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1", "2024-13-01")]})
    out = tmp_path / "events.csv"
    result = run_cli("events", study, "-o", out)
    assert result.exit_code == 2
    assert "ex.csv, record 1, EXSTDTC '2024-13-01': not a real calendar date" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert run_cli("validate", study).exit_code == 2


def test_a_rule_about_two_records_names_both_sdtm_records(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "ae": [_ae(1), _ae(2)]})
    warnings = _messages(read_sdtm(study).warnings)
    assert "ae.csv, record 2, 'ae': the same record as ae.csv record 1 (every cell equal): entered twice?" in warnings


def test_a_domain_without_a_variable_the_mapping_needs_is_one_error_naming_it(tmp_path):
    rs = [{k: v for k, v in _rs(1, "OVRLRESP", "CR", "2024-03-01").items() if k != "RSTESTCD"}]
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")], "rs": rs,
                                         "sv": [{"SVSTDTC": "2024-03-01"}]})  # fmt: skip
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    assert sorted(_messages(caught.value.errors)) == [
        "rs.csv, RSTESTCD: the RS domain has no RSTESTCD variable, which the mapping needs",
        "sv.csv, USUBJID: the SV domain has no USUBJID variable, which the mapping needs",
    ]


def test_records_of_a_subject_dm_does_not_have_are_mapped_with_a_warning(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1"), ex_infusion("P9")]})
    result = read_sdtm(study)
    assert ("P9", "infusion", D(2024, 2, 1), None) in _events(result)
    assert "ex.csv, record 2, USUBJID: 1 record(s) of 1 subject(s) DM does not have ('P9'); mapped all the same" in (
        _messages(result.warnings))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_the_order_of_the_records_never_changes_the_events(tmp_path, seed):
    """The example trial with every domain's records shuffled maps to the same events, each
    from the same SDTM record (domain and --SEQ)."""
    import random

    examples = Path(__file__).resolve().parents[1] / "examples" / "sdtm"
    rng = random.Random(seed)
    import tempfile

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    for path in sorted(examples.glob("*.xpt")):
        frame = read_domain(path).drop("_record")
        order = list(range(frame.height))
        rng.shuffle(order)
        frame[order].write_csv(folder / f"{path.stem}.csv")
    reference, shuffled = read_sdtm(examples), read_sdtm(folder)

    def keyed(result):
        # (DM and SV have no --SEQ: their SRCSEQ is the record number, which the shuffle changes)
        origin = result.provenance.select(
            "srcdom", pl.when(~pl.col("srcdom").is_in(["DM", "SV"])).then(pl.col("srcseq")).alias("srcseq"))
        frame = result.events.drop("line").with_columns(origin)
        return frame.sort(frame.columns, nulls_last=True)

    assert keyed(shuffled).equals(keyed(reference))


def test_on_a_terminal_without_o_the_report_is_the_output(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")]})
    result = run_cli("events", study, env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    assert "SDTM mapping" in result.stdout and "infusion" in result.stdout
    assert "Event file (2 rows) not written: use -o FILE" in result.stdout
    report = tmp_path / "mapping.json"
    assert run_cli("events", study, "-o", tmp_path / "e.parquet", "--report", report, "--quiet").exit_code == 0
    assert pl.read_ndjson(report).row(0) == ("DM", "dm.csv", 1, "enrolled", 1)
    assert pl.read_parquet(tmp_path / "e.parquet").height == 2


def test_two_files_for_one_domain_is_an_error(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ae": [_ae(1)]})
    write_domain(study, "AE", [_ae(1)], "parquet")
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    assert _messages(caught.value.errors) == ["two files for the AE domain: AE.parquet and ae.csv; keep one"]


def test_the_ae_listing_names_the_aeseq_and_flags_a_year_only_onset_m(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1"), "ex": [ex_infusion("P1")],
                                         "ae": [_ae(5, AESTDTC="2019", AEENDTC=""), _ae(9, AESTDTC="2024-02"),
                                                _ae(12)]})  # fmt: skip
    result = run_cli("teae", study, "--listing", "--format", "csv", "--quiet")
    assert result.exit_code == 0, result.stderr
    listing = pl.read_csv(result.stdout.encode(), infer_schema=False)
    assert listing.select("AESEQ", "ASTDT", "ASTDTF").rows() == [
        ("5", "2019-01-01", "M"), ("9", "2024-02-01", "D"), ("12", "2024-02-03", None)]


def test_a_second_dm_record_of_a_subject_is_an_error(tmp_path):
    study = write_study(tmp_path / "s", {"dm": dm("P1", "P2", "P1")})
    with pytest.raises(InputError) as caught:
        read_sdtm(study)
    assert _messages(caught.value.errors) == [
        "dm.csv, record 3, USUBJID 'P1': a second DM record for this subject; DM has one record per subject"]


def test_the_configuration_shown_in_the_docs_is_valid():
    import re
    import tomllib

    text = (Path(__file__).resolve().parents[1] / "docs" / "sdtm.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    config = config_from_mapping(tomllib.loads(block)).sdtm
    assert config.grade_from_severity and config.related_map["REMOTE"] == "N"
