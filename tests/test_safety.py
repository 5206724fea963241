"""The CAR-T safety profile (safety-profile.md), on hand-worked patient timelines.

Every expected figure is worked out by hand in the test; infusion is 2024-01-01 (day 0) for
every subject unless said otherwise, and ``day(n)`` is study day n.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from cart19.config import Config, config_from_mapping
from cart19.engine.dlt import dlt_review
from cart19.engine.safety import safety_profile
from cart19.schema import events_frame
from conftest import run_cli

BASE = dt.date(2024, 1, 1)
CONFIG = Config()
CRS = "Cytokine release syndrome"


def day(n: int) -> dt.date:
    return BASE + dt.timedelta(days=n)


def infused(sid: str, *, last_contact: int | None = 60) -> list[dict]:
    rows = [
        {"subject_id": sid, "event": "enrolled", "date": day(-20)},
        {"subject_id": sid, "event": "lymphodepletion", "date": day(-5)},
        {"subject_id": sid, "event": "infusion", "date": day(0)},
    ]
    if last_contact is not None:
        rows.append({"subject_id": sid, "event": "contact", "date": day(last_contact)})
    return rows


def ae(sid: str, onset: int, end: int | None, grade: int, term: str = CRS, **cells) -> dict:
    return {"subject_id": sid, "event": "ae", "date": day(onset), "end_date": None if end is None else day(end),
            "grade": grade, "term": term, **cells}  # fmt: skip


def figures(summary: pl.DataFrame, table: str, item: str) -> dict[str, float | None]:
    rows = summary.filter((pl.col("table") == table) & (pl.col("item") == item))
    return dict(rows.select("statistic", "value").iter_rows())


def listing_of(profile, group: str) -> dict[str, tuple]:
    rows = profile.listing.filter(pl.col("group") == group)
    return {r[0]: r[2:] for r in rows.iter_rows()}


# --------------------------------------------------------------------------- episodes


def test_first_episode_of_crs_by_the_touching_gap_overlap_and_ongoing_rules():
    rows = [
        # A: grade rows that touch (grade 2 starts the day grade 1 ends): one episode, days 1-5
        *infused("A"), ae("A", 1, 3, 1), ae("A", 3, 5, 2),
        # B: a one-day gap (the next row starts the day after the end): one episode, days 1-6
        *infused("B"), ae("B", 1, 3, 1), ae("B", 4, 6, 3),
        # C: a two-day gap (nothing on day 4, the next row starts on day 5): the first episode is
        # days 1-3 only; the maximum grade is still the later row's 3
        *infused("C"), ae("C", 1, 3, 2), ae("C", 5, 8, 3),
        # D: overlap (grade 3 inside a grade 1 row), then a row the day after the latest end so
        # far (day 10, not the previous row's day 4): one episode, days 1-12
        *infused("D"), ae("D", 1, 10, 1), ae("D", 2, 4, 3), ae("D", 11, 12, 2),
        # E: the episode's last row is ongoing: no duration, counted as ongoing
        *infused("E"), ae("E", 2, 4, 2), ae("E", 5, None, 3),
        # F: no CRS
        *infused("F"),
    ]  # fmt: skip
    profile = safety_profile(events_frame(rows), CONFIG)
    crs = figures(profile.summary, "syndrome", "CRS")
    assert crs == {
        "n_any": 5, "n_grade_ge3": 4, "n_grade_1": 0, "n_grade_2": 1, "n_grade_3": 4, "n_grade_4": 0, "n_grade_5": 0,
        "onset_median": 1, "onset_min": 1, "onset_max": 2,
        # durations 5, 6, 3, 12 (E ongoing): median (5 + 6) / 2
        "duration_median": 5.5, "duration_min": 3, "duration_max": 12,
        "n_ongoing": 1,
    }  # fmt: skip
    n = profile.summary.filter(pl.col("table") == "syndrome").select("statistic", "N")
    assert dict(n.iter_rows())["n_any"] == 6 and dict(n.iter_rows())["onset_median"] is None
    # max_grade, onset_day, duration_days, ongoing, SRCSEQ (the line of the episode's first row)
    assert listing_of(profile, "CRS") == {
        "A": (2, 1, 5, "N", 6),
        "B": (3, 1, 6, "N", 12),
        "C": (3, 1, 3, "N", 18),
        "D": (3, 1, 12, "N", 24),
        "E": (3, 2, None, "Y", 31),
    }


def test_onset_on_the_day_of_infusion_is_day_0_and_an_ae_before_it_is_not_emergent():
    rows = [*infused("A"), ae("A", 0, 2, 2), *infused("B"), ae("B", -1, 3, 3), ae("B", 6, 6, 1)]
    profile = safety_profile(events_frame(rows), CONFIG)
    crs = figures(profile.summary, "syndrome", "CRS")
    # B's pre-infusion grade 3 is not a TEAE: B counts at grade 1, onset day 6, a 1-day episode
    assert (crs["n_any"], crs["n_grade_ge3"], crs["n_grade_1"], crs["n_grade_2"]) == (2, 0, 1, 1)
    assert (crs["onset_min"], crs["onset_max"], crs["duration_min"], crs["duration_max"]) == (0, 6, 1, 3)


def test_groups_by_soc_and_several_groups_for_one_row():
    rows = [
        *infused("A"),
        ae("A", 10, 20, 3, "Sepsis", soc="Infections and infestations"),
        ae("A", 40, 41, 2, "Pneumonia", soc="infections  and infestations"),
        ae("A", 3, 30, 4, "Neutropenia"),
    ]
    profile = safety_profile(events_frame(rows), CONFIG)
    assert listing_of(profile, "infection") == {"A": (3, 10, 11, "N", 6)}
    assert listing_of(profile, "cytopenia") == {"A": (4, 3, 28, "N", 8)}
    assert figures(profile.summary, "syndrome", "ICANS")["n_any"] == 0
    assert figures(profile.summary, "syndrome", "ICANS")["onset_median"] is None


# --------------------------------------------------------------------------- periods


def test_teaes_by_period_on_each_boundary():
    rows = [
        *infused("S1", last_contact=800), ae("S1", 28, 28, 1, "Nausea"), ae("S1", 29, 30, 3, "Nausea"),
        *infused("S2", last_contact=800),
        ae("S2", 90, 92, 3, "Sepsis", serious=True), ae("S2", 91, 91, 1, "Nausea"), ae("S2", 365, 365, 2, "Rash"),
        ae("S2", 366, 370, 4, "Sepsis"), ae("S2", 730, 730, 1, "Rash"),
        ae("S2", 731, 731, 5, "Sepsis"),  # day 731: after the TEAE window, in no period
        *infused("S3", last_contact=800),
    ]  # fmt: skip
    summary = safety_profile(events_frame(rows), CONFIG).summary
    assert figures(summary, "period", "0-28") == {"n_any": 1, "n_grade_ge3": 0, "n_serious": 0}
    assert figures(summary, "period", "29-90") == {"n_any": 2, "n_grade_ge3": 2, "n_serious": 1}
    assert figures(summary, "period", "91-365") == {"n_any": 1, "n_grade_ge3": 0, "n_serious": 0}
    assert figures(summary, "period", "366-730") == {"n_any": 1, "n_grade_ge3": 1, "n_serious": 0}
    assert set(summary.filter(pl.col("table") == "period").get_column("N")) == {3}


def test_periods_are_configuration():
    config = config_from_mapping({"safety": {"periods": [{"first_day": 0, "last_day": 7},
                                                          {"first_day": 8, "last_day": 730}]}})  # fmt: skip
    rows = [*infused("A"), ae("A", 7, 7, 1, "Nausea"), ae("A", 8, 9, 1, "Nausea")]
    summary = safety_profile(events_frame(rows), config).summary
    assert figures(summary, "period", "0-7")["n_any"] == 1
    assert figures(summary, "period", "8-730")["n_any"] == 1
    with pytest.raises(Exception, match="not overlap"):
        config_from_mapping({"safety": {"periods": [{"first_day": 0, "last_day": 10}, {"first_day": 10, "last_day": 20}]}})


# --------------------------------------------------------------------------- deaths and disposition


def death(sid: str, on: int, cause: str) -> dict:
    return {"subject_id": sid, "event": "death", "date": day(on), "result": cause}


def test_deaths_by_day_28_and_100_and_non_relapse_deaths():
    rows = [
        *infused("D28", last_contact=None), death("D28", 28, "toxicity"),  # by day 28; non-relapse
        *infused("D29", last_contact=None), {"subject_id": "D29", "event": "relapse", "date": day(20),
                                             "result": "hematologic"}, death("D29", 29, "other"),  # relapse first
        *infused("D50", last_contact=None), death("D50", 50, "other"),  # non-relapse
        *infused("D100", last_contact=None), death("D100", 100, "disease"),  # a disease death counts as relapse
        *infused("P100", last_contact=None), {"subject_id": "P100", "event": "assessment", "date": day(60),
                                              "result": "PD"}, death("P100", 100, "other"),  # PD first
        *infused("D101", last_contact=None), death("D101", 101, "unknown"),  # after day 100
        *infused("ALIVE"),
        # never infused: died before the infusion; not in the deaths table, in disposition
        {"subject_id": "N1", "event": "enrolled", "date": day(-20)},
        {"subject_id": "N1", "event": "lymphodepletion", "date": day(-5)},
        death("N1", -2, "disease"),
    ]  # fmt: skip
    profile = safety_profile(events_frame(rows), CONFIG)
    summary = profile.summary
    assert figures(summary, "deaths", "toxicity") == {"by_day_28": 1, "by_day_100": 1, "in_window": 1}
    assert figures(summary, "deaths", "other") == {"by_day_28": 0, "by_day_100": 3, "in_window": 3}
    assert figures(summary, "deaths", "disease") == {"by_day_28": 0, "by_day_100": 1, "in_window": 1}
    assert figures(summary, "deaths", "unknown") == {"by_day_28": 0, "by_day_100": 0, "in_window": 1}
    assert figures(summary, "deaths", "all") == {"by_day_28": 1, "by_day_100": 5, "in_window": 6}
    assert figures(summary, "deaths", "nrm") == {"by_day_100": 2}
    assert set(summary.filter(pl.col("table") == "deaths").get_column("N")) == {7}
    listing = {r[0]: r[2:5] for r in profile.deaths.iter_rows()}
    assert listing == {
        "D28": (28, "toxicity", "N"), "D29": (29, "other", "Y"), "D50": (50, "other", "N"),
        "D100": (100, "disease", "N"), "P100": (100, "other", "Y"), "D101": (101, "unknown", "N"),
    }  # fmt: skip
    assert profile.deaths.get_column("USUBJID").to_list() == ["D28", "D29", "D50", "D100", "P100", "D101"]
    assert profile.never_infused.rows() == [("N1", "death", day(-2), "disease", None, 34)]
    assert figures(summary, "disposition", "died") == {"n": 7}
    assert figures(summary, "disposition", "alive") == {"n": 1}


def test_disease_deaths_are_non_relapse_deaths_when_configured_so():
    config = config_from_mapping({"cuminc": {"disease_death_as_relapse": False}})
    rows = [*infused("A", last_contact=None), death("A", 100, "disease")]
    assert figures(safety_profile(events_frame(rows), config).summary, "deaths", "nrm") == {"by_day_100": 1}


def test_disposition_from_enrolled_to_efficacy_evaluable():
    rows = [
        # P1: followed past day 28, CR on day 28: DLT- and efficacy-evaluable
        *infused("P1"), {"subject_id": "P1", "event": "assessment", "date": day(28), "result": "CR"},
        # P2: grade 4 CRS (a DLT) and death on day 10: DLT-evaluable by its DLT, no assessment
        *infused("P2", last_contact=None), ae("P2", 2, 9, 4), death("P2", 10, "toxicity"),
        # P3: died of disease on day 15 without a DLT: not DLT-evaluable
        *infused("P3", last_contact=None), death("P3", 15, "disease"),
        # P4: only an NE assessment, withdrew on day 40: DLT-evaluable, not efficacy-evaluable
        *infused("P4", last_contact=None), {"subject_id": "P4", "event": "assessment", "date": day(20), "result": "NE"},
        {"subject_id": "P4", "event": "withdrawal", "date": day(40)},
        # P5: lymphodepleted, died before the infusion
        {"subject_id": "P5", "event": "enrolled", "date": day(-20)},
        {"subject_id": "P5", "event": "lymphodepletion", "date": day(-5)}, death("P5", -1, "disease"),
        # P6: enrolled, withdrew before lymphodepletion
        {"subject_id": "P6", "event": "enrolled", "date": day(-20)},
        {"subject_id": "P6", "event": "withdrawal", "date": day(-10)},
    ]  # fmt: skip
    events = events_frame(rows)
    profile = safety_profile(events, CONFIG)
    disposition = {item: figures(profile.summary, "disposition", item)["n"] for item in (
        "enrolled", "lymphodepleted", "infused", "dlt_evaluable", "efficacy_evaluable", "withdrawn", "died", "alive")}
    assert disposition == {"enrolled": 6, "lymphodepleted": 5, "infused": 4, "dlt_evaluable": 3,
                           "efficacy_evaluable": 1, "withdrawn": 2, "died": 3, "alive": 3}  # fmt: skip
    assert dlt_review(events, CONFIG).evaluable == 3  # the DLT review agrees
    assert profile.never_infused.select("USUBJID", "event", "date").rows() == [
        ("P5", "death", day(-1)), ("P6", "withdrawal", day(-10))]  # fmt: skip
    assert profile.summary.filter(pl.col("table") == "disposition").get_column("N").null_count() == 8


# --------------------------------------------------------------------------- one vocabulary


VARIANTS = ("Cytokine release syndrome", "cytokine  release syndrome ", "CYTOKINE RELEASE SYNDROME")


def test_term_variants_are_one_term_in_teae_dlt_and_safety(write_csv):
    rows = []
    for i, term in enumerate(VARIANTS):
        sid = f"S{i}"
        rows += [
            {"subject_id": sid, "event": "infusion", "date": "2024-01-01"},
            {"subject_id": sid, "event": "ae", "date": "2024-01-03", "end_date": "2024-01-05", "grade": 4,
             "term": term, "soc": "Immune system disorders"},
            {"subject_id": sid, "event": "contact", "date": "2024-03-01"},
        ]  # fmt: skip
    path = write_csv(rows)
    teae = run_cli("teae", path, "--format", "csv")
    assert teae.exit_code == 0
    cells = pl.read_csv(teae.stdout.encode()).filter((pl.col("table") == "soc_pt") & (pl.col("grade") == "any"))
    assert cells.select("term", "n").rows() == [("Cytokine release syndrome", 3)]
    # the reader trims cells; the warning lists the spellings, the label's first
    assert ("term 'Cytokine release syndrome': 3 spellings merged: 'Cytokine release syndrome' (1), "
            "'cytokine  release syndrome' (1), 'CYTOKINE RELEASE SYNDROME' (1)") in teae.stderr  # fmt: skip
    dlt = json.loads(run_cli("check-dlt", path, "--format", "json").stdout)
    assert [s["dlt_terms"] for s in dlt["subjects"]] == [["Cytokine release syndrome"]] * 3
    assert dlt["dlt"] == 3
    safety = run_cli("safety", path, "--format", "csv")
    assert safety.exit_code == 0 and "3 spellings merged" in safety.stderr
    crs = pl.read_csv(safety.stdout.encode()).filter((pl.col("item") == "CRS") & (pl.col("statistic") == "n_any"))
    assert crs.get_column("value").to_list() == [3.0]


def test_the_label_is_the_most_frequent_spelling_and_ties_go_to_the_first_in_the_file():
    from cart19.engine.terms import merged_spellings, vocabulary

    frame = pl.DataFrame({"line": [2, 3, 4, 5, 6], "term": ["ICANS", "icans", "icans ", "Pyrexia", "PYREXIA"]})
    labels = dict(vocabulary(frame, "term").select("term", "label").iter_rows())
    # "icans" twice (tidy spellings), "ICANS" once; "Pyrexia" and "PYREXIA" once each: line 5 first
    assert labels == {"ICANS": "icans", "icans": "icans", "icans ": "icans", "Pyrexia": "Pyrexia", "PYREXIA": "Pyrexia"}
    assert merged_spellings(frame.with_columns(pl.lit("ae").alias("event")), ("term",)) == [
        "term 'Pyrexia': 2 spellings merged: 'Pyrexia' (1), 'PYREXIA' (1)",
        "term 'icans': 3 spellings merged: 'ICANS' (1), 'icans' (1), 'icans ' (1)",
    ]


def test_hyphens_and_unicode_forms_are_one_term():
    from cart19.engine.terms import term_key

    assert term_key("Acute graft-versus-host  disease ") == term_key("acute graft versus host disease")
    assert term_key("Caf\u00e9 syndrome") == term_key("Cafe\u0301 syndrome")  # NFC
    rows = [*infused("A"), ae("A", 14, 20, 3, "Acute Graft-versus-host disease")]
    profile = safety_profile(events_frame(rows), CONFIG)
    assert figures(profile.summary, "syndrome", "aGVHD")["n_grade_3"] == 1


# --------------------------------------------------------------------------- the command


def test_safety_command_writes_the_contracted_long_table_and_the_listing(write_csv):
    rows = [*infused("A"), ae("A", 1, 3, 2), death("A", 200, "disease")]
    path = write_csv([{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in rows])
    result = run_cli("safety", path)
    assert result.exit_code == 0
    table = pl.read_csv(result.stdout.encode())
    assert table.columns == ["table", "item", "statistic", "value", "N"]
    assert table.select("table").unique(maintain_order=True).to_series().to_list() == [
        "syndrome", "period", "deaths", "disposition"]  # fmt: skip
    listing = run_cli("safety", path, "--listing", "--format", "csv")
    assert listing.stdout.splitlines() == [
        "USUBJID,group,max_grade,onset_day,duration_days,ongoing,SRCSEQ", "A,CRS,2,1,3,N,6"]  # fmt: skip
    json_lines = run_cli("safety", path, "--format", "json").stdout.splitlines()
    assert json.loads(json_lines[0]) == {"table": "syndrome", "item": "CRS", "statistic": "n_any", "value": 1.0, "N": 1}


def test_safety_command_shows_rich_tables_on_a_terminal(write_csv):
    rows = [*infused("A"), ae("A", 1, 3, 2)]
    path = write_csv([{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in rows])
    result = run_cli("safety", path, env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "160"})
    assert result.exit_code == 0
    for title in ("Syndromes of special interest", "TEAEs by period", "Deaths among infused", "Disposition",
                  "Subjects never infused"):  # fmt: skip
        assert title in result.stdout
    assert "1 (100.0%)" in result.stdout


def test_summary_by_a_subject_level_group():
    from cart19.engine.safety import subject_status, summary, syndrome_subjects, period_subjects, teae_records

    rows = [*infused("A"), ae("A", 1, 3, 3), *infused("B"), ae("B", 2, 2, 1), *infused("C")]
    events = events_frame(rows)
    teae = teae_records(events, CONFIG)
    groups = pl.DataFrame({"subject_id": ["A", "B"], "group": ["high", "low"]})
    table = summary(subject_status(events, CONFIG), syndrome_subjects(teae, CONFIG), period_subjects(teae, CONFIG),
                    CONFIG, groups=groups)  # fmt: skip
    assert table.columns == ["group", "table", "item", "statistic", "value", "N"]
    crs = table.filter((pl.col("item") == "CRS") & pl.col("statistic").is_in(["n_any", "n_grade_ge3"]))
    assert crs.select("group", "statistic", "value", "N").rows() == [
        ("(missing)", "n_any", 0.0, 1), ("(missing)", "n_grade_ge3", 0.0, 1),
        ("high", "n_any", 1.0, 1), ("high", "n_grade_ge3", 1.0, 1),
        ("low", "n_any", 1.0, 1), ("low", "n_grade_ge3", 0.0, 1),
    ]  # fmt: skip
