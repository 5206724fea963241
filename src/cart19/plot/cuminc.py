"""Cumulative incidence of relapse (CIR) and of death without relapse (NRM), as competing risks.

The numbers are ``cart19 cuminc``'s: the relapse-incidence dataset of
:func:`cart19.engine.relapse.cir_dataset` (one time ``AVAL`` in days and one ``EVENT`` per
subject: 1 relapse, 2 death without relapse, 0 censored) and the Aalen-Johansen estimate of
:func:`cart19.engine.cuminc.cif_curve` (R's ``cmprsk::cuminc``), with the pointwise log(-log)
band of :func:`cart19.engine.cuminc.cif_limits`. Here they become plot data
(:func:`cuminc_plot_data`, pure) and a figure (:func:`draw_cuminc`).

* Time axis in months (``km.days_per_month``) from the start of the dataset: the first
  remission (``cuminc.origin = "remission"``, the default) or the infusion.
* Each curve starts at 0 at time 0, steps at each event of its cause and is drawn up to the
  largest time of the sample (where cmprsk's estimate is defined).
* Relapse: solid line; NRM: dashed line. With groups (``--by``), one colour per group and no
  band; without, a colour per cause and the band of each cause, or only the relapse band when
  the two bands overlap.
* Number at risk at ``t``: the subjects with ``AVAL >= t``, per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cart19.config import Config

#: The causes drawn: (EVENT code, short name, legend text, line style).
CAUSES: tuple[tuple[int, str, str, str], ...] = (
    (1, "relapse", "Relapse (CIR)", "-"),
    (2, "nrm", "Death without relapse (NRM)", "--"),
)
OVERALL = "All subjects"

STEP_SCHEMA: dict[str, pl.DataType] = {
    "group": pl.String(),
    "cause": pl.String(),
    "time": pl.Float64(),
    "estimate": pl.Float64(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
}
COUNT_SCHEMA: dict[str, pl.DataType] = {"group": pl.String(), "cause": pl.String(), "N": pl.Int64(),
                                        "events": pl.Int64()}  # fmt: skip
AT_RISK_SCHEMA: dict[str, pl.DataType] = {"group": pl.String(), "time_months": pl.Float64(), "n_risk": pl.Int64()}


@dataclass(frozen=True)
class CumincPlotData:
    """``steps``: per group and cause, the curve at time 0 (estimate 0) and at each event time
    of the cause (days), then at the last time of the sample; ``counts``: N and events per
    group and cause; ``at_risk``: per group the number at risk at each tick; ``groups``: the
    group names in order (``[OVERALL]`` without ``--by``); ``origin``: what time counts from."""

    steps: pl.DataFrame
    counts: pl.DataFrame
    at_risk: pl.DataFrame
    groups: list[str]
    origin: str
    days_per_month: float
    confidence_level: float


def cuminc_plot_data(dataset: pl.DataFrame, config: Config, groups: pl.DataFrame | None = None) -> CumincPlotData:
    """The curves of relapse and NRM from a relapse-incidence dataset (``USUBJID``, ``AVAL`` in
    days, ``EVENT``), overall or per group of ``groups`` (``subject_id``, ``group``; a subject
    absent from it is in ``"(missing)"``), groups sorted by their text."""
    from cart19.engine.cuminc import cif_curve, cif_limits
    from cart19.plot.km import at_risk_ticks

    level, dpm = config.km.confidence_level, config.km.days_per_month
    frame = dataset.select(pl.col("USUBJID").cast(pl.String), pl.col("AVAL").cast(pl.Float64),
                           pl.col("EVENT").cast(pl.Int64))  # fmt: skip
    if groups is None:
        frame = frame.with_columns(pl.lit(OVERALL).alias("group"))
    else:
        frame = frame.join(
            groups.select(pl.col("subject_id").cast(pl.String).alias("USUBJID"), pl.col("group").cast(pl.String)),
            on="USUBJID",
            how="left",
        ).with_columns(pl.col("group").fill_null("(missing)"))
    names = sorted(frame.get_column("group").unique().to_list()) if groups is not None else [OVERALL]
    steps: list[pl.DataFrame] = []
    counts: list[dict[str, Any]] = []
    for name in names:
        rows = frame.filter(pl.col("group") == name)
        time, status = rows["AVAL"].to_numpy(), rows["EVENT"].to_numpy()
        for code, cause, _, _ in CAUSES:
            curve = cif_curve(time, status, code)
            counts.append({"group": name, "cause": cause, "N": curve.n, "events": curve.events})
            if curve.n == 0:
                continue
            lower, upper = cif_limits(curve.estimate, curve.variance, level)
            last = curve.estimate[-1] if curve.time.size else 0.0
            t = np.concatenate(([0.0], curve.time, [curve.max_time]))
            estimate = np.concatenate(([0.0], curve.estimate, [last]))
            lo = np.concatenate(([np.nan], lower, [lower[-1] if lower.size else np.nan]))
            hi = np.concatenate(([np.nan], upper, [upper[-1] if upper.size else np.nan]))
            steps.append(pl.DataFrame({"group": [name] * t.size, "cause": [cause] * t.size, "time": t,
                                       "estimate": estimate, "lower": lo, "upper": hi},
                                      schema=STEP_SCHEMA).with_columns(pl.col("lower", "upper").fill_nan(None)))  # fmt: skip
    max_days = float(frame["AVAL"].max() or 0.0) if frame.height else 0.0  # type: ignore[arg-type]
    at_risk = []
    for name in names:
        aval = frame.filter(pl.col("group") == name)["AVAL"].to_numpy()
        for month in at_risk_ticks(max_days, dpm):
            at_risk.append({"group": name, "time_months": month, "n_risk": int(np.count_nonzero(aval >= month * dpm))})
    origin = "the first remission" if config.cuminc.origin == "remission" else "the infusion"
    return CumincPlotData(
        steps=pl.concat(steps) if steps else pl.DataFrame(schema=STEP_SCHEMA),
        counts=pl.DataFrame(counts, schema=COUNT_SCHEMA),
        at_risk=pl.DataFrame(at_risk, schema=AT_RISK_SCHEMA),
        groups=names,
        origin=origin,
        days_per_month=dpm,
        confidence_level=level,
    )


#: Colours: per cause without groups, per group with them (Okabe-Ito).
CAUSE_COLOURS = {"relapse": "#D55E00", "nrm": "#0072B2"}
GROUP_COLOURS: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _band_frame(steps: pl.DataFrame) -> pl.DataFrame:
    """Steps in the shape :func:`cart19.plot.km.bands_overlap` compares."""
    return steps.select("time", "lower", "upper")


def draw_cuminc(data: CumincPlotData, *, by: str | None = None, title: str | None = None) -> Any:
    """Draw :class:`CumincPlotData`; return the figure (axes 0: the curves, legend above them,
    outside; axes 1: the numbers at risk).

    Artist ids: each curve ``cif:<group>:<cause>``, its band ``band:<group>:<cause>``, each
    at-risk number ``atrisk:<group>:<months>``.
    """
    from cart19.plot._mpl import pyplot
    from cart19.plot.km import bands_overlap

    plt = pyplot()
    from cart19.text import escape_controls

    dpm = data.days_per_month
    grouped = data.groups != [OVERALL]
    rows = len(data.groups)
    fig = plt.figure(figsize=(10, 6.4 + 0.3 * rows), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[5.0, 0.45 + 0.3 * rows])
    ax = fig.add_subplot(grid[0])
    table = fig.add_subplot(grid[1], sharex=ax)
    level = round(data.confidence_level * 100)
    counts = {(r["group"], r["cause"]): r for r in data.counts.iter_rows(named=True)}
    banded: list[tuple[str, str]] = []
    if not grouped:
        present = [c for _, c, _, _ in CAUSES if data.steps.filter(pl.col("cause") == c).height]
        frames = [_band_frame(data.steps.filter(pl.col("cause") == c)) for c in present]
        clash = len(frames) == 2 and bands_overlap(frames[0], frames[1])
        banded = [(OVERALL, c) for c in (present[:1] if clash else present)]
    for index, name in enumerate(data.groups):
        shown_name = escape_controls(name)
        for _, cause, text, style in CAUSES:
            steps = data.steps.filter((pl.col("group") == name) & (pl.col("cause") == cause))
            if steps.height == 0:
                continue
            colour = GROUP_COLOURS[index % len(GROUP_COLOURS)] if grouped else CAUSE_COLOURS[cause]
            months = (steps["time"] / dpm).to_numpy()
            count = counts[(name, cause)]
            label = f"{text}: {count['events']} of N = {count['N']}"
            if grouped:
                label = f"{by or 'group'} = {shown_name}, {label}"
            (line,) = ax.step(months, steps["estimate"].to_numpy(), where="post", color=colour, ls=style, lw=1.8,
                              label=label)  # fmt: skip
            line.set_gid(f"cif:{name}:{cause}")
            if (name, cause) in banded:
                lower = steps["lower"].cast(pl.Float64).fill_null(np.nan).to_numpy()
                upper = steps["upper"].cast(pl.Float64).fill_null(np.nan).to_numpy()
                shade = ax.fill_between(months, lower, upper, step="post", color=colour, alpha=0.14, lw=0)
                shade.set_gid(f"band:{name}:{cause}")
    highest = data.steps.select(pl.max_horizontal(pl.col("estimate").max(), pl.col("upper").max())).item() or 0.0
    ax.set_ylim(-0.02, min(1.02, max(0.5, 1.1 * highest)))  # the scale of the curves, at least 0 to 0.5
    ax.set_ylabel("Cumulative incidence (relapse, NRM)")
    ax.set_xlabel(f"Months from {data.origin}; 1 month = {dpm:g} days")
    ax.grid(color="#EEEEEE")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if banded:
        every = len(banded) == 2
        note = f"shaded: {level}% CI (log-log)" + ("" if every else " of relapse only (the bands overlap)")
    else:
        note = "solid: relapse   dashed: death without relapse" if grouped else ""
    if data.steps.height:
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=8.5, frameon=False, title=note or None,
                  title_fontsize=8, alignment="left", borderaxespad=0.0, ncols=2 if grouped else 1)  # fmt: skip
    ticks = sorted(set(data.at_risk["time_months"].to_list()))
    last = (data.steps["time"].max() or 0) / dpm if data.steps.height else 0  # type: ignore[operator]
    right = max(ticks[-1] if ticks else 0, last) * 1.03 or 1
    ax.set_xlim(-0.01 * right, right)
    ax.set_xticks(ticks)
    ax.tick_params(labelbottom=True)
    table.set_ylim(rows - 0.5, -1.2)
    table.set_yticks(range(rows), [escape_controls(g) for g in data.groups])
    for label in table.get_yticklabels():
        label.set_parse_math(False)  # group names are data
    for index, name in enumerate(data.groups):
        colour = GROUP_COLOURS[index % len(GROUP_COLOURS)] if grouped else "#000000"
        table.get_yticklabels()[index].set_color(colour)
        for row in data.at_risk.filter(pl.col("group") == name).iter_rows(named=True):
            text = table.text(row["time_months"], index, str(row["n_risk"]), ha="center", va="center", fontsize=8.5,
                              color=colour)  # fmt: skip
            text.set_gid(f"atrisk:{name}:{row['time_months']:g}")
    table.text(0.0, 1.0, "Number at risk", transform=table.transAxes, fontsize=9, fontweight="bold", va="top")
    table.tick_params(axis="x", labelbottom=False, length=0)
    table.tick_params(axis="y", length=0, pad=12)
    for side in ("top", "right", "bottom", "left"):
        table.spines[side].set_visible(False)
    heading = title or "Cumulative incidence of relapse and of death without relapse (Aalen-Johansen)"
    fig.suptitle(heading, x=0.01, ha="left", fontsize=11)
    return fig
