"""DOR: hand-worked timelines (endpoints.md, "DOR - duration of remission").

Infusion on 2024-01-01 (line 2). DOR's AVAL counts from the first response: a response on
2024-01-29 (day 28) and an end on 2024-05-01 (day 121) give AVAL = 121 - 28 + 1 = 94;
2024-02-26 -> 29, 2024-04-01 -> 64, 2024-06-01 -> 125. The DOR window ends on 2024-12-31
(infusion + 365). Expected values are written out by hand.
"""

from __future__ import annotations


from cart19.config import Config, DORConfig
from tte_helpers import INFUSION, check, derive, timeline


CONSOLIDATION = (
    INFUSION,                                  # 2
    ("assessment", "2024-01-29", "CR"),        # 3
    ("assessment", "2024-02-26", "CR"),        # 4
    ("hsct", "2024-03-01"),                    # 5 consolidative: after the response
    ("assessment", "2024-04-01", "CR"),        # 6
    ("relapse", "2024-06-01", "hematologic"),  # 7
)


def test_relapse_after_partial_response_ends_dor():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "PR"), ("relapse", "2024-05-01", "hematologic")))
    check(got["DOR"], STARTDT="2024-01-29", ADT="2024-05-01", AVAL=94, CNSR=0, SRCDOM="relapse", SRCSEQ=4,
          EVNTDESC="Relapse (hematologic)", PARAM="Duration of Remission (days)")


def test_dor_starts_at_the_first_dor_response_not_at_mlfs():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "MLFS"), ("assessment", "2024-02-26", "CRi"),
                          ("assessment", "2024-04-01", "PD")))
    check(got["DOR"], STARTDT="2024-02-26", ADT="2024-04-01", AVAL=36, CNSR=0, SRCDOM="assessment", SRCSEQ=5)


def test_pd_at_an_assessment_after_response_ends_dor():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("assessment", "2024-02-26", "NE"),
                          ("assessment", "2024-04-01", "PD")))
    check(got["DOR"], ADT="2024-04-01", AVAL=64, CNSR=0, SRCDOM="assessment", SRCSEQ=5,
          EVNTDESC="Progressive disease at assessment")


def test_only_subjects_with_a_dor_response_get_a_dor_row():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "MLFS"), ("assessment", "2024-02-26", "NR")))
    assert "DOR" not in got
    check(got["EFS"], ADT="2024-02-26", AVAL=57, CNSR=1)  # MLFS is a response for EFS


def test_consolidative_hsct_in_remission_does_not_censor_dor_by_default():
    got = derive(timeline(*CONSOLIDATION))
    check(got["DOR"], STARTDT="2024-01-29", ADT="2024-06-01", AVAL=125, CNSR=0, SRCDOM="relapse", SRCSEQ=7)
    for paramcd in ("EFS", "EFSS1", "EFSS2", "EFSS3"):  # not a failure: the response came first
        check(got[paramcd], ADT="2024-06-01", AVAL=153, CNSR=0, SRCDOM="relapse", SRCSEQ=7)


def test_consolidative_hsct_censors_dor_when_configured():
    got = derive(timeline(*CONSOLIDATION), Config(dor=DORConfig(censor_at_hsct=True)))
    check(got["DOR"], ADT="2024-02-26", AVAL=29, CNSR=1, SRCDOM="assessment", SRCSEQ=4,
          CNSDTDSC="Last adequate assessment", EVNTDESC=None)
    check(got["EFS"], ADT="2024-06-01", AVAL=153, CNSR=0)  # EFS is not affected


def test_death_of_other_cause_in_remission_censors_dor_at_the_last_adequate_assessment():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("assessment", "2024-04-01", "CR"),
                          ("assessment", "2024-05-01", "NE"), ("death", "2024-06-01", "toxicity")))
    check(got["DOR"], ADT="2024-04-01", AVAL=64, CNSR=1, SRCDOM="assessment", SRCSEQ=4)
    check(got["EFS"], ADT="2024-06-01", AVAL=153, CNSR=0, SRCDOM="death", EVNTDESC="Death (toxicity)")


def test_death_from_disease_in_remission_is_a_dor_event():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-06-01", "disease")))
    check(got["DOR"], ADT="2024-06-01", AVAL=125, CNSR=0, SRCDOM="death", SRCSEQ=4, EVNTDESC="Death (disease)")


def test_new_therapy_after_response_censors_dor_and_ignores_a_later_relapse():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("assessment", "2024-02-26", "CR"),
                          ("new_therapy", "2024-04-01"), ("assessment", "2024-04-15", "CR"),
                          ("relapse", "2024-05-01", "hematologic")))
    check(got["DOR"], ADT="2024-02-26", AVAL=29, CNSR=1, SRCDOM="assessment", SRCSEQ=4)


def test_new_therapy_does_not_censor_dor_when_configured_not_to():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("new_therapy", "2024-04-01"),
                          ("relapse", "2024-05-01", "hematologic")), Config(dor=DORConfig(censor_at_new_therapy=False)))
    check(got["DOR"], ADT="2024-05-01", AVAL=94, CNSR=0, SRCDOM="relapse")


def test_dor_window_ends_365_days_after_the_infusion():
    got = derive(timeline(INFUSION, ("assessment", "2024-06-01", "CR"), ("assessment", "2024-12-31", "CR"),
                          ("relapse", "2025-01-15", "hematologic")))
    # 2024-06-01 is day 152, 2024-12-31 day 365: AVAL = 365 - 152 + 1
    check(got["DOR"], STARTDT="2024-06-01", ADT="2024-12-31", AVAL=214, CNSR=1, SRCSEQ=4)


def test_response_alone_censors_dor_at_the_response_with_aval_1():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("contact", "2024-06-01")))
    check(got["DOR"], STARTDT="2024-01-29", ADT="2024-01-29", AVAL=1, CNSR=1, SRCSEQ=3)


def test_death_causes_that_end_dor_are_configuration():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-06-01", "unknown"))
    check(derive(rows)["DOR"], ADT="2024-01-29", AVAL=1, CNSR=1)
    config = Config(dor=DORConfig(event_death_causes=("disease", "unknown")))
    check(derive(rows, config)["DOR"], ADT="2024-06-01", AVAL=125, CNSR=0, SRCDOM="death")
