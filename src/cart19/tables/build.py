"""The study-report tables, each a small pure function from an engine's frame to a
:class:`~cart19.tables.table.StudyTable`; :func:`study_tables` runs the engines and lists the
tables in report order.

To add a table: write ``def my_table(frame, config) -> StudyTable`` here (display text only,
with the formats of :mod:`cart19.tables.table`: ``n (%)``, ``(lo, hi)``, NE), and append it in
:func:`study_tables`. The renderers (:mod:`cart19.tables.rtf`, :mod:`cart19.tables.docx`) take
any list of tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from cart19.config import Config
from cart19.tables.table import (
    NE,
    StudyTable,
    days,
    interval,
    months,
    n_percent,
    numbered,
    percent,
    text_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    from cart19.engine.dlt import DLTReview

SAFETY_SET = "safety set: every subject with a CAR-T infusion (N = {n})."
GRADE_NOTE = ("Each subject is counted once per row, at the maximum grade (NCI-CTCAE v5.0) of the TEAEs in "
              "that row.")  # fmt: skip
GE = "\u2265"  # ≥


def _teae_window(config: Config) -> str:
    return (f"A TEAE has its onset on or after the infusion date (day 0) and within {config.teae.window_days} days "
            "of it (teae.window_days).")  # fmt: skip


def _teae_cells(tables: pl.DataFrame) -> dict[tuple[str, str | None, str | None, str], tuple[int, int]]:
    """``(table, soc, term, grade) -> (n, N)`` of the engine's long TEAE frame."""
    return {
        (t, s, p, g): (n, total)
        for t, s, p, g, n, total in tables.select("table", "soc", "term", "grade", "n", "N").iter_rows()
    }


def teae_overview(tables: pl.DataFrame, config: Config) -> StudyTable:
    """Overview of TEAEs from :func:`cart19.engine.teae.teae_tables`: subjects with any TEAE,
    by maximum grade, grade >= 3, serious, related, fatal; ``n (%)`` of the safety set."""
    total = int(tables.get_column("N").max() or 0) if tables.height else 0
    cells = _teae_cells(tables)

    def cell(table: str, grade: str) -> str:
        n, _ = cells.get((table, None, None, grade), (0, total))
        return n_percent(n, total)

    rows = [
        ("Subjects with any TEAE", cell("overall", "any"), 0),
        *[(f"Maximum grade {g}", cell("overall", g), 1) for g in ("1", "2", "3", "4", "5")],
        (f"Subjects with a TEAE of grade {GE} 3", cell("overall", ">=3"), 0),
        ("Subjects with a serious TEAE", cell("serious", "any"), 0),
        ("Subjects with a TEAE related to CAR-T", cell("related", "any"), 0),
        ("Subjects with a fatal TEAE (grade 5)", cell("overall", "5"), 0),
    ]
    return StudyTable(
        title="Overview of treatment-emergent adverse events",
        frame=text_frame([r[:2] for r in rows], ["", f"CAR-T\n(N = {total})\nn (%)"]),
        population=SAFETY_SET.format(n=total),
        footnotes=(
            _teae_window(config),
            GRADE_NOTE,
            "Serious and related: as recorded on the AE record (serious = Y, related = Y).",
            "TEAE: treatment-emergent adverse event; N: subjects in the safety set; n (%): subjects with the event "
            "and their percentage of N, rounded half away from zero to one decimal.",
        ),
        col_widths=(3.0, 1.2),
        indent=tuple(r[2] for r in rows),
    )


#: The grade columns of the SOC/PT table: engine grade -> header.
SOC_PT_GRADES: tuple[tuple[str, str], ...] = (
    ("any", "Any grade"),
    ("1", "Grade 1"),
    ("2", "Grade 2"),
    ("3", "Grade 3"),
    ("4", "Grade 4"),
    ("5", "Grade 5"),
    (">=3", f"Grade {GE} 3"),
)


def teae_by_soc_pt(tables: pl.DataFrame, config: Config) -> StudyTable:
    """TEAEs by system organ class and preferred term from
    :func:`cart19.engine.teae.teae_tables`, in its order (SOCs, then PTs within a SOC, by
    descending frequency, then alphabetically); ``n (%)`` by maximum grade."""
    total = int(tables.get_column("N").max() or 0) if tables.height else 0
    cells = _teae_cells(tables)

    def row(table: str, soc: str | None, term: str | None) -> list[str]:
        return [n_percent(cells.get((table, soc, term, g), (0, total))[0], total) for g, _ in SOC_PT_GRADES]

    rows: list[list[str]] = [["Subjects with any TEAE", *row("overall", None, None)]]
    levels = [0]
    any_grade = tables.filter(pl.col("grade") == "any")
    terms = any_grade.filter(pl.col("table") == "soc_pt").group_by("soc", maintain_order=True).agg("term")
    terms_of = dict(terms.iter_rows())
    for soc in any_grade.filter(pl.col("table") == "soc").get_column("soc"):
        rows.append([soc, *row("soc", soc, None)])
        levels.append(0)
        for term in terms_of.get(soc, []):
            rows.append([term, *row("soc_pt", soc, term)])
            levels.append(1)
    return StudyTable(
        title="Treatment-emergent adverse events by system organ class, preferred term and maximum grade",
        frame=text_frame(rows, ["System organ class\n    Preferred term", *[h + "\nn (%)" for _, h in SOC_PT_GRADES]]),
        population=SAFETY_SET.format(n=total),
        footnotes=(
            _teae_window(config),
            GRADE_NOTE + " A subject with TEAEs of several terms of one class is counted once in the class row.",
            "Classes, then terms within a class, by descending number of subjects (any grade), then alphabetically; "
            f"terms as recorded (MedDRA preferred terms); an AE without a class is under \"{config.teae.uncoded_soc}\".",
            "TEAE: treatment-emergent adverse event; N: subjects in the safety set.",
        ),
        col_widths=(3.2, *[1.0] * len(SOC_PT_GRADES)),
        indent=tuple(levels),
    )


def dlt_summary(review: DLTReview, config: Config) -> StudyTable:
    """The DLT review of :func:`cart19.engine.dlt.dlt_review`: subjects by DLT status, the DLT
    rate with its exact CI, and the stopping rule's verdict."""
    counts = review.status_counts()
    treated = review.subjects.height
    stop = config.stopping_rule
    level = f"{review.confidence_level * 100:g}%"
    rate = NE if review.rate is None else (
        f"{percent(review.rate)} {interval(percent(review.ci_low), percent(review.ci_high))}"
    )  # fmt: skip
    rows = [
        ("Subjects treated (infused)", str(treated), 0),
        ("DLT-evaluable subjects", n_percent(review.evaluable, treated), 0),
        ("With a DLT", n_percent(review.dlt, review.evaluable), 1),
        ("Followed through the DLT window without a DLT", n_percent(counts["no_dlt"], review.evaluable), 1),
        ("Not evaluable", n_percent(counts["not_evaluable"], treated), 0),
        ("Still in the DLT window at the review", n_percent(counts["in_window"], treated), 0),
        (f"DLT rate, % ({level} CI)", rate, 0),
        (f"P(true DLT rate > {stop.dlt_rate_threshold:g}), Beta({stop.prior_alpha:g}, {stop.prior_beta:g}) prior",
         f"{review.posterior_probability:.3f}", 0),
        (f"Safety stopping rule (stop when the probability > {stop.posterior_probability:g})",
         "Met: stop enrolment" if review.stopping_rule_met else "Not met", 0),
    ]  # fmt: skip
    dlt = config.dlt
    return StudyTable(
        title=f"Dose-limiting toxicities (DLT window day 0 to day {review.window_days})",
        frame=text_frame([r[:2] for r in rows], ["", f"CAR-T\n(N = {treated})"]),
        population=(
            f"treated (infused) subjects (N = {treated}); the DLT rate is over the DLT-evaluable subjects (a DLT, or a "
            f"record on or after day {dlt.evaluable_through_day} without one; N = {review.evaluable})."
        ),
        footnotes=(
            f"A DLT is an AE with onset from day 0 to day {dlt.window_days} after the infusion that meets one of the "
            f"{len(dlt.rules)} DLT rules of the configuration (dlt.rules; the next table counts them by rule).",
            "Not evaluable: no DLT and follow-up ended (death, withdrawal, or no record) before day "
            f"{dlt.evaluable_through_day}. In the window: the review date "
            f"({review.review_date.isoformat() if review.review_date else 'none'}) is before that day.",
            f"DLT rate: exact (Clopper-Pearson) {level} confidence interval. Stopping rule: posterior probability that "
            f"the true DLT rate exceeds {stop.dlt_rate_threshold:g} under a Beta({stop.prior_alpha:g}, "
            f"{stop.prior_beta:g}) prior (stopping_rule).",
            "DLT: dose-limiting toxicity; CI: confidence interval.",
        ),
        col_widths=(3.6, 1.4),
        indent=tuple(r[2] for r in rows),
    )


def dlt_by_rule(review: DLTReview, config: Config) -> StudyTable:
    """Subjects with a DLT by DLT rule (every rule of ``dlt.rules``, in configuration order, zeros
    included) and, under each rule, by preferred term; ``n (%)`` of the DLT-evaluable subjects.
    A subject counts once per row, however many of its AEs meet the rule."""
    evaluable = review.evaluable
    met = review.dlt_events.select("subject_id", "term", "rules").explode("rules").rename({"rules": "rule"})
    by_rule = dict(met.group_by("rule").agg(pl.col("subject_id").n_unique()).iter_rows())
    by_term = (
        met.group_by("rule", "term")
        .agg(pl.col("subject_id").n_unique().alias("n"))
        .sort(pl.col("n"), pl.col("term").str.to_lowercase(), pl.col("term"), descending=[True, False, False])
    )
    rows = [["Subjects with a DLT", n_percent(review.dlt, evaluable)]]
    levels = [0]
    for rule in config.dlt.rules:
        rows.append([rule.description or rule.name, n_percent(by_rule.get(rule.name, 0), evaluable)])
        levels.append(0)
        for term, n in by_term.filter(pl.col("rule") == rule.name).select("term", "n").iter_rows():
            rows.append([term, n_percent(n, evaluable)])
            levels.append(1)
    dlt = config.dlt
    return StudyTable(
        title="Dose-limiting toxicities by DLT rule and preferred term",
        frame=text_frame(rows, ["DLT rule\n    Preferred term", f"DLT-evaluable\n(N = {evaluable})\nn (%)"]),
        population=(
            f"DLT-evaluable subjects (N = {evaluable}): a DLT, or a record on or after day "
            f"{dlt.evaluable_through_day} without one."
        ),
        footnotes=(
            f"An AE with onset from day 0 to day {dlt.window_days} after the infusion is a DLT when it meets a rule of "
            "dlt.rules (its description is the row label; the rules are in docs/endpoints.md). A subject counts "
            "once per row; one AE may meet several rules, and a subject may have DLTs under several rules.",
            "Preferred terms under a rule by descending number of subjects, then alphabetically.",
            "DLT: dose-limiting toxicity.",
        ),
        col_widths=(4.0, 1.4),
        indent=tuple(levels),
    )


def tte_summary(adtte: pl.DataFrame, summary: pl.DataFrame, config: Config) -> StudyTable:
    """Time-to-event summary from :func:`cart19.engine.km.km_summary` of the ADTTE
    (:func:`cart19.engine.tte.derive_adtte`): one column per parameter; events and censored
    ``n (%)``, the median in days and in months with its CI, the landmark estimates."""
    per_month = config.km.days_per_month
    level = f"{config.km.confidence_level * 100:g}%"
    names = dict(adtte.select("PARAMCD", "PARAM").unique(maintain_order=True).iter_rows()) if adtte.height else {}
    codes = list(dict.fromkeys(summary.get_column("PARAMCD").to_list()))
    marks = [m for m in dict.fromkeys(summary.get_column("time_months").to_list()) if m is not None]
    labels = ["Events, n (%)", "Censored, n (%)", f"Median, days ({level} CI)", f"Median, months ({level} CI)"]
    labels += [f"Estimate at {m:g} months, % ({level} CI)" for m in marks]
    columns: list[list[str]] = [labels]
    headers = [""]
    for code in codes:
        rows = summary.filter(pl.col("PARAMCD") == code)
        first = rows.row(0, named=True)
        n = int(first["N"])
        headers.append(f"{code}\n(N = {n})")
        at = {r["time_months"]: r for r in rows.iter_rows(named=True)}
        column = [
            n_percent(int(first["events"]), n),
            n_percent(int(first["censored"]), n),
            f"{days(first['median'])} {interval(days(first['median_lower']), days(first['median_upper']))}",
            f"{months(first['median'], per_month)} "
            f"{interval(months(first['median_lower'], per_month), months(first['median_upper'], per_month))}",
        ]
        for m in marks:
            r = at.get(m)
            if r is None or r["survival"] is None:
                column.append(NE)
            else:
                column.append(f"{percent(r['survival'])} {interval(percent(r['survival_lower']), percent(r['survival_upper']))}")
        columns.append(column)
    if not codes:  # no infused subject: an empty summary still prints its rows
        headers.append("(no subject)")
        columns.append([NE] * len(labels))
    rows_text = [list(cells) for cells in zip(*columns, strict=True)]
    legend = "; ".join(f"{code}: {names.get(code, code)}" for code in codes)
    return StudyTable(
        title="Time-to-event endpoints: Kaplan-Meier summary",
        frame=text_frame(rows_text, headers),
        population=(
            f"treated (infused) subjects for {config.os.paramcd} and the EFS parameters; for {config.dor.paramcd}, "
            "the subjects with a response to the infusion (time from the first response). N: subjects in the "
            "analysis of each endpoint."
        ),
        footnotes=(
            f"Kaplan-Meier product-limit estimates; median {level} CI by Brookmeyer-Crowley on the log-log scale, "
            f"estimates with pointwise log-log CIs (Greenwood variance), as R survival's survfit(conf.type = "
            f"\"log-log\"). A month is {per_month:g} days (km.days_per_month); landmarks: km.landmarks_months.",
            "Event and censoring rules of each endpoint: docs/endpoints.md (os, efs, dor configuration sections).",
            f"{legend}." if legend else "No endpoint: no infused subject.",
            "NE: not estimable (the median or a limit is not reached, or the landmark is after the last "
            "observation); CI: confidence interval.",
        ),
        col_widths=(2.8, *[1.15] * (len(headers) - 1)),
    )


def latest_date(events: pl.DataFrame) -> dt.date | None:
    """The latest date in the events (AE end dates included): the date the data stand at when
    no cutoff is given, and the DLT review's default date."""
    if events.height == 0:
        return None
    return events.select(pl.max_horizontal(pl.col("date").max(), pl.col("end_date").max())).item()


def study_tables(events: pl.DataFrame, config: Config, *, review_date: dt.date | None = None) -> list[StudyTable]:
    """Every table of the study report, numbered in report order, from the (cut-off) canonical
    events frame. ``review_date``: the DLT review's date (default: the latest date in
    ``events``, as ``check-dlt``)."""
    from cart19.engine.dlt import dlt_review
    from cart19.engine.km import km_summary
    from cart19.engine.teae import teae_tables
    from cart19.engine.tte import derive_adtte

    teae = teae_tables(events, config)
    review = dlt_review(events, config, review_date)
    adtte = derive_adtte(events, config)
    km = config.km
    summary = km_summary(adtte, landmarks_months=km.landmarks_months, days_per_month=km.days_per_month,
                         confidence_level=km.confidence_level)  # fmt: skip
    tables: Sequence[StudyTable] = [
        teae_overview(teae, config),
        teae_by_soc_pt(teae, config),
        dlt_summary(review, config),
        dlt_by_rule(review, config),
        tte_summary(adtte, summary, config),
    ]
    return numbered(tables)
