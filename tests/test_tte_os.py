"""OS: hand-worked timelines (endpoints.md, "OS - overall survival").

Every timeline starts with the infusion on 2024-01-01 (line 2, study day 0), so a date's AVAL is
its day of the year 2024 (2024-06-01 -> 153); the OS window ends on 2025-12-31 (AVAL 731).
Expected values are written out by hand, never computed by the code under test.
"""

from __future__ import annotations


from cart19.config import Config, OSConfig
from cart19.engine.common import apply_cutoff
from cart19.engine.tte import derive_adtte
from cart19.schema import events_frame
from tte_helpers import INFUSION, D, check, derive, timeline


def test_death_in_window_is_an_os_event():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-06-01", "disease")))
    check(got["OS"], STARTDT="2024-01-01", ADT="2024-06-01", AVAL=153, CNSR=0, EVNTDESC="Death (disease)",
          CNSDTDSC=None, SRCDOM="death", SRCSEQ=4, ADTF=None, AVALU="DAYS", PARAM="Overall Survival (days)")


def test_death_on_the_infusion_day_has_aval_1():
    got = derive(timeline(INFUSION, ("death", "2024-01-01", "toxicity")))
    check(got["OS"], ADT="2024-01-01", AVAL=1, CNSR=0, SRCDOM="death", SRCSEQ=3)


def test_alive_patient_is_censored_at_last_known_alive_including_an_ae_end_date():
    got = derive(timeline(
        INFUSION,
        ("ae", "2024-04-01", {"end_date": "2024-06-15", "grade": 2, "term": "Pyrexia"}),
        ("contact", "2024-05-01"),
    ))
    check(got["OS"], ADT="2024-06-15", AVAL=167, CNSR=1, EVNTDESC=None,
          CNSDTDSC="Last known alive (AE end date)", SRCDOM="ae", SRCSEQ=3)


def test_last_contact_after_the_last_ae_is_the_last_known_alive_date():
    got = derive(timeline(
        INFUSION,
        ("ae", "2024-04-01", {"end_date": "2024-04-10", "grade": 2, "term": "Pyrexia"}),
        ("contact", "2024-05-01"),
    ))
    check(got["OS"], ADT="2024-05-01", AVAL=122, CNSR=1, CNSDTDSC="Last known alive", SRCDOM="contact", SRCSEQ=4)


def test_follow_up_beyond_730_days_censors_os_at_the_window_end():
    got = derive(timeline(INFUSION, ("contact", "2025-06-01"), ("contact", "2026-03-01")))
    check(got["OS"], ADT="2025-12-31", AVAL=731, CNSR=1, CNSDTDSC="End of the 730-day follow-up window",
          SRCDOM="infusion", SRCSEQ=2)


def test_an_ae_ending_after_the_window_also_censors_os_at_the_window_end():
    got = derive(timeline(INFUSION, ("ae", "2025-12-01", {"end_date": "2026-01-10", "grade": 1, "term": "Cough"})))
    check(got["OS"], ADT="2025-12-31", AVAL=731, CNSR=1, SRCDOM="infusion")


def test_death_after_the_os_window_is_ignored():
    got = derive(timeline(INFUSION, ("contact", "2025-06-01"), ("death", "2026-02-01", "disease")))
    check(got["OS"], ADT="2025-12-31", AVAL=731, CNSR=1, EVNTDESC=None)


def test_death_on_the_last_day_of_the_window_is_an_event():
    got = derive(timeline(INFUSION, ("death", "2025-12-31", "other")))
    check(got["OS"], ADT="2025-12-31", AVAL=731, CNSR=0, EVNTDESC="Death (other)")


def test_partially_dated_death_carries_the_day_imputed_flag():
    got = derive(timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("death", "2024-06-01", "disease", {"date_imputed": True})))
    check(got["OS"], ADT="2024-06-01", AVAL=153, CNSR=0, ADTF="D", SRCDOM="death", SRCSEQ=4)
    check(got["EFS"], ADT="2024-06-01", AVAL=153, CNSR=0, ADTF="D")


def test_imputed_ae_onset_as_last_known_alive_is_flagged():
    got = derive(timeline(INFUSION, ("contact", "2024-03-01"), ("ae", "2024-05-01", {"date_imputed": True, "grade": 1, "term": "Cough"})))
    check(got["OS"], ADT="2024-05-01", CNSR=1, ADTF="D", SRCDOM="ae", SRCSEQ=4)


def test_subject_without_infusion_gets_no_row():
    rows = timeline(("enrolled", "2023-12-01"), ("death", "2024-01-10", "disease"), subject="S0")
    rows += timeline(INFUSION, ("contact", "2024-03-01"))
    out = derive_adtte(events_frame(rows), Config())
    assert out.get_column("USUBJID").unique().to_list() == ["S1"]


def test_cutoff_sets_aside_a_later_death_and_ae_end():
    events = events_frame(timeline(
        INFUSION,
        ("ae", "2024-04-01", {"end_date": "2024-06-15", "grade": 2, "term": "Pyrexia"}),
        ("contact", "2024-05-01"),
        ("death", "2024-06-20", "disease"),
    ))
    cut = apply_cutoff(events, D("2024-05-31"))
    got = {r["PARAMCD"]: r for r in derive_adtte(cut.events, Config()).iter_rows(named=True)}
    check(got["OS"], ADT="2024-05-01", AVAL=122, CNSR=1, SRCDOM="contact", SRCSEQ=4)


def test_os_origin_at_lymphodepletion_moves_the_start_not_the_window():
    config = Config(os=OSConfig(origin_event="lymphodepletion"))
    rows = timeline(("lymphodepletion", "2023-12-27"), INFUSION, ("death", "2025-12-31", "disease"))
    got = derive(rows, config)
    # window still ends at infusion + 730 = 2025-12-31; AVAL counts from 2023-12-27
    check(got["OS"], STARTDT="2023-12-27", ADT="2025-12-31", AVAL=736, CNSR=0, SRCDOM="death", SRCSEQ=4)
    check(got["EFS"], STARTDT="2024-01-01")


def test_subject_without_the_origin_event_gets_no_row_for_that_parameter():
    config = Config(os=OSConfig(origin_event="lymphodepletion"))
    got = derive(timeline(INFUSION, ("contact", "2024-03-01")), config)
    assert "OS" not in got
    assert "EFS" in got


def test_os_window_is_configuration():
    got = derive(timeline(INFUSION, ("death", "2024-06-01", "disease")), Config(os=OSConfig(window_days=100)))
    check(got["OS"], ADT="2024-04-10", AVAL=101, CNSR=1, CNSDTDSC="End of the 100-day follow-up window")
