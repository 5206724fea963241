"""Time-to-event endpoints: OS, EFS (EFS, EFSS1-3) and DOR as one ADaM ADTTE-style frame.

The shape follows admiral's ``derive_param_tte()``: an endpoint is *data*. For each parameter
we build a population (who gets a row, and their start date), a list of **event sources** and a
list of **censor sources**. A source is a frame with the columns of :data:`SOURCE_SCHEMA`, one row
per candidate date::

    subject_id, date, srcdom, srcseq, imputed, description, priority

and one generic function, :func:`choose`, picks per subject the earliest event (ties: lower
``priority``, then lower ``srcseq``) or, when there is none, the latest censoring (ties broken the
same way). Every rule below reads its windows, response sets and switches from
:class:`cart19.config.Config`; nothing is hard-coded.

Interpretation decisions (endpoints.md leaves them open; each is named here so a reviewer can
see and change it):

* **"After the infusion"** means dated after the infusion *day* (study day >= 1): an
  assessment, relapse, ``new_therapy``, ``hsct`` or ``end_of_treatment`` dated on the infusion
  day is not "after the infusion" (a day-0 marrow is the baseline). A death counts from the
  infusion day itself (a day-0 death is an event with ``AVAL = 1``).
* **Windows** run from the infusion date for every endpoint: a record is in the window when
  ``date <= infusion date + window_days`` (the boundary day is in). For EFS and DOR, records
  after the window are set aside as if the window were a data cutoff (so an ``end_of_treatment``
  or next therapy after the window does not exist for EFSS2/EFSS3, which fall back to the
  actual failure date). OS uses the records after the window only to decide where to censor.
* **"Before"** a therapy, at date granularity, means *on or before*: an assessment dated on the
  day a ``new_therapy`` starts is the pre-therapy assessment and counts (this matches the
  spec's censoring rule "on or before the start of any new_therapy"); a relapse or death on the
  day a new therapy starts is still counted. An ``hsct`` is salvage (a response after it is not
  the product's) when it is dated strictly before the first response; an ``hsct`` on the day of
  the first response is after it (the transplant-day marrow is pre-transplant).
* **"A response"** in the common "response to the infusion" rule is the configured ``response``
  set (``response_sets.response``); EFS's own failure and relapse rules use
  ``efs.response_set``; DOR starts at the first result in ``dor.response_set``.
* **Relapse "after a response"** is a ``relapse`` record or a ``PD`` assessment dated strictly
  after the first counted response.
* **Tie order** on one date (lower is chosen first): EFS: treatment failure, ``relapse`` record,
  ``PD`` assessment, death; DOR: ``relapse`` record, ``PD`` assessment, death of disease. Within
  the actual failure date: the non-responding assessment, then the therapy, then a death.
  Remaining ties fall to the input line (``SRCSEQ``), so the result never depends on row order.
* **Start date** (``STARTDT``) is the first record of the parameter's ``origin_event`` (the
  infusion by default); a treated subject without one gets no row for that parameter. A
  candidate dated before the start date is dropped (an endpoint cannot end before it starts).
* **SRCDOM/SRCSEQ** name the record the date was taken from: for a date equal to the start date
  (EFS primary failure, censoring at the start) the origin record; for OS censoring at the
  window end the infusion record (the date is infusion + window). ``ADTF = "D"`` when that
  record's date was imputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from cart19.config import Config, EFSConfig, EFSParameter
from cart19.engine.common import treated_subjects

#: The output columns, in the contract's order (cli.md, "Machine formats").
ADTTE_SCHEMA: dict[str, pl.DataType] = {
    "USUBJID": pl.String(),
    "PARAMCD": pl.String(),
    "PARAM": pl.String(),
    "STARTDT": pl.Date(),
    "ADT": pl.Date(),
    "AVAL": pl.Int64(),
    "AVALU": pl.String(),
    "CNSR": pl.Int8(),
    "EVNTDESC": pl.String(),
    "CNSDTDSC": pl.String(),
    "SRCDOM": pl.String(),
    "SRCSEQ": pl.Int64(),
    "ADTF": pl.String(),
}
ADTTE_COLUMNS: tuple[str, ...] = tuple(ADTTE_SCHEMA)

#: One candidate date of an event or censoring source.
SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "subject_id": pl.String(),
    "date": pl.Date(),
    "srcdom": pl.String(),
    "srcseq": pl.Int64(),
    "imputed": pl.Boolean(),
    "description": pl.String(),
    "priority": pl.Int32(),
}

_DATE, _LINE = pl.col("date"), pl.col("line")


# --------------------------------------------------------------------------------------------
# Sources and the generic chooser
# --------------------------------------------------------------------------------------------


def source(
    frame: pl.DataFrame,
    *,
    description: str | pl.Expr,
    priority: int,
    date: pl.Expr = _DATE,
    srcdom: str | pl.Expr = pl.col("event"),
    srcseq: pl.Expr = _LINE,
    imputed: pl.Expr = pl.col("date_imputed"),
) -> pl.DataFrame:
    """Turn rows of ``frame`` into candidates of :data:`SOURCE_SCHEMA` (one per row).

    By default the candidate is the record itself: its ``date``, its ``event`` kind as SRCDOM,
    its ``line`` as SRCSEQ and its ``date_imputed`` flag.
    """
    as_expr = lambda v: pl.lit(v) if isinstance(v, str) else v  # noqa: E731
    return frame.select(
        pl.col("subject_id"),
        date.alias("date"),
        as_expr(srcdom).alias("srcdom"),
        srcseq.alias("srcseq"),
        imputed.fill_null(False).alias("imputed"),
        as_expr(description).alias("description"),
        pl.lit(priority).alias("priority"),
    ).cast({k: v for k, v in SOURCE_SCHEMA.items() if k != "subject_id"})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Parameter:
    """One ADTTE parameter as data: who, from when, and which sources end it."""

    paramcd: str
    param: str
    #: ``subject_id, startdt``: one row per subject who gets a row for this parameter.
    population: pl.DataFrame
    events: Sequence[pl.DataFrame] = field(default_factory=tuple)
    censors: Sequence[pl.DataFrame] = field(default_factory=tuple)


def choose(parameter: Parameter) -> pl.DataFrame:
    """The generic rule of every time-to-event parameter (admiral's ``derive_param_tte``):

    per subject of the population, the **earliest event**; if there is none, the **latest
    censoring**. Ties on the date are broken by the source's ``priority`` (lower first), then by
    ``srcseq`` (the input line, lower first), so the result does not depend on row order.
    Candidates dated before the subject's start date are dropped. Each subject must have at
    least one censoring candidate on or after the start date (the parameter builders ensure
    it); a subject without any candidate would get no row.

    Returns the ADTTE columns for this parameter (unsorted).
    """
    tagged = [c.with_columns(pl.lit(0, pl.Int8).alias("cnsr")) for c in parameter.events]
    tagged += [c.with_columns(pl.lit(1, pl.Int8).alias("cnsr")) for c in parameter.censors]
    empty = pl.DataFrame(schema=SOURCE_SCHEMA | {"cnsr": pl.Int8})
    candidates = (
        pl.concat([empty.with_columns(pl.col("subject_id").cast(parameter.population.schema["subject_id"])), *tagged])
        .join(parameter.population, on="subject_id", how="inner")
        .filter(pl.col("date") >= pl.col("startdt"))
    )
    chosen = _first_by_order(candidates)
    is_event = pl.col("cnsr") == 0
    return chosen.select(
        pl.col("subject_id").alias("USUBJID"),
        pl.lit(parameter.paramcd).alias("PARAMCD"),
        pl.lit(parameter.param).alias("PARAM"),
        pl.col("startdt").alias("STARTDT"),
        pl.col("date").alias("ADT"),
        ((pl.col("date") - pl.col("startdt")).dt.total_days() + 1).alias("AVAL"),
        pl.lit("DAYS").alias("AVALU"),
        pl.col("cnsr").alias("CNSR"),
        pl.when(is_event).then(pl.col("description")).alias("EVNTDESC"),
        pl.when(~is_event).then(pl.col("description")).alias("CNSDTDSC"),
        pl.col("srcdom").alias("SRCDOM"),
        pl.col("srcseq").alias("SRCSEQ"),
        pl.when(pl.col("imputed")).then(pl.lit("D")).alias("ADTF"),
    ).cast({k: v for k, v in ADTTE_SCHEMA.items() if k != "USUBJID"})  # type: ignore[arg-type]


def _first_by_order(candidates: pl.DataFrame) -> pl.DataFrame:
    """Per subject, the candidate first in the order (cnsr, date ascending for events /
    descending for censorings, priority, srcseq).

    For speed the order is packed into one Int64 (cnsr: 1 bit, date: 23 bits, priority: 8 bits,
    srcseq: 31 bits) and a group minimum is taken, which avoids sorting millions of rows; when a
    value does not fit (a file of over two billion lines) a plain sort gives the same answer.
    """
    days = pl.col("date").cast(pl.Int64)
    day_key = pl.when(pl.col("cnsr") == 0).then(days).otherwise(-days) + (1 << 22)
    bounds = candidates.select(
        (day_key.is_between(0, (1 << 23) - 1) & pl.col("priority").is_between(0, 255) & pl.col("srcseq").is_between(0, (1 << 31) - 1)).all()
    ).item()
    if bounds is not False:  # True, or None for an empty frame
        keyed = candidates.with_columns(
            (
                pl.col("cnsr").cast(pl.Int64) * (1 << 62)
                + day_key * (1 << 39)
                + pl.col("priority").cast(pl.Int64) * (1 << 31)
                + pl.col("srcseq")
            ).alias("_key")
        )
        best = keyed.group_by("subject_id").agg(pl.col("_key").min())
        chosen = keyed.join(best, on=["subject_id", "_key"], how="semi")
    else:  # pragma: no cover - needs a file of over 2**31 lines
        chosen = candidates.with_columns(day_key.alias("_key")).sort("subject_id", "cnsr", "_key", "priority", "srcseq")
    # identical keys can only come from one record offered twice: keep the first source's
    return chosen.unique("subject_id", keep="first", maintain_order=True)


# --------------------------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------------------------


def timeline(events: pl.DataFrame) -> pl.DataFrame:
    """The records of treated subjects, each with its subject's ``infusion_date`` and
    ``infusion_line``.

    "Subjects without an infusion are outside the treated (safety) set and appear in no
    endpoint." ``subject_id`` becomes an ``Enum`` of the treated subjects in sorted order
    (joins and group-bys on it are integer operations; sorting on it is sorting by the text).
    """
    treated = treated_subjects(events)
    ids = pl.Enum(treated.get_column("subject_id").sort())
    treated = treated.with_columns(pl.col("subject_id").cast(ids))
    kept = (
        events.select("line", "subject_id", "event", "date", "date_imputed", "end_date", "result")
        .with_columns(pl.col("subject_id").cast(ids, strict=False))  # untreated -> null
        .drop_nulls("subject_id")
    )
    return kept.join(treated, on="subject_id", how="inner")


def _origin(records: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``subject_id, startdt, start_kind, start_line, start_imputed``: the first record of the
    origin kind (ties on the date: the lower line)."""
    first = (
        records.filter(pl.col("event") == kind)
        .sort("subject_id", "date", "line")
        .unique("subject_id", keep="first", maintain_order=False)
    )
    return first.select(
        "subject_id",
        pl.col("date").alias("startdt"),
        pl.col("event").alias("start_kind"),
        pl.col("line").alias("start_line"),
        pl.col("date_imputed").alias("start_imputed"),
    )


def _first_by_subject(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``subject_id, {name}_date, {name}_line, {name}_kind``: each subject's earliest row
    (ties on the date: the lower input line)."""
    return (
        frame.sort("subject_id", "date", "line")
        .unique("subject_id", keep="first", maintain_order=False)
        .select(
            "subject_id",
            pl.col("date").alias(f"{name}_date"),
            pl.col("line").alias(f"{name}_line"),
            pl.col("event").alias(f"{name}_kind"),
        )
    )


def _latest_by_subject(frame: pl.DataFrame, date: str) -> pl.DataFrame:
    """Each subject's row with the latest ``date`` (ties: the lower input line): one group
    maximum and a semi join instead of a sort of the whole frame."""
    latest = frame.join(frame.group_by("subject_id").agg(pl.col(date).max()), on=["subject_id", date], how="semi")
    return latest.join(latest.group_by("subject_id").agg(_LINE.min()), on=["subject_id", "line"], how="semi")


@dataclass(frozen=True)
class FollowUp:
    """The records of treated subjects inside one endpoint's window, and the "response to the
    infusion" anchors derived from them.

    * ``records``: every record with ``infusion date <= date <= infusion date + window_days``,
      joined with ``infusion_date`` and ``window_end``.
    * ``assessments``: assessments dated after the infusion day, in the window.
    * ``counted``: the assessments that count as response to the infusion (below).
    * ``anchors``: per treated subject ``infusion_date, infusion_line, window_end,
      new_therapy_date`` (first ``new_therapy`` after the infusion, in the window; null if none).
    """

    records: pl.DataFrame
    assessments: pl.DataFrame
    counted: pl.DataFrame
    anchors: pl.DataFrame


def follow_up(records: pl.DataFrame, window_days: int, response: Sequence[str]) -> FollowUp:
    """"Response to the infusion: an assessment counts only if it is dated before the start of
    any `new_therapy`, and before any `hsct` that came before the first `response` (a response
    after a salvage transplant is not the product's)."

    "Follow-up windows: an endpoint ignores events after its window end (the infusion date + the
    window's days, for every endpoint, DOR included)."

    Read as: assessments dated after the infusion day and on or before ``infusion + window``;
    counted when dated on or before the first ``new_therapy`` and on or before a salvage
    ``hsct`` (an ``hsct`` dated strictly before the first result in ``response``, found among
    the assessments on or before the first ``new_therapy``).
    """
    window_end = pl.col("infusion_date") + pl.duration(days=window_days)
    anchors = (
        records.filter(pl.col("event") == "infusion")
        .unique("subject_id", keep="any")
        .select("subject_id", "infusion_date", "infusion_line", window_end.alias("window_end"))
    )
    records = records.with_columns(window_end.alias("window_end")).filter(
        (_DATE >= pl.col("infusion_date")) & (_DATE <= pl.col("window_end"))
    )
    after_day0 = _DATE > pl.col("infusion_date")
    new_therapy = _first_by_subject(records.filter((pl.col("event") == "new_therapy") & after_day0), "new_therapy")
    hsct = _first_by_subject(records.filter((pl.col("event") == "hsct") & after_day0), "hsct")
    anchors = anchors.join(new_therapy.select("subject_id", "new_therapy_date"), on="subject_id", how="left")
    records = records.join(new_therapy.select("subject_id", "new_therapy_date"), on="subject_id", how="left")

    assessments = records.filter((pl.col("event") == "assessment") & after_day0)
    before_new_therapy = pl.col("new_therapy_date").is_null() | (_DATE <= pl.col("new_therapy_date"))
    first_response = (
        assessments.filter(before_new_therapy & pl.col("result").is_in(list(response)))
        .group_by("subject_id")
        .agg(_DATE.min().alias("first_response_date"))
    )
    salvage = (
        hsct.join(first_response, on="subject_id", how="left")
        .filter(pl.col("first_response_date").is_null() | (pl.col("hsct_date") < pl.col("first_response_date")))
        .select("subject_id", pl.col("hsct_date").alias("salvage_hsct_date"))
    )
    counted = (
        assessments.join(salvage, on="subject_id", how="left")
        .filter(before_new_therapy & (pl.col("salvage_hsct_date").is_null() | (_DATE <= pl.col("salvage_hsct_date"))))
        .drop("salvage_hsct_date")
    )
    return FollowUp(records, assessments, counted, anchors)


def _is_adequate() -> pl.Expr:
    """"Adequate assessment: an `assessment` whose result is not `NE`.\""""
    return pl.col("result") != "NE"


# --------------------------------------------------------------------------------------------
# OS
# --------------------------------------------------------------------------------------------


def os_parameter(records: pl.DataFrame, config: Config) -> Parameter:
    """OS — overall survival.

    "Start: infusion date. Event: `death` of any cause in the window."
    "Censored otherwise: at the window end if any record of the subject is dated after it,
    else at the last known alive date (the latest date of any record of the subject, AE end
    dates included)."

    "Dated after it" looks at both ``date`` and ``end_date`` of every record. The window end
    is ``infusion date + os.window_days`` (inclusive); a death after it is ignored (and, being a
    record after the window end, makes the censoring date the window end).
    """
    cfg = config.os
    population = _origin(records, cfg.origin_event)
    records = records.with_columns((pl.col("infusion_date") + pl.duration(days=cfg.window_days)).alias("window_end"))
    in_window = _DATE <= pl.col("window_end")

    deaths = records.filter((pl.col("event") == "death") & in_window)
    death = source(deaths, description=pl.format("Death ({})", pl.col("result")), priority=1)

    # last known alive: the latest record date, and the latest AE end date, inside the window
    # (each reduced to its one candidate per subject: the latest of a censoring source is the
    # only one the chooser can pick, and it is before the start date only when all are)
    alive_dates = source(_latest_by_subject(records.filter(in_window), "date"), description="Last known alive", priority=2)
    alive_ends = source(
        _latest_by_subject(records.filter(pl.col("end_date") <= pl.col("window_end")), "end_date"),
        description="Last known alive (AE end date)",
        date=pl.col("end_date"),
        imputed=pl.lit(False),
        priority=3,
    )
    last = records.group_by("subject_id").agg(
        pl.max_horizontal(_DATE.max(), pl.col("end_date").max()).alias("last_date"),
        pl.col("window_end").first(),
        pl.col("infusion_line").first(),
    )
    window_end = source(
        last.filter(pl.col("last_date") > pl.col("window_end")),
        description=f"End of the {cfg.window_days}-day follow-up window",
        date=pl.col("window_end"),
        srcdom="infusion",
        srcseq=pl.col("infusion_line"),
        imputed=pl.lit(False),
        priority=1,
    )
    return Parameter(cfg.paramcd, cfg.param, population.select("subject_id", "startdt"), [death], [window_end, alive_dates, alive_ends])


# --------------------------------------------------------------------------------------------
# EFS
# --------------------------------------------------------------------------------------------

_FAILURE, _RELAPSE, _PD, _DEATH = 1, 2, 3, 4


def efs_failures(fu: FollowUp, cfg: EFSConfig, response: Sequence[str]) -> pl.DataFrame:
    """Treatment failure, per subject who failed, at its **actual** date.

    "Treatment failure: no `response` result at either of the first two adequate assessments
    after the infusion (the two efficacy assessments), or `new_therapy`/`hsct` started before
    any `response` was recorded."
    "EFSS1: the actual date of failure: the second non-responding assessment, or the start of
    the next therapy when that came first."

    * non-response: the subject has ``efs.efficacy_assessments`` counted adequate assessments
      and none of the first that many has a result in ``efs.response_set``; dated at the last of
      them;
    * therapy (when ``therapy_before_response_is_failure``): the first ``new_therapy`` or
      ``hsct`` after the infusion, in the window, dated strictly before the first counted
      response (or with no counted response);
    * death (only when ``death_before_assessments = "failure"``): a death in the window with
      fewer than that many adequate assessments on or before it and no response on or before it.

    The earliest of these is the actual failure (ties: assessment, therapy, death).
    Returns ``subject_id, date, srcdom, srcseq, imputed, description`` plus the subject's
    ``eot_*`` (first ``end_of_treatment`` after the infusion, in the window) and
    ``next_therapy_*`` (first ``new_therapy``/``hsct`` after the infusion, in the window).
    """
    k = cfg.efficacy_assessments
    is_response = pl.col("result").is_in(list(response))
    first_response = (
        fu.counted.filter(is_response).group_by("subject_id").agg(_DATE.min().alias("response_date"))
    )
    adequate = fu.counted.filter(_is_adequate())
    efficacy = (
        adequate.sort("subject_id", "date", "line")
        .filter(pl.int_range(pl.len()).over("subject_id") < k)
        .group_by("subject_id")
        .agg(
            pl.len().alias("n"),
            is_response.any().alias("any_response"),
            _DATE.last().alias("date"),
            _LINE.last().alias("line"),
        )
    )
    non_response = source(
        efficacy.filter((pl.col("n") == k) & ~pl.col("any_response")).with_columns(
            pl.lit(False).alias("date_imputed")
        ),
        description=f"Treatment failure: no response at the first {k} adequate assessments",
        srcdom="assessment",
        priority=1,
    )
    after_day0 = _DATE > pl.col("infusion_date")
    therapies = fu.records.filter(pl.col("event").is_in(["new_therapy", "hsct"]) & after_day0)
    next_therapy = _first_by_subject(therapies, "next_therapy")
    candidates = [non_response]
    if cfg.therapy_before_response_is_failure:
        failed = next_therapy.join(first_response, on="subject_id", how="left").filter(
            pl.col("response_date").is_null() | (pl.col("next_therapy_date") < pl.col("response_date"))
        )
        candidates.append(
            source(
                failed,
                description=pl.format(
                    "Treatment failure: {} before response",
                    pl.when(pl.col("next_therapy_kind") == "hsct").then(pl.lit("HSCT")).otherwise(pl.lit("new therapy")),
                ),
                date=pl.col("next_therapy_date"),
                srcdom=pl.col("next_therapy_kind"),
                srcseq=pl.col("next_therapy_line"),
                imputed=pl.lit(False),
                priority=2,
            )
        )
    if cfg.death_before_assessments == "failure":
        deaths = fu.records.filter(pl.col("event") == "death")
        before = (
            deaths.select("subject_id", pl.col("date").alias("death_date"))
            .join(fu.counted, on="subject_id", how="inner")
            .filter(_DATE <= pl.col("death_date"))
            .group_by("subject_id")
            .agg(_is_adequate().sum().alias("n_adequate"), is_response.any().alias("responded"))
        )
        early = deaths.join(before, on="subject_id", how="left").filter(
            (pl.col("n_adequate").fill_null(0) < k) & ~pl.col("responded").fill_null(False)
        )
        candidates.append(
            source(early, description="Treatment failure: death before the efficacy assessments", priority=3)
        )
    actual = (
        pl.concat(candidates)
        .sort("subject_id", "date", "priority", "srcseq")
        .unique("subject_id", keep="first", maintain_order=False)
        .drop("priority")
    )
    eot = _first_by_subject(fu.records.filter((pl.col("event") == "end_of_treatment") & after_day0), "eot")
    return actual.join(eot, on="subject_id", how="left").join(next_therapy, on="subject_id", how="left")


#: How each ``EFSParameter.failure_date`` dates a treatment failure: (date, srcdom, srcseq,
#: imputed, description suffix). ``None`` = the actual failure date. The fallback to the actual
#: date where the subject has no such record is applied by :func:`efs_failure_source`.
_FAILURE_DATE_RULES: dict[str, tuple[str, str] | None] = {
    "actual": None,
    "end_of_treatment": ("eot", "dated at end of treatment"),
    "next_therapy": ("next_therapy", "dated at the start of next-line therapy"),
}


def efs_failure_source(failures: pl.DataFrame, population: pl.DataFrame, parameter: EFSParameter) -> pl.DataFrame:
    """The treatment-failure event source of one EFS parameter.

    "EFS (primary): the start date, so AVAL = 1."
    "EFSS2: the `end_of_treatment` date (the actual failure date where the subject has none)."
    "EFSS3: the start of next-line therapy (`new_therapy` or `hsct`; the actual failure date
    where the subject has none)."
    """
    rule = parameter.failure_date
    if rule == "start":
        frame = failures.join(population, on="subject_id", how="inner")
        return source(
            frame,
            description=pl.format("{} (dated at the start)", pl.col("description")),
            date=pl.col("startdt"),
            srcdom=pl.col("start_kind"),
            srcseq=pl.col("start_line"),
            imputed=pl.col("start_imputed"),
            priority=_FAILURE,
        )
    spec = _FAILURE_DATE_RULES[rule]
    if spec is None:
        return source(failures, description=pl.col("description"), srcdom=pl.col("srcdom"), srcseq=pl.col("srcseq"), imputed=pl.col("imputed"), priority=_FAILURE)
    name, suffix = spec
    has = pl.col(f"{name}_date").is_not_null()
    return source(
        failures,
        description=pl.when(has).then(pl.format("{} ({})", pl.col("description"), pl.lit(suffix))).otherwise(pl.col("description")),
        date=pl.coalesce(pl.col(f"{name}_date"), pl.col("date")),
        srcdom=pl.when(has).then(pl.col(f"{name}_kind")).otherwise(pl.col("srcdom")),
        srcseq=pl.when(has).then(pl.col(f"{name}_line")).otherwise(pl.col("srcseq")),
        imputed=has.not_() & pl.col("imputed"),
        priority=_FAILURE,
    )


def efs_parameters(records: pl.DataFrame, config: Config, fu: FollowUp) -> list[Parameter]:
    """EFS — event-free survival, one :class:`Parameter` per ``efs.parameters`` entry.

    "Events, whichever comes first: 1. Treatment failure ... 2. Relapse: a `relapse` record, or
    an assessment with `PD`, after a `response`. 3. Death from any cause."
    "The start of `new_therapy` ends EFS and DOR observation for a subject who had a response:
    later relapses and deaths are not counted, and the subject is censored as below."
    "Censored otherwise: at the last adequate assessment in the window (on or before the start
    of any `new_therapy`); with no adequate assessment, at the start date (AVAL = 1)."
    "A relapse or a death that comes before the failure date of a sensitivity parameter is that
    parameter's event instead."

    Relapses count when dated strictly after the first counted response (in
    ``efs.response_set``) and on or before the first ``new_therapy``; deaths count unless the
    subject responded and the death is after the first ``new_therapy``. The censoring
    assessments are the counted adequate ones (so none after a salvage transplant).
    """
    cfg = config.efs
    response = config.response_sets.get(cfg.response_set)
    population = _origin(records, cfg.origin_event)
    failures = efs_failures(fu, cfg, response)

    first_response = (
        fu.counted.filter(pl.col("result").is_in(list(response)))
        .group_by("subject_id")
        .agg(_DATE.min().alias("response_date"))
    )
    records = fu.records.join(first_response, on="subject_id", how="left")
    observed = pl.col("new_therapy_date").is_null() | (_DATE <= pl.col("new_therapy_date"))
    after_response = pl.col("response_date").is_not_null() & (_DATE > pl.col("response_date"))
    relapse = source(
        records.filter((pl.col("event") == "relapse") & after_response & observed),
        description=pl.format("Relapse ({})", pl.col("result")),
        priority=_RELAPSE,
    )
    progression = source(
        records.filter((pl.col("event") == "assessment") & (pl.col("result") == "PD") & after_response & observed),
        description="Progressive disease at assessment",
        priority=_PD,
    )
    death_observed = pl.col("response_date").is_null() | observed
    death = source(
        records.filter((pl.col("event") == "death") & death_observed),
        description=pl.format("Death ({})", pl.col("result")),
        priority=_DEATH,
    )
    last_assessment = source(_latest_by_subject(fu.counted.filter(_is_adequate()), "date"), description="Last adequate assessment", priority=1)
    at_start = source(
        population,
        description="No adequate assessment: censored at the start date",
        date=pl.col("startdt"),
        srcdom=pl.col("start_kind"),
        srcseq=pl.col("start_line"),
        imputed=pl.col("start_imputed"),
        priority=2,
    )
    starts = population.select("subject_id", "startdt")
    return [
        Parameter(
            p.paramcd,
            p.param,
            starts,
            [efs_failure_source(failures, population, p), relapse, progression, death],
            [last_assessment, at_start],
        )
        for p in cfg.parameters
    ]


# --------------------------------------------------------------------------------------------
# DOR
# --------------------------------------------------------------------------------------------


def dor_parameter(config: Config, fu: FollowUp) -> Parameter:
    """DOR — duration of remission.

    "Only subjects with a `dor_response`. Start: the date of the first one."
    "Event: `relapse`, an assessment with `PD`, or `death` with result `disease`."
    "Censored otherwise: at the last adequate assessment on or before the earliest of the
    window end, the start of `new_therapy`, and a death of another cause. Consolidative `hsct`
    in remission does not censor (it is a configurable choice; a sensitivity parameter may
    censor)."

    The first response is the first *counted* assessment (response to the infusion) with a
    result in ``dor.response_set``. Observation ends at the earliest of the window end, the
    first ``new_therapy`` (when ``censor_at_new_therapy``), the first ``hsct`` on or after the
    start (when ``censor_at_hsct``) and a death whose cause is not in ``event_death_causes``;
    events dated on that day still count. Relapses and PD count when dated after the start, a
    death of disease from the start date on.
    """
    cfg = config.dor
    response = config.response_sets.get(cfg.response_set)
    start = (
        fu.counted.filter(pl.col("result").is_in(list(response)))
        .sort("subject_id", "date", "line")
        .unique("subject_id", keep="first", maintain_order=False)
        .select("subject_id", pl.col("date").alias("startdt"))
    )
    records = fu.records.join(start, on="subject_id", how="inner")
    limits: list[pl.Expr] = [pl.col("window_end")]
    if cfg.censor_at_new_therapy:
        limits.append(pl.col("new_therapy_date"))
    if cfg.censor_at_hsct:
        hsct = (
            records.filter((pl.col("event") == "hsct") & (_DATE >= pl.col("startdt")))
            .group_by("subject_id")
            .agg(_DATE.min().alias("hsct_date"))
        )
        records = records.join(hsct, on="subject_id", how="left")
        limits.append(pl.col("hsct_date"))
    other_death = (
        records.filter((pl.col("event") == "death") & ~pl.col("result").is_in(list(cfg.event_death_causes)))
        .select("subject_id", pl.col("date").alias("other_death_date"))
    )
    records = records.join(other_death, on="subject_id", how="left").with_columns(
        pl.min_horizontal(*limits, pl.col("other_death_date")).alias("observed_until")
    )
    observed = _DATE <= pl.col("observed_until")
    after_start = _DATE > pl.col("startdt")
    relapse = source(
        records.filter((pl.col("event") == "relapse") & after_start & observed),
        description=pl.format("Relapse ({})", pl.col("result")),
        priority=1,
    )
    progression = source(
        records.filter((pl.col("event") == "assessment") & (pl.col("result") == "PD") & after_start & observed),
        description="Progressive disease at assessment",
        priority=2,
    )
    death = source(
        records.filter((pl.col("event") == "death") & pl.col("result").is_in(list(cfg.event_death_causes)) & observed),
        description=pl.format("Death ({})", pl.col("result")),
        priority=3,
    )
    last_assessment = source(
        _latest_by_subject(
            records.filter((pl.col("event") == "assessment") & (_DATE > pl.col("infusion_date")) & _is_adequate() & observed),
            "date",
        ),
        description="Last adequate assessment",
        priority=1,
    )
    return Parameter(cfg.paramcd, cfg.param, start, [relapse, progression, death], [last_assessment])


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------


#: The kinds of record the EFS and DOR rules (and :func:`follow_up`) look at.
_EFS_DOR_KINDS = ("infusion", "assessment", "relapse", "death", "new_therapy", "hsct", "end_of_treatment")


def tte_parameters(events: pl.DataFrame, config: Config) -> list[Parameter]:
    """Every parameter of the dataset, in the configured order: OS, each EFS parameter, DOR."""
    records = timeline(events)
    # EFS and DOR read only these kinds of record (OS reads every record: last known alive)
    kinds = {*_EFS_DOR_KINDS, config.efs.origin_event}
    used = records.filter(pl.col("event").is_in(sorted(kinds)))
    windows: dict[int, FollowUp] = {}

    def window(days: int) -> FollowUp:
        if days not in windows:
            windows[days] = follow_up(used, days, config.response_sets.response)
        return windows[days]

    return [
        os_parameter(records, config),
        *efs_parameters(used, config, window(config.efs.window_days)),
        dor_parameter(config, window(config.dor.window_days)),
    ]


def derive_adtte(events: pl.DataFrame, config: Config | None = None) -> pl.DataFrame:
    """The time-to-event dataset (ADaM ADTTE style): one row per treated subject and parameter.

    ``events`` is the canonical events frame (:mod:`cart19.schema`), already cut off by the
    caller (:func:`cart19.engine.common.apply_cutoff`). Columns: :data:`ADTTE_COLUMNS`.
    "Analysis value of a time-to-event: AVAL = ADT - STARTDT + 1 in days (AVALU = DAYS)";
    "CNSR = 0 for an event, 1 for a censored observation". Rows sort by ``USUBJID``, then
    ``PARAMCD`` in the configured order (OS, EFS, EFSS1, EFSS2, EFSS3, DOR by default).
    """
    config = config or Config()
    parameters = tte_parameters(events, config)
    order = {p.paramcd: i for i, p in enumerate(parameters)}
    frames = [choose(p) for p in parameters]
    out = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=ADTTE_SCHEMA)
    return (
        out.with_columns(pl.col("PARAMCD").replace_strict(order, return_dtype=pl.Int32).alias("_order"))
        .sort("USUBJID", "_order")
        .drop("_order")
        .with_columns(pl.col("USUBJID").cast(pl.String))
    )


__all__ = [
    "ADTTE_COLUMNS",
    "ADTTE_SCHEMA",
    "SOURCE_SCHEMA",
    "FollowUp",
    "Parameter",
    "choose",
    "derive_adtte",
    "dor_parameter",
    "efs_failure_source",
    "efs_failures",
    "efs_parameters",
    "follow_up",
    "os_parameter",
    "source",
    "tte_parameters",
]
