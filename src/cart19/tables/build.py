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
from typing import TYPE_CHECKING, Any

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


def _dlt_column(figures: dict[str, Any], level: str) -> list[str]:
    """The DLT review's cells of one column (the whole trial, or one group of ``--by``)."""
    treated, evaluable = figures["treated"], figures["evaluable"]
    rate = NE if figures["rate"] is None else (
        f"{percent(figures['rate'])} {interval(percent(figures['ci_low']), percent(figures['ci_high']))}"
    )  # fmt: skip
    return [
        str(treated),
        n_percent(evaluable, treated),
        n_percent(figures["dlt"], evaluable),
        n_percent(figures["no_dlt"], evaluable),
        n_percent(figures["not_evaluable"], treated),
        n_percent(figures["in_window"], treated),
        rate,
        f"{figures['posterior_probability']:.3f}",
        "Met: stop enrolment" if figures["stopping_rule_met"] else "Not met",
    ]


def _overall_figures(review: DLTReview) -> dict[str, Any]:
    counts = review.status_counts()
    return {
        "treated": review.subjects.height, "evaluable": review.evaluable, "dlt": review.dlt,
        "no_dlt": counts["no_dlt"], "not_evaluable": counts["not_evaluable"], "in_window": counts["in_window"],
        "rate": review.rate, "ci_low": review.ci_low, "ci_high": review.ci_high,
        "posterior_probability": review.posterior_probability, "stopping_rule_met": review.stopping_rule_met,
    }  # fmt: skip


def dlt_summary(review: DLTReview, config: Config) -> StudyTable:
    """The DLT review of :func:`cart19.engine.dlt.dlt_review`: subjects by DLT status, the DLT
    rate with its exact CI, and the stopping rule's verdict."""
    treated = review.subjects.height
    stop = config.stopping_rule
    level = f"{review.confidence_level * 100:g}%"
    labels = [
        ("Subjects treated (infused)", 0),
        ("DLT-evaluable subjects", 0),
        ("With a DLT", 1),
        ("Followed through the DLT window without a DLT", 1),
        ("Not evaluable", 0),
        ("Still in the DLT window at the review", 0),
        (f"DLT rate, % ({level} CI)", 0),
        (f"P(true DLT rate > {stop.dlt_rate_threshold:g}), Beta({stop.prior_alpha:g}, {stop.prior_beta:g}) prior", 0),
        (f"Safety stopping rule (stop when the probability > {stop.posterior_probability:g})", 0),
    ]
    overall = _overall_figures(review)
    rows = [[label, cell] for (label, _), cell in zip(labels, _dlt_column(overall, level), strict=True)]
    dlt = config.dlt
    return StudyTable(
        title=f"Dose-limiting toxicities (DLT window day 0 to day {review.window_days})",
        frame=text_frame(rows, ["", f"CAR-T\n(N = {treated})"]),
        population=(
            f"treated (infused) subjects (N = {treated}); the DLT rate is over the DLT-evaluable subjects (a DLT, or a "
            f"record on or after day {dlt.evaluable_through_day} without one; N = {review.evaluable})."
        ),
        footnotes=(
            f"A DLT is an AE with onset from day 0 to day {dlt.window_days} after the infusion that meets one of the "
            f"{len(dlt.rules)} DLT rules of the configuration (dlt.rules; the table of DLTs by rule counts them).",
            "Not evaluable: no DLT and follow-up ended (death, withdrawal, or no record) before day "
            f"{dlt.evaluable_through_day}. In the window: the review date "
            f"({review.review_date.isoformat() if review.review_date else 'none'}) is before that day.",
            f"DLT rate: exact (Clopper-Pearson) {level} confidence interval. Stopping rule: posterior probability that "
            f"the true DLT rate exceeds {stop.dlt_rate_threshold:g} under a Beta({stop.prior_alpha:g}, "
            f"{stop.prior_beta:g}) prior (stopping_rule).",
            "DLT: dose-limiting toxicity; CI: confidence interval.",
        ),
        col_widths=(3.6, 1.4),
        indent=tuple(level for _, level in labels),
    )


def dlt_by_group(review: DLTReview, config: Config, by: str) -> StudyTable:
    """The DLT review per group of ``--by`` (:attr:`DLTReview.by_group` of a review made with
    ``groups``), one row per group (sorted by text), then the total: the figures of
    :func:`dlt_summary` as columns, so that any number of groups fits the page."""
    assert review.by_group is not None
    stop = config.stopping_rule
    level = f"{review.confidence_level * 100:g}%"
    rows = [[figures["group"], *_dlt_column(figures, level)[:-1], "Met" if figures["stopping_rule_met"] else "Not met"]
            for figures in review.by_group.iter_rows(named=True)]  # fmt: skip
    total = _overall_figures(review)
    rows.append(["Total", *_dlt_column(total, level)[:-1], "Met" if total["stopping_rule_met"] else "Not met"])
    headers = [by, "Treated\n(infused)", "DLT-evaluable\nn (%)", "With a DLT\nn (%)", "No DLT\nn (%)",
               "Not evaluable\nn (%)", "In the DLT\nwindow, n (%)", f"DLT rate, %\n({level} CI)",
               f"P(rate > {stop.dlt_rate_threshold:g})", "Stopping\nrule"]  # fmt: skip
    return StudyTable(
        title=f"Dose-limiting toxicities by {by}",
        frame=text_frame(rows, headers),
        population=(
            f"treated (infused) subjects, by {by} (--by, a column of the subject file; (missing): no value, or not in "
            "the file); the DLT rate is over each group's DLT-evaluable subjects."
        ),
        footnotes=(
            "Each group is reviewed by the rules and the stopping rule of the previous table (dlt.rules, "
            f"stopping_rule: met when P(true DLT rate > {stop.dlt_rate_threshold:g} | Beta({stop.prior_alpha:g}, "
            f"{stop.prior_beta:g}) prior) > {stop.posterior_probability:g}); Total: the whole trial, as there.",
            "DLT-evaluable, Not evaluable and In the DLT window: % of the treated; With a DLT and No DLT: % of the DLT-evaluable. "
            "Rules: docs/endpoints.md, docs/subgroups.md (check-dlt --by).",
            "DLT: dose-limiting toxicity; CI: exact (Clopper-Pearson) confidence interval.",
        ),
        col_widths=(1.3, 0.9, 1.1, 1.0, 1.0, 1.0, 1.0, 1.4, 0.9, 0.9),
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
    os_rows = summary.filter(pl.col("PARAMCD") == config.os.paramcd)
    if os_rows.height:
        first = os_rows.row(0, named=True)
        lo, hi = first["followup_lower"], first["followup_upper"]
        followup = (
            f"Median follow-up (reverse Kaplan-Meier of {config.os.paramcd}: its censorings as the events): "
            f"{months(first['followup_median'], per_month)} months {interval(months(lo, per_month), months(hi, per_month))}, "
            f"{days(first['followup_median'])} days {interval(days(lo), days(hi))} ({level} CI, as the median above)."
        )  # fmt: skip
    else:
        followup = "Median follow-up: NE (no infused subject)."
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
            followup,
            "NE: not estimable (the median or a limit is not reached, or the landmark is after the last "
            "observation); CI: confidence interval.",
        ),
        col_widths=(2.8, *[1.15] * (len(headers) - 1)),
    )


# --------------------------------------------------------------------------- disposition and demography

DASH = "\u2013"  # – (a range: 3–8)

#: The disposition rows: the safety engine's item -> the row label.
DISPOSITION_ROWS: tuple[tuple[str, str], ...] = (
    ("enrolled", "Enrolled (any record)"),
    ("lymphodepleted", "Lymphodepleted"),
    ("infused", "Infused with CAR-T (safety set)"),
    ("dlt_evaluable", "DLT-evaluable"),
    ("efficacy_evaluable", "Efficacy-evaluable"),
    ("withdrawn", "Withdrawn"),
    ("died", "Died"),
)


def _safety_values(summary: pl.DataFrame, table: str) -> dict[tuple[str, str], float | None]:
    """``(item, statistic) -> value`` of one table of the safety engine's long summary."""
    rows = summary.filter(pl.col("table") == table).select("item", "statistic", "value").iter_rows()
    return {(item, statistic): value for item, statistic, value in rows}


def _count(value: float | None) -> int:
    return 0 if value is None else int(value)


def disposition(summary: pl.DataFrame, config: Config) -> StudyTable:
    """Subject disposition from :func:`cart19.engine.safety.safety_profile`'s summary (table
    ``disposition``): ``n (%)`` of the enrolled subjects."""
    values = _safety_values(summary, "disposition")
    enrolled = _count(values.get(("enrolled", "n")))
    rows = [(label, n_percent(_count(values.get((item, "n"))), enrolled)) for item, label in DISPOSITION_ROWS]
    return StudyTable(
        title="Subject disposition",
        frame=text_frame(rows, ["", f"Enrolled\n(N = {enrolled})\nn (%)"]),
        population=f"enrolled subjects: every subject with a record in the input (N = {enrolled}).",
        footnotes=(
            "Lymphodepleted: a lymphodepletion record; infused: an infusion record (the safety set); withdrawn: a "
            "withdrawal record; died: a death record, infused or not.",
            f"DLT-evaluable: infused, with a DLT or a record on or after day {config.dlt.evaluable_through_day} "
            "(dlt.evaluable_through_day), as in the DLT tables. Efficacy-evaluable: infused, with an adequate "
            f"assessment (result not NE) on study day 1 to {config.response.window_days} (response.window_days).",
            "Rules: docs/safety.md (Disposition). n (%): subjects and their percentage of the enrolled subjects.",
        ),
        col_widths=(3.0, 1.4),
    )


def demography(covariates: pl.DataFrame, infused: pl.Series) -> StudyTable:
    """Baseline characteristics from the subject file (``--subjects``, or SDTM's DM): for each
    covariate (file order), its values (sorted by text) with ``n (%)`` of the infused subjects;
    an empty value, or an infused subject not in the file, is ``(missing)``."""
    from cart19.io.subjects_file import MISSING_GROUP, subject_groups

    total = infused.len()
    ids = pl.DataFrame({"subject_id": infused.cast(pl.String)})
    rows: list[list[str]] = []
    levels: list[int] = []
    for column in covariates.columns[1:]:
        groups = subject_groups(covariates, column)
        counts = (
            ids.join(groups, on="subject_id", how="left")
            .with_columns(pl.col("group").fill_null(MISSING_GROUP))
            .group_by("group")
            .len()
            .sort("group")
        )
        rows.append([column, ""])
        levels.append(0)
        for value, n in counts.iter_rows():
            rows.append([value, n_percent(n, total)])
            levels.append(1)
    if not rows:
        rows, levels = [["(the subject file has no covariate)", ""]], [0]
    return StudyTable(
        title="Demography and baseline characteristics",
        frame=text_frame(rows, ["Characteristic\n    Value", f"CAR-T\n(N = {total})\nn (%)"]),
        population=SAFETY_SET.format(n=total),
        footnotes=(
            "From the subject file (--subjects; for SDTM input without it, the DM domain's covariates): each column "
            "a characteristic, in file order, its values as written, sorted by their text.",
            f"{MISSING_GROUP}: an empty value, or an infused subject not in the subject file. Rules: "
            "docs/subgroups.md (The subject file).",
            "n (%): subjects and their percentage of N, the infused subjects.",
        ),
        col_widths=(3.0, 1.4),
        indent=tuple(levels),
    )


# --------------------------------------------------------------------------- the CAR-T safety profile


def _range(values: dict[tuple[str, str], float | None], item: str, stem: str) -> str:
    """``median (min–max)`` of a syndrome's onset or duration; NE when nobody has one."""
    median = values.get((item, f"{stem}_median"))
    if median is None:
        return NE
    return f"{days(median)} ({days(values.get((item, f'{stem}_min')))}{DASH}{days(values.get((item, f'{stem}_max')))})"


def _infused_n(summary: pl.DataFrame) -> int:
    n = summary.filter(pl.col("table") == "disposition", pl.col("item") == "infused").get_column("value")
    return _count(n.item()) if n.len() else 0


def safety_syndromes(summary: pl.DataFrame, config: Config) -> StudyTable:
    """Syndromes of special interest (:func:`cart19.engine.safety.safety_profile`, table
    ``syndrome``): per group, incidence of any grade and grade >= 3, onset day and duration of
    the first episode (median and range), first episodes still ongoing."""
    total = _infused_n(summary)
    values = _safety_values(summary, "syndrome")
    rows = []
    for group in config.safety.groups:
        name = group.name
        rows.append([
            name,
            n_percent(_count(values.get((name, "n_any"))), total),
            n_percent(_count(values.get((name, "n_grade_ge3"))), total),
            _range(values, name, "onset"),
            _range(values, name, "duration"),
            n_percent(_count(values.get((name, "n_ongoing"))), total),
        ])  # fmt: skip
    defined = "; ".join(
        f"{g.name}: " + ", ".join([*g.terms, *(f"SOC {s}" for s in g.socs)]) for g in config.safety.groups
    )
    return StudyTable(
        title="CAR-T safety profile: syndromes of special interest",
        frame=text_frame(rows, [
            "Syndrome", "Any grade\nn (%)", f"Grade {GE} 3\nn (%)", "Onset, study day\nmedian (range)",
            "First episode, days\nmedian (range)", "First episode\nongoing, n (%)",
        ]),  # fmt: skip
        population=SAFETY_SET.format(n=total),
        footnotes=(
            f"Groups of TEAE terms and system organ classes (safety.groups): {defined}.",
            _teae_window(config) + " Grade: the subject's maximum grade over the TEAEs of the group.",
            "Onset: study day of the subject's first TEAE of the group (the infusion is day 0). First episode: rows "
            f"of the group joined while each starts at most {config.safety.episode_gap_days} day(s) after the latest "
            "end so far (safety.episode_gap_days); duration = last end - first onset + 1 days; an episode with an "
            "ongoing row has no duration and is counted as ongoing. Rules: docs/safety.md.",
            "NE: nobody with the syndrome; n (%): subjects and their percentage of N (the safety set).",
        ),
        col_widths=(1.6, 1.1, 1.1, 1.4, 1.4, 1.2),
    )


def safety_periods(summary: pl.DataFrame, config: Config) -> StudyTable:
    """TEAEs by period after the infusion (:func:`cart19.engine.safety.safety_profile`, table
    ``period``): subjects with any, grade >= 3 and serious TEAEs with onset in each period."""
    total = _infused_n(summary)
    values = _safety_values(summary, "period")
    rows = []
    for period in config.safety.periods:
        item = period.label
        rows.append([
            f"Day {period.first_day} to day {period.last_day}",
            *[n_percent(_count(values.get((item, s))), total) for s in ("n_any", "n_grade_ge3", "n_serious")],
        ])  # fmt: skip
    return StudyTable(
        title="CAR-T safety profile: treatment-emergent adverse events by period after the infusion",
        frame=text_frame(rows, ["Study day of onset", "Any TEAE\nn (%)", f"Grade {GE} 3\nn (%)", "Serious\nn (%)"]),
        population=SAFETY_SET.format(n=total),
        footnotes=(
            _teae_window(config) + " Periods by study day of onset, both ends included (safety.periods); a subject "
            "counts once per period and may count in several periods.",
            "Serious: as recorded on the AE record (serious = Y). Rules: docs/safety.md (TEAEs by period).",
            "n (%): subjects and their percentage of N (the safety set).",
        ),
        col_widths=(2.4, 1.2, 1.2, 1.2),
    )


def safety_deaths(summary: pl.DataFrame, config: Config) -> StudyTable:
    """Deaths of the infused (:func:`cart19.engine.safety.safety_profile`, table ``deaths``): by
    cause on or before each of ``safety.death_days`` and in the OS window, and the non-relapse
    deaths by ``safety.nrm_day``."""
    from cart19.model import DEATH_CAUSES

    total = _infused_n(summary)
    values = _safety_values(summary, "deaths")
    safety = config.safety
    days_shown = sorted({*safety.death_days, safety.nrm_day})
    statistics = [f"by_day_{d}" for d in days_shown] + ["in_window"]
    headers = ["Cause of death", *[f"By day {d}\nn (%)" for d in days_shown],
               f"By day {config.os.window_days}\n(OS window)\nn (%)"]  # fmt: skip

    def cell(item: str, statistic: str) -> str:
        value = values.get((item, statistic))
        return "" if value is None and (item, statistic) not in values else n_percent(_count(value), total)

    rows = [["All causes", *[cell("all", s) for s in statistics]]]
    levels = [0]
    for cause in DEATH_CAUSES:
        rows.append([cause.capitalize(), *[cell(cause, s) for s in statistics]])
        levels.append(1)
    rows.append(["Non-relapse deaths", *[cell("nrm", s) for s in statistics]])
    levels.append(0)
    relapse_like = " (a death of disease without one counts as a relapse, cuminc.disease_death_as_relapse)" if (
        config.cuminc.disease_death_as_relapse) else ""  # fmt: skip
    return StudyTable(
        title="CAR-T safety profile: deaths of infused subjects",
        frame=text_frame(rows, headers),
        population=SAFETY_SET.format(n=total),
        footnotes=(
            f"Deaths on or before each study day (safety.death_days) and in the OS window of {config.os.window_days} "
            "days (os.window_days); cause as recorded on the death record.",
            f"Non-relapse deaths: on or before day {safety.nrm_day} (safety.nrm_day) with no relapse (a relapse "
            f"record or a PD assessment) on or before the death{relapse_like}. Rules: docs/safety.md (Deaths).",
            "An empty cell: not counted for that day. n (%): subjects and their percentage of N (the safety set).",
        ),
        col_widths=(2.4, *[1.2] * (len(headers) - 1)),
        indent=tuple(levels),
    )


# --------------------------------------------------------------------------- response and relapse


def response_table(rates: pl.DataFrame, config: Config) -> StudyTable:
    """Response rates of :func:`cart19.engine.response.response_rates`: ``n (%)`` and the
    interval, in the infused and the enrolled sets, one row per rate of ``response.rates``."""
    cfg = config.response
    level = f"{cfg.confidence_level * 100:g}%"
    method = "exact (Clopper-Pearson)" if cfg.interval == "clopper-pearson" else "Wilson score"
    by_key = {(r["population"], r["PARAMCD"]): r for r in rates.iter_rows(named=True)}
    sizes = {p: next((r["N"] for (q, _), r in by_key.items() if q == p), 0) for p in ("infused", "enrolled")}
    rows = []
    for rate in cfg.rates:
        row = [rate.param or rate.paramcd]
        for population in ("infused", "enrolled"):
            r = by_key.get((population, rate.paramcd))
            if r is None or not r["N"]:
                row += ["0", NE]
            else:
                row += [n_percent(int(r["n"]), int(r["N"])), interval(percent(r["ci_low"]), percent(r["ci_high"]))]
        rows.append(row)
    return StudyTable(
        title="Best overall response: response rates",
        frame=text_frame(rows, [
            "", f"Infused\n(N = {sizes['infused']})\nn (%)", f"Infused\n\n{level} CI",
            f"Enrolled\n(N = {sizes['enrolled']})\nn (%)", f"Enrolled\n\n{level} CI",
        ]),  # fmt: skip
        population=(
            f"infused subjects (N = {sizes['infused']}, primary) and enrolled subjects (every subject with a record, "
            f"N = {sizes['enrolled']}; the never infused count as non-responders)."
        ),
        footnotes=(
            "Best overall response (BOR): the best counted assessment from study day 1 to day "
            f"{cfg.window_days} (response.window_days), before any new therapy and any HSCT that precedes the first "
            "response; order response.bor_order. Rates: response.rates. MRD-negative remission: a remission "
            "assessment with MRD negative. Rules: docs/response.md.",
            f"CI: two-sided {level} {method} confidence interval of the percentage (response.interval, "
            "response.confidence_level); NE: no subject in the set.",
            "CR: complete remission; CRh: CR with partial haematologic recovery; CRi: CR with incomplete count "
            "recovery; MLFS: morphologic leukaemia-free state; PR: partial remission; MRD: measurable residual disease.",
        ),
        col_widths=(3.4, 1.1, 1.2, 1.1, 1.2),
    )


def cuminc_table(cuminc: pl.DataFrame, config: Config) -> StudyTable:
    """Cumulative incidence of relapse and of non-relapse mortality
    (:func:`cart19.engine.cuminc.cuminc_summary` of :func:`cart19.engine.relapse.cir_dataset`):
    events and the estimate with its CI at each landmark."""
    level = f"{config.km.confidence_level * 100:g}%"
    marks = [m for m in dict.fromkeys(cuminc.get_column("time_months").to_list()) if m is not None]
    total = int(cuminc.get_column("N").max() or 0) if cuminc.height else 0
    labels = {"relapse": "Relapse (CIR)", "nrm": "Non-relapse mortality (NRM)"}
    rows = []
    for cause, label in labels.items():
        part = cuminc.filter(pl.col("cause") == cause)
        events = int(part.get_column("events").max() or 0) if part.height else 0
        at = {r["time_months"]: r for r in part.iter_rows(named=True)}
        row = [label, n_percent(events, total)]
        for m in marks:
            r = at.get(m)
            if r is None or r["estimate"] is None:
                row.append(NE)
            elif r["lower"] is None:
                row.append(percent(r["estimate"]))
            else:
                row.append(f"{percent(r['estimate'])} {interval(percent(r['lower']), percent(r['upper']))}")
        rows.append(row)
    cfg = config.cuminc
    if cfg.origin == "remission":
        members = ", ".join(config.response_sets.get(cfg.response_set))
        population = (f"subjects in remission ({members}; cuminc.response_set) as a response to the infusion, from "
                      f"the first remission (N = {total}; cuminc.origin).")  # fmt: skip
    else:
        population = f"infused subjects, from the infusion (N = {total}; cuminc.origin)."
    return StudyTable(
        title="Cumulative incidence of relapse and non-relapse mortality",
        frame=text_frame(rows, ["", "Events\nn (%)", *[f"At {m:g} months\n% ({level} CI)" for m in marks]]),
        population=population,
        footnotes=(
            "Competing risks: relapse (a relapse record or PD) and death without relapse"
            + (" (a death of disease without an earlier relapse is a relapse: cuminc.disease_death_as_relapse)"
               if cfg.disease_death_as_relapse else "")
            + f"; censored at the end of the {cfg.window_days}-day window (cuminc.window_days), at the last known "
            "alive date" + (", at the start of a new therapy (cuminc.censor_at_new_therapy)" if cfg.censor_at_new_therapy else "")
            + f"; HSCT: {cfg.hsct} (cuminc.hsct). Rules: docs/relapse.md.",
            f"Aalen-Johansen estimates with Gray's variance (as R cmprsk::cuminc) and pointwise log(-log) {level} CIs "
            f"(km.confidence_level); a month is {config.km.days_per_month:g} days (km.days_per_month); landmarks: "
            "km.landmarks_months. NE: the landmark is after the last observation; no CI where the estimate is 0 or 1.",
            "CIR: cumulative incidence of relapse; NRM: non-relapse mortality; CI: confidence interval.",
        ),  # fmt: skip
        col_widths=(2.8, 1.0, *[1.3] * len(marks)),
    )


def latest_date(events: pl.DataFrame) -> dt.date | None:
    """The latest date in the events (AE end dates included): the date the data stand at when
    no cutoff is given, and the DLT review's default date."""
    if events.height == 0:
        return None
    return events.select(pl.max_horizontal(pl.col("date").max(), pl.col("end_date").max())).item()


def study_tables(
    events: pl.DataFrame,
    config: Config,
    *,
    review_date: dt.date | None = None,
    covariates: pl.DataFrame | None = None,
    groups: pl.DataFrame | None = None,
    by: str | None = None,
) -> list[StudyTable]:
    """Every table of the study report, numbered in report order, from the (cut-off) canonical
    events frame. ``review_date``: the DLT review's date (default: the latest date in
    ``events``, as ``check-dlt``). ``covariates``: the subject file (``subject_id`` and the
    covariates as text); without it there is no demography table. ``groups`` (the subgroup
    contract, from ``--by`` named ``by``): a table of the DLT review per group after the DLT
    review."""
    from cart19.engine.cuminc import cuminc_summary
    from cart19.engine.dlt import dlt_review
    from cart19.engine.km import km_summary
    from cart19.engine.relapse import cir_dataset
    from cart19.engine.response import response_rates
    from cart19.engine.safety import safety_profile
    from cart19.engine.teae import teae_tables
    from cart19.engine.tte import derive_adtte

    km = config.km
    safety = safety_profile(events, config, review_date=review_date).summary
    teae = teae_tables(events, config)
    review = dlt_review(events, config, review_date, groups=groups)
    adtte = derive_adtte(events, config)
    summary = km_summary(adtte, landmarks_months=km.landmarks_months, days_per_month=km.days_per_month,
                         confidence_level=km.confidence_level)  # fmt: skip
    cuminc = cuminc_summary(cir_dataset(events, config), landmarks_months=km.landmarks_months,
                            days_per_month=km.days_per_month, confidence_level=km.confidence_level)  # fmt: skip
    tables: list[StudyTable] = [disposition(safety, config)]
    if covariates is not None:
        tables.append(demography(covariates, review.subjects.get_column("subject_id")))
    tables += [
        teae_overview(teae, config),
        teae_by_soc_pt(teae, config),
        safety_syndromes(safety, config),
        safety_periods(safety, config),
        safety_deaths(safety, config),
        dlt_summary(review, config),
        *([dlt_by_group(review, config, by or "group")] if review.by_group is not None else []),
        dlt_by_rule(review, config),
        response_table(response_rates(events, config), config),
        tte_summary(adtte, summary, config),
        cuminc_table(cuminc, config),
    ]
    return numbered(tables)
