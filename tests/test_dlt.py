"""DLT review (endpoints.md, "DLT"): each default rule at its boundaries, evaluability, the
exact CI and the stopping rule, with the expected values worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cart19.config import Config, DLTConfig, DLTRule, StoppingRule, config_from_mapping
from cart19.engine.dlt import (
    clopper_pearson,
    dlt_review,
    normalise_term,
    posterior_exceedance,
)
from cart19.engine.teae import ae_listing
from cart19.schema import events_frame

INFUSION = dt.date(2024, 1, 1)  # study day 0


def day(n: int) -> dt.date:
    return INFUSION + dt.timedelta(days=n)


def subject(sid: str, *aes: dict, last_day: int | None = 60, extra: tuple[dict, ...] = ()) -> list[dict]:
    """A treated subject: infusion on 2024-01-01 (day 0), the given AEs, other records, and a
    `contact` on ``last_day`` (None: no contact)."""
    rows = [{"subject_id": sid, "event": "infusion", "date": INFUSION}]
    for ae in aes:
        rows.append({"subject_id": sid, "event": "ae", **ae})
    rows.extend({"subject_id": sid, **e} for e in extra)
    if last_day is not None:
        rows.append({"subject_id": sid, "event": "contact", "date": day(last_day)})
    return rows


def ae(term: str, grade: int, onset: int, end: int | None, soc: str | None = None) -> dict:
    return {"term": term, "grade": grade, "date": day(onset), "end_date": day(end) if end is not None else None, "soc": soc}


def review_one(*aes: dict, last_day: int | None = 60, config: Config | None = None, as_of=None, extra=()):
    review = dlt_review(events_frame(subject("S1", *aes, last_day=last_day, extra=extra)), config or Config(), as_of)
    return review, review.subjects.row(0, named=True)


def rules_met(*aes: dict, last_day: int | None = 60, config: Config | None = None) -> list[str | None]:
    """DLTRULE of each AE row of the listing, in onset order."""
    listing = ae_listing(events_frame(subject("S1", *aes, last_day=last_day)), config or Config())
    return listing["DLTRULE"].to_list()


# --- term matching ---------------------------------------------------------------------------


def test_terms_match_case_insensitively_with_hyphens_as_spaces():
    assert normalise_term("Acute graft-versus-host  disease ") == "acute graft versus host disease"
    assert normalise_term("ICANS") == "icans"
    assert normalise_term("Immune effector cell-associated neurotoxicity syndrome") == (
        "immune effector cell associated neurotoxicity syndrome"
    )


def test_acute_gvhd_written_with_hyphens_and_odd_case_is_rule_3():
    assert rules_met(ae("Acute Graft-versus-Host Disease", 3, 10, 20)) == ["acute_gvhd_grade3"]
    assert rules_met(ae("graft-versus-host   disease", 4, 10, 20)) == ["acute_gvhd_grade3"]
    # grade 2 acute GVHD is not a DLT (and rule 5 excludes GVHD terms)
    assert rules_met(ae("Acute graft versus host disease", 2, 10, 20)) == [None]


# --- the onset window ------------------------------------------------------------------------


def test_onset_on_day_28_is_in_the_window_and_day_29_is_not():
    assert rules_met(ae("Hypotension", 4, 28, 30)) == ["nonhaem_grade4"]
    assert rules_met(ae("Hypotension", 4, 29, 30)) == [None]


def test_onset_on_the_infusion_day_is_in_the_window_and_the_day_before_is_not():
    assert rules_met(ae("Hypotension", 4, 0, 2)) == ["nonhaem_grade4"]
    assert rules_met(ae("Hypotension", 4, -1, 2)) == [None]


# --- rules 1 and 2: CRS and ICANS ------------------------------------------------------------


@pytest.mark.parametrize("term", ["Cytokine release syndrome", "cytokine release syndrome"])
def test_grade_3_crs_of_exactly_3_days_is_not_a_dlt_but_4_days_is(term):
    # duration = end - onset + 1: days 2..4 is 3 days, days 2..5 is 4 days
    assert rules_met(ae(term, 3, 2, 4)) == [None]
    assert rules_met(ae(term, 3, 2, 5)) == ["crs_grade3_over_3d"]


def test_grade_4_crs_is_a_dlt_at_once_and_grade_5_crs_meets_two_rules():
    assert rules_met(ae("Cytokine release syndrome", 4, 1, 1)) == ["crs_grade4"]
    # every rule a record meets is reported, in configuration order
    assert rules_met(ae("Cytokine release syndrome", 5, 1, 1), last_day=None) == ["crs_grade4;grade5_not_progression"]


@pytest.mark.parametrize("term", ["Immune effector cell-associated neurotoxicity syndrome", "ICANS"])
def test_grade_3_icans_of_exactly_3_days_is_not_a_dlt_but_4_days_is(term):
    assert rules_met(ae(term, 3, 5, 7)) == [None]
    assert rules_met(ae(term, 3, 5, 8)) == ["icans_grade3_over_3d"]
    assert rules_met(ae(term, 4, 5, 5)) == ["icans_grade4"]


def test_ongoing_grade_3_crs_lasts_until_the_subjects_last_record():
    # onset day 2, ongoing; last record day 4 -> 3 days so far: not (yet) a DLT
    review, row = review_one(ae("Cytokine release syndrome", 3, 2, None), last_day=4, as_of=day(4))
    assert row["status"] == "in_window"
    assert review.warnings == (
        "S1: grade 3 'Cytokine release syndrome' (line 3, onset day 2) ongoing after 3 days: "
        "may still meet crs_grade3_over_3d",
    )
    # last record day 5 -> 4 days: a DLT
    _, row = review_one(ae("Cytokine release syndrome", 3, 2, None), last_day=5, as_of=day(5))
    assert row["status"] == "dlt"
    assert row["dlt_rules"] == ["crs_grade3_over_3d"]


# --- rule 4: grade 5 -------------------------------------------------------------------------


def test_grade_5_disease_progression_is_not_a_dlt_but_grade_5_sepsis_is():
    death = ({"event": "death", "date": day(12), "result": "disease"},)
    review, row = review_one(ae("Disease progression", 5, 12, 12), last_day=None, extra=death)
    assert row["status"] == "not_evaluable"
    assert row["reason"] == "died on day 12 (disease) without a DLT"
    assert rules_met(ae("Malignant neoplasm progression", 5, 12, 12), last_day=None) == [None]

    death = ({"event": "death", "date": day(12), "result": "toxicity"},)
    review, row = review_one(ae("Sepsis", 5, 10, 12, soc="Infections and infestations"), last_day=None, extra=death)
    assert row["status"] == "dlt"
    assert row["dlt_terms"] == ["Sepsis"]
    assert row["dlt_rules"] == ["grade5_not_progression"]
    assert review.warnings == ()  # a toxicity death with its grade 5 AE recorded


# --- rule 5: other non-haematological --------------------------------------------------------


def test_grade_3_non_haematological_of_exactly_7_days_is_not_a_dlt_but_8_days_is():
    assert rules_met(ae("Hypoxia", 3, 3, 9)) == [None]  # days 3..9 = 7 days
    assert rules_met(ae("Hypoxia", 3, 3, 10)) == ["nonhaem_grade3_over_7d"]  # 8 days
    assert rules_met(ae("Hypoxia", 4, 3, 3)) == ["nonhaem_grade4"]
    assert rules_met(ae("Hypoxia", 2, 3, 30)) == [None]


@pytest.mark.parametrize(
    "term",
    ["Pyrexia", "Febrile neutropenia", "Hypokalemia", "Hypokalaemia", "HYPONATREMIA", "Hypophosphataemia",
     "Anaemia", "White blood cell count decreased", "Lymphocyte count decreased", "Disease progression"],
)  # fmt: skip
def test_excluded_terms_are_not_rule_5_dlts(term):
    assert rules_met(ae(term, 4, 3, 3), ae(term, 3, 3, 20)) == [None, None]


def test_an_ae_of_the_blood_and_lymphatic_soc_is_not_a_rule_5_dlt():
    assert rules_met(ae("Leukopenia", 4, 3, 3, soc="Blood and lymphatic system disorders")) == [None]
    assert rules_met(ae("Leukopenia", 4, 3, 3, soc="blood and lymphatic SYSTEM disorders")) == [None]


# --- rule 6: cytopenias not resolved by day 28 -----------------------------------------------


def test_grade_4_neutropenia_resolved_by_day_28_is_not_a_dlt():
    assert rules_met(ae("Neutrophil count decreased", 4, 5, 28)) == [None]


def test_grade_4_neutropenia_ending_on_day_29_is_a_dlt():
    assert rules_met(ae("Neutrophil count decreased", 4, 5, 29)) == ["cytopenia_grade4_unresolved_day28"]
    assert rules_met(ae("Thrombocytopenia", 4, 5, 29)) == ["cytopenia_grade4_unresolved_day28"]


def test_ongoing_grade_4_neutropenia_with_follow_up_to_day_28_is_a_dlt():
    review, row = review_one(ae("Neutropenia", 4, 5, None), last_day=28)
    assert row["status"] == "dlt"
    assert row["dlt_rules"] == ["cytopenia_grade4_unresolved_day28"]


def test_ongoing_grade_4_neutropenia_before_day_28_is_not_yet_known():
    review, row = review_one(ae("Platelet count decreased", 4, 5, None), last_day=20, as_of=day(20))
    assert row["status"] == "in_window"
    assert row["reason"] == "day 20 of 28"
    assert row["window_day"] == 20
    assert review.warnings == (
        "S1: grade 4 'Platelet count decreased' (line 3, onset day 5) ongoing after 16 days: "
        "may still meet cytopenia_grade4_unresolved_day28",
    )


def test_grade_3_neutropenia_unresolved_is_not_a_dlt():
    assert rules_met(ae("Neutrophil count decreased", 3, 5, 40)) == [None]


# --- evaluability ----------------------------------------------------------------------------


def test_a_record_on_day_28_makes_the_subject_evaluable_and_day_27_does_not():
    _, row = review_one(last_day=28)
    assert (row["status"], row["reason"]) == ("no_dlt", "followed through day 28 without a DLT")
    _, row = review_one(last_day=27, as_of=day(40))
    assert (row["status"], row["reason"]) == (
        "not_evaluable",
        "no record on or after day 28 (last record on day 27)",
    )


def test_a_subject_at_day_14_at_the_review_is_in_window():
    review, row = review_one(last_day=10, as_of=day(14))
    assert (row["status"], row["reason"], row["window_day"]) == ("in_window", "day 14 of 28", 14)
    assert row["window_end"] == dt.date(2024, 1, 29)
    assert (review.evaluable, review.dlt, review.rate) == (0, 0, None)


def test_withdrawal_on_day_9_is_not_evaluable_even_while_in_window():
    _, row = review_one(last_day=None, extra=({"event": "withdrawal", "date": day(9)},), as_of=day(14))
    assert (row["status"], row["reason"]) == ("not_evaluable", "withdrew on day 9 without a DLT")


def test_a_dlt_counts_as_evaluable_even_before_day_28():
    review, row = review_one(ae("Hypotension", 4, 3, 5), last_day=6, as_of=day(7))
    assert row["status"] == "dlt"
    assert (review.evaluable, review.dlt, review.rate) == (1, 1, 1.0)


def test_records_after_the_review_date_are_set_aside_and_a_later_end_date_is_unknown():
    # neutropenia ends on day 40, but at a review on day 30 its end is not yet known: ongoing,
    # the subject followed to day 30 -> not resolved by day 28 -> DLT
    review, row = review_one(ae("Neutropenia", 4, 5, 40), last_day=30, extra=({"event": "contact", "date": day(50)},),
                             as_of=day(30))  # fmt: skip
    assert row["status"] == "dlt"
    assert review.set_aside == 1
    assert review.review_date == day(30)


def test_the_default_review_date_is_the_latest_date_in_the_file():
    review, _ = review_one(ae("Hypoxia", 2, 3, 70), last_day=60)
    assert review.review_date == day(70)


# --- rate, exact CI, stopping rule -----------------------------------------------------------


def cohort(n_dlt: int, n_no_dlt: int, extra_rows: list[dict] = ()) -> pl.DataFrame:
    rows: list[dict] = []
    for i in range(n_dlt):
        rows += subject(f"D{i}", ae("Hypotension", 4, 3, 4))
    for i in range(n_no_dlt):
        rows += subject(f"N{i}", ae("Hypotension", 2, 3, 4))
    return events_frame([*rows, *extra_rows])


def test_one_dlt_in_six_evaluable_rate_ci_and_posterior():
    review = dlt_review(cohort(1, 5), Config())
    assert (review.evaluable, review.dlt) == (6, 1)
    assert review.rate == pytest.approx(1 / 6)
    # Clopper-Pearson 95%: Beta(0.025; 1, 6) and Beta(0.975; 2, 5); R binom.test(1, 6) agrees
    assert review.ci_low == pytest.approx(0.0042107445, abs=1e-9)
    assert review.ci_high == pytest.approx(0.6412345790, abs=1e-9)
    # Beta(1+1, 1+5) = Beta(2, 6): P(p > 0.3) = P(Binomial(7, 0.3) <= 1) = 0.7^7 + 7*0.3*0.7^6
    assert review.posterior_probability == pytest.approx(0.3294172, abs=1e-7)
    assert review.stopping_rule_met is False


def test_three_dlts_in_six_meet_the_stopping_rule():
    review = dlt_review(cohort(3, 3), Config())
    # Beta(4, 4): P(p > 0.3) = P(Binomial(7, 0.3) <= 3) = 0.0823543 + 0.2470629 + 0.3176523 + 0.2268945
    assert review.posterior_probability == pytest.approx(0.873964, abs=1e-6)
    assert review.stopping_rule_met is True
    assert review.ci_low == pytest.approx(0.1181172, abs=1e-7)
    assert review.ci_high == pytest.approx(0.8818828, abs=1e-7)


def test_no_evaluable_subject_gives_no_rate_and_the_prior_alone():
    review = dlt_review(events_frame(subject("S1", last_day=5)), Config(), as_of=day(5))
    assert (review.evaluable, review.rate, review.ci_low, review.ci_high) == (0, None, None, None)
    assert review.posterior_probability == pytest.approx(0.7)  # Beta(1, 1): P(p > 0.3)
    assert review.stopping_rule_met is False


def test_no_subjects_at_all_does_not_crash():
    review = dlt_review(events_frame([]), Config())
    assert review.subjects.height == 0
    assert review.review_date is None
    assert review.to_json_dict()["subjects"] == []


def test_helpers_match_the_literals():
    assert clopper_pearson(0, 0, 0.95) == (None, None)
    low, high = clopper_pearson(0, 10, 0.95)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 10))  # 0.3084971
    assert posterior_exceedance(0, 0, 0.3, 1, 1) == pytest.approx(0.7)


def test_the_stopping_rule_is_configuration():
    strict = Config(stopping_rule=StoppingRule(dlt_rate_threshold=0.1, posterior_probability=0.5))
    review = dlt_review(cohort(1, 5), strict)
    # Beta(2, 6): P(p > 0.1) = P(Binomial(7, 0.1) <= 1) = 0.9^7 + 7*0.1*0.9^6
    assert review.posterior_probability == pytest.approx(0.8503056, abs=1e-7)
    assert review.stopping_rule_met is True


# --- the rules are data ----------------------------------------------------------------------


def test_a_site_adds_a_grade_3_hypotension_rule_without_code_change():
    aes = (ae("Hypotension", 3, 2, 3),)  # 2 days: no default rule
    assert rules_met(*aes) == [None]
    default = Config().dlt
    site = config_from_mapping(
        {
            "dlt": {
                "rules": [
                    *[r.model_dump() for r in default.rules],
                    {"name": "hypotension_grade3", "terms": ["Hypotension"], "min_grade": 3},
                ]
            }
        }
    )
    assert rules_met(*aes, config=site) == ["hypotension_grade3"]
    review, row = review_one(*aes, config=site)
    assert row["status"] == "dlt"


def test_a_longer_dlt_window_is_configuration():
    longer = Config(dlt=DLTConfig(window_days=42, evaluable_through_day=42))
    assert rules_met(ae("Hypotension", 4, 35, 36), config=longer) == ["nonhaem_grade4"]
    _, row = review_one(last_day=30, config=longer, as_of=day(30))
    assert row["reason"] == "day 30 of 42"


def test_a_rule_by_soc_matches_the_soc():
    cardiac = Config(dlt=DLTConfig(rules=(DLTRule(name="cardiac", socs=("Cardiac disorders",), min_grade=2),)))
    assert rules_met(ae("Atrial fibrillation", 2, 4, 5, soc="CARDIAC disorders"), config=cardiac) == ["cardiac"]
    assert rules_met(ae("Atrial fibrillation", 2, 4, 5), config=cardiac) == [None]


# --- warnings for the safety physician -------------------------------------------------------


def test_a_toxicity_death_in_the_window_without_a_grade_5_ae_is_flagged():
    death = ({"event": "death", "date": day(12), "result": "toxicity"},)
    review, row = review_one(ae("Cytokine release syndrome", 2, 3, 5), last_day=None, extra=death)
    assert row["status"] == "not_evaluable"
    assert row["reason"] == "died on day 12 (toxicity) without a DLT"
    assert review.warnings == (
        "S1: death of toxicity on day 12 (in the DLT window) with no grade 5 AE recorded; check the AE records",
    )


def test_a_grade_5_ae_without_a_death_record_is_flagged():
    review, _ = review_one(ae("Sepsis", 5, 10, 10), last_day=None)
    assert review.warnings == ("S1: grade 5 AE 'Sepsis' (line 3) with no death record",)


def test_an_unresolved_cytopenia_at_death_is_flagged_as_not_assessable():
    death = ({"event": "death", "date": day(15), "result": "disease"},)
    review, row = review_one(ae("Neutropenia", 4, 5, None), last_day=None, extra=death)
    assert row["status"] == "not_evaluable"
    assert review.warnings == (
        "S1: grade 4 'Neutropenia' (line 3, onset day 5) ongoing after 11 days when follow-up ended "
        "(death or withdrawal): cytopenia_grade4_unresolved_day28 cannot be assessed",
    )


# --- robustness ------------------------------------------------------------------------------


def test_untreated_subjects_are_not_reviewed():
    rows = subject("S1") + [{"subject_id": "X9", "event": "ae", "date": day(3), "grade": 4, "term": "Hypotension"}]
    review = dlt_review(events_frame(rows), Config())
    assert review.subjects["subject_id"].to_list() == ["S1"]


def test_input_row_order_does_not_change_the_review():
    frame = cohort(2, 3, subject("W", last_day=None, extra=({"event": "withdrawal", "date": day(9)},)))
    forward = dlt_review(frame, Config())
    backward = dlt_review(frame.reverse(), Config())
    assert forward.subjects.equals(backward.subjects)
    assert forward.to_json_dict() == backward.to_json_dict()


def test_json_object_follows_the_contract():
    review = dlt_review(cohort(1, 1), Config())
    data = review.to_json_dict()
    assert {"subjects", "evaluable", "dlt", "rate", "ci_low", "ci_high", "stopping_rule_met"} <= set(data)
    first = data["subjects"][0]
    assert first == {
        "subject_id": "D0",
        "status": "dlt",
        "dlt_terms": ["Hypotension"],
        "window_end": "2024-01-29",
        "infusion_date": "2024-01-01",
        "reason": "DLT: Hypotension",
        "window_day": None,
        "dlt_rules": ["nonhaem_grade4"],
        "dlt_events": [
            {"line": 3, "term": "Hypotension", "grade": 4, "study_day": 3, "end_date": "2024-01-05",
             "rules": ["nonhaem_grade4"]}
        ],
    }  # fmt: skip
    assert data["subjects"][1]["status"] == "no_dlt"


def test_a_configuration_without_rules_has_no_dlts():
    none = Config(dlt=DLTConfig(rules=()))
    assert rules_met(ae("Cytokine release syndrome", 5, 1, 1), config=none) == [None]
    _, row = review_one(ae("Cytokine release syndrome", 5, 1, 1), config=none)
    assert (row["status"], row["dlt_rules"]) == ("no_dlt", [])


def test_a_rule_without_terms_or_socs_matches_any_ae():
    any_grade_3 = Config(dlt=DLTConfig(rules=(DLTRule(name="any_grade3", min_grade=3),)))
    assert rules_met(ae("Pyrexia", 3, 1, 2), ae("Nausea", 2, 1, 2), config=any_grade_3) == ["any_grade3", None]


def test_json_rows_are_the_frames_rows_whatever_the_nesting():
    """The JSON object's rows (built column by column, for speed) are polars' own ``to_dicts``:
    null and empty lists, null items, structs in lists (null ones too) with null fields and lists
    inside."""
    from cart19.engine.dlt import _records

    event = pl.Struct({"line": pl.Int64, "end_date": pl.String, "rules": pl.List(pl.String)})
    frame = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "terms": [["x", None], [], None, ["é", "y", "z"]],
            "events": [[{"line": 1, "end_date": None, "rules": []}, None], None, [],
                       [{"line": 2, "end_date": "2024-01-01", "rules": ["r1", "r2"]},
                        {"line": 3, "end_date": None, "rules": None}]],
            "day": [None, 1, 2, 3],
        },
        schema={"id": pl.String, "terms": pl.List(pl.String), "events": pl.List(event), "day": pl.Int64},
    )  # fmt: skip
    assert _records(frame) == frame.to_dicts()
    assert _records(frame.clear()) == []
