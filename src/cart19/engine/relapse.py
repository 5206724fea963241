"""The relapse-incidence dataset (CIR and NRM as competing risks): one time and one status per
subject, built by the time-to-event machinery of :mod:`cart19.engine.tte`.

efficacy.md, "Cumulative incidence of relapse (CIR) and non-relapse mortality (NRM)":

    "Population and start: subjects in remission (as RFS: a remission counting as response to
    the infusion, within the window), from the first remission date (default); or every infused
    subject from the infusion (`origin = "infusion"`)."
    "status 1, relapse: the first relapse (a `relapse` record, or a `PD` assessment after the
    start); a death with result `disease` and no earlier relapse also counts as relapse
    (configurable: `disease_death_as_relapse`, default true);
    status 2, death without relapse (NRM): any other death with no earlier relapse;
    status 0, censored: at the last known alive date (endpoints.md, OS), at the start of
    `new_therapy` when that comes first (configurable), at the window end (730 days after the
    infusion) for anyone followed beyond it. HSCT: `ignore` (default), `censor` (at its date) or
    `competing` (status 2 at its date)."

It is one more :class:`cart19.engine.tte.Parameter`: the events are sources (relapse record,
PD, death of disease, other death, competing HSCT), each with a status; the censorings are
sources (the end of observation, the last known alive date). :func:`cart19.engine.tte.choose`'s
rule picks per subject the earliest event, else the latest censoring, with the same tie order
(lower ``priority``, then the input line). A source's status is looked up by its priority
(:data:`CompetingRisks.status`), so "which source ended it" decides "which cause".

Interpretation choices (named so that a reviewer can change them):

* "After the start" is strictly after it for a relapse record or a PD (the remission marrow is
  not its own relapse); a death counts from the start date; a competing or censoring HSCT from
  the start date, and after the infusion day.
* Observation ends at the earliest of the window end, the first ``new_therapy`` after the
  infusion day (when ``censor_at_new_therapy``) and the first HSCT on or after the start (when
  ``hsct = "censor"``). An event dated on that day still counts (as DOR's rule reads). A
  subject whose observation ends at a therapy is censored at the therapy's date (its record is
  a sign of life, so it is never later than the last known alive date); one whose observation
  ends at the window end is censored there only when a record is dated after it (as OS),
  otherwise at the last known alive date.
* Ties on one date: relapse record, PD, death of disease, other death, HSCT (so a relapse and a
  death on one day is a relapse); for censorings: the new therapy, the HSCT, the window end,
  then the last known alive date (a record's date before an AE end date).
* The columns are the contract's (cli.md): the description of a censoring is in ``EVNTDESC``
  too (the dataset has no ``CNSDTDSC``), so every row says why it ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from cart19.config import Config
from cart19.engine import tte
from cart19.engine.common import date_flag
from cart19.engine.tte import Parameter, source
from cart19.io.subjects import Subjects

#: The ``cuminc --dataset`` contract (cli.md), in order.
CIR_SCHEMA: dict[str, pl.DataType] = {
    "USUBJID": pl.String(),
    "PARAMCD": pl.String(),
    "STARTDT": pl.Date(),
    "ADT": pl.Date(),
    "AVAL": pl.Int64(),
    "CNSR": pl.Int8(),
    "EVENT": pl.Int8(),
    "EVNTDESC": pl.String(),
    "SRCDOM": pl.String(),
    "SRCSEQ": pl.Int64(),
}
CIR_COLUMNS: tuple[str, ...] = tuple(CIR_SCHEMA)

#: ``EVENT`` codes.
CENSORED, RELAPSE, NRM = 0, 1, 2

_DATE, _EVENT = pl.col("date"), pl.col("event")

# the sources' priorities (the tie order on one date): events, then censorings
_RELAPSE_RECORD, _PD, _DISEASE_DEATH, _OTHER_DEATH, _HSCT = 1, 2, 3, 4, 5
_AT_NEW_THERAPY, _AT_HSCT, _AT_WINDOW_END, _AT_LAST_ALIVE = 1, 2, 3, 4  # (an AE end date: 5)


@dataclass(frozen=True)
class CompetingRisks:
    """A :class:`Parameter` whose event sources each carry a status (the cause)."""

    parameter: Parameter
    #: the ``EVENT`` code of each event source, by the source's ``priority``.
    status: Mapping[int, int]


def cir_parameter(records: pl.DataFrame, last_alive: pl.DataFrame, config: Config) -> CompetingRisks:
    """The sources of the relapse-incidence dataset (module docstring; ``config.cuminc``).

    ``records`` and ``last_alive`` are :func:`cart19.engine.tte._study`'s."""
    cfg = config.cuminc
    fu = tte.follow_up(records, cfg.window_days, config.response_sets.response)
    timed, _, counted, anchors = fu.lazy()
    if cfg.origin == "remission":
        remission = config.response_sets.get(cfg.response_set)
        start = tte._earliest(counted.filter(pl.col("result").is_in(list(remission)))).select(
            "subject_id", pl.col("date").alias("startdt")
        )
    else:
        start = anchors.select("subject_id", pl.col("infusion_date").alias("startdt"))
    after_day0 = _DATE > pl.col("infusion_date")

    def first(kind: str, name: str, frame: pl.LazyFrame) -> pl.LazyFrame:
        """``subject_id, {name}_date, {name}_line, {name}_dtf``: the first ``kind`` record."""
        return tte._earliest(frame.filter((_EVENT == kind) & after_day0)).select(
            "subject_id",
            _DATE.alias(f"{name}_date"),
            pl.col("line").alias(f"{name}_line"),
            date_flag().alias(f"{name}_dtf"),
        )

    since_start = timed.join(start, on="subject_id", how="inner").filter(_DATE >= pl.col("startdt"))
    ends = start.join(anchors.select("subject_id", "window_end", "infusion_line"), on="subject_id", how="inner")
    limits = [pl.col("window_end")]
    if cfg.censor_at_new_therapy:
        ends = ends.join(first("new_therapy", "therapy", timed), on="subject_id", how="left")
        limits.append(pl.col("therapy_date"))
    if cfg.hsct != "ignore":
        ends = ends.join(first("hsct", "hsct", since_start), on="subject_id", how="left")
        if cfg.hsct == "censor":
            limits.append(pl.col("hsct_date"))
    # (collected once: every source below reads it)
    ends = ends.with_columns(pl.min_horizontal(*limits).alias("observed_until")).collect(engine=tte._ENGINE).lazy()

    def observed(kind: pl.Expr) -> pl.LazyFrame:
        """The records of ``kind`` dated on or before the end of the subject's observation."""
        return (
            timed.filter(kind)
            .join(ends.select("subject_id", "startdt", "observed_until"), on="subject_id", how="inner")
            .filter(_DATE <= pl.col("observed_until"))
        )

    after_start = _DATE > pl.col("startdt")
    is_death = _EVENT == "death"
    of_disease = pl.col("result") == "disease"
    events = [
        source(
            observed(_EVENT == "relapse").filter(after_start),
            description=pl.format("Relapse ({})", pl.col("result")),
            priority=_RELAPSE_RECORD,
        ),
        source(
            observed((_EVENT == "assessment") & (pl.col("result") == "PD")).filter(after_start),
            description="Progressive disease at assessment",
            priority=_PD,
        ),
        source(
            observed(is_death & of_disease),
            description="Death (disease)",
            priority=_DISEASE_DEATH,
        ),
        source(
            observed(is_death & ~of_disease.fill_null(False)),
            description=pl.format("Death ({})", pl.col("result")),
            priority=_OTHER_DEATH,
        ),
    ]
    status = {
        _RELAPSE_RECORD: RELAPSE,
        _PD: RELAPSE,
        _DISEASE_DEATH: RELAPSE if cfg.disease_death_as_relapse else NRM,
        _OTHER_DEATH: NRM,
    }
    if cfg.hsct == "competing":
        events.append(
            source(
                ends.filter(pl.col("hsct_date") <= pl.col("observed_until")),
                description="HSCT (competing event)",
                date=pl.col("hsct_date"),
                srcdom="hsct",
                srcseq=pl.col("hsct_line"),
                dtf=pl.col("hsct_dtf"),
                priority=_HSCT,
            )
        )
        status[_HSCT] = NRM

    # censorings: at the limit that ended observation (a therapy's record is a sign of life, so
    # it is never after the last known alive date; the window end only when a record is dated
    # after it), else at the last known alive date; all on or before the end of observation
    until = pl.col("observed_until")
    alive = last_alive.lazy().select(
        "subject_id", "alive_date", "alive_is_end", "alive_line", "alive_kind", "alive_dtf"
    )
    ends = ends.join(alive, on="subject_id", how="left")
    censors = []
    for enabled, name, kind, description, priority in (
        (cfg.censor_at_new_therapy, "therapy", "new_therapy", "Start of new therapy", _AT_NEW_THERAPY),
        (cfg.hsct == "censor", "hsct", "hsct", "HSCT", _AT_HSCT),
    ):
        if enabled:
            censors.append(
                source(
                    ends.filter(pl.col(f"{name}_date") == until),
                    description=description,
                    date=until,
                    srcdom=kind,
                    srcseq=pl.col(f"{name}_line"),
                    dtf=pl.col(f"{name}_dtf"),
                    priority=priority,
                )
            )
    censors.append(
        source(
            ends.filter((pl.col("window_end") == until) & (pl.col("alive_date") > until)),
            description=f"End of the {cfg.window_days}-day follow-up window",
            date=until,
            srcdom="infusion",
            srcseq=pl.col("infusion_line"),
            dtf=pl.lit(None, pl.String()),
            priority=_AT_WINDOW_END,
        )
    )
    alive_in = ends.filter(pl.col("alive_date") <= until)
    censors += tte.last_alive_sources(alive_in, priority=_AT_LAST_ALIVE)
    start, *sources = pl.collect_all([start, *events, *censors], engine=tte._ENGINE)
    n = len(events)
    return CompetingRisks(Parameter(cfg.paramcd, "", start, sources[:n], sources[n:]), status)


def cir_dataset(events: pl.DataFrame, config: Config | None = None, subjects: Subjects | None = None) -> pl.DataFrame:
    """The relapse-incidence dataset: one row per subject of the population (:data:`CIR_COLUMNS`),
    sorted by ``USUBJID``. ``EVENT`` is 1 (relapse), 2 (death without relapse, or a competing
    HSCT) or 0 (censored); ``CNSR = 1`` exactly when ``EVENT = 0``.

    ``events`` is the canonical events frame, already cut off by the caller; ``subjects`` the
    reader's numbering of its subjects when the caller has it (it only saves numbering again).
    """
    config = config or Config()
    records, last_alive, ids = tte._study(events, config, subjects)
    risks = cir_parameter(records, last_alive, config)
    parameter = risks.parameter
    chosen = tte._choice(parameter, tte._latest_censoring(parameter)).collect(engine=tte._ENGINE)
    if chosen.height == 0:
        return pl.DataFrame(schema=CIR_SCHEMA)
    chosen = chosen.sort(pl.col("subject_id").to_physical())
    status = pl.col("priority").replace_strict(dict(risks.status), default=None, return_dtype=pl.Int8)
    out = chosen.select(
        pl.lit(ids.gather(chosen.get_column("subject_id").to_physical())).alias("USUBJID"),
        pl.lit(parameter.paramcd).alias("PARAMCD"),
        pl.col("startdt").alias("STARTDT"),
        pl.col("date").alias("ADT"),
        ((pl.col("date") - pl.col("startdt")).dt.total_days() + 1).alias("AVAL"),
        pl.col("cnsr").alias("CNSR"),
        pl.when(pl.col("cnsr") == 0).then(status).otherwise(pl.lit(CENSORED, pl.Int8)).alias("EVENT"),
        pl.col("description").alias("EVNTDESC"),
        pl.col("srcdom").alias("SRCDOM"),
        pl.col("srcseq").alias("SRCSEQ"),
    )
    return out.cast(CIR_SCHEMA)  # type: ignore[arg-type]


__all__ = ["CIR_COLUMNS", "CIR_SCHEMA", "CENSORED", "NRM", "RELAPSE", "CompetingRisks", "cir_dataset", "cir_parameter"]
