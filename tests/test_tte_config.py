"""Rules are data: configuration changes move the results without code changes; and the
output contract of ``derive_adtte`` (cli.md, "Machine formats"). Hand-worked timelines as in
test_tte_efs.py (infusion 2024-01-01, line 2; AVAL = day of 2024)."""

from __future__ import annotations


import polars as pl

from cart19.config import Config, EFSConfig, EFSParameter, ResponseSets
from cart19.engine.tte import ADTTE_COLUMNS, derive_adtte
from cart19.schema import empty_events, events_frame
from tte_helpers import INFUSION, check, derive, timeline


PARTIAL_RESPONDER = timeline(INFUSION, ("assessment", "2024-01-29", "PR"), ("assessment", "2024-02-26", "PR"),
                             ("contact", "2024-06-01"))


def test_partial_responder_is_censored_under_the_default_response_set():
    got = derive(PARTIAL_RESPONDER)
    check(got["EFS"], ADT="2024-02-26", AVAL=57, CNSR=1)


def test_efs_response_set_remission_makes_partial_response_a_failure():
    got = derive(PARTIAL_RESPONDER, Config(efs=EFSConfig(response_set="remission")))
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0, SRCDOM="infusion")
    check(got["EFSS1"], ADT="2024-02-26", AVAL=57, CNSR=0, SRCDOM="assessment", SRCSEQ=4)
    check(got["DOR"], STARTDT="2024-01-29", ADT="2024-02-26", AVAL=29, CNSR=1)  # DOR keeps its own set


def test_response_sets_are_configuration():
    config = Config(response_sets=ResponseSets(dor_response=("CR",)))
    assert "DOR" not in derive(PARTIAL_RESPONDER, config)


def test_death_before_the_assessments_as_failure_is_eln_style():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("death", "2024-02-10", "toxicity"))
    got = derive(rows, Config(efs=EFSConfig(death_before_assessments="failure")))
    reason = "Treatment failure: death before the efficacy assessments"
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0, SRCDOM="infusion", SRCSEQ=2,
          EVNTDESC=reason + " (dated at the start)")
    check(got["EFSS1"], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="death", SRCSEQ=4, EVNTDESC=reason)


def test_death_after_a_response_is_never_a_failure():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-02-10", "toxicity"))
    got = derive(rows, Config(efs=EFSConfig(death_before_assessments="failure")))
    check(got["EFS"], ADT="2024-02-10", AVAL=41, CNSR=0, EVNTDESC="Death (toxicity)")


def test_efs_origin_at_lymphodepletion_moves_the_start_not_the_window():
    rows = timeline(("lymphodepletion", "2023-12-27"), INFUSION, ("assessment", "2024-01-29", "NR"),
                    ("assessment", "2024-02-26", "NR"))
    got = derive(rows, Config(efs=EFSConfig(origin_event="lymphodepletion")))
    check(got["EFS"], STARTDT="2023-12-27", ADT="2023-12-27", AVAL=1, CNSR=0, SRCDOM="lymphodepletion", SRCSEQ=2)
    check(got["EFSS1"], STARTDT="2023-12-27", ADT="2024-02-26", AVAL=62, CNSR=0, SRCSEQ=5)
    check(got["OS"], STARTDT="2024-01-01")


def test_efs_window_is_configuration():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "NR"))
    got = derive(rows, Config(efs=EFSConfig(window_days=30)))
    check(got["EFSS1"], ADT="2024-01-29", AVAL=29, CNSR=1)  # the second assessment is out of the window


def test_three_efficacy_assessments_when_configured():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "NR"),
                    ("assessment", "2024-04-01", "NR"))
    got = derive(rows, Config(efs=EFSConfig(efficacy_assessments=3)))
    check(got["EFSS1"], ADT="2024-04-01", AVAL=92, CNSR=0, SRCSEQ=5,
          EVNTDESC="Treatment failure: no response at the first 3 adequate assessments")


def test_therapy_before_response_need_not_be_a_failure():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("new_therapy", "2024-02-10"), ("contact", "2024-05-01"))
    got = derive(rows, Config(efs=EFSConfig(therapy_before_response_is_failure=False)))
    check(got["EFS"], ADT="2024-01-29", AVAL=29, CNSR=1)


def test_efs_parameters_are_a_list_in_configuration():
    config = Config(efs=EFSConfig(parameters=(EFSParameter(paramcd="EFSA", param="EFS actual", failure_date="actual"),)))
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "NR"))
    out = derive_adtte(events_frame(rows), config)
    assert out.get_column("PARAMCD").to_list() == ["OS", "EFSA"]
    assert out.row(1, named=True)["AVAL"] == 57


def test_output_columns_types_and_order_follow_the_contract():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), subject="S10")
    rows += timeline(INFUSION, ("assessment", "2024-01-29", "NR"), subject="S2")
    rows += timeline(INFUSION, ("assessment", "2024-01-29", "PR"), subject="A7")
    out = derive_adtte(events_frame(rows), Config())
    assert tuple(out.columns) == ADTTE_COLUMNS
    assert out.schema["STARTDT"] == pl.Date and out.schema["ADT"] == pl.Date
    assert out.schema["AVAL"] == pl.Int64 and out.schema["SRCSEQ"] == pl.Int64
    assert out.schema["CNSR"] in (pl.Int8, pl.Int64)
    assert out.schema["USUBJID"] == pl.String
    assert out.select("USUBJID", "PARAMCD").rows() == [
        ("A7", "OS"), ("A7", "EFS"), ("A7", "EFSS1"), ("A7", "EFSS2"), ("A7", "EFSS3"), ("A7", "DOR"),
        ("S10", "OS"), ("S10", "EFS"), ("S10", "EFSS1"), ("S10", "EFSS2"), ("S10", "EFSS3"), ("S10", "DOR"),
        ("S10", "RFS"),
        ("S2", "OS"), ("S2", "EFS"), ("S2", "EFSS1"), ("S2", "EFSS2"), ("S2", "EFSS3"),
    ]
    assert set(out.get_column("AVALU")) == {"DAYS"}


def test_no_events_give_an_empty_dataset_with_the_contract_columns():
    out = derive_adtte(empty_events(), Config())
    assert out.height == 0
    assert tuple(out.columns) == ADTTE_COLUMNS


def test_only_untreated_subjects_give_an_empty_dataset():
    out = derive_adtte(events_frame(timeline(("enrolled", "2024-01-01"))), Config())
    assert out.height == 0
    assert tuple(out.columns) == ADTTE_COLUMNS
