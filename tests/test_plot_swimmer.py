"""The swimmer plot: the figure data (pure) checked against the example trial's README, and the
drawn figure checked by its artists, not by eye."""

from __future__ import annotations

import csv
import sys
from collections import Counter

import polars as pl
import pytest
from plot_helpers import EXAMPLE, synthetic_trial
from typer.testing import CliRunner

from cart19.cli import app
from cart19.config import Config
from cart19.io.read import read_events
from cart19.plot.swimmer import DAYS_PER_MONTH, draw_swimmer, figure_height, swimmer_data
from cart19.schema import events_frame

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def example():
    return swimmer_data(read_events(EXAMPLE).events, Config())


@pytest.fixture(scope="module")
def example_figure(example):
    import matplotlib.pyplot as plt

    figure = draw_swimmer(example)
    yield figure
    plt.close(figure)


def _csv_rows():
    with open(EXAMPLE, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _infused_on_study(rows):
    """Records of infused subjects dated on or after their infusion, computed without cart19."""
    infusion = {r["subject_id"]: r["date"] for r in rows if r["event"] == "infusion"}
    return [r for r in rows if r["subject_id"] in infusion and len(r["date"]) == 10 and r["date"] >= infusion[r["subject_id"]]] + [
        r for r in rows if r["subject_id"] in infusion and len(r["date"]) == 7 and r["event"] == "death"
    ]  # the one partial death date (006, 2024-05) is after its infusion


def _gid_counts(figure) -> Counter:
    counts: Counter = Counter()
    for ax in figure.axes:
        for collection in ax.collections:
            gid = collection.get_gid()
            if gid:
                counts[gid] += len(collection.get_offsets())
        for patch in ax.patches:
            if patch.get_gid():
                counts[patch.get_gid()] += 1
    return counts


# --- the figure data -----------------------------------------------------------------------


def test_one_lane_per_infused_subject_and_the_never_infused_013_has_none(example):
    rows = _csv_rows()
    infused = sorted({r["subject_id"] for r in rows if r["event"] == "infusion"})
    assert sorted(example.lanes["subject_id"].to_list()) == infused
    assert example.lanes.height == 14 and "CART19-013" not in example.lanes["subject_id"].to_list()


def test_lanes_run_longest_follow_up_at_the_top(example):
    lanes = example.lanes.sort("lane")
    assert lanes["lane"].to_list() == list(range(14))
    days = lanes["end_day"].to_list()
    assert days == sorted(days, reverse=True)
    # 002's last contact d745 is the longest; 014 died on d21, the shortest
    assert lanes["subject_id"][0] == "CART19-002" and lanes["end_day"][0] == 745
    assert lanes["subject_id"][-1] == "CART19-014" and lanes["end_day"][-1] == 21


def test_lane_ends_at_the_last_record_including_an_ae_end_date(example):
    # 010: chronic GVHD ends d420, after the last contact d400 (README: "AE end dates included")
    row = example.lanes.filter(pl.col("subject_id") == "CART19-010").row(0, named=True)
    assert row["end_day"] == 420 and row["outcome"] == "ongoing"


@pytest.mark.parametrize(
    ("subject", "best", "group"),
    [
        ("CART19-004", "CR", "CR"),  # CRh at d28, then CR: the best is CR
        ("CART19-005", "CR", "CR"),  # CRi then CR
        ("CART19-006", "MLFS", "MLFS"),
        ("CART19-007", "PR", "PR"),  # PR then PD
        ("CART19-010", "NR", "NR/PD/NE"),  # the CRs after the salvage HSCT are not the product's
        ("CART19-011", "NR", "NR/PD/NE"),  # the CR after new therapy does not count
        ("CART19-014", None, "not assessed"),  # died d21 without an assessment
    ],
)
def test_best_response_counts_only_responses_to_the_infusion(example, subject, best, group):
    row = example.lanes.filter(pl.col("subject_id") == subject).row(0, named=True)
    assert row["best_response"] == best and row["response_group"] == group


def test_outcome_of_each_lane(example):
    outcome = dict(example.lanes.select("subject_id", "outcome").iter_rows())
    assert outcome["CART19-015"] == "withdrawn"
    assert {s for s, o in outcome.items() if o == "died"} == {f"CART19-{n:03d}" for n in (3, 5, 6, 7, 8, 12, 14)}


def test_marker_counts_by_kind_match_the_events_file(example):
    on_study = _infused_on_study(_csv_rows())
    expected = Counter()
    for r in on_study:
        if r["event"] in ("assessment", "relapse", "death"):
            expected[(r["event"], r["result"])] += 1
        elif r["event"] in ("hsct", "new_therapy", "withdrawal"):
            expected[(r["event"], None)] += 1
    got = Counter(
        (kind, detail) for kind, detail in example.markers.filter(pl.col("kind") != "dlt").select("kind", "detail").iter_rows()
    )
    assert got == expected
    assert expected[("relapse", "hematologic")] == 3 and expected[("relapse", "extramedullary")] == 1
    assert sum(v for (k, _), v in expected.items() if k == "death") == 7
    assert expected[("withdrawal", None)] == 1  # 015 withdrew on d45
    assert expected[("withdrawal", None)] == 1  # 015 withdrew


def test_dlt_markers_are_the_three_dlts_of_the_review(example):
    dlt = example.markers.filter(pl.col("kind") == "dlt").sort("subject_id")
    assert dlt["subject_id"].to_list() == ["CART19-004", "CART19-005", "CART19-008"]
    assert dlt["day"].to_list() == [3, 1, 18]
    assert dlt["detail"][0] == "Cytokine release syndrome (grade 3)"


def test_assessments_after_new_therapy_or_salvage_hsct_are_marked_not_counted(example):
    hollow = example.markers.filter((pl.col("kind") == "assessment") & ~pl.col("counted"))
    assert sorted(hollow.select("subject_id", "day", "detail").iter_rows()) == [
        ("CART19-003", 200, "NR"),  # after new therapy d160
        ("CART19-010", 90, "CR"),  # after the salvage HSCT d50
        ("CART19-010", 180, "CR"),
        ("CART19-011", 90, "CR"),  # after new therapy d40
        ("CART19-012", 90, "CR"),  # after new therapy d70
    ]


def test_markers_sit_on_their_subjects_lane(example):
    lanes = dict(example.lanes.select("subject_id", "lane").iter_rows())
    for subject, lane in example.markers.select("subject_id", "lane").iter_rows():
        assert lanes[subject] == lane


def test_no_infused_subject_gives_empty_frames():
    events = events_frame([{"subject_id": "X", "event": "enrolled", "date": "2024-01-01"}])
    data = swimmer_data(events, Config())
    assert data.lanes.height == 0 and data.markers.height == 0


# --- the drawn figure ----------------------------------------------------------------------


def test_figure_has_one_bar_per_lane_and_the_dlt_window(example, example_figure):
    counts = _gid_counts(example_figure)
    lanes = {g for g in counts if g.startswith("lane:")}
    assert lanes == {f"lane:{s}" for s in example.lanes["subject_id"]}
    assert counts["dlt-window"] == 1
    window = next(p for p in example_figure.axes[0].patches if p.get_gid() == "dlt-window")
    assert window.get_x() == 0 and window.get_width() == pytest.approx(28 / DAYS_PER_MONTH)


def test_figure_draws_every_marker(example, example_figure):
    counts = _gid_counts(example_figure)
    for kind in ("relapse", "hsct", "new_therapy", "death", "dlt", "assessment"):
        drawn = sum(v for g, v in counts.items() if g.startswith(f"marker:{kind}:"))
        assert drawn == example.markers.filter(pl.col("kind") == kind).height, kind
    assert counts["marker:death:toxicity"] == 1 and counts["marker:death:disease"] == 4
    assert counts["marker:dlt:any"] == 3
    assert counts["ongoing"] == example.lanes.filter(pl.col("outcome") == "ongoing").height


def test_lane_lengths_are_the_follow_up_in_months(example, example_figure):
    bars = {p.get_gid(): p for p in example_figure.axes[0].patches if (p.get_gid() or "").startswith("lane:")}
    for subject, end_day in example.lanes.select("subject_id", "end_day").iter_rows():
        assert bars[f"lane:{subject}"].get_width() == pytest.approx(end_day / DAYS_PER_MONTH)


def test_legend_names_markers_and_the_window(example_figure):
    texts = [t.get_text() for t in example_figure.axes[0].get_legend().get_texts()]
    for label in ("Relapse, haematologic", "Relapse, extramedullary", "HSCT", "New therapy", "Death: disease",
                  "Death: toxicity", "Death: other", "Death: unknown cause", "DLT onset (track above the lane)",
                  "Withdrawn (follow-up ends)", "Alive, follow-up continues",
                  "DLT window (day 0-28)", "Best response: CR"):  # fmt: skip
        assert label in texts


def test_axis_in_days_when_asked(example):
    import matplotlib.pyplot as plt

    figure = draw_swimmer(example, time_unit="days")
    try:
        ax = figure.axes[0]
        assert "Days" in ax.get_xlabel()
        bar = next(p for p in ax.patches if p.get_gid() == "lane:CART19-014")
        assert bar.get_width() == 21
    finally:
        plt.close(figure)


def test_sixty_subjects_get_a_taller_figure_and_sixty_lanes():
    import matplotlib.pyplot as plt

    data = swimmer_data(synthetic_trial(60), Config())
    assert data.lanes.height == 60
    figure = draw_swimmer(data)
    try:
        assert figure.get_figheight() == pytest.approx(figure_height(60))
        assert figure_height(60) > figure_height(15) > 0
        assert sum(1 for p in figure.axes[0].patches if (p.get_gid() or "").startswith("lane:")) == 60
        assert len(figure.axes[1].get_yticklabels()) == 60  # the subject IDs, left of the response cells
    finally:
        plt.close(figure)


def test_subject_ids_are_drawn_verbatim_never_as_mathtext():
    import matplotlib.pyplot as plt

    events = events_frame([
        {"subject_id": "$\\frac{a}{", "event": "infusion", "date": "2024-01-01"},
        {"subject_id": "$\\frac{a}{", "event": "contact", "date": "2024-03-01"},
    ])  # fmt: skip
    figure = draw_swimmer(swimmer_data(events, Config()))
    try:
        figure.canvas.draw()  # a mathtext parse would fail here
        assert [t.get_text() for t in figure.axes[1].get_yticklabels()] == ["$\\frac{a}{"]
    finally:
        plt.close(figure)


# --- the command ---------------------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_swimmer_writes_each_format(tmp_path, suffix):
    out = tmp_path / f"swimmer{suffix}"
    result = runner.invoke(app, ["plot", "swimmer", str(EXAMPLE), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    head = out.read_bytes()[:8]
    assert {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix] in head


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".png"])
def test_plot_output_is_reproducible_byte_for_byte(tmp_path, suffix):
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    for out in (first, second):
        assert runner.invoke(app, ["plot", "swimmer", str(EXAMPLE), "-o", str(out), "-q"]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    if suffix == ".svg":
        assert b"<dc:date>" not in first.read_bytes()
    if suffix == ".pdf":
        assert b"/CreationDate" not in first.read_bytes()


def test_unknown_image_extension_is_a_usage_error_and_writes_nothing(tmp_path):
    out = tmp_path / "swimmer.gif"
    result = runner.invoke(app, ["plot", "swimmer", str(EXAMPLE), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert ".png" in result.output


def test_invalid_events_exit_2_and_write_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("subject_id,event,date\nA,infusion,2024-02-30\n", encoding="utf-8")
    out = tmp_path / "swimmer.png"
    result = runner.invoke(app, ["plot", "swimmer", str(bad), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()


def test_without_matplotlib_the_command_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "swimmer.png"
    result = runner.invoke(app, ["plot", "swimmer", str(EXAMPLE), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "pip install 'cart19[plot]'" in result.output
    assert "Traceback" not in result.output


def test_cutoff_shortens_the_lanes():
    import datetime as dt

    from cart19.engine.common import apply_cutoff

    events = apply_cutoff(read_events(EXAMPLE).events, dt.date(2024, 1, 1)).events
    data = swimmer_data(events, Config())
    assert data.lanes.height == 7  # infused on or before the cutoff: 001-007
    # 001's last record on or before the cutoff: the CR at d271 (2023-11-12)
    assert data.lanes.filter(pl.col("subject_id") == "CART19-001")["end_day"].item() == 271


def test_unknown_time_unit_is_a_usage_error(tmp_path):
    out = tmp_path / "swimmer.png"
    result = runner.invoke(app, ["plot", "swimmer", str(EXAMPLE), "-o", str(out), "--time-unit", "weeks"])
    assert result.exit_code == 2 and not out.exists()


def test_matplotlib_is_imported_only_when_drawing():
    import subprocess

    code = (
        "import sys, cart19.cli, cart19.plot, cart19.plot.swimmer, cart19.plot.km, cart19.report\n"
        "from cart19.config import Config\n"
        "from cart19.io.read import read_events\n"
        f"cart19.plot.swimmer.swimmer_data(read_events({str(EXAMPLE)!r}).events, Config())\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported too early'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
