"""Time-to-event endpoints: OS, EFS (EFS, EFSS1-3), DOR and RFS as one ADaM ADTTE-style frame.

The shape follows admiral's ``derive_param_tte()``: an endpoint is *data*. For each parameter
we build a population (who gets a row, and their start date), a list of **event sources** and a
list of **censor sources**. A source is a frame with the columns of :data:`SOURCE_SCHEMA`, one row
per candidate date::

    subject_id, date, srcdom, srcseq, dtf, description, priority

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
  window end the infusion record (the date is infusion + window). ``ADTF`` is that record's
  date imputation flag: ``"D"`` when its day was imputed (``YYYY-MM``), ``"M"`` when its month
  was too (an AE onset given as a year alone).

How it is computed (the rules above do not depend on it): the events frame is read in one pass
(:func:`_study`): a filter to the kinds of record the parameters read, and per subject code
(:mod:`cart19.io.subjects`) the least of a key that names its last known alive record; no join or hash
of the text touches the bulk of the records. Per-subject "first" and "latest" records are
group minima of keys that pack a sort order into one integer (no sorting), subjects are an
``Enum`` (joins and group-bys on integers), and the frames are polars lazy queries, collected
a stage at a time (:func:`follow_up`, each parameter's sources, the latest censorings, once for
parameters that share their censoring sources, then every parameter's choice at once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

from cart19.config import Config, DORConfig, EFSConfig, EFSParameter
from cart19.engine.common import date_flag, treated_subjects
from cart19.io.subjects import Subjects, subject_codes

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
    "dtf": pl.String(),
    "description": pl.String(),
    "priority": pl.Int32(),
}

_DATE, _LINE, _EVENT = pl.col("date"), pl.col("line"), pl.col("event")

#: A polars frame, eager or lazy: the building blocks below work on either and return the same.
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

#: The engine the lazy queries here are collected with: polars' in-memory engine, the one its
#: eager API uses. (polars 2.1's default streaming engine panics now and then in string
#: expressions over frames it has joined; "assertion failed: i < self.len()" in binview.)
_ENGINE = "in-memory"


# --------------------------------------------------------------------------------------------
# Sources and the generic chooser
# --------------------------------------------------------------------------------------------


def source(
    frame: Frame,
    *,
    description: str | pl.Expr,
    priority: int,
    date: pl.Expr = _DATE,
    srcdom: str | pl.Expr = _EVENT,
    srcseq: pl.Expr = _LINE,
    dtf: pl.Expr | None = None,
) -> Frame:
    """Turn rows of ``frame`` into candidates of :data:`SOURCE_SCHEMA` (one per row).

    By default the candidate is the record itself: its ``date``, its ``event`` kind as SRCDOM,
    its ``line`` as SRCSEQ and its date's imputation flag (``dtf``, ADTF: :func:`date_flag`
    of its ``date_imputed`` and ``month_imputed``).
    """

    def as_expr(value: str | pl.Expr) -> pl.Expr:
        return pl.lit(value) if isinstance(value, str) else value

    return frame.select(
        pl.col("subject_id"),
        date.alias("date"),
        as_expr(srcdom).alias("srcdom"),
        srcseq.alias("srcseq"),
        (date_flag() if dtf is None else dtf).alias("dtf"),
        as_expr(description).alias("description"),
        pl.lit(priority).alias("priority"),
    ).cast({k: v for k, v in SOURCE_SCHEMA.items() if k != "subject_id"})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Parameter:
    """One ADTTE parameter as data: who, from when, and which sources end it."""

    paramcd: str
    param: str
    #: ``subject_id, startdt``: one row per subject who gets a row for this parameter.
    population: pl.DataFrame | pl.LazyFrame
    events: Sequence[pl.DataFrame | pl.LazyFrame] = field(default_factory=tuple)
    censors: Sequence[pl.DataFrame | pl.LazyFrame] = field(default_factory=tuple)


def choose(parameter: Parameter) -> pl.LazyFrame:
    """The generic rule of every time-to-event parameter (admiral's ``derive_param_tte``):

    per subject of the population, the **earliest event**; if there is none, the **latest
    censoring**. Ties on the date are broken by the source's ``priority`` (lower first), then by
    ``srcseq`` (the input line, lower first), so the result does not depend on row order.
    Candidates dated before the subject's start date are dropped. Each subject must have at
    least one censoring candidate on or after the start date (the parameter builders ensure
    it); a subject without any candidate would get no row.

    Returns the ADTTE columns for this parameter (unsorted) as a lazy query. (:func:`derive_adtte`
    takes the same steps for every parameter at once, sharing what parameters share.)
    """
    chosen = _choice(parameter, _latest_censoring(parameter))
    return _adtte_columns(chosen, pl.col("subject_id"), pl.lit(parameter.paramcd), pl.lit(parameter.param))


def _candidates(parameter: Parameter, sources: Sequence[pl.DataFrame | pl.LazyFrame], cnsr: int) -> pl.LazyFrame:
    """The rows of ``sources`` (events: ``cnsr`` 0; censorings: 1) of the population's subjects,
    with their ``startdt``, dated on or after it."""
    population = parameter.population.lazy()
    tagged = [c.lazy().with_columns(pl.lit(cnsr, pl.Int8).alias("cnsr")) for c in sources]
    # (no source at all is no candidate; the id type is the population's)
    nothing = (pl.lit(None, dtype).alias(name) for name, dtype in SOURCE_SCHEMA.items() if name != "subject_id")
    empty = population.select("subject_id", *nothing, pl.lit(None, pl.Int8).alias("cnsr")).clear()
    return (
        pl.concat([empty, *tagged], how="vertical")
        .join(population, on="subject_id", how="inner")
        .filter(pl.col("date") >= pl.col("startdt"))
    )


def _latest_censoring(parameter: Parameter) -> pl.LazyFrame:
    """Per subject, the latest censoring candidate on or after the start (ties: :func:`choose`'s)."""
    days = pl.col("date").cast(pl.Int32).cast(pl.Int128)
    return _first(_candidates(parameter, parameter.censors, 1), _candidate_order(days * -1))  # (no Int128 negation)


def _choice(parameter: Parameter, censoring: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """:func:`choose`'s candidate per subject, given :func:`_latest_censoring` (which parameters
    with the same population and censoring sources share): the earliest event, else the
    censoring. (The least of all candidates in the order ``(cnsr, date or reversed date,
    priority, srcseq)`` is the least event, or, for a subject without one, the least
    censoring.) :data:`SOURCE_SCHEMA`'s columns, ``cnsr`` and ``startdt``."""
    event = _first(_candidates(parameter, parameter.events, 0), _candidate_order(pl.col("date").cast(pl.Int32)))
    event = event.cache()  # (read twice below)
    return pl.concat([event, censoring.lazy().join(event, on="subject_id", how="anti")], how="vertical")


def _adtte_columns(chosen: Frame, usubjid: pl.Expr, paramcd: pl.Expr, param: pl.Expr) -> Frame:
    """The ADTTE columns (:data:`ADTTE_SCHEMA`, ``USUBJID`` as ``usubjid`` gives it) of chosen
    candidates (:func:`_choice`'s)."""
    is_event = pl.col("cnsr") == 0
    return chosen.select(
        usubjid.alias("USUBJID"),
        paramcd.alias("PARAMCD"),
        param.alias("PARAM"),
        pl.col("startdt").alias("STARTDT"),
        pl.col("date").alias("ADT"),
        ((pl.col("date") - pl.col("startdt")).dt.total_days() + 1).alias("AVAL"),
        pl.lit("DAYS").alias("AVALU"),
        pl.col("cnsr").alias("CNSR"),
        pl.when(is_event).then(pl.col("description")).alias("EVNTDESC"),
        pl.when(~is_event).then(pl.col("description")).alias("CNSDTDSC"),
        pl.col("srcdom").alias("SRCDOM"),
        pl.col("srcseq").alias("SRCSEQ"),
        pl.col("dtf").alias("ADTF"),
    ).cast({k: v for k, v in ADTTE_SCHEMA.items() if k != "USUBJID"})  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Per-subject first and latest rows, without sorting
# --------------------------------------------------------------------------------------------


def _first(frame: Frame, key: pl.Expr) -> Frame:
    """Per subject, the row with the least ``key`` (one of the keys below, which pack a whole
    sort order into one integer): a group minimum, much cheaper than sorting the frame. A row
    with a null key is never first. Rows with the same key are one record offered twice (the
    keys end in the input line): one of them is kept."""
    return frame.filter(key == key.min().over("subject_id")).unique("subject_id", keep="any")


def _candidate_order(day: pl.Expr, cnsr: pl.Expr | None = None) -> pl.Expr:
    """``(cnsr, day, priority, srcseq)`` of a candidate packed into one Int128 that orders like
    the tuple (lower first): ``cnsr`` (0 or 1) from bit 105, ``day`` (a signed day number) from
    bit 72, ``priority`` in bits 64-71 and ``srcseq + 2**63`` in the low 64. A priority is a
    small rank: one outside 0-255 fails the cast rather than mis-order."""
    priority = pl.col("priority").cast(pl.UInt8, strict=True).cast(pl.Int128)
    key = day.cast(pl.Int128) * 2**72 + priority * 2**64 + (pl.col("srcseq").cast(pl.Int128) + _MID)
    return key if cnsr is None else key + cnsr.cast(pl.Int128) * 2**105


_MID = pl.lit(2**63, pl.Int128)


def _date_line_key(date: str = "date", *, latest: bool = False) -> pl.Expr:
    """``(date, line)`` as one Int128 that orders like the pair (with ``latest``, the date
    reversed): its minimum is the earliest (latest) record, ties to the lower line, so
    :func:`_earliest` and :func:`_latest` take one pass. The day number times ``2**64``, plus
    ``line + 2**63``."""
    days = pl.col(date).cast(pl.Int32).cast(pl.Int128)
    days = days * -1 if latest else days  # (polars has no Int128 negation)
    return days * 2**64 + (_LINE.cast(pl.Int128) + _MID)


def _earliest(frame: Frame, date: str = "date") -> Frame:
    """Each subject's row with the earliest ``date`` (ties: the lower input line). ``frame``
    holds records (each at most once: a line is one record), so the least key is one row."""
    key = _date_line_key(date)
    return frame.filter(key == key.min().over("subject_id"))


def _latest(frame: Frame, date: str = "date") -> Frame:
    """Each subject's row with the latest ``date`` (ties: the lower input line); ``frame`` as
    :func:`_earliest`'s."""
    key = _date_line_key(date, latest=True)
    return frame.filter(key == key.min().over("subject_id"))


# --------------------------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------------------------


#: The columns of the events that :func:`timeline` keeps.
TIMELINE_COLUMNS: tuple[str, ...] = (
    "line", "subject_id", "event", "date", "date_imputed", "month_imputed", "end_date", "result", "mrd",
)  # fmt: skip


def timeline(events: pl.DataFrame) -> pl.DataFrame:
    """The records of treated subjects, each with its subject's ``infusion_date`` and
    ``infusion_line``.

    "Subjects without an infusion are outside the treated (safety) set and appear in no
    endpoint." ``subject_id`` becomes an ``Enum`` of the treated subjects in sorted order
    (joins and group-bys on it are integer operations; sorting on it is sorting by the text).
    """
    treated = treated_subjects(events)  # sorted by subject: row i is the subject of Enum code i
    ids = pl.Enum(treated.get_column("subject_id"))
    kept = (
        events.select(TIMELINE_COLUMNS)
        .with_columns(pl.col("subject_id").cast(ids, strict=False))  # untreated -> null
        .drop_nulls("subject_id")
    )
    # the infusion attached by position (Enum code), not by a join; the records keep their order
    code = kept.get_column("subject_id").to_physical()
    return kept.with_columns(treated.get_column(c).gather(code) for c in ("infusion_date", "infusion_line"))


def _origin(records: Frame, kind: str) -> Frame:
    """``subject_id, startdt, start_kind, start_line, start_dtf``: the first record of the
    origin kind (ties on the date: the lower line). The first infusion is the record every
    record names by its ``infusion_line``."""
    if kind == "infusion":
        first = records.filter((_LINE == pl.col("infusion_line")) & (pl.col("event") == kind))
    else:
        first = _earliest(records.filter(pl.col("event") == kind))
    return first.select(
        "subject_id",
        pl.col("date").alias("startdt"),
        pl.col("event").alias("start_kind"),
        pl.col("line").alias("start_line"),
        date_flag().alias("start_dtf"),
    )


def _first_by_subject(frame: Frame, name: str) -> Frame:
    """``subject_id, {name}_date, {name}_line, {name}_kind``: each subject's earliest row
    (ties on the date: the lower input line)."""
    return _earliest(frame).select(
        "subject_id",
        pl.col("date").alias(f"{name}_date"),
        pl.col("line").alias(f"{name}_line"),
        pl.col("event").alias(f"{name}_kind"),
    )


@dataclass(frozen=True)
class FollowUp:
    """The records of treated subjects inside one endpoint's window, and the "response to the
    infusion" anchors derived from them.

    * ``records``: every record with ``infusion date <= date <= infusion date + window_days``,
      joined with ``infusion_date`` and ``window_end``.
    * ``assessments``: assessments dated after the infusion day, in the window (taken from
      ``records`` when asked for).
    * ``counted``: the assessments that count as response to the infusion (below).
    * ``anchors``: per treated subject ``infusion_date, infusion_line, window_end,
      new_therapy_date`` (first ``new_therapy`` after the infusion, in the window; null if none).
    """

    records: pl.DataFrame
    counted: pl.DataFrame
    anchors: pl.DataFrame

    @property
    def assessments(self) -> pl.DataFrame:
        return self.lazy()[1].collect(engine=_ENGINE)

    def lazy(self) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
        """``records, assessments, counted, anchors`` as lazy frames."""
        records = self.records.lazy()
        return records, records.filter(_is_assessment()), self.counted.lazy(), self.anchors.lazy()


def _is_assessment() -> pl.Expr:
    """An assessment dated after the infusion day."""
    return (pl.col("event") == "assessment") & (_DATE > pl.col("infusion_date"))


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

    ``records`` are :func:`timeline`'s (or only the kinds read here and after); the frames are
    computed in one collection.
    """
    window_end = pl.col("infusion_date") + pl.duration(days=window_days)
    timed = records.lazy()
    anchors = timed.filter(_LINE == pl.col("infusion_line")).select(  # (each subject's first infusion)
        "subject_id", "infusion_date", "infusion_line", window_end.alias("window_end")
    )
    timed = timed.with_columns(window_end.alias("window_end")).filter(
        (_DATE >= pl.col("infusion_date")) & (_DATE <= pl.col("window_end"))
    )

    def first_date(kind: str, name: str) -> pl.LazyFrame:
        """``subject_id, {name}``: the date of the subject's first ``kind`` after the infusion day."""
        after_day0 = (pl.col("event") == kind) & (_DATE > pl.col("infusion_date"))
        return timed.filter(after_day0).group_by("subject_id").agg(_DATE.min().alias(name))

    new_therapy = first_date("new_therapy", "new_therapy_date")
    anchors = anchors.join(new_therapy, on="subject_id", how="left")
    timed = timed.join(new_therapy, on="subject_id", how="left")

    assessments = timed.filter(_is_assessment())
    before_new_therapy = pl.col("new_therapy_date").is_null() | (_DATE <= pl.col("new_therapy_date"))
    first_response = (
        assessments.filter(before_new_therapy & pl.col("result").is_in(list(response)))
        .group_by("subject_id")
        .agg(_DATE.min().alias("first_response_date"))
    )
    salvage = (
        first_date("hsct", "hsct_date")
        .join(first_response, on="subject_id", how="left")
        .filter(pl.col("first_response_date").is_null() | (pl.col("hsct_date") < pl.col("first_response_date")))
        .select("subject_id", pl.col("hsct_date").alias("salvage_hsct_date"))
    )
    counted = (
        assessments.join(salvage, on="subject_id", how="left")
        .filter(before_new_therapy & (pl.col("salvage_hsct_date").is_null() | (_DATE <= pl.col("salvage_hsct_date"))))
        .drop("salvage_hsct_date")
    )
    return FollowUp(*pl.collect_all([timed, counted, anchors], engine=_ENGINE))


def _is_adequate() -> pl.Expr:
    """"Adequate assessment: an `assessment` whose result is not `NE`.\""""
    return pl.col("result") != "NE"


# --------------------------------------------------------------------------------------------
# OS
# --------------------------------------------------------------------------------------------


def os_parameter(records: pl.DataFrame, last_alive: pl.DataFrame, config: Config) -> Parameter:
    """OS — overall survival.

    "Start: infusion date. Event: `death` of any cause in the window."
    "Censored otherwise: at the window end if any record of the subject is dated after it,
    else at the last known alive date (the latest date of any record of the subject, AE end
    dates included)."

    "Dated after it" looks at both ``date`` and ``end_date`` of every record. The window end
    is ``infusion date + os.window_days`` (inclusive); a death after it is ignored (and, being a
    record after the window end, makes the censoring date the window end).

    ``records`` and ``last_alive`` are :func:`_study`'s: the records of the kinds read (deaths
    and the origin kind among them), and per subject its last known alive date: the latest
    ``date`` or ``end_date`` of all its records. Of the last-known-alive censorings only that
    one can be chosen (the latest; on one day the record date, priority 2, before the AE end
    date, priority 3, then the lower line), so it is the only one offered, when it is in the
    window. When it is not, a record is dated after the window end: the window-end censoring
    is offered instead, and it beats every censoring in the window (it is later, or on the same
    day with priority 1). A candidate before the start date is dropped by the chooser; the
    latest is before the start only when all are.
    """
    cfg = config.os
    population = _origin(records.lazy(), cfg.origin_event)
    window_end = pl.col("infusion_date") + pl.duration(days=cfg.window_days)

    deaths = records.lazy().filter((pl.col("event") == "death") & (_DATE <= window_end))
    death = source(deaths, description=pl.format("Death ({})", pl.col("result")), priority=1)

    alive = last_alive.lazy().with_columns(window_end.alias("window_end"))
    in_window = pl.col("alive_date") <= pl.col("window_end")
    window_end_censor = source(
        alive.filter(pl.col("alive_date") > pl.col("window_end")),
        description=f"End of the {cfg.window_days}-day follow-up window",
        date=pl.col("window_end"),
        srcdom="infusion",
        srcseq=pl.col("infusion_line"),
        dtf=pl.lit(None, pl.String()),
        priority=1,
    )
    starts = population.select("subject_id", "startdt")
    starts, death, *censors = pl.collect_all(
        [starts, death, window_end_censor, *last_alive_sources(alive.filter(in_window), priority=2)], engine=_ENGINE
    )
    return Parameter(cfg.paramcd, cfg.param, starts, [death], censors)


def last_alive_sources(alive: Frame, *, priority: int) -> list[Frame]:
    """The censorings at the last known alive date of the subjects of ``alive`` (rows of
    :func:`_study`'s ``last_alive``): a record's ``date`` (``priority``) or an AE's ``end_date``
    (``priority + 1``, so a record's date comes first on one day), naming that record."""
    is_end = pl.col("alive_is_end")
    named = {"date": pl.col("alive_date"), "srcdom": pl.col("alive_kind"), "srcseq": pl.col("alive_line")}
    return [
        source(alive.filter(~is_end), description="Last known alive", dtf=pl.col("alive_dtf"),
               priority=priority, **named),
        source(alive.filter(is_end), description="Last known alive (AE end date)", dtf=pl.lit(None, pl.String()),
               priority=priority + 1, **named),
    ]  # fmt: skip


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
    Returns ``subject_id, date, srcdom, srcseq, dtf, description`` plus the subject's
    ``eot_*`` (first ``end_of_treatment`` after the infusion, in the window) and
    ``next_therapy_*`` (first ``new_therapy``/``hsct`` after the infusion, in the window).
    """
    k = cfg.efficacy_assessments
    records, _, counted, _ = fu.lazy()
    is_response = pl.col("result").is_in(list(response))
    first_response = counted.filter(is_response).group_by("subject_id").agg(_DATE.min().alias("response_date"))

    # the first k adequate assessments: in date (then line) order, a row is among its subject's
    # first k when the row k above it is another subject's
    efficacy = (
        counted.filter(_is_adequate())
        .sort("subject_id", "date", "line")
        .filter((pl.col("subject_id") != pl.col("subject_id").shift(k)).fill_null(True))
        .group_by("subject_id")
        .agg(
            pl.len().alias("n"),
            is_response.any().alias("any_response"),
            _DATE.last().alias("date"),
            _LINE.last().alias("line"),
        )
    )
    non_response = source(
        efficacy.filter((pl.col("n") == k) & ~pl.col("any_response")),
        description=f"Treatment failure: no response at the first {k} adequate assessments",
        srcdom="assessment",
        dtf=pl.lit(None, pl.String()),
        priority=1,
    )
    after_day0 = _DATE > pl.col("infusion_date")
    therapies = records.filter(pl.col("event").is_in(["new_therapy", "hsct"]) & after_day0)
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
                    pl.when(pl.col("next_therapy_kind") == "hsct")
                    .then(pl.lit("HSCT"))
                    .otherwise(pl.lit("new therapy")),
                ),
                date=pl.col("next_therapy_date"),
                srcdom=pl.col("next_therapy_kind"),
                srcseq=pl.col("next_therapy_line"),
                dtf=pl.lit(None, pl.String()),
                priority=2,
            )
        )
    if cfg.death_before_assessments == "failure":
        deaths = records.filter(pl.col("event") == "death")
        before = (
            deaths.select("subject_id", pl.col("date").alias("death_date"))
            .join(counted, on="subject_id", how="inner")
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
    actual = _first(pl.concat(candidates), _candidate_order(_DATE.cast(pl.Int32)))
    eot = _first_by_subject(records.filter((pl.col("event") == "end_of_treatment") & after_day0), "eot")
    return (
        actual.drop("priority")
        .join(eot, on="subject_id", how="left")
        .join(next_therapy, on="subject_id", how="left")
        .collect(engine=_ENGINE)
    )


#: How each ``EFSParameter.failure_date`` dates a treatment failure: (date, srcdom, srcseq,
#: dtf, description suffix). ``None`` = the actual failure date. The fallback to the actual
#: date where the subject has no such record is applied by :func:`efs_failure_source`.
_FAILURE_DATE_RULES: dict[str, tuple[str, str] | None] = {
    "actual": None,
    "end_of_treatment": ("eot", "dated at end of treatment"),
    "next_therapy": ("next_therapy", "dated at the start of next-line therapy"),
}


def efs_failure_source(failures: Frame, population: Frame, parameter: EFSParameter) -> Frame:
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
            dtf=pl.col("start_dtf"),
            priority=_FAILURE,
        )
    spec = _FAILURE_DATE_RULES[rule]
    if spec is None:
        columns = {name: pl.col(name) for name in ("description", "srcdom", "srcseq", "dtf")}
        return source(failures, **columns, priority=_FAILURE)
    name, suffix = spec
    has = pl.col(f"{name}_date").is_not_null()
    return source(
        failures,
        description=pl.when(has)
        .then(pl.format("{} ({})", pl.col("description"), pl.lit(suffix)))
        .otherwise(pl.col("description")),
        date=pl.coalesce(pl.col(f"{name}_date"), pl.col("date")),
        srcdom=pl.when(has).then(pl.col(f"{name}_kind")).otherwise(pl.col("srcdom")),
        srcseq=pl.when(has).then(pl.col(f"{name}_line")).otherwise(pl.col("srcseq")),
        dtf=pl.when(~has).then(pl.col("dtf")),
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
    population = _origin(records.lazy(), cfg.origin_event)
    failures = efs_failures(fu, cfg, response).lazy()
    timed, _, counted, _ = fu.lazy()

    first_response = (
        counted.filter(pl.col("result").is_in(list(response)))
        .group_by("subject_id")
        .agg(_DATE.min().alias("response_date"))
    )

    def with_response(kind: pl.Expr) -> pl.LazyFrame:
        """The records of ``kind``, with the subject's first counted response date."""
        return timed.filter(kind).join(first_response, on="subject_id", how="left")

    observed = pl.col("new_therapy_date").is_null() | (_DATE <= pl.col("new_therapy_date"))
    after_response = pl.col("response_date").is_not_null() & (_DATE > pl.col("response_date"))
    relapse = source(
        with_response(pl.col("event") == "relapse").filter(after_response & observed),
        description=pl.format("Relapse ({})", pl.col("result")),
        priority=_RELAPSE,
    )
    progression = source(
        with_response((_EVENT == "assessment") & (pl.col("result") == "PD")).filter(after_response & observed),
        description="Progressive disease at assessment",
        priority=_PD,
    )
    death_observed = pl.col("response_date").is_null() | observed
    death = source(
        with_response(pl.col("event") == "death").filter(death_observed),
        description=pl.format("Death ({})", pl.col("result")),
        priority=_DEATH,
    )
    last_assessment = source(
        _latest(counted.filter(_is_adequate())), description="Last adequate assessment", priority=1
    )
    at_start = source(
        population,
        description="No adequate assessment: censored at the start date",
        date=pl.col("startdt"),
        srcdom=pl.col("start_kind"),
        srcseq=pl.col("start_line"),
        dtf=pl.col("start_dtf"),
        priority=2,
    )
    starts = population.select("subject_id", "startdt")
    failed = [efs_failure_source(failures, population, p) for p in cfg.parameters]
    starts, relapse, progression, death, last_assessment, at_start, *failed = pl.collect_all(
        [starts, relapse, progression, death, last_assessment, at_start, *failed], engine=_ENGINE
    )
    return [
        Parameter(p.paramcd, p.param, starts, [failure, relapse, progression, death], [last_assessment, at_start])
        for p, failure in zip(cfg.parameters, failed, strict=True)
    ]


# --------------------------------------------------------------------------------------------
# DOR
# --------------------------------------------------------------------------------------------


def dor_parameter(config: Config, fu: FollowUp, cfg: DORConfig | None = None) -> Parameter:
    """DOR — duration of remission (and, with ``cfg = config.rfs``, RFS: :func:`rfs_parameter`).

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
    cfg = config.dor if cfg is None else cfg
    response = config.response_sets.get(cfg.response_set)
    timed, _, counted, anchors = fu.lazy()
    start = _earliest(counted.filter(pl.col("result").is_in(list(response)))).select(
        "subject_id", pl.col("date").alias("startdt")
    )
    # per subject, the day observation ends (on which events still count)
    ends = start.join(anchors.select("subject_id", "window_end", "new_therapy_date"), on="subject_id", how="inner")
    limits: list[pl.Expr] = [pl.col("window_end")]
    if cfg.censor_at_new_therapy:
        limits.append(pl.col("new_therapy_date"))
    if cfg.censor_at_hsct:
        hsct = (
            timed.filter(pl.col("event") == "hsct")
            .join(start, on="subject_id", how="inner")
            .filter(_DATE >= pl.col("startdt"))
            .group_by("subject_id")
            .agg(_DATE.min().alias("hsct_date"))
        )
        ends = ends.join(hsct, on="subject_id", how="left")
        limits.append(pl.col("hsct_date"))
    # a death of another cause; of several, the latest (observation runs while any allows it),
    # and none if one is undated
    other_death = (
        timed.filter((pl.col("event") == "death") & ~pl.col("result").is_in(list(cfg.event_death_causes)))
        .group_by("subject_id")
        .agg(pl.when(_DATE.is_null().any()).then(None).otherwise(_DATE.max()).alias("other_death_date"))
    )
    ends = ends.join(other_death, on="subject_id", how="left").select(
        "subject_id", "startdt", pl.min_horizontal(*limits, pl.col("other_death_date")).alias("observed_until")
    )

    def observed(kind: pl.Expr) -> pl.LazyFrame:
        """The subjects' records of ``kind``, dated on or before the end of their observation."""
        return timed.filter(kind).join(ends, on="subject_id", how="inner").filter(_DATE <= pl.col("observed_until"))

    after_start = _DATE > pl.col("startdt")
    relapse = source(
        observed(pl.col("event") == "relapse").filter(after_start),
        description=pl.format("Relapse ({})", pl.col("result")),
        priority=1,
    )
    progression = source(
        observed((pl.col("event") == "assessment") & (pl.col("result") == "PD")).filter(after_start),
        description="Progressive disease at assessment",
        priority=2,
    )
    death = source(
        observed((pl.col("event") == "death") & pl.col("result").is_in(list(cfg.event_death_causes))),
        description=pl.format("Death ({})", pl.col("result")),
        priority=3,
    )
    last_assessment = source(
        _latest(observed((pl.col("event") == "assessment") & (_DATE > pl.col("infusion_date")) & _is_adequate())),
        description="Last adequate assessment",
        priority=1,
    )
    start, *sources = pl.collect_all([start, relapse, progression, death, last_assessment], engine=_ENGINE)
    return Parameter(cfg.paramcd, cfg.param, start, sources[:3], sources[3:])


def rfs_parameter(config: Config, fu: FollowUp) -> Parameter:
    """RFS — relapse-free survival: DOR's rules with RFS's data (:class:`cart19.config.RFSConfig`).

    "Population: subjects with a `remission` result that counts as response to the infusion,
    dated within the window (any day of it, not only the 90-day response window, as for DOR).
    Start: the first such date."
    "Event: relapse (a `relapse` record or a `PD` assessment after the start) or death of any
    cause."
    "Censored otherwise: as DOR (the last adequate assessment on or before the earliest of the
    window end and the start of `new_therapy`). Window: 730 days after the infusion. HSCT does
    not censor by default (configurable, as for DOR)."

    The population is ``rfs.response_set`` (``remission``), every death cause is in
    ``rfs.event_death_causes`` (so no death censors), and ``fu`` is the 730-day window's.
    """
    return dor_parameter(config, fu, config.rfs)


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------


#: The kinds of record the EFS and DOR rules (and :func:`follow_up`) look at.
_EFS_DOR_KINDS = ("infusion", "assessment", "relapse", "death", "new_therapy", "hsct", "end_of_treatment")


_EPOCH = dt.date(1970, 1, 1)

#: Beyond any :func:`_alive_key` of a dated record, narrow (``True``) or not.
_NO_KEY = {True: 2**63 - 1, False: 2**127 - 1}


def _alive_key(*, narrow: bool) -> pl.Expr:
    """Per record, the later of its two last-known-alive candidates, ``date`` and (AE)
    ``end_date``, as an integer whose minimum over a subject's records is the latest of all;
    ties: a ``date`` before an ``end_date``, then the lower line. A record with no date at all
    has the greatest key (:data:`_NO_KEY`), so it is never the latest.

    The day number (negated) times ``2**65``, plus ``2**64`` for an ``end_date``, plus
    ``line + 2**63``: an Int128, for any line. With ``narrow``, times ``2**33``, plus
    ``2**32``, plus the line: an Int64, which polars computes and aggregates markedly faster,
    for lines in ``0 <= line < 2**32`` and day numbers within ``2**30`` (any file's)."""
    dtype, unit, offset = (pl.Int64, 2**33, 0) if narrow else (pl.Int128, 2**65, 2**63)
    rest = _LINE.cast(dtype) + offset
    on_date = pl.col("date").cast(pl.Int32).cast(dtype) * -unit + rest
    on_end = pl.col("end_date").cast(pl.Int32).cast(dtype) * -unit + (rest + unit // 2)
    return pl.min_horizontal(on_date, on_end).fill_null(pl.lit(_NO_KEY[narrow], dtype))


def _alive_key_parts(key: pl.Expr, *, narrow: bool) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The date, the "it is an ``end_date``" flag and the line of an :func:`_alive_key`."""
    unit, offset = (2**33, 0) if narrow else (2**65, 2**63)
    rest = key % unit  # (floor division and modulo: the day part is negative for a later date)
    date = (key // unit * -1).cast(pl.Int32).cast(pl.Date)
    return date, rest >= unit // 2, (rest % (unit // 2) - offset).cast(pl.Int64)


def _subject_runs(events: pl.DataFrame, subjects: Subjects | None = None) -> tuple[pl.Series, pl.Series]:
    """``(run, ids)``: per record its subject's code, and per code that ``subject_id``: the
    reader's numbering (:mod:`cart19.io.subjects`) when given, else the same numbering made here.

    A file lists its records subject by subject, so a subject's code counts the runs of records
    in a row with the same ``subject_id``: what must be done per subject over every record is done
    per code, with no hashing of the text (a group-by on the sorted codes takes each as a slice),
    and the ids are cast once per code."""
    if subjects is None:
        subjects = subject_codes(events.get_column("subject_id"))
    return subjects.codes.alias("run"), subjects.ids


def _study(
    events: pl.DataFrame, config: Config, subjects: Subjects | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """``(records, last_alive, ids)``: what every parameter reads, from one pass over ``events``.

    * ``records``: the records of treated subjects of the kinds the parameters read (EFS's,
      DOR's and :func:`follow_up`'s, deaths, the origin kinds; not the bulk of ``ae`` and
      ``contact`` records), as :func:`timeline` gives them: ``subject_id`` an ``Enum`` of the
      treated subjects in sorted order, with ``infusion_date`` and ``infusion_line``.
    * ``last_alive``: per treated subject ``infusion_date``, ``infusion_line`` and the last
      known alive date: ``alive_date``, the latest ``date`` or ``end_date`` of any of its records
      (ties: a ``date`` before an ``end_date``, then the lower line), ``alive_is_end`` (it is an
      ``end_date``), and that record's ``alive_line``, ``alive_kind`` and ``alive_dtf`` (its date's flag, :func:`date_flag`).
    * ``ids``: the treated subjects' ``subject_id`` (text); ``ids[i]`` is ``Enum`` code i's.

    Every record is read by one filter (to the kinds above) and one minimum per subject code
    (:func:`_subject_runs`; of a key that names the last known alive record);
    the ids are cast to the ``Enum`` once, per code (each cast to an ``Enum`` of many subjects
    costs a pass over its categories), the records named by the keys are taken by position,
    and the infusion is attached to the records by position (``Enum`` code), not by a join.
    """
    kinds = sorted({*_EFS_DOR_KINDS, config.efs.origin_event, config.os.origin_event})
    dates = [pl.col(c).min().alias(f"{c}_min") for c in ("date", "end_date")]
    dates += [pl.col(c).max().alias(f"{c}_max") for c in ("date", "end_date")]
    low, high, *ends = events.select(_LINE.min(), _LINE.max().alias("high"), *dates).row(0)
    far = max((abs((d - _EPOCH).days) for d in ends if d is not None), default=0)
    narrow = low is None or (low >= 0 and high < 2**32 and far < 2**30)
    run, run_ids = _subject_runs(events, subjects)
    by_run = events.lazy().with_columns(run.alias("run"))
    used = by_run.filter(_EVENT.is_in(kinds)).select("run", "line", "event", "date", "date_imputed", "month_imputed", "result")
    key, row = pl.col("alive_key"), pl.col("alive_row")
    latest = (
        by_run.with_columns(_alive_key(narrow=narrow).alias("alive_key"))
        .with_row_index("alive_row")
        .group_by("run")
        .agg(key.min(), row.get(key.arg_min()))
    )
    used, latest = pl.collect_all([used, latest], engine=_ENGINE)  # (two passes, side by side)

    infused = used.filter(_EVENT == "infusion").get_column("run").unique()
    ids = run_ids.gather(infused).sort().unique(maintain_order=True)  # treated subjects; Enum code i: ids[i]
    codes = run_ids.cast(pl.Enum(ids), strict=False)  # per code; untreated -> null
    used = used.select(
        "line", codes.gather(used.get_column("run")).alias("subject_id"), "event", "date", "date_imputed", "month_imputed",
        "result"
    ).drop_nulls("subject_id")
    treated = treated_subjects(used)  # row i: the subject of Enum code i
    code = used.get_column("subject_id").to_physical()
    records = used.with_columns(treated.get_column(c).gather(code) for c in ("infusion_date", "infusion_line"))

    # (one code per subject: its least key is the subject's; the untreated have no Enum code)
    latest = latest.select(codes.gather(latest.get_column("run")).alias("subject_id"), key, row).drop_nulls("subject_id")
    rows = latest.get_column("alive_row")
    alive_date, alive_is_end, alive_line = _alive_key_parts(key, narrow=narrow)
    named = (
        latest.with_columns(
            events.get_column("event").gather(rows).alias("alive_kind"),
            date_flag(*(pl.lit(events.get_column(c)).gather(rows) for c in ("date_imputed", "month_imputed"))).alias(
                "alive_dtf"
            ),
        )
        .filter(key != _NO_KEY[narrow])  # (no record of the subject has a date)
        .select(
            "subject_id",
            alive_date.alias("alive_date"),
            alive_is_end.alias("alive_is_end"),
            alive_line.alias("alive_line"),
            "alive_kind",
            "alive_dtf",
        )
    )
    last_alive = treated.join(named, on="subject_id", how="left")
    return _flag_sorted(records), _flag_sorted(last_alive), ids


def _flag_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``subject_id`` flagged sorted when it is (the ``Enum`` codes follow the
    sorted ids, so a file sorted by subject gives sorted records): polars then joins these frames
    by merging instead of hashing (``derive_adtte`` at 100k subjects ~0.46 -> ~0.38 s)."""
    column = frame.get_column("subject_id")
    return frame.with_columns(column.set_sorted()) if column.to_physical().is_sorted() else frame


def tte_parameters(events: pl.DataFrame, config: Config) -> list[Parameter]:
    """Every parameter of the dataset, in the configured order: OS, each EFS parameter, DOR, RFS."""
    return _parameters(events, config)[0]


def _parameters(
    events: pl.DataFrame, config: Config, subjects: Subjects | None = None
) -> tuple[list[Parameter], pl.Series]:
    """:func:`tte_parameters`, and :func:`_study`'s ``ids`` (the text of the ``Enum`` codes)."""
    records, last_alive, ids = _study(events, config, subjects)
    # EFS and DOR read only these kinds of record (OS also reads the deaths and its origin kind)
    kinds = {*_EFS_DOR_KINDS, config.efs.origin_event}
    used = records if config.os.origin_event in kinds else records.filter(pl.col("event").is_in(sorted(kinds)))
    windows: dict[int, FollowUp] = {}

    def window(days: int) -> FollowUp:
        if days not in windows:
            windows[days] = follow_up(used, days, config.response_sets.response)
        return windows[days]

    parameters = [
        os_parameter(records, last_alive, config),
        *efs_parameters(used, config, window(config.efs.window_days)),
        dor_parameter(config, window(config.dor.window_days)),
        rfs_parameter(config, window(config.rfs.window_days)),
    ]
    return parameters, ids


def _shared_censoring(parameter: Parameter) -> tuple[int, ...]:
    """What a parameter's :func:`_latest_censoring` depends on: its population and censoring
    sources (the very frames: the builders hand the same ones to parameters that share them)."""
    return (id(parameter.population), *(id(c) for c in parameter.censors))


def derive_adtte(
    events: pl.DataFrame, config: Config | None = None, subjects: Subjects | None = None
) -> pl.DataFrame:
    """The time-to-event dataset (ADaM ADTTE style): one row per treated subject and parameter.

    ``events`` is the canonical events frame (:mod:`cart19.schema`), already cut off by the
    caller (:func:`cart19.engine.common.apply_cutoff`). Columns: :data:`ADTTE_COLUMNS`.
    "Analysis value of a time-to-event: AVAL = ADT - STARTDT + 1 in days (AVALU = DAYS)";
    "CNSR = 0 for an event, 1 for a censored observation". Rows sort by ``USUBJID``, then
    ``PARAMCD`` in the configured order (OS, EFS, EFSS1, EFSS2, EFSS3, DOR, RFS by default).

    ``subjects``: the reader's numbering of the subjects of ``events``, record by record
    (:mod:`cart19.io.subjects`), when the caller has it; it only saves numbering them again.
    """
    config = config or Config()
    parameters, ids = _parameters(events, config, subjects)
    if not parameters:
        return pl.DataFrame(schema=ADTTE_SCHEMA)
    # EFS's parameters share their population and censoring sources, so their latest censoring
    # (most of the candidates) is chosen once for all of them
    censorings: dict[tuple[int, ...], pl.LazyFrame] = {}
    for p in parameters:
        censorings.setdefault(_shared_censoring(p), _latest_censoring(p))
    chosen_censoring = dict(zip(censorings, pl.collect_all(censorings.values(), engine=_ENGINE), strict=True))
    chosen = [
        _choice(p, chosen_censoring[_shared_censoring(p)]).with_columns(pl.lit(i, pl.UInt32).alias("_order"))
        for i, p in enumerate(parameters)
    ]
    codes, names = pl.Series([p.paramcd for p in parameters]), pl.Series([p.param for p in parameters])
    del parameters, censorings, chosen_censoring  # (the queries hold the sources; they go once collected)
    out = pl.concat(pl.collect_all(chosen, engine=_ENGINE), how="vertical")
    del chosen
    # USUBJID is an Enum of the sorted subject ids: its integer code sorts like the text
    code = pl.col("subject_id").to_physical().cast(pl.Int64)
    out = out.lazy().sort(code * codes.len() + pl.col("_order")).collect(engine=_ENGINE)
    # the text columns made once, in order; the ids back to text: code i is the i-th id (much
    # cheaper than casting the Enum)
    parameter = out.get_column("_order")
    usubjid = ids.gather(out.get_column("subject_id").to_physical())
    return _adtte_columns(out, pl.lit(usubjid), pl.lit(codes.gather(parameter)), pl.lit(names.gather(parameter)))


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
    "last_alive_sources",
    "os_parameter",
    "rfs_parameter",
    "source",
    "tte_parameters",
]
