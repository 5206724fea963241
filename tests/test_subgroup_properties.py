"""Properties of the split summaries (--by) that hold for any input (hypothesis): the groups add
up to the whole, relabelling the groups only permutes the output, and a covariate with one
level gives the overall figures."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_teae_properties import CONFIG, trials

from cart19.engine.dlt import dlt_review
from cart19.engine.km import km_summary
from cart19.engine.survtests import logrank_tests
from cart19.engine.teae import teae_tables
from cart19.schema import events_frame

LABELS = ["b", "a", "c", None]  # None: a subject left out of the subject file, or an empty value
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def trial_with_groups(draw):
    rows = draw(trials())
    ids = sorted({row["subject_id"] for row in rows})
    labels = {sid: draw(st.sampled_from(LABELS)) for sid in ids}
    listed = [(sid, label) for sid, label in labels.items() if label is not None or draw(st.booleans())]
    groups = pl.DataFrame(
        {"subject_id": [sid for sid, _ in listed], "group": [label or "(missing)" for _, label in listed]},
        schema={"subject_id": pl.String, "group": pl.String},
    )
    return events_frame(rows), groups


def relabel(groups: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    mapping = {"a": "zeta", "b": "alpha", "c": "(missing)x", "(missing)": "(missing)"}
    return groups.with_columns(pl.col("group").replace_strict(mapping)), mapping


@SETTINGS
@given(trial_with_groups())
def test_teae_groups_add_up_to_the_whole(case):
    events, groups = case
    overall = teae_tables(events, CONFIG)
    split = teae_tables(events, CONFIG, groups)
    assert split.columns[0] == "group"
    if split.height == 0:  # no group at all: no subject in either file
        assert overall["N"].max() == 0
        return
    assert split.get_column("group").unique(maintain_order=True).to_list() == sorted(split["group"].unique().to_list())
    summed = split.group_by("table", "soc", "term", "grade").agg(pl.col("n").sum())
    joined = overall.join(summed, on=["table", "soc", "term", "grade"], how="left", nulls_equal=True)
    assert joined["n"].to_list() == joined["n_right"].to_list()
    totals = split.unique(["group"]).select(pl.col("N").sum()).item()
    assert totals == (overall["N"][0] if overall.height else 0)


@SETTINGS
@given(trial_with_groups())
def test_teae_relabelled_groups_permute_the_output(case):
    events, groups = case
    renamed, mapping = relabel(groups)
    before = teae_tables(events, CONFIG, groups).with_columns(pl.col("group").replace(mapping))
    after = teae_tables(events, CONFIG, renamed)
    assert sorted(before.rows(), key=repr) == sorted(after.rows(), key=repr)


@SETTINGS
@given(trials())
def test_teae_one_level_gives_the_overall_tables(rows):
    events = events_frame(rows)
    ids = events.get_column("subject_id").unique().to_list() or ["S0"]
    groups = pl.DataFrame({"subject_id": ids, "group": ["all"] * len(ids)}, schema={"subject_id": pl.String, "group": pl.String})
    assert teae_tables(events, CONFIG, groups).drop("group").equals(teae_tables(events, CONFIG))


@SETTINGS
@given(trial_with_groups())
def test_dlt_groups_add_up_and_one_level_is_the_whole(case):
    events, groups = case
    review = dlt_review(events, CONFIG, groups=groups)
    by = review.by_group
    assert by.select(pl.col("treated").sum()).item() == review.subjects.height
    assert by.select(pl.col("evaluable").sum()).item() == review.evaluable
    assert by.select(pl.col("dlt").sum()).item() == review.dlt
    ids = events.get_column("subject_id").unique().to_list() or ["S0"]
    one = pl.DataFrame({"subject_id": ids, "group": ["all"] * len(ids)}, schema={"subject_id": pl.String, "group": pl.String})
    whole = dlt_review(events, CONFIG, groups=one).by_group.row(0, named=True)
    assert (whole["evaluable"], whole["dlt"], whole["rate"], whole["ci_low"], whole["ci_high"]) == (
        review.evaluable, review.dlt, review.rate, review.ci_low, review.ci_high)
    assert whole["posterior_probability"] == review.posterior_probability
    renamed, mapping = relabel(groups)
    before = by.with_columns(pl.col("group").replace(mapping))
    after = dlt_review(events, CONFIG, groups=renamed).by_group
    assert sorted(before.rows(), key=repr) == sorted(after.rows(), key=repr)


@st.composite
def adtte(draw):
    n = draw(st.integers(1, 30))
    return pl.DataFrame(
        {
            "PARAMCD": draw(st.lists(st.sampled_from(["OS", "EFS"]), min_size=n, max_size=n)),
            "AVAL": draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)),
            "CNSR": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "cohort": draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n)),
        },
        schema={"PARAMCD": pl.String, "AVAL": pl.Int64, "CNSR": pl.Int64, "cohort": pl.String},
    )


@SETTINGS
@given(adtte(), st.randoms(use_true_random=False))
def test_km_groups_add_up_relabel_and_one_level(frame, rnd):
    overall = km_summary(frame, landmarks_months=(0.5,), days_per_month=30)
    split = km_summary(frame, landmarks_months=(0.5,), days_per_month=30, by="cohort")
    sums = split.group_by("PARAMCD").agg(pl.col("N", "events", "censored").sum())
    joined = overall.select("PARAMCD", "N", "events", "censored").join(sums, on="PARAMCD")
    for name in ("N", "events", "censored"):
        assert joined[name].to_list() == joined[f"{name}_right"].to_list()
    # relabelled (and the rows shuffled): the same figures under the new names
    mapping = {"a": "zeta", "b": "alpha", "c": "(missing)x"}
    order = list(range(frame.height))
    rnd.shuffle(order)
    renamed = frame.with_columns(pl.col("cohort").replace(mapping))[order]
    after = km_summary(renamed, landmarks_months=(0.5,), days_per_month=30, by="cohort")
    before = split.with_columns(pl.col("group").replace(mapping))
    assert sorted(before.rows(), key=repr) == sorted(after.rows(), key=repr)
    tests_before = logrank_tests(frame, "cohort")
    tests_after = logrank_tests(renamed, "cohort")
    assert tests_before["df"].to_list() == tests_after["df"].to_list()
    for x, y in zip(tests_before["statistic"], tests_after["statistic"], strict=True):
        assert abs(x - y) <= 1e-9 * max(1.0, abs(x))
    # one level: the overall figures
    one = km_summary(frame.with_columns(pl.lit("x").alias("cohort")), landmarks_months=(0.5,), days_per_month=30, by="cohort")
    assert one.drop("group").equals(overall)
