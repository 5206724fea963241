"""Properties of ``derive_adtte`` over random valid timelines (hypothesis).

The generator builds, per subject, a plausible timeline: enrolment and lymphodepletion before an
(optional) infusion, assessments with any result, optional relapse, new therapy, HSCT, end of
treatment, contacts and AEs (with end dates), and an optional death (possibly partially dated,
i.e. imputed) on or after every other record, as the format requires. Every record has a fixed
``line``, so shuffling the rows must not change the output.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cart19.config import Config
from cart19.engine.tte import derive_adtte
from cart19.schema import events_frame

BASE = dt.date(2024, 1, 1)
RESULTS = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE")
DOR_RESPONSE = ("CR", "CRh", "CRi", "PR")
CONFIG = Config()


@st.composite
def subject_timeline(draw, subject: str) -> list[dict]:
    infusion = BASE + dt.timedelta(days=draw(st.integers(0, 60)))
    day = lambda lo, hi: infusion + dt.timedelta(days=draw(st.integers(lo, hi)))  # noqa: E731
    rows = [{"subject_id": subject, "event": "enrolled", "date": infusion - dt.timedelta(days=20)}]
    treated = draw(st.booleans()) or draw(st.booleans())
    if treated:
        rows.append({"subject_id": subject, "event": "lymphodepletion", "date": infusion - dt.timedelta(days=5)})
        rows.append({"subject_id": subject, "event": "infusion", "date": infusion})
    for _ in range(draw(st.integers(0, 6))):
        rows.append({"subject_id": subject, "event": "assessment", "date": day(0, 420), "result": draw(st.sampled_from(RESULTS))})
    for kind in ("relapse", "new_therapy", "hsct", "end_of_treatment", "contact", "contact"):
        if draw(st.booleans()):
            row = {"subject_id": subject, "event": kind, "date": day(1, 800)}
            if kind == "relapse":
                row["result"] = draw(st.sampled_from(("hematologic", "extramedullary")))
            rows.append(row)
    for _ in range(draw(st.integers(0, 2))):
        onset = day(-3, 760)
        end = onset + dt.timedelta(days=draw(st.integers(0, 40))) if draw(st.booleans()) else None
        rows.append({"subject_id": subject, "event": "ae", "date": onset, "end_date": end, "grade": 2, "term": "Pyrexia",
                     "date_imputed": draw(st.booleans())})
    if draw(st.booleans()):
        last = max(max(r["date"], r.get("end_date") or r["date"]) for r in rows)
        death = last + dt.timedelta(days=draw(st.integers(0, 200)))
        for r in rows:  # an AE may end on the death date, not after it
            if r.get("end_date") and r["end_date"] > death:
                r["end_date"] = death
        rows.append({"subject_id": subject, "event": "death", "date": death,
                     "result": draw(st.sampled_from(("disease", "toxicity", "other", "unknown"))),
                     "date_imputed": draw(st.booleans())})
    return rows


@st.composite
def trial(draw) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(events in generation order, the same records shuffled); lines fixed per record."""
    n = draw(st.integers(1, 6))
    rows = [r for i in range(n) for r in draw(subject_timeline(f"P{i:02d}"))]
    for line, row in enumerate(rows, start=2):
        row["line"] = line
    shuffled = draw(st.permutations(rows))
    return events_frame(rows), events_frame(shuffled)


def _anchors(events: pl.DataFrame) -> pl.DataFrame:
    return events.filter(pl.col("event") == "infusion").select(
        pl.col("subject_id").alias("USUBJID"), pl.col("date").alias("infusion")
    )


@settings(max_examples=40, deadline=None)
@given(trial())
def test_shuffling_the_input_rows_gives_an_identical_dataset(data):
    events, shuffled = data
    assert_frame_equal(derive_adtte(events, CONFIG), derive_adtte(shuffled, CONFIG))


@settings(max_examples=40, deadline=None)
@given(trial())
def test_every_time_is_at_least_one_day_and_never_before_its_start(data):
    out = derive_adtte(data[0], CONFIG)
    assert (out.get_column("AVAL") >= 1).all()
    assert (out.get_column("ADT") >= out.get_column("STARTDT")).all()
    days = (out.get_column("ADT") - out.get_column("STARTDT")).dt.total_days() + 1
    assert (days == out.get_column("AVAL")).all()
    assert out.get_column("CNSR").is_in([0, 1]).all()
    events = out.filter(pl.col("CNSR") == 0)
    censored = out.filter(pl.col("CNSR") == 1)
    assert events.get_column("EVNTDESC").is_not_null().all() and events.get_column("CNSDTDSC").is_null().all()
    assert censored.get_column("CNSDTDSC").is_not_null().all() and censored.get_column("EVNTDESC").is_null().all()
    assert out.get_column("SRCDOM").is_not_null().all() and out.get_column("SRCSEQ").is_not_null().all()


@settings(max_examples=40, deadline=None)
@given(trial())
def test_no_date_falls_after_its_window_end(data):
    events = data[0]
    out = derive_adtte(events, CONFIG).join(_anchors(events), on="USUBJID")
    window = (
        pl.when(pl.col("PARAMCD") == "OS").then(CONFIG.os.window_days)
        .when(pl.col("PARAMCD") == "DOR").then(CONFIG.dor.window_days)
        .when(pl.col("PARAMCD") == "RFS").then(CONFIG.rfs.window_days)
        .otherwise(CONFIG.efs.window_days)
    )
    late = out.filter(pl.col("ADT") > pl.col("infusion") + pl.duration(days=window))
    assert late.height == 0, late


@settings(max_examples=40, deadline=None)
@given(trial())
def test_every_efs_parameter_and_dor_end_on_or_before_os(data):
    """Holds for all four EFS parameters (EFS, EFSS1, EFSS2, EFSS3), DOR and RFS under the default
    configuration: each of their dates is the start date or the date of a record inside a window
    of 365 days (RFS: 730 days, as OS's), while OS ends at a death (after every record), at the
    last record, or at a 730-day window end; all start at the infusion (DOR and RFS later)."""
    out = derive_adtte(data[0], CONFIG)
    os_end = out.filter(pl.col("PARAMCD") == "OS").select("USUBJID", pl.col("ADT").alias("os_adt"))
    others = out.filter(pl.col("PARAMCD") != "OS").join(os_end, on="USUBJID", how="left")
    assert others.get_column("os_adt").is_not_null().all()
    assert (others.get_column("ADT") <= others.get_column("os_adt")).all()


@settings(max_examples=40, deadline=None)
@given(trial())
def test_one_row_per_treated_subject_and_dor_only_for_dor_responders(data):
    events = data[0]
    out = derive_adtte(events, CONFIG)
    treated = set(_anchors(events).get_column("USUBJID"))
    for paramcd in ("OS", "EFS", "EFSS1", "EFSS2", "EFSS3"):
        subjects = out.filter(pl.col("PARAMCD") == paramcd).get_column("USUBJID").to_list()
        assert sorted(subjects) == sorted(treated)
    responders = (
        events.join(_anchors(events).rename({"USUBJID": "subject_id"}), on="subject_id")
        .filter(
            (pl.col("event") == "assessment")
            & pl.col("result").is_in(DOR_RESPONSE)
            & (pl.col("date") > pl.col("infusion"))
            & (pl.col("date") <= pl.col("infusion") + pl.duration(days=CONFIG.dor.window_days))
        )
        .get_column("subject_id")
    )
    dor = out.filter(pl.col("PARAMCD") == "DOR")
    assert set(dor.get_column("USUBJID")) <= set(responders)
    # the first response is the start of DOR
    assert dor.height == dor.get_column("USUBJID").n_unique()
    therapy = set(events.filter(pl.col("event").is_in(["new_therapy", "hsct"])).get_column("subject_id"))
    # without any next therapy, every responder (after the infusion, in the window) has a DOR row
    assert set(responders) - therapy <= set(dor.get_column("USUBJID"))
    # RFS: one row per subject with a remission (CR/CRh/CRi) after the infusion, in its window
    remitters = (
        events.join(_anchors(events).rename({"USUBJID": "subject_id"}), on="subject_id")
        .filter(
            (pl.col("event") == "assessment")
            & pl.col("result").is_in(["CR", "CRh", "CRi"])
            & (pl.col("date") > pl.col("infusion"))
            & (pl.col("date") <= pl.col("infusion") + pl.duration(days=CONFIG.rfs.window_days))
        )
        .get_column("subject_id")
    )
    rfs = out.filter(pl.col("PARAMCD") == "RFS")
    assert rfs.height == rfs.get_column("USUBJID").n_unique()
    assert set(rfs.get_column("USUBJID")) <= set(remitters)
    assert set(remitters) - therapy <= set(rfs.get_column("USUBJID"))


def test_a_file_sorted_by_subject_and_the_same_records_shuffled_give_the_same_adtte(tmp_path):
    """``tte._study`` reads every record run by run (records in a row with the same subject):
    a file sorted by subject has one run per subject, the same records shuffled have many runs
    per subject (each subject's last-known-alive record is then the least of its runs'). On
    the same records both must give the same dataset."""
    from cart19.engine.simulate import simulate_events
    from cart19.io.read import read_events

    raw = simulate_events(2500, 7)
    raw.write_csv(tmp_path / "events.csv")
    events = read_events(tmp_path / "events.csv").events
    assert events["subject_id"].is_sorted()
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=11)
    assert shuffled["subject_id"].rle_id().max() > 10 * shuffled["subject_id"].n_unique()
    expected = derive_adtte(events)
    assert_frame_equal(expected, derive_adtte(shuffled))
    # and with the reader's numbering of the subjects handed in (runs; one code per subject)
    from cart19.io.subjects import subject_codes

    for frame in (events, shuffled):
        assert_frame_equal(expected, derive_adtte(frame, Config(), subject_codes(frame["subject_id"])))
