"""The swimmer plot: one lane per infused subject, from the infusion to the last follow-up.

:func:`swimmer_data` is pure (events in, frames out) and holds every decision; :func:`draw_swimmer`
only draws what it is given.

* **Lanes** - "Origin: the infusion date, study day 0": one lane per subject in the treated set,
  from day 0 to the last follow-up (the subject's latest date of any record, AE end dates
  included: the "last known alive" date of OS, or the death). Lanes are ordered by follow-up,
  **longest at the top** (ties: subject ID).
* **Colour** - the best response to the infusion, best first: CR > CRh > CRi > MLFS > PR >
  NR/PD/NE (endpoints.md, "Response sets"). Only assessments that count as "response to the
  infusion" (before any ``new_therapy``, before a salvage ``hsct``) give the colour; the engine's
  :func:`cart19.engine.tte.follow_up` decides which those are.
  The colour is drawn twice: on the lane, and in a "best response" cell left of the lane (with
  its text), which no marker covers.
* **Markers** - each assessment on or after day 0 (coloured by its result; hollow when it does
  not count as a response to the infusion), each relapse (by site), HSCT, new therapy, death
  (by cause), withdrawal, and each DLT (the qualifying AE records of
  :func:`cart19.engine.dlt.dlt_review`) on a thin DLT track of its own just above the lane.
  Every kind has its own shape, so the plot reads in grey too. An arrow past the lane's end
  marks a subject alive and still followed.
* **The DLT window** (day 0 to ``dlt.window_days``) is shaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from cart19.config import Config
from cart19.model import ASSESSMENT_RESULTS

#: Best response first: "best = CR > CRh > CRi > MLFS > PR > NR/PD/NE".
RESPONSE_RANK: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE")
#: Lane colour groups, best first; NR, PD and NE share a colour.
RESPONSE_GROUPS: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR", "NR/PD/NE", "not assessed")
_GROUP_OF = {"CR": "CR", "CRh": "CRh", "CRi": "CRi", "MLFS": "MLFS", "PR": "PR", "NR": "NR/PD/NE",
             "PD": "NR/PD/NE", "NE": "NR/PD/NE"}  # fmt: skip
assert set(RESPONSE_RANK) == set(ASSESSMENT_RESULTS)

#: Marker kinds, in legend order.
MARKER_KINDS: tuple[str, ...] = ("assessment", "relapse", "hsct", "new_therapy", "death", "withdrawal", "dlt")

LANE_SCHEMA: dict[str, pl.DataType] = {
    "lane": pl.Int64(),
    "subject_id": pl.String(),
    "infusion_date": pl.Date(),
    "last_date": pl.Date(),
    "end_day": pl.Int64(),
    "best_response": pl.String(),
    "response_group": pl.String(),
    "outcome": pl.String(),
}

MARKER_SCHEMA: dict[str, pl.DataType] = {
    "lane": pl.Int64(),
    "subject_id": pl.String(),
    "day": pl.Int64(),
    "kind": pl.String(),
    "detail": pl.String(),
    "counted": pl.Boolean(),
    "line": pl.Int64(),
}


@dataclass(frozen=True)
class SwimmerData:
    """What the swimmer plot shows.

    ``lanes``: one row per infused subject (:data:`LANE_SCHEMA`); ``lane`` 0 is the top lane
    (the longest follow-up). ``end_day`` is the study day of the last follow-up; ``outcome`` is
    ``died``, ``withdrawn`` or ``ongoing``.

    ``markers``: one row per marker (:data:`MARKER_SCHEMA`): ``kind`` in :data:`MARKER_KINDS`,
    ``detail`` the assessment result, the relapse site, the death cause or, for a DLT,
    ``term (grade N)``; ``counted`` is False for an assessment that is not a response to the
    infusion (after new therapy or a salvage HSCT); ``line`` the input line of the record.
    """

    lanes: pl.DataFrame
    markers: pl.DataFrame
    dlt_window_days: int
    review_date: dt.date | None


def _best_response(counted: pl.DataFrame) -> pl.DataFrame:
    rank = {r: i for i, r in enumerate(RESPONSE_RANK)}
    return (
        counted.with_columns(pl.col("result").replace_strict(rank, return_dtype=pl.Int64()).alias("_rank"))
        .sort("subject_id", "_rank", "date", "line")
        .group_by("subject_id", maintain_order=True)
        .first()
        .select("subject_id", pl.col("result").alias("best_response"))
    )


def swimmer_data(events: pl.DataFrame, config: Config, dlt_events: pl.DataFrame | None = None) -> SwimmerData:
    """The swimmer plot's lanes and markers from the canonical events frame (after any cutoff).

    ``dlt_events`` is :attr:`cart19.engine.dlt.DLTReview.dlt_events` (``subject_id, line, term,
    grade, study_day``); by default it is computed with :func:`cart19.engine.dlt.dlt_review`.
    """
    from cart19.engine.common import last_record_date, treated_subjects
    from cart19.engine.dlt import dlt_review
    from cart19.engine.tte import follow_up, timeline

    review_date = None
    if dlt_events is None:
        review = dlt_review(events, config)
        dlt_events, review_date = review.dlt_events, review.review_date

    treated = treated_subjects(events)
    if treated.height == 0:
        return SwimmerData(pl.DataFrame(schema=LANE_SCHEMA), pl.DataFrame(schema=MARKER_SCHEMA),
                           config.dlt.window_days, review_date)  # fmt: skip

    last = last_record_date(events)
    # The whole follow-up is the window here: the colour is the best response ever recorded
    # that counts as a response to the infusion.
    span = int(
        treated.join(last, on="subject_id")
        .select((pl.col("last_date") - pl.col("infusion_date")).dt.total_days().max())
        .item()
        or 0
    )
    fu = follow_up(timeline(events), max(span, 0) + 1, config.response_sets.response)
    counted = fu.counted.select(pl.col("subject_id").cast(pl.String()), "date", "line", "result")
    best = _best_response(counted)

    ends = events.filter(pl.col("event").is_in(["death", "withdrawal"])).group_by("subject_id").agg(
        (pl.col("event") == "death").any().alias("_died")
    )
    lanes = (
        treated.join(last, on="subject_id", how="left")
        .join(best, on="subject_id", how="left")
        .join(ends, on="subject_id", how="left")
        .with_columns(
            (pl.col("last_date") - pl.col("infusion_date")).dt.total_days().clip(lower_bound=0).alias("end_day"),
            pl.col("best_response").replace_strict(_GROUP_OF, default="not assessed").alias("response_group"),
            pl.when(pl.col("_died"))
            .then(pl.lit("died"))
            .when(pl.col("_died").is_not_null())
            .then(pl.lit("withdrawn"))
            .otherwise(pl.lit("ongoing"))
            .alias("outcome"),
        )
        .sort(["end_day", "subject_id"], descending=[True, False])
        .with_row_index("lane")
        .with_columns(pl.col("lane").cast(pl.Int64()))
        .select(list(LANE_SCHEMA))
    )

    day = (pl.col("date") - pl.col("infusion_date")).dt.total_days()
    on_study = events.join(lanes.select("subject_id", "lane", "infusion_date"), on="subject_id").filter(day >= 0)
    counted_lines = counted.get_column("line")
    record_markers = on_study.filter(
        pl.col("event").is_in(["assessment", "relapse", "hsct", "new_therapy", "death", "withdrawal"])
    ).select(
        "lane",
        "subject_id",
        day.alias("day"),
        pl.col("event").alias("kind"),
        pl.col("result").alias("detail"),
        pl.when(pl.col("event") == "assessment").then(pl.col("line").is_in(counted_lines.implode())).otherwise(True).alias("counted"),
        "line",
    )
    dlt_markers = (
        dlt_events.join(lanes.select("subject_id", "lane"), on="subject_id")
        .select(
            "lane",
            "subject_id",
            pl.col("study_day").cast(pl.Int64()).alias("day"),
            pl.lit("dlt").alias("kind"),
            (pl.col("term") + pl.lit(" (grade ") + pl.col("grade").cast(pl.String()) + pl.lit(")")).alias("detail"),
            pl.lit(True).alias("counted"),
            pl.col("line").cast(pl.Int64()),
        )
    )
    kind_order = {k: i for i, k in enumerate(MARKER_KINDS)}
    markers = (
        pl.concat([record_markers.cast(MARKER_SCHEMA), dlt_markers.cast(MARKER_SCHEMA)], how="vertical")  # type: ignore[arg-type]
        .with_columns(pl.col("kind").replace_strict(kind_order, return_dtype=pl.Int64()).alias("_k"))
        .sort("lane", "day", "_k", "line")
        .drop("_k")
    )
    return SwimmerData(lanes, markers, config.dlt.window_days, review_date)


# --------------------------------------------------------------------------- drawing

DAYS_PER_MONTH = 30.4375

#: Lane colours by best-response group (colour-blind-safe, Okabe-Ito based).
RESPONSE_COLOURS: dict[str, str] = {
    "CR": "#009E73",
    "CRh": "#56B4E9",
    "CRi": "#0072B2",
    "MLFS": "#F0E442",
    "PR": "#E69F00",
    "NR/PD/NE": "#999999",
    "not assessed": "#DDDDDD",
}
#: The text of the best-response cell of each group.
RESPONSE_CELL_TEXT: dict[str, str] = {"CR": "CR", "CRh": "CRh", "CRi": "CRi", "MLFS": "MLFS", "PR": "PR",
                                      "NR/PD/NE": "NR", "not assessed": "-"}  # fmt: skip

#: Marker style of each (kind, detail); detail None = any. Each entry has a shape of its own.
MARKER_STYLES: dict[tuple[str, str | None], dict[str, Any]] = {
    ("relapse", "hematologic"): {"marker": "*", "color": "#D55E00", "s": 130, "label": "Relapse, haematologic"},
    ("relapse", "extramedullary"): {"marker": "h", "color": "#D55E00", "s": 80, "label": "Relapse, extramedullary"},
    ("hsct", None): {"marker": "^", "color": "#332288", "s": 70, "label": "HSCT"},
    ("new_therapy", None): {"marker": "d", "color": "#AA4499", "s": 80, "label": "New therapy"},
    ("death", "disease"): {"marker": "X", "color": "#000000", "s": 100, "label": "Death: disease"},
    ("death", "toxicity"): {"marker": "P", "color": "#CC0000", "s": 100, "label": "Death: toxicity"},
    ("death", "other"): {"marker": "s", "color": "#444444", "s": 60, "label": "Death: other"},
    ("death", "unknown"): {"marker": r"$\mathbf{?}$", "color": "#000000", "s": 150, "label": "Death: unknown cause"},
    ("withdrawal", None): {"marker": "|", "color": "#000000", "s": 260, "label": "Withdrawn (follow-up ends)"},
    ("dlt", None): {"marker": "v", "color": "#CC0000", "s": 40, "label": "DLT onset (track above the lane)"},
}
#: Kinds drawn as line markers (no fill: they need a line width).
_LINE_MARKERS = {"|"}
#: Assessment markers: a small circle in the result's colour (hollow when not counted).
ASSESSMENT_COLOURS: dict[str, str] = {
    "CR": "#009E73", "CRh": "#56B4E9", "CRi": "#0072B2", "MLFS": "#F0E442", "PR": "#E69F00",
    "NR": "#999999", "PD": "#D55E00", "NE": "#FFFFFF",
}  # fmt: skip
LANE_HEIGHT = 0.5
_LANE_ALPHA = 0.5  # lanes lighter than the assessment dots drawn on them
#: The DLT track: above the lane's bar (the y axis points down), in the gap between two lanes.
DLT_OFFSET = -0.39


def figure_height(n_lanes: int) -> float:
    """Inches: grows with the number of lanes so 15, 60 or 150 subjects stay readable (a
    little less per lane beyond 60)."""
    if n_lanes <= 60:
        return max(4.8, 1.8 + 0.32 * n_lanes)
    return 1.8 + 0.32 * 60 + 0.22 * (n_lanes - 60)


#: Lanes a swimmer plot draws by default: more are not readable on a page (and 10,000 lanes
#: would take gigabytes to draw). The lanes kept are those with the longest follow-up.
MAX_LANES = 60
#: Characters of a subject ID shown as a lane label (a longer ID is cut, marked with "…").
LABEL_CHARS = 24


def draw_swimmer(data: SwimmerData, *, time_unit: str = "months", title: str | None = None,
                 max_lanes: int | None = MAX_LANES) -> Any:  # fmt: skip
    """Draw :class:`SwimmerData` and return the matplotlib figure.

    At most ``max_lanes`` lanes are drawn (None: all), those with the longest follow-up; the
    title and a note under the plot then say how many of how many are shown. Subject IDs are
    labels with their control characters escaped and cut to :data:`LABEL_CHARS` characters.

    Two axes: ``figure.axes[0]`` the lanes, ``figure.axes[1]`` the best-response cells.
    Artists carry ids for tests and for SVG users: each lane bar ``lane:<subject_id>``, each
    best-response cell ``response:<subject_id>``, each marker collection
    ``marker:<kind>:<detail>`` (one point per marker), the shaded window ``dlt-window``, the
    arrows past the end of the lanes of subjects still followed ``ongoing``, the note of a cap
    ``cap-note``.
    """
    from cart19.plot._mpl import pyplot

    plt = pyplot()  # first: a clear message when matplotlib is missing
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    if time_unit not in ("days", "months"):
        raise ValueError(f"time_unit must be 'days' or 'months', got {time_unit!r}")
    scale = 1.0 if time_unit == "days" else 1.0 / DAYS_PER_MONTH
    from cart19.text import escape_controls, shorten

    lanes, markers = data.lanes, data.markers
    n_all = lanes.height
    if max_lanes is not None and n_all > max_lanes:  # lanes are numbered longest follow-up first
        lanes = lanes.filter(pl.col("lane") < max_lanes)
        markers = markers.filter(pl.col("lane") < max_lanes)
    n = lanes.height
    dense = n > 30
    fig = plt.figure(figsize=(12.5, figure_height(n)), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[0.55, 12.0], wspace=0.0)
    ax = fig.add_subplot(grid[1])
    cells = fig.add_subplot(grid[0], sharey=ax)

    longest = (lanes["end_day"].max() or 0) * scale
    right = max(longest * 1.06, data.dlt_window_days * scale * 2, 1)
    window = ax.axvspan(0, data.dlt_window_days * scale, color="#CC0000", alpha=0.10, lw=0, zorder=0)
    window.set_gid("dlt-window")

    for row in lanes.iter_rows(named=True):
        subject = escape_controls(row["subject_id"])
        group = row["response_group"]
        bars = ax.barh(row["lane"], row["end_day"] * scale, left=0, height=LANE_HEIGHT,
                       color=to_rgba(RESPONSE_COLOURS[group], _LANE_ALPHA), edgecolor="#555555",
                       linewidth=0.5, zorder=1)  # fmt: skip
        bars.patches[0].set_gid(f"lane:{subject}")
        cell = Rectangle((0.08, row["lane"] - 0.42), 0.84, 0.84, facecolor=RESPONSE_COLOURS[group],
                         edgecolor="#555555", linewidth=0.5)  # fmt: skip
        cell.set_gid(f"response:{subject}")
        cells.add_patch(cell)
        cells.text(0.5, row["lane"], RESPONSE_CELL_TEXT[group], ha="center", va="center",
                       fontsize=8 if not dense else (6.5 if n <= 80 else 6), color="#FFFFFF" if group in ("CRi",) else "#000000")  # fmt: skip
    ongoing = lanes.filter(pl.col("outcome") == "ongoing")
    if ongoing.height:  # past the end of the lane, so that no marker at the last visit hides it
        arrows = ax.scatter((ongoing["end_day"] * scale + 0.012 * right).to_list(), ongoing["lane"].to_list(),
                            marker=">", s=45 if not dense else 30, color="#000000", zorder=5, clip_on=False)  # fmt: skip
        arrows.set_gid("ongoing")

    handles: list[Any] = [Patch(facecolor=RESPONSE_COLOURS[g], edgecolor="#555555", label=f"Best response: {g}")
                          for g in RESPONSE_GROUPS if g in set(lanes["response_group"])]  # fmt: skip
    assessments = markers.filter(pl.col("kind") == "assessment")
    dot = 22 if not dense else 16
    for (result, counted), group in sorted(
        assessments.group_by("detail", "counted"), key=lambda item: (RESPONSE_RANK.index(item[0][0]), not item[0][1])
    ):
        colour = ASSESSMENT_COLOURS[result]
        points = ax.scatter((group["day"] * scale).to_list(), group["lane"].to_list(), marker="o", s=dot, zorder=3,
                            facecolors=colour if counted else "none", edgecolors="#222222" if counted else colour,
                            linewidths=0.7 if counted else 1.3)  # fmt: skip
        points.set_gid(f"marker:assessment:{result}" + ("" if counted else ":not-counted"))
    if assessments.height:
        present = set(assessments["detail"])
        handles.append(Line2D([], [], ls="", marker="", label="Assessment (dot colour = result):"))
        for result in RESPONSE_RANK:
            if result in present:
                handles.append(Line2D([], [], ls="", marker="o", ms=5, mfc=ASSESSMENT_COLOURS[result], mec="#222222",
                                      label=f"   {result}"))  # fmt: skip
        if not assessments["counted"].all():
            handles.append(Line2D([], [], ls="", marker="o", ms=5, mfc="none", mec="#777777",
                                  label="   after new therapy / salvage HSCT"))  # fmt: skip

    for key, style in MARKER_STYLES.items():
        kind, detail = key
        selected = markers.filter(pl.col("kind") == kind)
        if detail is not None:
            selected = selected.filter(pl.col("detail") == detail)
        if selected.height == 0:
            continue
        style = dict(style)
        label = style.pop("label")
        if dense:
            style["s"] = style["s"] * 0.7
        offset = DLT_OFFSET if kind == "dlt" else 0.0
        line = style["marker"] in _LINE_MARKERS
        if not line:  # a white rim keeps a filled marker apart from what it sits on
            style["edgecolors"] = "none" if kind == "dlt" else "white"
        points = ax.scatter((selected["day"] * scale).to_list(), (selected["lane"] + offset).to_list(),
                            linewidths=2.2 if line else 0.5, zorder=4, **style)  # fmt: skip
        points.set_gid(f"marker:{kind}:{detail or 'any'}")
        handles.append(Line2D([], [], ls="", marker=style["marker"], color=style["color"], mew=2.0 if line else 1.0,
                              ms=min((MARKER_STYLES[key]["s"] ** 0.5) * 0.8, 10), label=label))  # fmt: skip

    handles.append(Patch(facecolor="#CC0000", alpha=0.10, label=f"DLT window (day 0-{data.dlt_window_days})"))
    if ongoing.height:
        handles.append(Line2D([], [], ls="", marker=">", color="#000000", label="Alive, follow-up continues"))

    labels = [shorten(escape_controls(subject), LABEL_CHARS) for subject in lanes["subject_id"].to_list()]
    cells.set_yticks(lanes["lane"].to_list())
    cells.set_yticklabels(labels, fontsize=9 if n <= 30 else (7.5 if n <= 80 else 6.5))
    for label in cells.get_yticklabels():
        label.set_parse_math(False)  # subject IDs are data: never read `$...$` as mathtext
    ax.tick_params(axis="y", labelleft=False, length=0)
    cells.tick_params(axis="y", length=0)
    cells.set_xlim(0, 1)
    cells.set_xticks([])
    cells.set_title("Best\nresp.", fontsize=8, loc="center")
    for side in ("top", "right", "bottom", "left"):
        cells.spines[side].set_visible(False)
    ax.set_ylim(n - 0.4, -0.8)  # lane 0 (longest follow-up) at the top
    ax.set_xlim(-0.012 * right, right)
    if time_unit == "months":
        ax.set_xlabel("Months since CAR-T infusion (day 0 = infusion; 1 month = 30.4375 days)")
        from matplotlib.ticker import MultipleLocator

        ax.xaxis.set_major_locator(MultipleLocator(3 if longest <= 36 else 6))
    else:
        ax.set_xlabel("Days since CAR-T infusion (day 0 = infusion)")
    cells.set_ylabel("Subject (longest follow-up at the top)")
    ax.grid(axis="x", color="#EEEEEE", zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    heading = title or "Swimmer plot: follow-up, best response and key events per infused subject"
    shown_lanes = f"N = {n} infused" if n == n_all else (
        f"the {n} of N = {n_all} infused with the longest follow-up shown")
    if data.review_date is not None:
        heading += f"\n(data as of {data.review_date.isoformat()}; {shown_lanes})"
    else:
        heading += f"\n({shown_lanes})"
    ax.set_title(heading, fontsize=11, loc="left")
    if n < n_all:
        note = fig.supxlabel(f"Note: {n_all - n} of the {n_all} infused subjects are not drawn (those with the "
                             f"shortest follow-up); a page holds about {MAX_LANES} readable lanes "
                             "(cart19 plot swimmer --max-lanes N to change, 0 for all).", fontsize=9,
                             style="italic")  # fmt: skip
        note.set_gid("cap-note")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              borderaxespad=0.0)  # fmt: skip
    return fig
