"""Kaplan-Meier curves of the ADTTE parameters, with the numbers at risk under the axis.

The estimator is :mod:`cart19.engine.km`'s (the one ``cart19 km`` reports): the product-limit
curve with Greenwood variance, the pointwise 95% log-log band, and R's median. Here that curve
is turned into plot data (:func:`km_plot_data`, pure) and drawn (:func:`draw_km`).

* Time axis in months (``km.days_per_month``, 30.4375 by default); ``AVAL`` is in days on the
  1-day basis (``AVAL = ADT - STARTDT + 1``), used as it is, as ``cart19 km`` does.
* Number at risk at time ``t``: the subjects with ``AVAL >= t`` (R ``survfit``'s ``n.risk``).
* Censor ticks at each time with a censored observation, at the curve's height there.
* The band is drawn where it is defined: ``[1, 1]`` while the estimate is 1, none where it is 0.
  When the bands of two curves of a panel overlap, one band is drawn (the first curve's, or the
  one asked for): overlapping tinted areas cannot be read.
* Each time origin has its own panel, time axis and at-risk table: OS and EFS count from the
  infusion (their ``origin_event``), DOR and RFS from the first response or remission, any
  other parameter of an ADTTE table from its own start date. The axis names only the
  parameters drawn on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
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
    #: per parameter: (panel key, what its time counts from), see :func:`param_origins`
    origins: dict[str, tuple[str, str]] = dataclass_field(default_factory=dict)

    @property
    def params(self) -> list[str]:
        return self.medians["PARAMCD"].to_list()

    def panels(self) -> list[list[str]]:
        """The parameters of each panel (one per time origin), in the order of first use."""
        panels: dict[str, list[str]] = {}
        for code in self.params:
            panels.setdefault(self.origins.get(code, _START)[0], []).append(code)
        return list(panels.values())


_START = ("start", "the start date (STARTDT)")


def param_origins(params: Sequence[str], config: Config) -> dict[str, tuple[str, str]]:
    """Per parameter: the key of its panel (parameters with one time origin share a panel) and
    what its time counts from. OS and the EFS parameters: their ``origin_event`` (the infusion);
    DOR: the first response; RFS (and CIR when ``cuminc.origin = "remission"``): the first
    remission; DOR, RFS and CIR share the "response" panel. Any other code: its start date."""
    known: dict[str, tuple[str, str]] = {config.os.paramcd: (f"event:{config.os.origin_event}",
                                                             f"the {config.os.origin_event.replace('_', ' ')}")}  # fmt: skip
    for p in config.efs.parameters:
        known[p.paramcd] = (f"event:{config.efs.origin_event}", f"the {config.efs.origin_event.replace('_', ' ')}")
    known[config.dor.paramcd] = ("response", "the first response")
    known[config.rfs.paramcd] = ("response", "the first remission")
    if config.cuminc.origin == "remission":
        known.setdefault(config.cuminc.paramcd, ("response", "the first remission"))
    else:
        known.setdefault(config.cuminc.paramcd, ("event:infusion", "the infusion"))
    return {code: known.get(code, _START) for code in params}


def at_risk_ticks(max_days: float, days_per_month: float) -> list[float]:
    """Months at which the at-risk table is shown: every 3 months (6 beyond 36 months), from 0
    to the last observed time."""
    months = max_days / days_per_month if max_days > 0 else 0.0
    step = 3 if months <= 36 else 6
    return [float(m) for m in range(0, int(math.floor(months)) + 1, step)]


def km_plot_data(adtte: pl.DataFrame, params: Sequence[str], config: Config) -> KMPlotData:
    """The curves, numbers at risk and medians of ``params`` (in the order given) from an
    ADTTE-shaped frame (``PARAMCD``, ``AVAL`` in days, ``CNSR``; ``PARAM`` used when present).
    The at-risk ticks of a panel run to the last time of its parameters (:func:`param_origins`).

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
    origins = param_origins(list(params), config)
    panel_max: dict[str, float] = {}
    for code, curve in curves.items():
        key = origins[code][0]
        panel_max[key] = max(panel_max.get(key, 0.0), float(curve.time[-1]) if curve.time.size else 0.0)
    at_risk = []
    for code, curve in curves.items():
        for month in at_risk_ticks(panel_max[origins[code][0]], dpm):
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
        origins=origins,
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


def bands_overlap(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """True when two curves' bands (step frames of :data:`STEP_SCHEMA`) share some area: at
    some time where both are defined, the intervals ``[lower, upper]`` intersect (apart from
    the common start at 1)."""
    times = np.union1d(a["time"].to_numpy(), b["time"].to_numpy())
    times = times[(times > 0) & (times <= min(a["time"].max(), b["time"].max()))]  # type: ignore[operator]
    if times.size == 0:
        return False

    def at(steps: pl.DataFrame, column: str) -> np.ndarray:
        i = np.searchsorted(steps["time"].to_numpy(), times, side="right") - 1
        return steps[column].cast(pl.Float64).fill_null(np.nan).to_numpy()[i]

    low = np.fmax(at(a, "lower"), at(b, "lower"))
    high = np.fmin(at(a, "upper"), at(b, "upper"))
    inner = ~np.isnan(low) & ~np.isnan(high) & (high < 1.0)
    return bool(np.any(low[inner] <= high[inner]))


def bands_to_draw(data: KMPlotData, panel: Sequence[str], band: str | None = None) -> list[str]:
    """The parameters of ``panel`` whose band is drawn. ``band``: None (every band when no two
    overlap, else the first curve's only), ``"all"``, ``"none"``, or a parameter code (that
    one's band only)."""
    drawn = [c for c in panel if data.steps.filter(pl.col("PARAMCD") == c).height]
    if band == "all":
        return drawn
    if band == "none":
        return []
    if band is not None:
        return [c for c in drawn if c.upper() == band.upper()]
    steps = {c: data.steps.filter(pl.col("PARAMCD") == c) for c in drawn}
    clash = any(bands_overlap(steps[x], steps[y]) for i, x in enumerate(drawn) for y in drawn[i + 1 :])
    return drawn[:1] if clash else drawn


def _axis_label(data: KMPlotData, panel: Sequence[str]) -> str:
    """``Months from the infusion (OS, EFS; 1 month = 30.4375 days)``: only what is drawn."""
    texts: dict[str, list[str]] = {}
    for code in panel:
        texts.setdefault(data.origins.get(code, _START)[1], []).append(code)
    parts = [f"{text} ({', '.join(codes)})" for text, codes in texts.items()]
    return f"Months from {' or '.join(parts)}; 1 month = {data.days_per_month:g} days"


def draw_km(data: KMPlotData, *, title: str | None = None, band: str | None = None) -> Any:
    """Draw :class:`KMPlotData`; return the figure: one panel per time origin
    (:meth:`KMPlotData.panels`), each a curve axes with its legend above it (outside the
    curves) and its at-risk table under it. ``band`` as :func:`bands_to_draw`.

    Artist ids: each curve ``km:<PARAMCD>``, its band ``band:<PARAMCD>``, censor ticks
    ``censor:<PARAMCD>``, median guide ``median:<PARAMCD>``, each at-risk number
    ``atrisk:<PARAMCD>:<months>``; each curve axes ``panel:<first PARAMCD>``.
    """
    from cart19.plot._mpl import pyplot

    plt = pyplot()
    dpm = data.days_per_month
    panels = data.panels() or [[]]
    rows = max(len(p) for p in panels) or 1
    fig = plt.figure(figsize=(8.4 * len(panels), 6.2 + 0.5 * rows), layout="constrained")
    grid = fig.add_gridspec(2, len(panels), height_ratios=[5.0, 0.45 + 0.3 * rows])
    level = round(data.confidence_level * 100)
    medians = {row["PARAMCD"]: row for row in data.medians.iter_rows(named=True)}
    colour_of = {code: CURVE_COLOURS[i % len(CURVE_COLOURS)] for i, code in enumerate(data.params)}
    for column, panel in enumerate(panels):
        ax = fig.add_subplot(grid[0, column])
        table = fig.add_subplot(grid[1, column], sharex=ax)
        ax.set_gid(f"panel:{panel[0]}" if panel else "panel:")
        banded = bands_to_draw(data, panel, band)
        for code in panel:
            _draw_curve(ax, data, code, medians[code], colour_of[code], code in banded)
        ax.axhline(0.5, color="#BBBBBB", lw=0.6, zorder=0)
        ax.set_ylim(-0.02, 1.03)
        ax.set_ylabel(f"Kaplan-Meier estimate ({', '.join(panel)})" if panel else "Kaplan-Meier estimate")
        ax.grid(color="#EEEEEE")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        drawn = [c for c in panel if data.steps.filter(pl.col("PARAMCD") == c).height]
        note = "| censored   o median"
        if banded != drawn and banded:
            note += f"   shaded: {level}% CI of {', '.join(banded)} only (the bands overlap)"
        elif banded:
            note += f"   shaded: {level}% CI"
        if drawn:
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=8, frameon=False, title=note,
                      title_fontsize=8, alignment="left", borderaxespad=0.0)  # fmt: skip
        ax.tick_params(labelbottom=True)
        ax.set_xlabel(_axis_label(data, panel))
        at_risk = data.at_risk.filter(pl.col("PARAMCD").is_in(list(panel)))
        ticks = sorted(set(at_risk["time_months"].to_list()))
        last = data.steps.filter(pl.col("PARAMCD").is_in(list(panel)))["time"].max() or 0
        right = max(ticks[-1] if ticks else 0, last / dpm) * 1.03 or 1  # type: ignore[operator]
        ax.set_xlim(-0.01 * right, right)
        ax.set_xticks(ticks)
        table.set_ylim(len(panel) - 0.5, -1.2)
        table.set_yticks(range(len(panel)), panel)
        for index, code in enumerate(panel):
            table.get_yticklabels()[index].set_color(colour_of[code])
            for row in at_risk.filter(pl.col("PARAMCD") == code).iter_rows(named=True):
                text = table.text(row["time_months"], index, str(row["n_risk"]), ha="center", va="center",
                                  fontsize=8.5, color=colour_of[code])  # fmt: skip
                text.set_gid(f"atrisk:{code}:{row['time_months']:g}")
        table.text(0.0, 1.0, "Number at risk", transform=table.transAxes, fontsize=9, fontweight="bold", va="top")
        table.tick_params(axis="x", labelbottom=False, length=0)
        table.tick_params(axis="y", length=0, pad=12)
        for side in ("top", "right", "bottom", "left"):
            table.spines[side].set_visible(False)
    fig.suptitle(title or f"Kaplan-Meier estimates with pointwise {level}% log-log confidence bands", x=0.01,
                 ha="left", fontsize=11)  # fmt: skip
    return fig


def _draw_curve(ax: Any, data: KMPlotData, code: str, row: dict[str, Any], colour: str, band: bool) -> None:
    dpm = data.days_per_month
    steps = data.steps.filter(pl.col("PARAMCD") == code)
    if steps.height == 0:
        return
    months = (steps["time"] / dpm).to_numpy()
    surv = steps["surv"].to_numpy()
    label = f"{code}: {row['PARAM']}".replace(" (days)", "") if row["PARAM"] != code else code
    label += f"  (N = {row['N']}, {row['events']} events; {_median_text(row, dpm)})"
    (line,) = ax.step(months, surv, where="post", color=colour, lw=1.8, label=label)
    line.set_gid(f"km:{code}")
    if band:
        lower = steps["lower"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        upper = steps["upper"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        shade = ax.fill_between(months, lower, upper, step="post", color=colour, alpha=0.14, lw=0)
        shade.set_gid(f"band:{code}")
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
