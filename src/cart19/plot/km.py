"""Kaplan-Meier curves of the ADTTE parameters, with the numbers at risk under the axis.

The estimator is :mod:`cart19.engine.km`'s (the one ``cart19 km`` reports): the product-limit
curve with Greenwood variance, the pointwise 95% log-log band, and R's median. Here that curve
is turned into plot data (:func:`km_plot_data`, pure) and drawn (:func:`draw_km`).

* Time axis in months (``km.days_per_month``, 30.4375 by default); ``AVAL`` is in days on the
  1-day basis (``AVAL = ADT - STARTDT + 1``), used as it is, as ``cart19 km`` does.
* Number at risk at time ``t``: the subjects with ``AVAL >= t`` (R ``survfit``'s ``n.risk``).
* Censor ticks at each time with a censored observation, at the curve's height there.
* The band is drawn where it is defined: ``[1, 1]`` while the estimate is 1, none where it is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cart19.config import Config

DEFAULT_PARAMS: tuple[str, ...] = ("OS", "EFS", "DOR")

STEP_SCHEMA: dict[str, pl.DataType] = {
    "PARAMCD": pl.String(),
    "time": pl.Float64(),
    "surv": pl.Float64(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
    "n_risk": pl.Int64(),
    "n_event": pl.Int64(),
    "n_censor": pl.Int64(),
}
AT_RISK_SCHEMA: dict[str, pl.DataType] = {
    "PARAMCD": pl.String(),
    "time_months": pl.Float64(),
    "time_days": pl.Float64(),
    "n_risk": pl.Int64(),
}
MEDIAN_SCHEMA: dict[str, pl.DataType] = {
    "PARAMCD": pl.String(),
    "PARAM": pl.String(),
    "N": pl.Int64(),
    "events": pl.Int64(),
    "median": pl.Float64(),
    "median_lower": pl.Float64(),
    "median_upper": pl.Float64(),
}


@dataclass(frozen=True)
class KMPlotData:
    """``steps``: per parameter the curve at time 0 (``surv = 1``) and at each distinct
    observed time (days); ``at_risk``: per parameter the number at risk at each tick of the
    table; ``medians``: per parameter N, events and the median with its CI (days, null when
    not reached), as ``cart19 km``; ``days_per_month``, ``confidence_level`` as used."""

    steps: pl.DataFrame
    at_risk: pl.DataFrame
    medians: pl.DataFrame
    days_per_month: float
    confidence_level: float

    @property
    def params(self) -> list[str]:
        return self.medians["PARAMCD"].to_list()


def at_risk_ticks(max_days: float, days_per_month: float) -> list[float]:
    """Months at which the at-risk table is shown: every 3 months (6 beyond 36 months), from 0
    to the last observed time."""
    months = max_days / days_per_month if max_days > 0 else 0.0
    step = 3 if months <= 36 else 6
    return [float(m) for m in range(0, int(math.floor(months)) + 1, step)]


def km_plot_data(adtte: pl.DataFrame, params: Sequence[str], config: Config) -> KMPlotData:
    """The curves, numbers at risk and medians of ``params`` (in the order given) from an
    ADTTE-shaped frame (``PARAMCD``, ``AVAL`` in days, ``CNSR``; ``PARAM`` used when present).

    A parameter with no rows is kept with ``N = 0`` and no curve."""
    from cart19.engine.km import km_curve, km_quantile

    level, dpm = config.km.confidence_level, config.km.days_per_month
    steps: list[pl.DataFrame] = []
    medians: list[dict[str, Any]] = []
    curves = {}
    for code in params:
        rows = adtte.filter(pl.col("PARAMCD") == code)
        label = rows["PARAM"][0] if "PARAM" in rows.columns and rows.height else code
        curve = km_curve(rows["AVAL"].cast(pl.Float64).to_numpy(), (1 - rows["CNSR"].cast(pl.Float64)).to_numpy(),
                         confidence_level=level)  # fmt: skip
        curves[code] = curve
        med, lo, hi = km_quantile(curve, 0.5)
        medians.append({"PARAMCD": code, "PARAM": label, "N": rows.height, "events": int(round(curve.n_event.sum())),
                        "median": med, "median_lower": lo, "median_upper": hi})  # fmt: skip
        one = curve.surv == 1.0
        lower = np.where(one, 1.0, curve.lower)
        upper = np.where(one, 1.0, curve.upper)
        steps.append(
            pl.DataFrame(
                {
                    "PARAMCD": [code] * (curve.time.size + 1),
                    "time": np.concatenate(([0.0], curve.time)),
                    "surv": np.concatenate(([1.0], curve.surv)),
                    "lower": np.concatenate(([1.0], lower)),
                    "upper": np.concatenate(([1.0], upper)),
                    "n_risk": np.concatenate(([curve.n], curve.n_risk)).astype(np.int64),
                    "n_event": np.concatenate(([0], curve.n_event)).astype(np.int64),
                    "n_censor": np.concatenate(([0], curve.n_censor)).astype(np.int64),
                },
                schema=STEP_SCHEMA,
            ).with_columns(pl.col("lower", "upper").fill_nan(None))
        )
    max_days = max((float(c.time[-1]) for c in curves.values() if c.time.size), default=0.0)
    ticks = at_risk_ticks(max_days, dpm)
    at_risk = []
    for code, curve in curves.items():
        for month in ticks:
            t = month * dpm
            i = int(np.searchsorted(curve.time, t, side="left"))
            n = int(curve.n_risk[i]) if i < curve.time.size else 0
            at_risk.append({"PARAMCD": code, "time_months": month, "time_days": t, "n_risk": n})
    return KMPlotData(
        steps=pl.concat(steps) if steps else pl.DataFrame(schema=STEP_SCHEMA),
        at_risk=pl.DataFrame(at_risk, schema=AT_RISK_SCHEMA),
        medians=pl.DataFrame(medians, schema=MEDIAN_SCHEMA),
        days_per_month=dpm,
        confidence_level=level,
    )


# --------------------------------------------------------------------------- drawing

#: Okabe-Ito colours, one per parameter in order.
CURVE_COLOURS: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _median_text(row: dict[str, Any], dpm: float) -> str:
    """``median 141 d = 4.6 mo (95% CI 1-NR d)``: days as ``cart19 km`` reports them."""

    def days(value: float | None) -> str:
        return "NR" if value is None else f"{value:g}"

    if row["median"] is None:
        return f"median not reached (95% CI {days(row['median_lower'])}-{days(row['median_upper'])} d)"
    return (f"median {days(row['median'])} d = {row['median'] / dpm:.1f} mo "
            f"(95% CI {days(row['median_lower'])}-{days(row['median_upper'])} d)")  # fmt: skip


def draw_km(data: KMPlotData, *, title: str | None = None) -> Any:
    """Draw :class:`KMPlotData`; return the figure.

    Artist ids: each curve ``km:<PARAMCD>``, its band ``band:<PARAMCD>``, censor ticks
    ``censor:<PARAMCD>``, median guide ``median:<PARAMCD>``, each at-risk number
    ``atrisk:<PARAMCD>:<months>``.
    """
    from cart19.plot._mpl import pyplot

    plt = pyplot()
    dpm = data.days_per_month
    params = data.params
    n_params = max(len(params), 1)
    fig = plt.figure(figsize=(10, 5.6 + 0.32 * n_params), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[5.0, 0.45 + 0.3 * n_params])
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)

    level = round(data.confidence_level * 100)
    medians = {row["PARAMCD"]: row for row in data.medians.iter_rows(named=True)}
    for index, code in enumerate(params):
        colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
        steps = data.steps.filter(pl.col("PARAMCD") == code)
        row = medians[code]
        if steps.height == 0:
            continue
        months = (steps["time"] / dpm).to_numpy()
        surv = steps["surv"].to_numpy()
        lower = steps["lower"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        upper = steps["upper"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        label = f"{code}: {row['PARAM']}".replace(" (days)", "") if row["PARAM"] != code else code
        label += f"  (N = {row['N']}, {row['events']} events; {_median_text(row, dpm)})"
        (line,) = ax.step(months, surv, where="post", color=colour, lw=1.8, label=label)
        line.set_gid(f"km:{code}")
        band = ax.fill_between(months, lower, upper, step="post", color=colour, alpha=0.11, lw=0)
        band.set_gid(f"band:{code}")
        censored = steps.filter(pl.col("n_censor") > 0)
        if censored.height:
            ticks = ax.scatter((censored["time"] / dpm).to_list(), censored["surv"].to_list(), marker="|", s=60,
                               color=colour, linewidths=1.3, zorder=3)  # fmt: skip
            ticks.set_gid(f"censor:{code}")
        if row["median"] is not None:
            m = row["median"] / dpm
            (guide,) = ax.plot([0, m, m], [0.5, 0.5, 0], ls=":", lw=1.0, color=colour)
            guide.set_gid(f"median:{code}")
            ax.plot([m], [0.5], marker="o", ms=5, color=colour, zorder=4)

    ax.axhline(0.5, color="#BBBBBB", lw=0.6, zorder=0)
    ax.set_ylim(-0.02, 1.03)
    ax.set_ylabel("Probability (Kaplan-Meier)")
    ax.set_title(title or f"Kaplan-Meier estimates with pointwise {level}% log-log confidence bands", loc="left",
                 fontsize=11)  # fmt: skip
    ax.grid(color="#EEEEEE")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper right", fontsize=8, frameon=False, title="| censored   o median", title_fontsize=8)
    ax.tick_params(labelbottom=True)
    ax.set_xlabel("Months from start (infusion; first response for DOR; 1 month = %g days)" % dpm)

    ticks = sorted(set(data.at_risk["time_months"].to_list()))
    right = max(ticks[-1] if ticks else 0, (data.steps["time"].max() or 0) / dpm) * 1.03 or 1
    ax.set_xlim(-0.01 * right, right)
    ax.set_xticks(ticks)
    table.set_ylim(n_params - 0.5, -1.2)
    table.set_yticks(range(len(params)), params)
    for index, code in enumerate(params):
        colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
        table.get_yticklabels()[index].set_color(colour)
        for row in data.at_risk.filter(pl.col("PARAMCD") == code).iter_rows(named=True):
            text = table.text(row["time_months"], index, str(row["n_risk"]), ha="center", va="center", fontsize=8.5,
                              color=colour)  # fmt: skip
            text.set_gid(f"atrisk:{code}:{row['time_months']:g}")
    table.text(0.0, 1.0, "Number at risk", transform=table.transAxes, fontsize=9, fontweight="bold", va="top")
    table.tick_params(axis="x", labelbottom=False, length=0)
    table.tick_params(axis="y", length=0)
    for side in ("top", "right", "bottom", "left"):
        table.spines[side].set_visible(False)
    return fig
