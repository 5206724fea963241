"""EFS (EFS, EFSS1, EFSS2, EFSS3): hand-worked timelines (endpoints.md, "EFS").

Every timeline starts with the infusion on 2024-01-01 (line 2, study day 0), so a date's AVAL is
its day of the year 2024: 2024-01-29 -> 29, 2024-02-10 -> 41, 2024-02-26 -> 57,
2024-03-01 -> 61, 2024-03-10 -> 70, 2024-04-01 -> 92, 2024-05-01 -> 122, 2024-06-01 -> 153,
2024-12-31 -> 366 (the last day of the 365-day window). Lines are position + 2.
Expected values are written out by hand, never computed by the code under test.
"""

from __future__ import annotations


from tte_helpers import INFUSION, check, derive, timeline

EFS_ALL = ("EFS", "EFSS1", "EFSS2", "EFSS3")


NO_RESPONSE = "Treatment failure: no response at the first 2 adequate assessments"


def test_no_response_at_both_assessments_is_a_failure_dated_per_parameter():
    got = derive(timeline(
        INFUSION,                                   # 2
        ("assessment", "2024-01-29", "NR"),         # 3
        ("assessment", "2024-02-26", "NR"),         # 4
        ("end_of_treatment", "2024-03-01"),         # 5
        ("new_therapy", "2024-03-10"),              # 6
        ("contact", "2024-05-01"),                  # 7
    ))
    check(got["EFS"], STARTDT="2024-01-01", ADT="2024-01-01", AVAL=1, CNSR=0, SRCDOM="infusion", SRCSEQ=2,
          EVNTDESC=NO_RESPONSE + " (dated at the start)", CNSDTDSC=None)
    check(got["EFSS1"], ADT="2024-02-26", AVAL=57, CNSR=0, SRCDOM="assessment", SRCSEQ=4, EVNTDESC=NO_RESPONSE)
    check(got["EFSS2"], ADT="2024-03-01", AVAL=61, CNSR=0, SRCDOM="end_of_treatment", SRCSEQ=5,
          EVNTDESC=NO_RESPONSE + " (dated at end of treatment)")
    check(got["EFSS3"], ADT="2024-03-10", AVAL=70, CNSR=0, SRCDOM="new_therapy", SRCSEQ=6,
          EVNTDESC=NO_RESPONSE + " (dated at the start of next-line therapy)")
    assert "DOR" not in got


def test_failure_without_end_of_treatment_or_next_therapy_falls_back_to_the_actual_date():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "PD"),
                          ("contact", "2024-05-01")))
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0)
    for paramcd in ("EFSS1", "EFSS2", "EFSS3"):
        check(got[paramcd], ADT="2024-02-26", AVAL=57, CNSR=0, SRCDOM="assessment", SRCSEQ=4, EVNTDESC=NO_RESPONSE)


def test_hsct_counts_as_next_line_therapy_for_efss3():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "NR"),
                          ("hsct", "2024-04-01")))
    check(got["EFSS1"], ADT="2024-02-26", AVAL=57, CNSR=0)
    check(got["EFSS3"], ADT="2024-04-01", AVAL=92, CNSR=0, SRCDOM="hsct", SRCSEQ=5)


def test_new_therapy_before_any_response_is_a_treatment_failure():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("new_therapy", "2024-02-10"),
                          ("assessment", "2024-02-26", "CR"), ("contact", "2024-05-01")))
    reason = "Treatment failure: new therapy before response"
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0, EVNTDESC=reason + " (dated at the start)")
    check(got["EFSS1"], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="new_therapy", SRCSEQ=4, EVNTDESC=reason)
    check(got["EFSS2"], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="new_therapy")
    check(got["EFSS3"], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="new_therapy", SRCSEQ=4)
    assert "DOR" not in got  # the CR after the new therapy is not the product's


def test_salvage_hsct_before_response_fails_and_a_response_after_it_is_not_counted():
    got = derive(timeline(
        INFUSION,
        ("assessment", "2024-01-29", "NR"),   # 3
        ("hsct", "2024-02-10"),               # 4 salvage: before any response
        ("assessment", "2024-03-10", "CR"),   # 5 not the product's
        ("relapse", "2024-05-01", "hematologic"),  # 6 not after a counted response
        ("contact", "2024-06-01"),
    ))
    reason = "Treatment failure: HSCT before response"
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0, EVNTDESC=reason + " (dated at the start)")
    check(got["EFSS1"], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="hsct", SRCSEQ=4, EVNTDESC=reason)
    check(got["EFSS3"], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="hsct", SRCSEQ=4)
    assert "DOR" not in got


def test_death_before_the_second_assessment_is_a_death_event_on_the_death_date():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("death", "2024-02-10", "toxicity")))
    for paramcd in EFS_ALL:
        check(got[paramcd], ADT="2024-02-10", AVAL=41, CNSR=0, SRCDOM="death", SRCSEQ=4, EVNTDESC="Death (toxicity)")


def test_relapse_after_partial_response_ends_efs():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "PR"), ("assessment", "2024-02-26", "PR"),
                          ("relapse", "2024-05-01", "extramedullary"), ("contact", "2024-06-01")))
    for paramcd in EFS_ALL:
        check(got[paramcd], ADT="2024-05-01", AVAL=122, CNSR=0, SRCDOM="relapse", SRCSEQ=5,
              EVNTDESC="Relapse (extramedullary)")


def test_progressive_disease_at_an_assessment_after_response_is_a_relapse():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("assessment", "2024-02-26", "CR"),
                          ("assessment", "2024-04-01", "PD")))
    check(got["EFS"], ADT="2024-04-01", AVAL=92, CNSR=0, SRCDOM="assessment", SRCSEQ=5,
          EVNTDESC="Progressive disease at assessment")


def test_response_at_the_second_assessment_is_not_a_failure():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "MLFS"),
                          ("assessment", "2024-04-01", "MLFS"), ("contact", "2024-06-01")))
    for paramcd in EFS_ALL:
        check(got[paramcd], ADT="2024-04-01", AVAL=92, CNSR=1, SRCDOM="assessment", SRCSEQ=5,
              CNSDTDSC="Last adequate assessment", EVNTDESC=None)


def test_not_evaluable_assessments_are_skipped_when_counting_the_two_efficacy_assessments():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NE"), ("assessment", "2024-02-26", "NR"),
                          ("assessment", "2024-04-01", "NR")))
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0)
    check(got["EFSS1"], ADT="2024-04-01", AVAL=92, CNSR=0, SRCDOM="assessment", SRCSEQ=5)


def test_assessment_on_the_infusion_day_is_baseline_not_an_efficacy_assessment():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-01", "NR"), ("assessment", "2024-01-29", "NR"),
                          ("contact", "2024-03-01")))
    check(got["EFS"], ADT="2024-01-29", AVAL=29, CNSR=1, SRCSEQ=4)


def test_one_non_response_and_no_other_event_is_censored_not_failed():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("contact", "2024-06-01")))
    for paramcd in EFS_ALL:
        check(got[paramcd], ADT="2024-01-29", AVAL=29, CNSR=1, SRCDOM="assessment", SRCSEQ=3,
              CNSDTDSC="Last adequate assessment")


def test_no_adequate_assessment_censors_efs_at_the_start_date():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NE"), ("contact", "2024-06-01")))
    for paramcd in EFS_ALL:
        check(got[paramcd], STARTDT="2024-01-01", ADT="2024-01-01", AVAL=1, CNSR=1, SRCDOM="infusion", SRCSEQ=2,
              CNSDTDSC="No adequate assessment: censored at the start date", EVNTDESC=None)


def test_new_therapy_after_response_censors_efs_and_later_relapse_and_death_are_ignored():
    got = derive(timeline(
        INFUSION,
        ("assessment", "2024-01-29", "CR"),       # 3
        ("assessment", "2024-02-26", "CR"),       # 4
        ("assessment", "2024-03-10", "NE"),       # 5
        ("new_therapy", "2024-04-01"),            # 6
        ("assessment", "2024-04-15", "CR"),       # 7 after the new therapy: not counted
        ("relapse", "2024-05-01", "hematologic"),  # 8 ignored
        ("death", "2024-06-01", "disease"),       # 9 ignored for EFS, an OS event
    ))
    for paramcd in EFS_ALL:
        check(got[paramcd], ADT="2024-02-26", AVAL=57, CNSR=1, SRCDOM="assessment", SRCSEQ=4)
    check(got["OS"], ADT="2024-06-01", AVAL=153, CNSR=0)


def test_assessment_on_the_day_new_therapy_starts_still_counts():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("assessment", "2024-04-01", "CR"),
                          ("new_therapy", "2024-04-01"), ("relapse", "2024-05-01", "hematologic")))
    check(got["EFS"], ADT="2024-04-01", AVAL=92, CNSR=1, SRCDOM="assessment", SRCSEQ=4)


def test_relapse_on_the_day_new_therapy_starts_is_still_an_event():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("relapse", "2024-04-01", "hematologic"),
                          ("new_therapy", "2024-04-01")))
    check(got["EFS"], ADT="2024-04-01", AVAL=92, CNSR=0, SRCDOM="relapse", SRCSEQ=4)


def test_efs_follow_up_beyond_365_days_is_ignored():
    got = derive(timeline(
        INFUSION,
        ("assessment", "2024-01-29", "CR"),
        ("assessment", "2024-12-31", "CR"),        # 4: day 365, the last day in the window
        ("assessment", "2025-01-02", "CR"),        # outside the window
        ("relapse", "2025-03-01", "hematologic"),  # outside the window
    ))
    for paramcd in EFS_ALL:
        check(got[paramcd], ADT="2024-12-31", AVAL=366, CNSR=1, SRCSEQ=4)
    check(got["OS"], ADT="2025-03-01", AVAL=426, CNSR=1, SRCDOM="relapse")


def test_relapse_and_death_on_one_day_report_the_relapse():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-05-01", "disease"),
                          ("relapse", "2024-05-01", "hematologic")))
    # the death has the lower line (4); the tie order, not the input order, puts the relapse first
    check(got["EFS"], ADT="2024-05-01", AVAL=122, CNSR=0, SRCDOM="relapse", SRCSEQ=5)
    check(got["DOR"], ADT="2024-05-01", AVAL=94, CNSR=0, SRCDOM="relapse", SRCSEQ=5)
    check(got["OS"], ADT="2024-05-01", AVAL=122, CNSR=0, SRCDOM="death", SRCSEQ=4)


def test_relapse_before_the_next_therapy_is_the_efss3_event_instead_of_the_failure():
    got = derive(timeline(
        INFUSION,
        ("assessment", "2024-01-29", "NR"),        # 3
        ("assessment", "2024-02-26", "NR"),        # 4: failure, actual date
        ("assessment", "2024-03-10", "CR"),        # 5: late response
        ("relapse", "2024-04-01", "hematologic"),  # 6
        ("new_therapy", "2024-05-01"),             # 7
    ))
    check(got["EFS"], ADT="2024-01-01", AVAL=1, CNSR=0)
    check(got["EFSS1"], ADT="2024-02-26", AVAL=57, CNSR=0, SRCSEQ=4)
    check(got["EFSS2"], ADT="2024-02-26", AVAL=57, CNSR=0, SRCSEQ=4)
    check(got["EFSS3"], ADT="2024-04-01", AVAL=92, CNSR=0, SRCDOM="relapse", SRCSEQ=6)


def test_end_of_treatment_after_the_window_does_not_exist_for_efss2():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-02-26", "NR"),
                          ("end_of_treatment", "2025-01-15")))
    check(got["EFSS2"], ADT="2024-02-26", AVAL=57, CNSR=0, SRCDOM="assessment")
