"""Kaplan-Meier figure: the same numbers as ``cart19 km``, the at-risk table counted again here
from the ADTTE, and the figure checked by its artists."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from plot_helpers import EXAMPLE
from typer.testing import CliRunner

from cart19.cli import app
from cart19.config import Config
from cart19.engine.km import km_summary
from cart19.engine.tte import derive_adtte
from cart19.io.read import read_events
from cart19.plot.km import at_risk_ticks, draw_km, km_plot_data

pytest.importorskip("matplotlib")

DPM = 30.4375
PARAMS = ["OS", "EFS", "DOR"]


@pytest.fixture(scope="module")
def adtte():
    return derive_adtte(read_events(EXAMPLE).events, Config())


@pytest.fixture(scope="module")
def data(adtte):
    return km_plot_data(adtte, PARAMS, Config())


@pytest.fixture(scope="module")
def figure(data):
    import matplotlib.pyplot as plt

    fig = draw_km(data)
    yield fig
    plt.close(fig)


def _by_gid(figure, prefix):
    found = {}
    for ax in figure.axes:
        for artist in [*ax.lines, *ax.collections, *ax.texts]:
            gid = artist.get_gid()
            if gid and gid.startswith(prefix):
                found[gid] = artist
    return found


def test_at_risk_numbers_are_the_subjects_still_followed_at_each_tick(adtte, data, figure):
    """n at risk at t = subjects with AVAL >= t, counted here straight from the ADTTE. Each
    panel's table runs to its own last time: OS and EFS (from the infusion) to 745 days,
    DOR (from the first response, its own panel) to its own last time."""
    panels = {"OS": ("OS", "EFS"), "EFS": ("OS", "EFS"), "DOR": ("DOR",)}
    texts = _by_gid(figure, "atrisk:")
    for code in PARAMS:
        max_days = adtte.filter(pl.col("PARAMCD").is_in(panels[code]))["AVAL"].max()
        ticks = at_risk_ticks(max_days, DPM)
        aval = adtte.filter(pl.col("PARAMCD") == code)["AVAL"].to_list()
        for month in ticks:
            expected = sum(1 for a in aval if a >= month * DPM)
            assert texts[f"atrisk:{code}:{month:g}"].get_text() == str(expected), (code, month)
            row = data.at_risk.filter((pl.col("PARAMCD") == code) & (pl.col("time_months") == month))
            assert row["n_risk"].item() == expected
        assert f"atrisk:{code}:{ticks[-1] + 3:g}" not in texts
    assert at_risk_ticks(745, DPM)[-1] == 24  # 745-day follow-up: 0, 3, ..., 24 months
    # the example trial, by hand: 14 OS rows, 14 EFS, 8 DOR at time 0
    assert [texts[f"atrisk:{c}:0"].get_text() for c in PARAMS] == ["14", "14", "8"]


def test_medians_are_those_of_cart19_km(adtte, data):
    summary = km_summary(adtte).unique("PARAMCD", keep="first")
    for row in data.medians.iter_rows(named=True):
        ref = summary.filter(pl.col("PARAMCD") == row["PARAMCD"]).row(0, named=True)
        for key in ("N", "events", "median", "median_lower", "median_upper"):
            assert row[key] == ref[key], (row["PARAMCD"], key)


def test_each_curve_ends_at_the_engine_estimate_and_starts_at_one(adtte, figure):
    from cart19.engine.km import km_at, km_curve

    curves = _by_gid(figure, "km:")
    assert set(curves) == {f"km:{c}" for c in PARAMS}
    for code in PARAMS:
        rows = adtte.filter(pl.col("PARAMCD") == code)
        curve = km_curve(rows["AVAL"].to_numpy(), 1 - rows["CNSR"].to_numpy())
        x, y = curves[f"km:{code}"].get_data()
        assert x[0] == 0 and y[0] == 1
        assert y[-1] == pytest.approx(curve.surv[-1])
        # at every landmark the drawn step equals the engine's estimate
        for month in (3, 6, 9):
            (expected,), _, _ = km_at(curve, [month * DPM])
            drawn = y[np.searchsorted(x, month, side="right") - 1]
            assert drawn == pytest.approx(expected)


def test_censor_ticks_one_per_distinct_censoring_time(adtte, figure):
    ticks = _by_gid(figure, "censor:")
    for code in PARAMS:
        censored = adtte.filter((pl.col("PARAMCD") == code) & (pl.col("CNSR") == 1))["AVAL"].n_unique()
        assert len(ticks[f"censor:{code}"].get_offsets()) == censored


def _legend_texts(figure):
    return [t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_band_drawn_per_curve_when_asked_and_median_marked_where_reached(data):
    import matplotlib.pyplot as plt

    figure = draw_km(data, band="all")
    try:
        assert set(_by_gid(figure, "band:")) == {f"band:{c}" for c in PARAMS}
        medians = _by_gid(figure, "median:")
        # OS 281 days and EFS 141 days are reached; DOR (3 events of 8) is not
        assert set(medians) == {"median:OS", "median:EFS"}
        x, _ = medians["median:OS"].get_data()
        assert x[1] == pytest.approx(281 / DPM)
        labels = _legend_texts(figure)
        assert any("DOR" in t and "median not reached" in t for t in labels)
        assert any(t.startswith("OS") and "median 281 d" in t for t in labels)
    finally:
        plt.close(figure)


def test_band_is_the_log_log_interval_of_the_engine(adtte, data):
    from cart19.engine.km import km_curve

    rows = adtte.filter(pl.col("PARAMCD") == "OS")
    curve = km_curve(rows["AVAL"].to_numpy(), 1 - rows["CNSR"].to_numpy())
    steps = data.steps.filter(pl.col("PARAMCD") == "OS")
    inner = curve.surv < 1
    assert steps["lower"].to_numpy()[1:][inner] == pytest.approx(curve.lower[inner])
    assert steps["upper"].to_numpy()[1:][inner] == pytest.approx(curve.upper[inner])


runner = CliRunner()


def test_plot_km_with_repeated_params(tmp_path):
    out = tmp_path / "km.png"
    result = runner.invoke(app, ["plot", "km", str(EXAMPLE), "-o", str(out), "--param", "EFSS1", "--param", "efss3", "-q"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_plot_km_unknown_param_is_a_usage_error(tmp_path):
    out = tmp_path / "km.png"
    result = runner.invoke(app, ["plot", "km", str(EXAMPLE), "-o", str(out), "--param", "PFS"])
    assert result.exit_code == 2 and not out.exists()
    assert "EFSS1" in result.output


def test_plot_km_svg_is_reproducible(tmp_path):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    for out in (a, b):
        assert runner.invoke(app, ["plot", "km", str(EXAMPLE), "-o", str(out), "-q"]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_a_parameter_nobody_has_is_kept_without_a_curve(tmp_path):
    # one non-responder: OS and EFS rows, no DOR row
    path = tmp_path / "nr.csv"
    path.write_text("subject_id,event,date,result\nA,infusion,2024-01-01,\nA,assessment,2024-01-29,NR\n"
                    "A,contact,2024-03-01,\n", encoding="utf-8")  # fmt: skip
    adtte = derive_adtte(read_events(path).events, Config())
    data = km_plot_data(adtte, ["OS", "DOR"], Config())
    assert data.medians["N"].to_list() == [1, 0]
    assert data.at_risk.filter(pl.col("PARAMCD") == "DOR")["n_risk"].to_list() == [0]
    out = tmp_path / "km.png"
    result = runner.invoke(app, ["plot", "km", str(path), "-o", str(out), "-p", "OS", "-p", "DOR"])
    assert result.exit_code == 0 and out.exists()
    assert "DOR: no subject has this parameter" in result.output
