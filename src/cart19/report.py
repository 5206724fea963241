"""The safety review report: one self-contained HTML file for the people in the room.

:func:`build_report` takes the (cut-off) events, the configuration and where they came from,
runs the engines (DLT review, TEAE tables, ADTTE + Kaplan-Meier), draws the swimmer and KM
figures, and returns the HTML text. Nothing is read or written here.

Self-contained means: images are PNG ``data:`` URIs, the CSS is inline, there is no script and
no link to anything outside the file, so it can be mailed, archived and opened offline.
Every piece of text that comes from the data (subject IDs, terms, SOCs, warnings, file name) is
escaped with :func:`html.escape`: the data are not trusted.

The generation time is ``SOURCE_DATE_EPOCH`` when that is set (reproducible builds), else now
(UTC); with it fixed, the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cart19 import __version__
from cart19.config import Config

#: Section ids, in page order.
SECTIONS: tuple[str, ...] = ("provenance", "dlt", "teae", "swimmer", "km", "warnings", "config")


@dataclass(frozen=True)
class ReportSource:
    """Where the data came from, for the provenance block."""

    name: str
    sha256: str | None
    cutoff: dt.date | None = None
    as_of: dt.date | None = None
    #: data-quality warnings met while reading (reader, cutoff, untreated subjects)
    warnings: Sequence[str] = field(default_factory=tuple)


def generation_time(environ: dict[str, str] | None = None) -> dt.datetime:
    """``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, else now, in UTC to the second.

    Raises ``ValueError`` when ``SOURCE_DATE_EPOCH`` is not a whole number."""
    env = os.environ if environ is None else environ
    value = env.get("SOURCE_DATE_EPOCH")
    if value is not None and value.strip():
        try:
            seconds = int(value.strip())
        except ValueError:
            raise ValueError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, got {value!r}") from None
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return dt.datetime.now(tz=dt.UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- HTML helpers


def esc(value: Any) -> str:
    """Text for HTML: ``None`` -> empty, everything else ``html.escape(str(value))``."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return esc(value)


def _pct(value: float | None) -> str:
    return "&ndash;" if value is None else f"{100 * value:.1f}%"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, row_classes: Sequence[str] | None = None) -> str:
    """Cells are already HTML (escape data before passing it in); ``row_classes`` must be
    plain identifiers (they are escaped too)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    lines = []
    for index, row in enumerate(rows):
        klass = f' class="{esc(row_classes[index])}"' if row_classes else ""
        lines.append(f"<tr{klass}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    body = "\n".join(lines)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; }
tr.dlt td { background: #fde8e8; }
tr.not_evaluable td, tr.in_window td { background: #f7f7f7; color: #555; }
.verdict { font-size: 1.1em; padding: 0.6em 0.9em; border-radius: 4px; display: inline-block; margin: 0.4em 0; }
.verdict.met { background: #c62828; color: white; }
.verdict.not-met { background: #e8f5e9; color: #1b5e20; border: 1px solid #a5d6a7; }
.meta td:first-child { font-weight: bold; white-space: nowrap; }
.mono, pre { font-family: "SFMono-Regular", Consolas, "Liberation Mono", monospace; font-size: 0.85em; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #555; font-size: 0.9em; }
ul.warnings li { margin: 0.2em 0; }
nav a { margin-right: 1em; }
"""


# --------------------------------------------------------------------------- sections


def _provenance(source: ReportSource, config: Config, review_date: dt.date | None, generated: dt.datetime) -> str:
    rows = [
        ("Input file", f'<span class="mono">{esc(source.name)}</span>'),
        ("Input SHA-256", f'<span class="mono" id="sha256">{esc(source.sha256 or "not available")}</span>'),
        ("Data cutoff", esc(source.cutoff.isoformat()) if source.cutoff else "none (all records used)"),
        ("DLT review as of", esc(review_date.isoformat()) if review_date else "&ndash;"),
        ("Generated", f'<span id="generated">{esc(generated.strftime("%Y-%m-%dT%H:%M:%SZ"))}</span>'),
        ("Tool", f"cart19 {esc(__version__)}"),
        ("Configuration", "the defaults of the specification" if config == Config() else "modified (see below)"),
    ]
    body = "\n".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f'<section id="provenance"><table class="meta">{body}</table></section>'


def _dlt_section(review: Any, config: Config) -> str:
    stop = config.stopping_rule
    level = round(review.confidence_level * 100)
    met = review.stopping_rule_met
    verdict = (
        f'<div class="verdict {"met" if met else "not-met"}" id="stopping-rule">Stopping rule '
        f"<strong>{'MET' if met else 'not met'}</strong>: P(true DLT rate &gt; {stop.dlt_rate_threshold:g}) = "
        f"{review.posterior_probability:.3f} {'&gt;' if met else '&le;'} {stop.posterior_probability:g} "
        f"(Beta({stop.prior_alpha:g}, {stop.prior_beta:g}) prior; posterior Beta({stop.prior_alpha + review.dlt:g}, "
        f"{stop.prior_beta + review.evaluable - review.dlt:g}))</div>"
    )
    rate = (
        f"<p>DLT rate: <strong>{review.dlt} of {review.evaluable}</strong> evaluable = {_pct(review.rate)}, "
        f"exact (Clopper&ndash;Pearson) {level}% CI {_pct(review.ci_low)} to {_pct(review.ci_high)}.</p>"
    )
    counts = review.status_counts()
    count_text = ", ".join(f"{esc(k)}: {v}" for k, v in counts.items())
    rows = []
    for row in review.subjects.iter_rows(named=True):
        rows.append(
            (
                esc(row["subject_id"]),
                _fmt(row["infusion_date"]),
                _fmt(row["window_end"]),
                f"<strong>{esc(row['status'])}</strong>",
                esc(row["reason"]),
                esc(", ".join(row["dlt_rules"] or [])),
            )
        )
    table = _table(["Subject", "Infusion", "DLT window end", "Status", "Reason", "DLT rule(s)"], rows,
                   row_classes=review.subjects["status"].to_list())  # fmt: skip
    events = ""
    if review.dlt_events.height:
        ev_rows = [
            (esc(r["subject_id"]), esc(r["term"]), str(r["grade"]), str(r["study_day"]), _fmt(r["end_date"]) if r["end_date"] else "ongoing",
             "" if r["duration_days"] is None else str(r["duration_days"]), esc(", ".join(r["rules"] or [])), str(r["line"]))
            for r in review.dlt_events.iter_rows(named=True)
        ]  # fmt: skip
        events = "<h3>Qualifying adverse events</h3>" + _table(
            ["Subject", "Term", "Grade", "Onset (study day)", "End", "Duration (days)", "Rule(s)", "Input line"], ev_rows
        )
    return (
        f'<section id="dlt"><h2>1. Dose-limiting toxicity review (day 0 to {review.window_days})</h2>'
        f"{verdict}{rate}<p class=\"note\">Subjects by status: {count_text}.</p>{table}{events}</section>"
    )


def _teae_section(tables: pl.DataFrame) -> str:
    def cell(table: str, grade: str, soc: str | None = None, term: str | None = None) -> str:
        frame = tables.filter((pl.col("table") == table) & (pl.col("grade") == grade))
        if soc is not None:
            frame = frame.filter(pl.col("soc") == soc)
        if term is not None:
            frame = frame.filter(pl.col("term") == term)
        if frame.height == 0:
            return "0"
        row = frame.row(0, named=True)
        if row["percent"] is None:  # an empty safety set (N = 0)
            return str(row["n"])
        return f"{row['n']} ({row['percent']:.1f}%)"

    n_total = int(tables["N"][0]) if tables.height else 0
    overview = [
        ("Any TEAE", cell("overall", "any")),
        ("Grade &ge; 3", cell("overall", ">=3")),
        ("Serious TEAE", cell("serious", "any")),
        ("Related TEAE", cell("related", "any")),
        ("Grade 5 (fatal)", cell("overall", "5")),
    ] + [(f"Maximum grade {g}", cell("overall", g)) for g in ("1", "2", "3", "4", "5")]
    overview_html = _table(["Subjects with", f"n (%), N = {n_total}"], overview)
    pt = tables.filter((pl.col("table") == "soc_pt") & (pl.col("grade") == "any")).sort(
        ["soc", "n", "term"], descending=[False, True, False]
    )
    pt_rows = [
        (esc(r["soc"]), esc(r["term"]), cell("soc_pt", "any", r["soc"], r["term"]), cell("soc_pt", ">=3", r["soc"], r["term"]))
        for r in pt.iter_rows(named=True)
    ]  # fmt: skip
    pt_html = _table(["System organ class", "Preferred term", "Any grade n (%)", "Grade &ge; 3 n (%)"], pt_rows)
    return (
        '<section id="teae"><h2>2. Treatment-emergent adverse events</h2>'
        f"<p>Safety set: N = {n_total} infused subjects; each subject counted once per row at the maximum grade.</p>"
        f"{overview_html}<h3>By system organ class and preferred term</h3>{pt_html}</section>"
    )


def _figure_section(section_id: str, title: str, png: bytes | None, alt: str, note: str = "") -> str:
    if png is None:
        body = '<p class="note">No infused subject: nothing to draw.</p>'
    else:
        body = f'<img src="{png_data_uri(png)}" alt="{esc(alt)}">'
    return f'<section id="{section_id}"><h2>{title}</h2>{note}{body}</section>'


def _km_table(summary: pl.DataFrame) -> str:
    """One row per parameter: N, events, censored, median (95% CI) in days, then the estimate
    (95% CI) at each landmark month."""

    def days(v: float | None) -> str:
        return "NR" if v is None else f"{v:g}"

    def estimate(r: dict[str, Any]) -> str:
        if r["survival"] is None:
            return "&ndash;"
        return f"{_pct(r['survival'])} ({_pct(r['survival_lower'])}&ndash;{_pct(r['survival_upper'])})"

    months = [m for m in dict.fromkeys(summary["time_months"].to_list()) if m is not None]
    rows = []
    for (code,), group in summary.group_by("PARAMCD", maintain_order=True):
        first = group.row(0, named=True)
        by_month = {r["time_months"]: r for r in group.iter_rows(named=True)}
        rows.append(
            [
                esc(code),
                str(first["N"]),
                str(first["events"]),
                str(first["censored"]),
                f"{days(first['median'])} ({days(first['median_lower'])}&ndash;{days(first['median_upper'])})",
            ]
            + [estimate(by_month[m]) if m in by_month else "&ndash;" for m in months]
        )
    headers = ["Parameter", "N", "Events", "Censored", "Median, days (95% CI)"] + [
        f"At {m:g} months (95% CI)" for m in months
    ]
    return _table(headers, rows)


def _warnings_section(warnings: Sequence[str]) -> str:
    if not warnings:
        body = "<p>No data-quality warnings.</p>"
    else:
        body = '<ul class="warnings">' + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
    return f'<section id="warnings"><h2>5. Data-quality warnings ({len(warnings)})</h2>{body}</section>'


def _config_section(config: Config) -> str:
    from cart19.config import to_toml

    return (
        '<section id="config"><h2>6. Configuration used</h2>'
        '<p class="note">Save as a .toml file and pass with <code>--config</code> to reproduce.</p>'
        f"<pre>{esc(to_toml(config))}</pre></section>"
    )


# --------------------------------------------------------------------------- the report


def data_quality_warnings(events: pl.DataFrame, review: Any) -> list[str]:
    """What the data say about themselves, beyond the reader's warnings: imputed dates (by
    subject and record) and the DLT review's warnings."""
    out: list[str] = []
    imputed = events.filter(pl.col("date_imputed")).sort("subject_id", "line")
    for r in imputed.iter_rows(named=True):
        out.append(f"{r['subject_id']}: {r['event']} on line {r['line']} has a partial date, imputed to "
                   f"{r['date'].isoformat()} (flag D)")  # fmt: skip
    out.extend(review.warnings)
    return out


def as_of_notes(set_aside: int, end_dates_cleared: int, as_of: dt.date) -> list[str]:
    """What a review date set aside, in words (the report's warnings, and the CLI's)."""
    notes = []
    if set_aside:
        notes.append(f"{set_aside} record(s) dated after the review date {as_of} were set aside: they are in no "
                     "table or figure of this report")  # fmt: skip
    if end_dates_cleared:
        notes.append(f"{end_dates_cleared} AE end date(s) after the review date {as_of} were treated as ongoing")
    return notes


def build_report(
    events: pl.DataFrame,
    config: Config,
    source: ReportSource,
    *,
    generated: dt.datetime | None = None,
    title: str = "CAR-T CD19 safety review",
) -> str:
    """The whole report as HTML text. ``events`` is the canonical events frame after the cutoff.

    Needs matplotlib for the figures (raises :class:`cart19.plot.PlotUnavailable` without it).
    """
    from cart19.engine.dlt import dlt_review
    from cart19.engine.km import km_summary
    from cart19.engine.teae import teae_tables
    from cart19.engine.tte import derive_adtte
    from cart19.plot._mpl import figure_bytes, pyplot
    from cart19.plot.km import DEFAULT_PARAMS, draw_km, km_plot_data
    from cart19.plot.swimmer import MAX_LANES, draw_swimmer, swimmer_data

    plt = pyplot()
    generated = generated or generation_time()
    review = dlt_review(events, config, source.as_of)
    # the figures and tables show the same records as the DLT review (--as-of works as a cutoff),
    # and the report says what that set aside
    set_aside: list[str] = []
    if source.as_of is not None:
        from cart19.engine.common import apply_cutoff

        cut = apply_cutoff(events, source.as_of)
        events = cut.events
        set_aside = as_of_notes(cut.set_aside, cut.end_dates_cleared, source.as_of)
    tables = teae_tables(events, config)
    adtte = derive_adtte(events, config)
    summary = km_summary(adtte, landmarks_months=config.km.landmarks_months, days_per_month=config.km.days_per_month,
                         confidence_level=config.km.confidence_level)  # fmt: skip

    swim = swimmer_data(events, config, review.dlt_events)
    swim = dataclasses.replace(swim, review_date=review.review_date)
    swimmer_png = None
    if swim.lanes.height:
        fig = draw_swimmer(swim)
        swimmer_png = figure_bytes(fig, "png", dpi=110)
        plt.close(fig)
    km_png = None
    present = set(adtte["PARAMCD"].to_list())
    params = [p for p in (config.os.paramcd, *(q.paramcd for q in config.efs.parameters[:1]), config.dor.paramcd)
              if p in present] or [p for p in DEFAULT_PARAMS if p in present]  # fmt: skip
    if params:
        fig = draw_km(km_plot_data(adtte, params, config))
        km_png = figure_bytes(fig, "png", dpi=110)
        plt.close(fig)

    warnings = [*source.warnings, *(w for w in set_aside if w not in source.warnings),
                *data_quality_warnings(events, review)]  # fmt: skip
    nav = "".join(f'<a href="#{s}">{s}</a>' for s in SECTIONS[1:])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<nav>{nav}</nav>",
        _provenance(source, config, review.review_date, generated),
        _dlt_section(review, config),
        _teae_section(tables),
        _figure_section(
            "swimmer",
            "3. Swimmer plot",
            swimmer_png,
            "Swimmer plot: one lane per infused subject",
            '<p class="note">One lane per infused subject from the infusion (day 0) to the last follow-up, '
            "longest at the top; colour = best response to the infusion; the DLT window is shaded."
            + (f" The {MAX_LANES} of {swim.lanes.height} infused subjects with the longest follow-up are shown."
               if swim.lanes.height > MAX_LANES else "") + "</p>",
        ),
        _figure_section(
            "km",
            "4. Time-to-event: Kaplan&ndash;Meier summary",
            km_png,
            "Kaplan-Meier curves",
            _km_table(summary)
            + '<p class="note">Medians in days; estimates at the landmark months with pointwise log-log '
            "confidence intervals (Greenwood variance), as <code>cart19 km</code>.</p>",
        ),
        _warnings_section(warnings),
        _config_section(config),
        f'<p class="note">Generated by cart19 {esc(__version__)} at {esc(generated.strftime("%Y-%m-%dT%H:%M:%SZ"))}.</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
