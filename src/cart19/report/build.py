"""What the safety review report shows: the engines' frames gathered and turned into display text.

:func:`gather` takes the (cut-off) events, the configuration and where they came from, runs the
engines (DLT review, safety profile, TEAE tables, response, ADTTE + Kaplan-Meier, relapse
incidence), draws the figures, and returns a :class:`Report`: plain text and numbers, in the
report's order, with nothing escaped (the template engine escapes: :mod:`cart19.report.render`).
Nothing is read or written here.

Every listing is bounded (:data:`LISTING_LIMIT` rows, and the per-subject DLT table lists every
subject only in a small trial), so the report stays small at 100,000 subjects; what is left out
is counted, and the report says so where it leaves it out.

The generation time is ``SOURCE_DATE_EPOCH`` when that is set (reproducible builds), else now
(UTC); with it fixed, the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cart19 import __version__
from cart19.config import Config

#: Section ids, in page order.
SECTIONS: tuple[str, ...] = (
    "provenance", "disposition", "dlt", "safety", "teae", "efficacy", "figures", "warnings", "config",
)  # fmt: skip

#: At most this many rows in a listing (qualifying DLT events, possible DLTs, deaths, SAEs,
#: the per-subject DLT table); the rest are counted.
LISTING_LIMIT = 100
#: The per-subject DLT table lists every treated subject up to this many; above it, only the
#: subjects whose status is not "no DLT" (up to :data:`LISTING_LIMIT`).
ALL_SUBJECTS_LIMIT = 60

#: DLT statuses as a person says them.
STATUS_WORDS: dict[str, str] = {
    "dlt": "DLT",
    "no_dlt": "No DLT",
    "in_window": "In DLT window",
    "not_evaluable": "Not evaluable",
}
#: The order of the per-subject DLT table: what needs attention first.
_STATUS_ORDER = {"dlt": 0, "in_window": 1, "not_evaluable": 2, "no_dlt": 3}
DASH = "\u2013"
GE = "\u2265"


@dataclass(frozen=True)
class ReportSource:
    """Where the data came from, for the provenance block."""

    name: str
    sha256: str | None
    cutoff: dt.date | None = None
    as_of: dt.date | None = None
    #: data-quality warnings met while reading (reader, cutoff, untreated subjects)
    warnings: Sequence[str] = field(default_factory=tuple)
    #: ``--subjects`` and ``--by``, when given
    subjects_file: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    #: a CSS class: "dlt", "possible", "muted", "subtotal" or ""
    kind: str = ""


@dataclass(frozen=True)
class Table:
    """A table of display text: ``numeric[i]`` right-aligns column ``i``."""

    id: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    numeric: tuple[bool, ...] = ()
    caption: str = ""
    #: population and rule, shown under the caption
    population: str = ""
    #: after the table (what was left out, abbreviations)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    data_uri: str | None
    alt: str
    note: str


@dataclass(frozen=True)
class Report:
    """The report's content in page order (display text; escaping is the renderer's)."""

    title: str
    generated: str
    provenance: tuple[tuple[str, str], ...]
    disposition: Table
    dlt_window_days: int
    verdict: str
    verdict_met: bool
    dlt_rate: str
    dlt_counts: str
    dlt_by_group: Table | None
    dlt_possible: Table
    #: every possible DLT, listed or not
    dlt_possible_count: int
    dlt_events: Table
    dlt_subjects: Table
    dlt_rules: Table
    syndromes: Table
    periods: Table
    deaths: Table
    death_listing: Table
    sae_listing: Table
    teae_overview: Table
    teae_soc_pt: Table
    response_rates: Table
    bor: Table
    km: Table
    cuminc: Table
    figures: tuple[Figure, ...]
    warnings: tuple[str, ...]
    config_toml: str
    config_is_default: bool


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


# --------------------------------------------------------------------------- formatting


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def n_pct(n: int, total: int) -> str:
    """``n (x.y%)``, the percentage rounded half away from zero to one decimal; ``n`` alone
    when it is 0 or there is nobody to count."""
    n, total = int(n), int(total)
    if total <= 0 or n == 0:
        return str(n)
    tenths = (2000 * n + total) // (2 * total)
    return f"{n} ({tenths // 10}.{tenths % 10}%)"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f}%"


def pc(value: float | None) -> str:
    """A proportion as a percentage without the sign (inside a column headed %)."""
    return DASH if value is None else f"{100 * value:.1f}"


def num(value: Any) -> str:
    """A count or a number of days: whole numbers without decimals, a midpoint with one;
    missing as a dash."""
    if value is None or (isinstance(value, float) and value != value):
        return DASH
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


_ARRAY = re.compile(r"= \[\n((?:    [^\n]*,\n)+)\]")


def compact_toml(text: str) -> str:
    """``text`` (TOML) with each multi-line array of plain values on one line: the same
    configuration, in half the lines (the report's appendix)."""
    def one_line(match: re.Match[str]) -> str:
        return "= [" + ", ".join(line.strip().rstrip(",") for line in match.group(1).splitlines()) + "]"

    return _ARRAY.sub(one_line, text)


def _left_out(shown: int, total: int, what: str) -> tuple[str, ...]:
    if total <= shown:
        return ()
    return (f"{shown} of {total} {what} are listed (the report lists at most {LISTING_LIMIT}); "
            f"the other {total - shown} are counted above but not listed.",)  # fmt: skip


# --------------------------------------------------------------------------- sections


def with_group_column(table: Table, group_of: dict[str, str], missing: str = "(missing)") -> Table:
    """``table`` (a listing whose first column is the subject) with a second column ``Group``:
    each subject's group of ``--by`` (``missing`` for a subject without one)."""
    rows = tuple(
        dataclasses.replace(row, cells=(row.cells[0], group_of.get(row.cells[0], missing), *row.cells[1:]))
        for row in table.rows
    )
    numeric = (table.numeric[0], False, *table.numeric[1:]) if table.numeric else ()
    return dataclasses.replace(table, headers=(table.headers[0], "Group", *table.headers[1:]), rows=rows,
                               numeric=numeric)  # fmt: skip


def _provenance(
    source: ReportSource, config: Config, review_date: dt.date | None, generated: str
) -> tuple[tuple[str, str], ...]:
    import hashlib

    from cart19.config import to_toml

    digest = hashlib.sha256(to_toml(config).encode("utf-8")).hexdigest()
    return (
        ("Input file", source.name),
        ("Input SHA-256", source.sha256 or "not available"),
        ("Data cutoff", source.cutoff.isoformat() if source.cutoff else "none (all records used)"),
        ("DLT review as of", review_date.isoformat() if review_date else DASH),
        ("Generated", generated),
        ("Tool", f"cart19 {__version__}"),
        ("Configuration", "the defaults of the specification" if config == Config() else "modified (see the appendix)"),
        ("Configuration SHA-256", digest),
        *((("Subject file", source.subjects_file),) if source.subjects_file else ()),
        *((("Groups", f"by {source.by} (--by)"),) if source.by else ()),
    )


def _disposition(summary: pl.DataFrame) -> Table:
    values = {
        item: int(value or 0)
        for item, value in summary.filter(pl.col("table") == "disposition").select("item", "value").iter_rows()
    }
    enrolled = values.get("enrolled", 0)
    infused = values.get("infused", 0)
    labels = (
        ("enrolled", "Enrolled (every subject in the file)", enrolled),
        ("lymphodepleted", "Lymphodepleted", enrolled),
        ("infused", "Infused with CAR-T (the safety set)", enrolled),
        ("dlt_evaluable", "DLT-evaluable", infused),
        ("efficacy_evaluable", "Efficacy-evaluable", infused),
        ("withdrawn", "Withdrawn", enrolled),
        ("died", "Died", enrolled),
        ("alive", "Alive at the last record", enrolled),
    )
    rows = tuple(Row((label, n_pct(values.get(item, 0), total))) for item, label, total in labels)
    return Table(
        id="disposition-table",
        headers=("Subjects", "n (%)"),
        rows=rows,
        numeric=(False, True),
        population="Percentages of the enrolled, except DLT- and efficacy-evaluable: of the infused.",
    )


def _rule_description(config: Config) -> dict[str, str]:
    return {rule.name: rule.description or rule.name for rule in config.dlt.rules}


def _dlt_rules_table(config: Config) -> Table:
    return Table(
        id="dlt-rules",
        headers=("DLT rule", "Configuration name"),
        rows=tuple(Row((rule.description or rule.name, rule.name)) for rule in config.dlt.rules),
        caption="The DLT rules of this review",
        population=f"An adverse event with onset from day 0 to day {config.dlt.window_days} is a DLT when it meets "
        "one of these rules (configuration dlt.rules).",
    )


def _possible_dlts(events: pl.DataFrame, review: Any, config: Config) -> pl.DataFrame:
    """The ongoing AEs in the DLT window that meet a rule's term and grade but not yet its
    duration or resolution condition (the review's "may still meet" warnings), of the subjects
    not yet counted as a DLT: ``subject_id, line, term, grade, study_day, duration_days,
    rules (descriptions), open`` (``open``: follow-up goes on; false: it ended by death or
    withdrawal and the rule cannot be assessed)."""
    from cart19.engine.common import last_record_date
    from cart19.engine.dlt import ae_records, rule_pending, treated_aes
    from cart19.engine.terms import ae_vocabulary

    schema = {"subject_id": pl.String(), "line": pl.Int64(), "term": pl.String(), "grade": pl.Int64(),
              "study_day": pl.Int64(), "duration_days": pl.Int64(), "rules": pl.String(), "open": pl.Boolean()}  # fmt: skip
    pending = [(rule, rule_pending(rule, config.dlt)) for rule in config.dlt.rules]
    pending = [(rule, expr) for rule, expr in pending if expr is not None]
    candidates = review.subjects.filter(pl.col("status") != "dlt").select(
        "subject_id", "infusion_date"
    )
    if not pending or candidates.height == 0:
        return pl.DataFrame(schema=schema)
    window = pl.col("study_day").is_between(0, config.dlt.window_days)
    # only the columns and subjects read: each filter copies the columns it is given
    mine = pl.col("subject_id").is_in(pl.lit(candidates.get_column("subject_id")).implode())
    ae_columns = events.select("line", "subject_id", "event", "date", "end_date", "grade", "term", "soc")
    aes = treated_aes(ae_columns, treated=candidates).filter(window & pl.col("end_date").is_null())
    if aes.height == 0:
        return pl.DataFrame(schema=schema)
    last_dates = last_record_date(events.select("subject_id", "date", "end_date").filter(mine))
    aes = ae_records(events, config, aes=aes, last_dates=last_dates)
    descriptions = _rule_description(config)
    flagged = aes.with_columns(
        pl.concat_list(
            pl.when(expr.fill_null(False)).then(pl.lit(descriptions[rule.name])).otherwise(pl.lit(None, pl.String()))
            for rule, expr in pending
        ).list.drop_nulls().alias("_rules")
    ).filter(pl.col("_rules").list.len() > 0)
    ended = (
        events.filter(pl.col("event").is_in(["death", "withdrawal"])).select("subject_id").unique()
        .with_columns(pl.lit(True).alias("_ended"))
    )  # fmt: skip
    labels = ae_vocabulary(events, "term").select("term", "label")
    return (
        flagged.join(ended, on="subject_id", how="left")
        .join(labels, on="term", how="left")
        .sort("subject_id", "date", "line")
        .select(
            "subject_id",
            "line",
            pl.coalesce("label", "term").alias("term"),
            pl.col("grade").cast(pl.Int64()),
            "study_day",
            pl.col("duration_days").cast(pl.Int64()),
            pl.col("_rules").list.join("; ").alias("rules"),
            pl.col("_ended").is_null().alias("open"),
        )
    )


def _dlt_section(review: Any, config: Config, possible: pl.DataFrame) -> dict[str, Any]:
    stop = config.stopping_rule
    level = round(review.confidence_level * 100)
    met = review.stopping_rule_met
    verdict = (
        f"Stopping rule {'MET' if met else 'not met'}: the probability that the true DLT rate is above "
        f"{stop.dlt_rate_threshold:g} is {review.posterior_probability:.3f}, "
        f"{'above' if met else 'not above'} the threshold {stop.posterior_probability:g} "
        f"(Beta({stop.prior_alpha:g}, {stop.prior_beta:g}) prior; posterior Beta({stop.prior_alpha + review.dlt:g}, "
        f"{stop.prior_beta + review.evaluable - review.dlt:g}))."
    )
    rate = (
        f"{review.dlt} of {review.evaluable} evaluable subjects had a DLT: {pct(review.rate)}, "
        f"exact (Clopper{DASH}Pearson) {level}% CI {pct(review.ci_low)} to {pct(review.ci_high)}."
    )
    counts = review.status_counts()
    treated = review.subjects.height
    count_text = (f"{treated} treated: {counts['dlt']} with a DLT, {counts['no_dlt']} without, "
                  f"{counts['in_window']} still in the DLT window, {counts['not_evaluable']} not evaluable")
    descriptions = _rule_description(config)

    # possible DLTs, in full up to the limit
    shown = possible.head(LISTING_LIMIT)
    possible_rows = tuple(
        Row(
            (r["subject_id"], r["term"], str(r["grade"]), str(r["study_day"]),
             f"ongoing after {r['duration_days']} day{'s' if r['duration_days'] != 1 else ''}", r["rules"],
             "may still become a DLT" if r["open"] else "cannot be assessed: follow-up ended (death or withdrawal)",
             str(r["line"])),
            "possible" if r["open"] else "muted",
        )
        for r in shown.iter_rows(named=True)
    )  # fmt: skip
    possible_table = Table(
        id="dlt-possible",
        headers=("Subject", "Adverse event", "Grade", "Onset (study day)", "Duration", "Rule it may still meet",
                 "Assessment", "Input line"),  # fmt: skip
        rows=possible_rows,
        numeric=(False, False, True, True, False, False, False, True),
        caption="Possible DLTs: ongoing adverse events in the DLT window that meet a rule's event and grade "
        "but not yet its duration",
        population="Subjects without a DLT so far; AEs with onset from day 0 to "
        f"day {config.dlt.window_days}, no end date at the review.",
        notes=_left_out(shown.height, possible.height, "possible DLTs"),
    )

    # the qualifying adverse events, in full up to the limit
    events = review.dlt_events
    shown_events = events.head(LISTING_LIMIT)
    event_rows = tuple(
        Row(
            (r["subject_id"], r["term"], str(r["grade"]), str(r["study_day"]),
             r["end_date"].isoformat() if r["end_date"] else "ongoing",
             DASH if r["duration_days"] is None else str(r["duration_days"]),
             "; ".join(descriptions.get(name, name) for name in (r["rules"] or [])), str(r["line"])),
            "dlt",
        )
        for r in shown_events.iter_rows(named=True)
    )  # fmt: skip
    events_table = Table(
        id="dlt-events",
        headers=("Subject", "Adverse event", "Grade", "Onset (study day)", "End", "Duration (days)", "DLT rule met",
                 "Input line"),  # fmt: skip
        rows=event_rows,
        numeric=(False, False, True, True, False, True, False, True),
        caption="The adverse events that are DLTs",
        notes=_left_out(shown_events.height, events.height, "qualifying adverse events"),
    )

    # the subjects: everyone in a small trial; else those who need attention
    subjects = review.subjects.with_columns(
        pl.col("status").replace_strict(_STATUS_ORDER, return_dtype=pl.Int64()).alias("_order")
    ).sort("_order", "subject_id")
    note: tuple[str, ...] = ()
    if treated > ALL_SUBJECTS_LIMIT:
        attention = subjects.filter(pl.col("status") != "no_dlt")
        listed = attention.head(LISTING_LIMIT)
        note = (f"{treated} subjects were treated: the {counts['no_dlt']} with no DLT are counted above, not listed"
                + (f"; {listed.height} of the other {attention.height} are listed (at most {LISTING_LIMIT})."
                   if attention.height > listed.height else "."),)  # fmt: skip
    else:
        listed = subjects
    possible_subjects = set(possible.filter(pl.col("open")).get_column("subject_id").to_list())
    subject_rows = []
    for r in listed.iter_rows(named=True):
        status = STATUS_WORDS.get(r["status"], r["status"])
        kind = "dlt" if r["status"] == "dlt" else ""
        if r["status"] == "in_window" and r["subject_id"] in possible_subjects:
            status, kind = "In DLT window: possible DLT", "possible"
        elif r["status"] in ("in_window", "not_evaluable"):
            kind = "muted"
        reason = r["reason"] or ""
        if r["status"] == "dlt":
            reason = "; ".join(descriptions.get(name, name) for name in (r["dlt_rules"] or [])) or reason
        elif r["status"] == "in_window":
            reason = f"on {reason} at the review"
        subject_rows.append(
            Row((r["subject_id"], num(r["infusion_date"]), num(r["window_end"]), status, reason), kind)
        )
    subjects_table = Table(
        id="dlt-subjects",
        headers=("Subject", "Infusion", "DLT window ends", "DLT status", "Why"),
        rows=tuple(subject_rows),
        caption="DLT status of each treated subject",
        population=f"Treated (infused) subjects. Evaluable: a DLT, or followed through day "
        f"{config.dlt.evaluable_through_day}.",
        notes=note,
    )

    by_group = None
    if review.by_group is not None:
        group_rows = tuple(
            Row(
                (r["group"], str(r["treated"]), str(r["evaluable"]), str(r["dlt"]), pct(r["rate"]),
                 f"{pct(r['ci_low'])} to {pct(r['ci_high'])}", f"{r['posterior_probability']:.3f}",
                 "MET" if r["stopping_rule_met"] else "not met", str(r["in_window"]), str(r["not_evaluable"])),
                "dlt" if r["stopping_rule_met"] else "",
            )
            for r in review.by_group.iter_rows(named=True)
        )  # fmt: skip
        by_group = Table(
            id="dlt-by-group",
            headers=("Group", "Treated", "Evaluable", "DLT", "Rate", f"{level}% CI", "P(rate > "
                     f"{stop.dlt_rate_threshold:g})", "Stopping rule", "In window", "Not evaluable"),  # fmt: skip
            rows=group_rows,
            numeric=(False, True, True, True, True, False, True, False, True, True),
            caption="DLT review per group",
            population="The same rule, rate, exact CI and verdict within each group of --by.",
        )
    return {
        "dlt_window_days": review.window_days,
        "verdict": verdict,
        "verdict_met": met,
        "dlt_rate": rate,
        "dlt_counts": count_text,
        "dlt_by_group": by_group,
        "dlt_possible": possible_table,
        "dlt_possible_count": possible.height,
        "dlt_events": events_table,
        "dlt_subjects": subjects_table,
    }


def _summary_values(summary: pl.DataFrame, table: str) -> dict[tuple[str, str], float | None]:
    frame = summary.filter(pl.col("table") == table)
    return {(item, stat): value for item, stat, value in frame.select("item", "statistic", "value").iter_rows()}


def _safety_section(profile: Any, config: Config, infused: int) -> dict[str, Any]:
    syn = _summary_values(profile.summary, "syndrome")

    def count(item: str, stat: str) -> str:
        return n_pct(int(syn.get((item, stat)) or 0), infused)

    def span(item: str, what: str) -> str:
        median, low, high = (syn.get((item, f"{what}_{s}")) for s in ("median", "min", "max"))
        return DASH if median is None else f"{num(median)} ({num(low)}{DASH}{num(high)})"

    syndrome_rows = tuple(
        Row((g.name, count(g.name, "n_any"), count(g.name, "n_grade_ge3"), count(g.name, "n_grade_5"),
             span(g.name, "onset"), span(g.name, "duration"), str(int(syn.get((g.name, "n_ongoing")) or 0))))
        for g in config.safety.groups
    )  # fmt: skip
    syndromes = Table(
        id="syndromes",
        headers=("Syndrome", "Any grade n (%)", f"Grade {GE} 3 n (%)", "Grade 5 n (%)",
                 "Onset, study day: median (range)", "Duration of the first episode, days: median (range)",
                 "Ongoing"),  # fmt: skip
        rows=syndrome_rows,
        numeric=(False, True, True, True, True, True, True),
        caption="Syndromes of special interest (CRS, ICANS, GVHD, infections, cytopenias)",
        population=f"Safety set (N = {infused} infused); treatment-emergent AEs of the syndrome's terms or class "
        "(configuration safety.groups); each subject once, at the maximum grade.",
    )
    per = _summary_values(profile.summary, "period")
    periods = Table(
        id="periods",
        headers=("Onset period (study days)", "Any TEAE n (%)", f"Grade {GE} 3 n (%)", "Serious n (%)"),
        rows=tuple(
            Row((f"Day {p.first_day} to {p.last_day}", *(n_pct(int(per.get((p.label, s)) or 0), infused)
                                                         for s in ("n_any", "n_grade_ge3", "n_serious"))))
            for p in config.safety.periods
        ),  # fmt: skip
        numeric=(False, True, True, True),
        caption="Treatment-emergent adverse events by period of onset",
        population=f"Safety set (N = {infused}); a subject counts in each period with a TEAE starting in it "
        "(configuration safety.periods).",
    )
    dead = _summary_values(profile.summary, "deaths")
    day_stats = [f"by_day_{d}" for d in config.safety.death_days] + ["in_window"]
    causes = [c for c in dict.fromkeys(item for item, _ in dead) if c not in ("nrm",)]
    deaths = Table(
        id="deaths",
        headers=("Cause of death", *(f"By day {d}" for d in config.safety.death_days),
                 f"Within {config.os.window_days} days"),  # fmt: skip
        rows=(
            *(Row((("All causes" if c == "all" else c.capitalize()),
                   *(n_pct(int(dead.get((c, s)) or 0), infused) for s in day_stats)),
                  "subtotal" if c == "all" else "")
              for c in causes),
        ),  # fmt: skip
        numeric=(False, *([True] * len(day_stats))),
        caption="Deaths",
        population=f"Safety set (N = {infused}); deaths on or before each study day, by the cause recorded.",
        notes=(f"Non-relapse mortality (a death without an earlier relapse) by day {config.safety.nrm_day}: "
               f"{n_pct(int(dead.get(('nrm', f'by_day_{config.safety.nrm_day}')) or 0), infused)}.",),
    )
    listing = profile.deaths
    shown = listing.head(LISTING_LIMIT)
    death_listing = Table(
        id="death-listing",
        headers=("Subject", "Date", "Study day", "Cause", "Relapse before death", "Input line"),
        rows=tuple(
            Row((r["USUBJID"], num(r["date"]), num(r["study_day"]), r["cause"] or "unknown",
                 "yes" if r["relapse_before"] == "Y" else "no", num(r["SRCSEQ"])))
            for r in shown.iter_rows(named=True)
        ),  # fmt: skip
        numeric=(False, False, True, False, False, True),
        caption="Listing of deaths",
        population="Infused subjects who died, by study day of death.",
        notes=_left_out(shown.height, listing.height, "deaths"),
    )
    return {"syndromes": syndromes, "periods": periods, "deaths": deaths, "death_listing": death_listing}


def sae_records(events: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Serious treatment-emergent AEs of infused subjects: ``subject_id, line, term, soc, grade,
    date, study_day, end_date, related``, by subject, onset and line."""
    from cart19.engine.common import treated_subjects
    from cart19.engine.dlt import treated_aes
    from cart19.engine.teae import treatment_emergent
    from cart19.engine.terms import ae_vocabulary

    # only the columns read, before the filters: a filter copies every column it is given
    columns = ("line", "subject_id", "event", "date", "end_date", "grade", "term", "soc", "serious", "related")
    serious = events.select(columns).filter((pl.col("event") == "ae") & pl.col("serious").fill_null(False))
    infusions = events.select("line", "subject_id", "event", "date").filter(pl.col("event") == "infusion")
    treated = treated_subjects(infusions)
    aes = treated_aes(serious, treated=treated).filter(treatment_emergent(config))
    terms = ae_vocabulary(events, "term").select("term", pl.col("label").alias("_term"))
    socs = ae_vocabulary(events, "soc").select("soc", pl.col("label").alias("_soc"))
    return (
        aes.join(terms, on="term", how="left").join(socs, on="soc", how="left")
        .sort("subject_id", "date", "line")
        .select("subject_id", "line", pl.coalesce("_term", "term").alias("term"),
                pl.coalesce("_soc", "soc").fill_null(config.teae.uncoded_soc).alias("soc"),
                pl.col("grade").cast(pl.Int64()), "date", "study_day", "end_date", "related")
    )  # fmt: skip


def _sae_listing(saes: pl.DataFrame, config: Config) -> Table:
    shown = saes.head(LISTING_LIMIT)

    def yes_no(value: bool | None) -> str:
        return "unknown" if value is None else ("yes" if value else "no")

    return Table(
        id="sae-listing",
        headers=("Subject", "Adverse event", "System organ class", "Grade", "Onset (study day)", "End", "Related",
                 "Input line"),  # fmt: skip
        rows=tuple(
            Row((r["subject_id"], r["term"], r["soc"], num(r["grade"]), num(r["study_day"]),
                 num(r["end_date"]) if r["end_date"] else "ongoing", yes_no(r["related"]), num(r["line"])),
                "dlt" if (r["grade"] or 0) >= 5 else "")
            for r in shown.iter_rows(named=True)
        ),  # fmt: skip
        numeric=(False, False, False, True, True, False, False, True),
        caption="Listing of serious adverse events",
        population=f"Serious (serious = Y) treatment-emergent AEs of infused subjects, onset day 0 to "
        f"{config.teae.window_days}; by subject and onset.",
        notes=_left_out(shown.height, saes.height, "serious adverse events"),
    )


def _teae_section(tables: pl.DataFrame, config: Config) -> dict[str, Any]:
    cells = {(t, s, p, g): n for t, s, p, g, n in tables.select("table", "soc", "term", "grade", "n").iter_rows()}
    total = int(tables.get_column("N").max() or 0) if tables.height else 0

    def cell(table: str, grade: str, soc: str | None = None, term: str | None = None) -> str:
        return n_pct(cells.get((table, soc, term, grade), 0), total)

    overview = Table(
        id="teae-overview",
        headers=("Subjects with", f"n (%), N = {total}"),
        rows=(
            Row(("Any TEAE", cell("overall", "any"))),
            *(Row((f"{DASH} maximum grade {g}", cell("overall", g))) for g in ("1", "2", "3", "4", "5")),
            Row((f"A TEAE of grade {GE} 3", cell("overall", ">=3"))),
            Row(("A serious TEAE", cell("serious", "any"))),
            Row(("A TEAE related to CAR-T", cell("related", "any"))),
            Row(("A fatal TEAE (grade 5)", cell("overall", "5"))),
        ),
        numeric=(False, True),
        caption="Overview of treatment-emergent adverse events (TEAEs)",
        population=f"Safety set (N = {total} infused); a TEAE starts on day 0 to day {config.teae.window_days} "
        "(teae.window_days); each subject once per row, at the maximum grade.",
    )
    any_grade = tables.filter(pl.col("grade") == "any")
    terms_of = dict(
        any_grade.filter(pl.col("table") == "soc_pt").group_by("soc", maintain_order=True).agg("term").iter_rows()
    )
    grades = ("any", ">=3", "3", "4", "5")
    rows: list[Row] = []
    for soc in any_grade.filter(pl.col("table") == "soc").get_column("soc"):
        rows.append(Row((soc, *(cell("soc", g, soc) for g in grades)), "subtotal"))
        for term in terms_of.get(soc, []):
            rows.append(Row((f"\u2003{term}", *(cell("soc_pt", g, soc, term) for g in grades))))
    soc_pt = Table(
        id="teae-soc-pt",
        headers=("System organ class / preferred term", "Any grade", f"Grade {GE} 3", "Grade 3", "Grade 4", "Grade 5"),
        rows=tuple(rows),
        numeric=(False, True, True, True, True, True),
        caption="TEAEs by system organ class and preferred term, most frequent first",
        population=f"Safety set (N = {total}); n (%) of subjects. A class row (shaded) counts each subject once "
        "whatever its terms; classes, then terms within a class, by descending frequency, then alphabetically.",
    )
    return {"teae_overview": overview, "teae_soc_pt": soc_pt}


def _efficacy_section(rates: pl.DataFrame, bor: pl.DataFrame, km: pl.DataFrame, cuminc: pl.DataFrame,
                      config: Config) -> dict[str, Any]:  # fmt: skip
    level = round(config.response.confidence_level * 100)
    names = {r.paramcd: r.param for r in config.response.rates}
    method = "exact Clopper-Pearson" if config.response.interval == "clopper-pearson" else "Wilson score"
    infused = rates.filter(pl.col("population") == "infused")
    enrolled = {r["PARAMCD"]: r for r in rates.filter(pl.col("population") == "enrolled").iter_rows(named=True)}

    def rate_cells(r: dict[str, Any] | None) -> tuple[str, str]:
        if r is None or not r["N"]:
            return DASH, DASH
        return n_pct(r["n"], r["N"]), f"{pct(r['ci_low'])} to {pct(r['ci_high'])}"

    rate_rows = tuple(
        Row((names.get(r["PARAMCD"], r["PARAMCD"]), *rate_cells(r), *rate_cells(enrolled.get(r["PARAMCD"]))))
        for r in infused.iter_rows(named=True)
    )
    n_inf = int(infused.get_column("N").max() or 0) if infused.height else 0
    n_enr = max((int(r["N"]) for r in enrolled.values()), default=0)
    response_rates = Table(
        id="response-rates",
        headers=("Rate", f"Infused (N = {n_inf}) n (%)", f"{level}% CI", f"Enrolled (N = {n_enr}) n (%)",
                 f"{level}% CI"),  # fmt: skip
        rows=rate_rows,
        numeric=(False, True, True, True, True),
        caption="Response rates",
        population=f"Best overall response from day 1 to day {config.response.window_days} (response.window_days); "
        f"{method} {level}% CIs. Enrolled: every subject in the file, the never infused counted as non-responders.",
    )
    bor_table = Table(
        id="bor",
        headers=("Best overall response", "n (%)"),
        rows=tuple(Row(("Not done (no assessment)" if r["AVALC"] == "ND" else r["AVALC"], n_pct(r["n"], r["N"])))
                   for r in bor.iter_rows(named=True)),  # fmt: skip
        numeric=(False, True),
        caption="Best overall response",
        population=f"Infused subjects (N = {bor.get_column('N').max() if bor.height else 0}).",
    )

    def days(value: float | None) -> str:
        return "not reached" if value is None else num(value)

    months = [m for m in dict.fromkeys(km.get_column("time_months").to_list()) if m is not None] if km.height else []
    km_rows = []
    for (code,), group in km.group_by("PARAMCD", maintain_order=True):
        first = group.row(0, named=True)
        by_month = {r["time_months"]: r for r in group.iter_rows(named=True)}

        def at(m: float, by_month: dict[float, dict[str, Any]] = by_month) -> str:
            r = by_month.get(m)
            if r is None or r["survival"] is None:
                return DASH
            return f"{pc(r['survival'])} ({pc(r['survival_lower'])}{DASH}{pc(r['survival_upper'])})"

        km_rows.append(Row((
            str(code), str(first["N"]), str(first["events"]),
            f"{days(first['median'])} ({days(first['median_lower'])}{DASH}{days(first['median_upper'])})",
            *(at(m) for m in months),
            f"{days(first['followup_median'])} ({days(first['followup_lower'])}{DASH}{days(first['followup_upper'])})",
        )))  # fmt: skip
    km_table = Table(
        id="km-summary",
        headers=("Endpoint", "N", "Events", "Median, days (95% CI)", *(f"At {m:g} months, % (95% CI)" for m in months),
                 "Median follow-up, days (95% CI)"),  # fmt: skip
        rows=tuple(km_rows),
        numeric=(False, True, True, True, *([True] * len(months)), True),
        caption=f"Time to event: Kaplan{DASH}Meier estimates",
        population="Infused subjects; OS, EFS and RFS from the infusion, DOR from the first response. "
        "Log-log pointwise CIs (Greenwood variance); median follow-up by reverse Kaplan-Meier, as cart19 km.",
    )
    cum_months = [m for m in dict.fromkeys(cuminc.get_column("time_months").to_list()) if m is not None]
    cause_words = {"relapse": "Relapse (cumulative incidence of relapse)", "nrm": "Non-relapse mortality"}
    cum_rows = []
    for (cause,), group in cuminc.group_by("cause", maintain_order=True):
        first = group.row(0, named=True)
        by_month = {r["time_months"]: r for r in group.iter_rows(named=True)}

        def at_c(m: float, by_month: dict[float, dict[str, Any]] = by_month) -> str:
            r = by_month.get(m)
            if r is None or r["estimate"] is None:
                return DASH
            if r["lower"] is None:
                return pc(r["estimate"])
            return f"{pc(r['estimate'])} ({pc(r['lower'])}{DASH}{pc(r['upper'])})"

        cum_rows.append(Row((cause_words.get(cause, cause), str(first["N"]), str(first["events"]),
                             *(at_c(m) for m in cum_months))))  # fmt: skip
    cum_table = Table(
        id="cuminc-summary",
        headers=("Cause", "N", "Events", *(f"At {m:g} months, % (95% CI)" for m in cum_months)),
        rows=tuple(cum_rows),
        numeric=(False, True, True, *([True] * len(cum_months))),
        caption="Relapse and non-relapse mortality: cumulative incidence (competing risks)",
        population="Infused subjects with a remission (CR/CRh/CRi) to the infusion, from the first remission; "
        "Aalen-Johansen estimates with log(-log) CIs, as cart19 cuminc.",
    )
    return {"response_rates": response_rates, "bor": bor_table, "km": km_table, "cuminc": cum_table}


# --------------------------------------------------------------------------- the report


def data_quality_warnings(events: pl.DataFrame, review: Any) -> list[str]:
    """What the data say about themselves, beyond the reader's warnings: imputed dates (by
    subject and record) and the DLT review's warnings."""
    from cart19.engine.common import date_flag

    out: list[str] = []
    imputed = events.filter(pl.col("date_imputed")).sort("subject_id", "line").with_columns(date_flag().alias("_flag"))
    for r in imputed.head(LISTING_LIMIT).iter_rows(named=True):
        out.append(f"{r['subject_id']}: {r['event']} on line {r['line']} has a partial date, imputed to "
                   f"{r['date'].isoformat()} (flag {r['_flag']})")  # fmt: skip
    if imputed.height > LISTING_LIMIT:
        out.append(f"... and {imputed.height - LISTING_LIMIT} more records with an imputed date (not listed)")
    out.extend(review.warnings[:LISTING_LIMIT])
    if len(review.warnings) > LISTING_LIMIT:
        out.append(f"... and {len(review.warnings) - LISTING_LIMIT} more DLT review warnings (not listed)")
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


def _figures(
    events: pl.DataFrame, config: Config, review: Any, adtte: pl.DataFrame, cir: pl.DataFrame
) -> tuple[Figure, ...]:
    from cart19.plot._mpl import figure_bytes, pyplot
    from cart19.plot.cuminc import cuminc_plot_data, draw_cuminc
    from cart19.plot.km import DEFAULT_PARAMS, draw_km, km_plot_data
    from cart19.plot.swimmer import MAX_LANES, draw_swimmer, swimmer_data

    plt = pyplot()
    swim = swimmer_data(events, config, review.dlt_events)
    swim = dataclasses.replace(swim, review_date=review.review_date)
    swimmer_uri = None
    if swim.lanes.height:
        fig = draw_swimmer(swim)
        swimmer_uri = png_data_uri(figure_bytes(fig, "png", dpi=110))
        plt.close(fig)
    km_uri = None
    present = set(adtte["PARAMCD"].to_list())
    params = [p for p in (config.os.paramcd, *(q.paramcd for q in config.efs.parameters[:1]), config.dor.paramcd)
              if p in present] or [p for p in DEFAULT_PARAMS if p in present]  # fmt: skip
    if params:
        fig = draw_km(km_plot_data(adtte, params, config))
        km_uri = png_data_uri(figure_bytes(fig, "png", dpi=110))
        plt.close(fig)
    cuminc_uri = None
    if cir.height:
        fig = draw_cuminc(cuminc_plot_data(cir, config))
        cuminc_uri = png_data_uri(figure_bytes(fig, "png", dpi=110))
        plt.close(fig)
    lanes = (f" The {MAX_LANES} of {swim.lanes.height} infused subjects with the longest follow-up are shown."
             if swim.lanes.height > MAX_LANES else "")  # fmt: skip
    return (
        Figure("swimmer", "Swimmer plot", swimmer_uri, "Swimmer plot: one lane per infused subject",
               "One lane per infused subject from the infusion (day 0) to the last follow-up, longest at the top; "
               "colour = best response to the infusion; the DLT window is shaded." + lanes),
        Figure("km", f"Kaplan{DASH}Meier curves", km_uri, "Kaplan-Meier curves",
               "Survival estimates from the infusion (DOR: from the first response), with the numbers at risk."),
        Figure("cuminc", "Cumulative incidence of relapse and non-relapse mortality", cuminc_uri,
               "Cumulative incidence of relapse and of death without relapse",
               "Aalen-Johansen estimates of relapse (solid) and death without relapse (dashed), competing risks, "
               "from the first remission (cuminc.origin), with the numbers at risk."),
    )  # fmt: skip


def gather(
    events: pl.DataFrame,
    config: Config,
    source: ReportSource,
    *,
    generated: dt.datetime | None = None,
    title: str = "CAR-T CD19 safety review",
    groups: pl.DataFrame | None = None,
    subjects: Any = None,
) -> Report:
    """Run the engines on ``events`` (the canonical events frame after the cutoff) and return
    the report's content. ``groups`` (``subject_id, group``, e.g. the cohort of ``--by``): the
    DLT review per group as well. ``subjects``: the reader's numbering of these records
    (:mod:`cart19.io.subjects`), if known: it only saves numbering them again (not used after an
    ``as_of`` cut, which changes the records).

    Needs matplotlib for the figures (raises :class:`cart19.plot.PlotUnavailable` without it).
    """
    from cart19.config import to_toml
    from cart19.engine.cuminc import cuminc_summary
    from cart19.engine.dlt import dlt_review
    from cart19.engine.km import km_summary
    from cart19.engine.relapse import cir_dataset
    from cart19.engine.response import best_overall_response, bor_distribution, response_rates
    from cart19.engine.safety import safety_profile
    from cart19.engine.teae import teae_tables
    from cart19.engine.tte import derive_adtte
    from cart19.plot._mpl import pyplot

    pyplot()  # fail early without matplotlib
    generated = generated or generation_time()
    stamp = generated.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the tables and figures show the same records as the DLT review (--as-of works as a cutoff),
    # and the report says what that set aside
    set_aside: list[str] = []
    if source.as_of is not None:
        from cart19.engine.common import apply_cutoff

        cut = apply_cutoff(events, source.as_of)
        events = cut.events
        set_aside = as_of_notes(cut.set_aside, cut.end_dates_cleared, source.as_of)
        subjects = None
    review = dlt_review(events, config, source.as_of, groups=groups)
    possible = _possible_dlts(events, review, config)
    profile = safety_profile(events, config, review_date=source.as_of, subjects=subjects)
    infused = review.subjects.height
    tables = teae_tables(events, config)
    saes = sae_records(events, config)
    bor = best_overall_response(events, config)
    rates = response_rates(events, config, bor=bor)
    adtte = derive_adtte(events, config, subjects)
    km_cfg = config.km
    km = km_summary(adtte, landmarks_months=km_cfg.landmarks_months, days_per_month=km_cfg.days_per_month,
                    confidence_level=km_cfg.confidence_level)  # fmt: skip
    cir = cir_dataset(events, config, subjects)
    cuminc = cuminc_summary(cir, landmarks_months=km_cfg.landmarks_months, days_per_month=km_cfg.days_per_month,
                            confidence_level=km_cfg.confidence_level)  # fmt: skip
    figures = _figures(events, config, review, adtte, cir)
    dlt = _dlt_section(review, config, possible)
    safety = _safety_section(profile, config, infused)
    sae = _sae_listing(saes, config)
    if groups is not None:  # the listings say each subject's group
        group_of = dict(groups.select("subject_id", "group").iter_rows())
        for key in ("dlt_possible", "dlt_events", "dlt_subjects"):
            dlt[key] = with_group_column(dlt[key], group_of)
        safety["death_listing"] = with_group_column(safety["death_listing"], group_of)
        sae = with_group_column(sae, group_of)
    warnings = [*source.warnings, *(w for w in set_aside if w not in source.warnings),
                *data_quality_warnings(events, review), *profile.warnings]  # fmt: skip
    return Report(
        title=title,
        generated=stamp,
        provenance=_provenance(source, config, review.review_date, stamp),
        disposition=_disposition(profile.summary),
        dlt_rules=_dlt_rules_table(config),
        **dlt,
        **safety,
        sae_listing=sae,
        **_teae_section(tables, config),
        **_efficacy_section(rates, bor_distribution(bor, config), km, cuminc, config),
        figures=figures,
        warnings=tuple(dict.fromkeys(warnings)),
        config_toml=compact_toml(to_toml(config)),
        config_is_default=config == Config(),
    )


def build_report(
    events: pl.DataFrame,
    config: Config,
    source: ReportSource,
    *,
    generated: dt.datetime | None = None,
    title: str = "CAR-T CD19 safety review",
    groups: pl.DataFrame | None = None,
    subjects: Any = None,
) -> str:
    """The whole report as HTML text: :func:`gather` then :func:`cart19.report.render.render`."""
    from cart19.report.render import render

    return render(gather(events, config, source, generated=generated, title=title, groups=groups, subjects=subjects))
