"""RFS and the relapse-incidence (CIR/NRM) dataset on hand-worked timelines (efficacy.md), and
their properties over random trials.

Each timeline starts with the infusion on 2024-01-01 (line 2); a record's line is its position
+ 2. Day 90 is 2024-03-31 (2024 is a leap year), day 730 (the window end) 2025-12-31.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from test_tte_properties import trial
from tte_helpers import INFUSION, check, derive, timeline

from cart19.config import Config
from cart19.engine.cuminc import cif_at, cif_curve
from cart19.engine.km import km_at, km_curve
from cart19.engine.relapse import CIR_COLUMNS, cir_dataset
from cart19.engine.tte import derive_adtte
from cart19.schema import events_frame

D = dt.date.fromisoformat


def cir(rows: list[dict], **cuminc) -> dict | None:
    """The CIR row of subject S1 (None when S1 is not in the population)."""
    config = Config.model_validate({"cuminc": cuminc}) if cuminc else Config()
    out = cir_dataset(events_frame(rows), config)
    assert tuple(out.columns) == CIR_COLUMNS
    rows_ = out.filter(pl.col("USUBJID") == "S1").to_dicts()
    return rows_[0] if rows_ else None


def expect(row: dict | None, **expected) -> None:
    assert row is not None
    got = {k: row[k] for k in expected}
    want = {k: D(v) if k in ("STARTDT", "ADT") else v for k, v in expected.items()}
    assert got == want


# --------------------------------------------------------------------------- stories

PD_AFTER_CR = timeline(
    INFUSION,
    ("assessment", "2024-01-29", "CR"),  # 3
    ("assessment", "2024-04-01", "PD"),  # 4
    ("contact", "2024-06-01"),  # 5
)


def test_pd_after_complete_remission_is_a_relapse_for_rfs_and_cir():
    check(derive(PD_AFTER_CR)["RFS"], STARTDT="2024-01-29", ADT="2024-04-01", AVAL=64, CNSR=0,
          SRCDOM="assessment", SRCSEQ=4, EVNTDESC="Progressive disease at assessment")  # fmt: skip
    expect(cir(PD_AFTER_CR), PARAMCD="CIR", STARTDT="2024-01-29", ADT="2024-04-01", AVAL=64, CNSR=0, EVENT=1,
           SRCDOM="assessment", SRCSEQ=4)  # fmt: skip


DISEASE_DEATH = timeline(
    INFUSION,
    ("assessment", "2024-01-29", "CR"),  # 3
    ("assessment", "2024-03-01", "CR"),  # 4
    ("death", "2024-06-01", "disease"),  # 5
)


def test_death_of_disease_without_a_recorded_relapse_is_a_relapse_unless_configured_otherwise():
    expect(cir(DISEASE_DEATH), ADT="2024-06-01", AVAL=125, CNSR=0, EVENT=1, SRCDOM="death", SRCSEQ=5,
           EVNTDESC="Death (disease)")  # fmt: skip
    expect(cir(DISEASE_DEATH, disease_death_as_relapse=False), ADT="2024-06-01", AVAL=125, CNSR=0, EVENT=2)
    check(derive(DISEASE_DEATH)["RFS"], ADT="2024-06-01", AVAL=125, CNSR=0, SRCDOM="death")


def test_death_of_another_cause_in_remission_is_nrm_and_an_rfs_event():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-03-01", "toxicity"))
    expect(cir(rows), ADT="2024-03-01", AVAL=33, EVENT=2, EVNTDESC="Death (toxicity)", SRCSEQ=4)
    check(derive(rows)["RFS"], ADT="2024-03-01", AVAL=33, CNSR=0, EVNTDESC="Death (toxicity)")
    assert "DOR" in derive(rows) and derive(rows)["DOR"]["CNSR"] == 1  # (DOR censors it)


def test_a_relapse_and_a_death_on_one_day_is_a_relapse():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("death", "2024-03-01", "other"),
                    ("relapse", "2024-03-01", "hematologic"))  # fmt: skip
    expect(cir(rows), ADT="2024-03-01", EVENT=1, SRCDOM="relapse", SRCSEQ=5)


NEW_THERAPY_FIRST = timeline(
    INFUSION,
    ("assessment", "2024-01-29", "CR"),  # 3
    ("assessment", "2024-03-01", "CR"),  # 4
    ("new_therapy", "2024-04-15"),  # 5
    ("relapse", "2024-05-01", "hematologic"),  # 6
    ("contact", "2024-07-01"),  # 7
)


def test_new_therapy_before_relapse_censors_at_its_start():
    expect(cir(NEW_THERAPY_FIRST), ADT="2024-04-15", AVAL=78, CNSR=1, EVENT=0, SRCDOM="new_therapy", SRCSEQ=5,
           EVNTDESC="Start of new therapy")  # fmt: skip
    # RFS censors as DOR: at the last adequate assessment on or before the new therapy
    check(derive(NEW_THERAPY_FIRST)["RFS"], ADT="2024-03-01", AVAL=33, CNSR=1, SRCSEQ=4)
    # not censoring at new therapy: the relapse counts
    expect(cir(NEW_THERAPY_FIRST, censor_at_new_therapy=False), ADT="2024-05-01", AVAL=94, EVENT=1, SRCSEQ=6)


HSCT_IN_REMISSION = timeline(
    INFUSION,
    ("assessment", "2024-01-29", "CR"),  # 3
    ("hsct", "2024-03-01"),  # 4
    ("assessment", "2024-04-01", "CR"),  # 5
    ("relapse", "2024-06-01", "hematologic"),  # 6
    ("contact", "2024-08-01"),  # 7
)


def test_hsct_in_remission_is_ignored_censors_or_competes_as_configured():
    expect(cir(HSCT_IN_REMISSION), ADT="2024-06-01", AVAL=125, EVENT=1, SRCSEQ=6)  # ignore (default)
    expect(cir(HSCT_IN_REMISSION, hsct="censor"), ADT="2024-03-01", AVAL=33, CNSR=1, EVENT=0, SRCDOM="hsct",
           SRCSEQ=4, EVNTDESC="HSCT")  # fmt: skip
    expect(cir(HSCT_IN_REMISSION, hsct="competing"), ADT="2024-03-01", AVAL=33, CNSR=0, EVENT=2, SRCDOM="hsct",
           SRCSEQ=4)  # fmt: skip
    check(derive(HSCT_IN_REMISSION)["RFS"], ADT="2024-06-01", AVAL=125, CNSR=0)
    censoring = Config.model_validate({"rfs": {"censor_at_hsct": True}})
    check(derive(HSCT_IN_REMISSION, censoring)["RFS"], ADT="2024-01-29", AVAL=1, CNSR=1, SRCSEQ=3)


def _remission_on(date: str) -> list[dict]:
    return timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", date, "CR"), ("contact", "2024-05-01"))


def test_remission_on_day_90_and_day_91_against_the_window():
    day90, day91 = _remission_on("2024-03-31"), _remission_on("2024-04-01")
    # the default window is 730 days: both remissions count (not only the 90-day response window)
    expect(cir(day90), STARTDT="2024-03-31", ADT="2024-05-01", AVAL=32, EVENT=0, SRCDOM="contact", SRCSEQ=5,
           EVNTDESC="Last known alive")  # fmt: skip
    expect(cir(day91), STARTDT="2024-04-01", ADT="2024-05-01", AVAL=31, EVENT=0)
    check(derive(day90)["RFS"], STARTDT="2024-03-31", ADT="2024-03-31", AVAL=1, CNSR=1)
    check(derive(day91)["RFS"], STARTDT="2024-04-01", AVAL=1, CNSR=1)
    # a 90-day window: day 90 is in it (censored at the window end: the contact is after it), day 91 is not
    expect(cir(day90, window_days=90), STARTDT="2024-03-31", ADT="2024-03-31", AVAL=1, EVENT=0, SRCDOM="infusion",
           SRCSEQ=2, EVNTDESC="End of the 90-day follow-up window")  # fmt: skip
    assert cir(day91, window_days=90) is None
    short = Config.model_validate({"rfs": {"window_days": 90}})
    assert "RFS" in derive(day90, short) and "RFS" not in derive(day91, short)


def test_a_relapse_after_the_window_end_is_censored_at_the_window_end():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), ("relapse", "2026-03-01", "hematologic"),
                    ("contact", "2026-06-01"))  # fmt: skip
    expect(cir(rows), ADT="2025-12-31", AVAL=703, CNSR=1, EVENT=0, SRCDOM="infusion", SRCSEQ=2)


def test_partial_response_or_mlfs_alone_is_not_in_the_remission_population():
    rows = timeline(INFUSION, ("assessment", "2024-01-29", "PR"), ("assessment", "2024-03-01", "MLFS"))
    assert cir(rows) is None
    assert "RFS" not in derive(rows)


def test_from_the_infusion_every_infused_subject_is_followed():
    refractory = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("assessment", "2024-03-01", "PD"),
                          ("death", "2024-04-01", "toxicity"))  # fmt: skip
    # PD after the start (the infusion) is a relapse in this population; the death comes later
    expect(cir(refractory, origin="infusion"), STARTDT="2024-01-01", ADT="2024-03-01", AVAL=61, EVENT=1, SRCSEQ=4)
    no_response = timeline(INFUSION, ("assessment", "2024-01-29", "NR"), ("death", "2024-04-01", "toxicity"))
    expect(cir(no_response, origin="infusion"), STARTDT="2024-01-01", ADT="2024-04-01", AVAL=92, EVENT=2, SRCSEQ=4)
    assert cir(no_response) is None


def test_the_dataset_is_readable_by_km():
    from conftest import run_cli

    second = timeline(INFUSION, ("assessment", "2024-01-29", "CR"), subject="S2")
    frame = cir_dataset(events_frame(PD_AFTER_CR + second))
    result = run_cli("km", "-", input=frame.write_csv())
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("CIR,2,1,1,")


# --------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(trial())
def test_one_row_per_subject_in_remission_and_row_order_changes_nothing(data):
    events, shuffled = data
    out = cir_dataset(events)
    assert_frame_equal(out, cir_dataset(shuffled))
    assert out.get_column("USUBJID").is_unique().all()
    assert ((out["CNSR"] == 1) == (out["EVENT"] == 0)).all()
    assert (out["AVAL"] >= 1).all()
    # the remission population is RFS's, with the same start
    rfs = derive_adtte(events).filter(pl.col("PARAMCD") == "RFS")
    assert out["USUBJID"].to_list() == rfs["USUBJID"].to_list()
    assert out["STARTDT"].to_list() == rfs["STARTDT"].to_list()
    every = cir_dataset(events, Config.model_validate({"cuminc": {"origin": "infusion"}}))
    treated = events.filter(pl.col("event") == "infusion")["subject_id"].unique().sort()
    assert every["USUBJID"].to_list() == treated.to_list()


@settings(max_examples=25, deadline=None)
@given(trial())
def test_the_two_incidences_and_the_event_free_probability_add_up_to_one(data):
    out = cir_dataset(data[0], Config.model_validate({"cuminc": {"origin": "infusion"}}))
    if out.height == 0:
        return
    time, status = out["AVAL"].to_numpy().astype(float), out["EVENT"].to_numpy()
    times = np.unique(np.concatenate([time, time - 0.5]))
    relapse, _ = cif_at(cif_curve(time, status, 1), times)
    nrm, _ = cif_at(cif_curve(time, status, 2), times)
    free, _, _ = km_at(km_curve(time, (status != 0).astype(float)), times)
    assert np.allclose(relapse + nrm + free, 1.0, atol=1e-12)


def test_the_example_trial_matches_its_readme_table():
    from pathlib import Path

    from cart19.io.read import read_events

    examples = Path(__file__).resolve().parents[1] / "examples"
    text = (examples / "README.md").read_text(encoding="utf-8")
    section = text.split("## Expected relapse incidence dataset", 1)[1].split("\n## ", 1)[0]
    expected = [
        tuple(c.strip() for c in line.strip().strip("|").split("|"))[:5]
        for line in section.splitlines()
        if line.startswith("| CART19-")
    ]
    out = cir_dataset(read_events(examples / "events.csv").events)
    got = [(r[0], str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in out.select(
        "USUBJID", "STARTDT", "ADT", "AVAL", "EVENT").rows()]  # fmt: skip
    assert len(expected) == 7
    assert got == expected
