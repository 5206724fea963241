"""The meeting pictures (issue 16), checked by their matplotlib artists, not by eye: swimmer
markers and lanes, the legends outside the axes, the Kaplan-Meier panels per time origin and
their bands, ``plot km`` on an ADTTE table, and the cumulative-incidence figure."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import run_cli
from plot_helpers import EXAMPLE

from cart19.config import Config
from cart19.io.read import read_events
from cart19.plot.swimmer import (
    DLT_OFFSET,
    LANE_HEIGHT,
    MARKER_STYLES,
    RESPONSE_COLOURS,
    draw_swimmer,
    swimmer_data,
)

pytest.importorskip("matplotlib")
DPM = 30.4375


@pytest.fixture(scope="module")
def example():
    return swimmer_data(read_events(EXAMPLE).events, Config())


@pytest.fixture(scope="module")
def swimmer(example):
    import matplotlib.pyplot as plt

    figure = draw_swimmer(example)
    figure.draw_without_rendering()
    yield figure
    plt.close(figure)


def _collection(figure, gid):
    return next(c for ax in figure.axes for c in ax.collections if c.get_gid() == gid)


def _outside(inner, outer) -> bool:
    """The two display boxes share no area."""
    return inner.x0 >= outer.x1 or inner.x1 <= outer.x0 or inner.y0 >= outer.y1 or inner.y1 <= outer.y0


# --- swimmer -------------------------------------------------------------------------------


def test_each_lane_has_a_response_cell_in_its_colour_that_no_marker_covers(example, swimmer):
    from matplotlib.colors import to_hex

    lanes_ax, cells_ax = swimmer.axes
    cells = {p.get_gid(): p for p in cells_ax.patches}
    for subject, lane, group in example.lanes.select("subject_id", "lane", "response_group").iter_rows():
        cell = cells[f"response:{subject}"]
        assert to_hex(cell.get_facecolor()) == RESPONSE_COLOURS[group].lower()
        assert cell.get_y() < lane < cell.get_y() + cell.get_height()
    assert list(cells_ax.collections) == []  # every marker is drawn on the lanes' axes, none on the cells
    assert to_hex(cells["response:CART19-014"].get_facecolor()) == RESPONSE_COLOURS["not assessed"].lower()
    assert cells_ax.get_window_extent().x1 <= lanes_ax.get_window_extent().x0 + 1


def test_withdrawal_has_its_marker_at_the_end_of_the_lane(example, swimmer):
    # CART19-015: infused 2025-01-14, withdrew 2025-02-28 = day 45, its last record
    lane = example.lanes.filter(pl.col("subject_id") == "CART19-015").row(0, named=True)
    assert lane["outcome"] == "withdrawn" and lane["end_day"] == 45
    points = _collection(swimmer, "marker:withdrawal:any").get_offsets()
    assert points.tolist() == [[pytest.approx(45 / DPM), lane["lane"]]]


def test_alive_arrows_sit_past_the_end_of_their_lanes_above_every_marker(example, swimmer):
    arrows = _collection(swimmer, "ongoing")
    ongoing = example.lanes.filter(pl.col("outcome") == "ongoing").sort("lane")
    assert ongoing.height == 6  # 001, 002, 004, 009, 010, 011
    points = sorted(arrows.get_offsets().tolist(), key=lambda p: p[1])
    for (x, y), end_day, lane in zip(points, ongoing["end_day"], ongoing["lane"], strict=True):
        assert y == lane and x > end_day / DPM  # past the bar, never on a last-visit marker
    top = max(c.get_zorder() for c in swimmer.axes[0].collections if (c.get_gid() or "").startswith("marker:"))
    assert arrows.get_zorder() > top


def test_every_marker_kind_has_a_shape_of_its_own():
    shapes = [style["marker"] for style in MARKER_STYLES.values()]
    assert len(set(shapes)) == len(shapes)
    assert MARKER_STYLES[("new_therapy", None)]["marker"] != MARKER_STYLES[("death", "unknown")]["marker"]
    assert "o" not in shapes and ">" not in shapes  # the assessment dot and the alive arrow


def test_dlt_markers_are_on_their_own_track_between_two_lanes(example, swimmer):
    # the DLT track sits in the gap between the lane's bar and the bar above it
    assert LANE_HEIGHT / 2 < abs(DLT_OFFSET) < 1 - LANE_HEIGHT / 2
    dlt = _collection(swimmer, "marker:dlt:any").get_offsets().tolist()
    lanes = dict(example.lanes.select("subject_id", "lane").iter_rows())
    expected = sorted([[3 / DPM, lanes["CART19-004"] + DLT_OFFSET], [1 / DPM, lanes["CART19-005"] + DLT_OFFSET],
                       [18 / DPM, lanes["CART19-008"] + DLT_OFFSET]])  # fmt: skip
    assert sorted(dlt) == [[pytest.approx(x), pytest.approx(y)] for x, y in expected]
    for bar in (p for p in swimmer.axes[0].patches if (p.get_gid() or "").startswith("lane:")):
        for _, y in dlt:
            assert not bar.get_y() <= y <= bar.get_y() + bar.get_height()


def test_swimmer_legend_is_outside_the_lanes(swimmer):
    legend = swimmer.axes[0].get_legend()
    assert _outside(legend.get_window_extent(), swimmer.axes[0].get_window_extent())


def test_a_cap_draws_the_longest_lanes_and_says_so_under_the_plot(example, swimmer):
    import matplotlib.pyplot as plt

    assert not [t for t in swimmer.texts if t.get_gid() == "cap-note"]
    figure = draw_swimmer(example, max_lanes=10)
    try:
        (note,) = [t for t in figure.texts if t.get_gid() == "cap-note"]
        assert note.get_text().startswith("Note: 4 of the 14 infused subjects are not drawn")
        drawn = {p.get_gid() for p in figure.axes[0].patches if (p.get_gid() or "").startswith("lane:")}
        assert drawn == {f"lane:{s}" for s in example.lanes.filter(pl.col("lane") < 10)["subject_id"]}
    finally:
        plt.close(figure)


# --- Kaplan-Meier --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def km_figure():
    import matplotlib.pyplot as plt

    from cart19.engine.tte import derive_adtte
    from cart19.plot.km import draw_km, km_plot_data

    data = km_plot_data(derive_adtte(read_events(EXAMPLE).events, Config()), ["OS", "EFS", "DOR", "RFS"], Config())
    figure = draw_km(data)
    figure.draw_without_rendering()
    yield data, figure
    plt.close(figure)


def _panels(figure):
    return {ax.get_gid(): ax for ax in figure.axes if (ax.get_gid() or "").startswith("panel:")}


def test_dor_and_rfs_have_their_own_time_axis_from_response(km_figure):
    data, figure = km_figure
    assert data.panels() == [["OS", "EFS"], ["DOR", "RFS"]]
    panels = _panels(figure)
    infusion, response = panels["panel:OS"], panels["panel:DOR"]
    assert infusion.get_xlabel() == "Months from the infusion (OS, EFS); 1 month = 30.4375 days"
    assert response.get_xlabel() == ("Months from the first response (DOR) or the first remission (RFS); "
                                     "1 month = 30.4375 days")  # fmt: skip
    assert {line.get_gid() for line in infusion.lines if (line.get_gid() or "").startswith("km:")} == {"km:OS", "km:EFS"}
    assert {line.get_gid() for line in response.lines if (line.get_gid() or "").startswith("km:")} == {"km:DOR", "km:RFS"}
    assert "DOR" not in infusion.get_ylabel() and "OS" not in response.get_ylabel()


def test_km_legends_are_outside_the_curves(km_figure):
    _, figure = km_figure
    for ax in _panels(figure).values():
        assert _outside(ax.get_legend().get_window_extent(), ax.get_window_extent())


def test_one_band_per_panel_when_the_bands_overlap(km_figure):
    from cart19.plot.km import bands_to_draw

    data, figure = km_figure
    bands = {c.get_gid() for ax in figure.axes for c in ax.collections if (c.get_gid() or "").startswith("band:")}
    assert bands == {"band:OS", "band:DOR"}  # OS's and EFS's bands overlap, so do DOR's and RFS's
    assert bands_to_draw(data, ["OS", "EFS"], "all") == ["OS", "EFS"]
    assert bands_to_draw(data, ["OS", "EFS"], "efs") == ["EFS"]
    assert bands_to_draw(data, ["OS", "EFS"], "none") == []


def test_bands_overlap_by_hand():
    from cart19.plot.km import bands_overlap

    def steps(times, lower, upper):
        return pl.DataFrame({"time": [0.0, *times], "lower": [1.0, *lower], "upper": [1.0, *upper]})

    high = steps([10.0, 20.0], [0.80, 0.70], [0.95, 0.90])
    low = steps([10.0, 20.0], [0.20, 0.10], [0.50, 0.40])
    touching = steps([15.0], [0.85], [0.99])  # from day 15 inside high's [0.80, 0.95]
    assert not bands_overlap(high, low)
    assert bands_overlap(high, touching)
    assert not bands_overlap(high, steps([], [], []))  # no time after the start


def test_plot_km_reads_an_adtte_table_with_any_parameter(tmp_path):
    from cart19.plot.km import param_origins

    table = tmp_path / "adtte.csv"
    table.write_text("USUBJID,PARAMCD,AVAL,CNSR\nA,PFS,10,0\nB,PFS,20,1\nC,PFS,30,0\nA,OS,40,1\n", encoding="utf-8")
    out = tmp_path / "km.svg"
    result = run_cli("plot", "km", table, "-o", out, "--param", "pfs", "-p", "OS")
    assert result.exit_code == 0, result.stderr
    assert b"km:PFS" in out.read_bytes() and b"panel:OS" in out.read_bytes()
    assert param_origins(["PFS", "OS"], Config()) == {"PFS": ("start", "the start date (STARTDT)"),
                                                      "OS": ("event:infusion", "the infusion")}  # fmt: skip


def test_plot_km_reads_derive_output_on_standard_input(tmp_path):
    adtte = run_cli("derive", EXAMPLE, "--format", "csv", "-q").stdout
    out = tmp_path / "km.svg"
    result = run_cli("plot", "km", "-", "-o", out, "-q", input=adtte)
    assert result.exit_code == 0, result.stderr
    assert b"km:OS" in out.read_bytes() and b"km:DOR" in out.read_bytes()


def test_plot_km_on_an_adtte_table_refuses_a_cutoff_and_an_unknown_band(tmp_path):
    table = tmp_path / "adtte.csv"
    table.write_text("PARAMCD,AVAL,CNSR\nOS,10,0\n", encoding="utf-8")
    out = tmp_path / "km.png"
    assert run_cli("plot", "km", table, "-o", out, "--cutoff", "2024-01-01").exit_code == 2
    result = run_cli("plot", "km", table, "-o", out, "--band", "EFS")
    assert result.exit_code == 2 and not out.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("PARAMCD,AVAL,CNSR\nOS,-3,0\n", encoding="utf-8")
    result = run_cli("plot", "km", bad, "-o", out)
    assert result.exit_code == 2 and "AVAL" in result.stderr and not out.exists()


# --- cumulative incidence ------------------------------------------------------------------

#: Five subjects by hand (days, EVENT): relapse d10, NRM d20, censored d30, relapse d40, censored d50.
HAND = pl.DataFrame({"USUBJID": ["A", "B", "C", "D", "E"], "AVAL": [10, 20, 30, 40, 50], "EVENT": [1, 2, 0, 1, 0]})


def test_cuminc_curves_by_hand():
    from cart19.plot.cuminc import cuminc_plot_data

    data = cuminc_plot_data(HAND, Config())
    relapse = data.steps.filter(pl.col("cause") == "relapse")
    nrm = data.steps.filter(pl.col("cause") == "nrm")
    # relapse: 1/5 at d10; after the NRM at d20 the event-free fraction is 4/5 * 3/4 = 0.6; at d40
    # one of the two at risk relapses: 0.2 + 0.6 * 1/2 = 0.5; drawn on to d50, the last time
    assert relapse["time"].to_list() == [0, 10, 40, 50]
    assert relapse["estimate"].to_list() == pytest.approx([0, 0.2, 0.5, 0.5])
    # NRM: 4/5 * 1/4 = 0.2 at d20
    assert nrm["time"].to_list() == [0, 20, 50] and nrm["estimate"].to_list() == pytest.approx([0, 0.2, 0.2])
    assert data.counts.select("cause", "N", "events").rows() == [("relapse", 5, 2), ("nrm", 5, 1)]
    assert data.at_risk["n_risk"].to_list() == [5]  # at 0 months (the sample ends at 1.6 months)


def test_cuminc_groups_and_the_missing_group():
    from cart19.plot.cuminc import cuminc_plot_data

    groups = pl.DataFrame({"subject_id": ["A", "B", "C"], "group": ["DL2", "DL1", "DL1"]})
    data = cuminc_plot_data(HAND, Config(), groups)
    assert data.groups == ["(missing)", "DL1", "DL2"]
    counts = {(g, c): (n, e) for g, c, n, e in data.counts.rows()}
    assert counts[("DL2", "relapse")] == (1, 1) and counts[("DL1", "nrm")] == (2, 1)
    assert counts[("(missing)", "relapse")] == (2, 1)  # D relapses at d40, E censored


def test_cuminc_figure_matches_cart19_cuminc_and_its_legend_is_outside(tmp_path):
    import matplotlib.pyplot as plt

    from cart19.engine.cuminc import cuminc_summary
    from cart19.engine.relapse import cir_dataset
    from cart19.plot.cuminc import OVERALL, cuminc_plot_data, draw_cuminc

    dataset = cir_dataset(read_events(EXAMPLE).events, Config())
    figure = draw_cuminc(cuminc_plot_data(dataset, Config()))
    try:
        figure.draw_without_rendering()
        ax = figure.axes[0]
        assert _outside(ax.get_legend().get_window_extent(), ax.get_window_extent())
        assert ax.get_xlabel() == "Months from the first remission; 1 month = 30.4375 days"
        summary = cuminc_summary(dataset, landmarks_months=(6.0, 12.0))
        for cause in ("relapse", "nrm"):
            line = next(x for x in ax.lines if x.get_gid() == f"cif:{OVERALL}:{cause}")
            x, y = line.get_data()
            for month in (6.0, 12.0):
                expected = summary.filter((pl.col("cause") == cause) & (pl.col("time_months") == month))["estimate"]
                assert y[np.searchsorted(x, month, side="right") - 1] == pytest.approx(expected.item())
        bands = [c.get_gid() for c in ax.collections if (c.get_gid() or "").startswith("band:")]
        assert bands == [f"band:{OVERALL}:relapse"]  # the two bands overlap: the relapse band only
    finally:
        plt.close(figure)


def test_plot_cuminc_command_with_by(tmp_path):
    out = tmp_path / "cuminc.svg"
    subjects = EXAMPLE.parent / "subjects.csv"
    result = run_cli("plot", "cuminc", EXAMPLE, "-o", out, "--subjects", subjects, "--by", "cohort", "-q")
    assert result.exit_code == 0, result.stderr
    svg = out.read_bytes()
    assert b"cif:DL1:relapse" in svg and b"band:" not in svg
    result = run_cli("plot", "cuminc", EXAMPLE, "-o", tmp_path / "x.png", "--by", "cohort")
    assert result.exit_code == 2 and not (tmp_path / "x.png").exists()
