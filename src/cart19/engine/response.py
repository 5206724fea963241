"""Best overall response, response rates with exact CIs, MRD, and time to response
(``shared/spec/efficacy.md``, "Best overall response and response rates").

Pure functions: the canonical events frame (:mod:`cart19.schema`, already cut off) and the
configuration (:class:`cart19.config.ResponseConfig`, ``response_sets``) in, frames out.

* :func:`best_overall_response`: one row per infused subject (its BOR, the record it comes
  from, whether it had an MRD-negative remission, its first response and remission days);
* :func:`response_rates`: the rates (``population,PARAMCD,n,N,rate,percent,ci_low,ci_high``) for
  the infused and the enrolled sets, optionally per group;
* :func:`bor_distribution`, :func:`response_times`: what a committee reads beside the rates;
* :func:`response_listing`: the ADRS-style rows (``BOR`` and ``MRDNEG`` per infused subject).

Which assessments count is not decided here: the response window and "response to the
infusion" are :func:`cart19.engine.tte.follow_up`'s, the same rule EFS and DOR read
(assessments dated after the infusion day and at most ``response.window_days`` after it, on or
before the first ``new_therapy``, and on or before an ``hsct`` that came before the first
response). Interpretation choices (``docs/response.md``):

* **Ties.** The BOR date is the first assessment with the BOR result (ties on the date: the
  lower input line, which is ``SRCSEQ``); likewise the date of the MRD-negative remission.
* **MRD-negative remission** needs ``mrd = negative`` on an assessment whose own result is a
  remission; an MRD-negative CRi counts, an MRD-positive CR does not (whatever else the
  subject had).
* **Enrolled set**: every subject with a record in the file (after the cutoff); the never
  infused have no BOR and count in the denominators only.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cart19.config import Config, ResponseConfig, ResponseRate
from cart19.engine.dlt import clopper_pearson
from cart19.engine.teae import percent_one_decimal
from cart19.engine.tte import TIMELINE_COLUMNS, follow_up, timeline
from cart19.io.subjects import Subjects
from cart19.io.subjects_file import group_of

#: The BOR of an infused subject with no assessment in the window: not done.
NOT_DONE = "ND"

#: Per infused subject (:func:`best_overall_response`).
BOR_SCHEMA: dict[str, pl.DataType] = {
    "subject_id": pl.String(),
    "infusion_date": pl.Date(),
    "bor": pl.String(),
    "bor_date": pl.Date(),
    "bor_line": pl.Int64(),
    "mrd_negative": pl.Boolean(),
    "mrd_negative_date": pl.Date(),
    "mrd_negative_line": pl.Int64(),
    "first_response_day": pl.Int64(),
    "first_remission_day": pl.Int64(),
}

#: cli.md, ``response --format csv``.
RATES_SCHEMA: dict[str, pl.DataType] = {
    "population": pl.String(),
    "PARAMCD": pl.String(),
    "n": pl.Int64(),
    "N": pl.Int64(),
    "rate": pl.Float64(),
    "percent": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
}
RATES_COLUMNS: tuple[str, ...] = tuple(RATES_SCHEMA)

#: cli.md, ``response --listing``.
LISTING_SCHEMA: dict[str, pl.DataType] = {
    "USUBJID": pl.String(),
    "PARAMCD": pl.String(),
    "PARAM": pl.String(),
    "AVALC": pl.String(),
    "ADT": pl.Date(),
    "ADY": pl.Int64(),
    "SRCDOM": pl.String(),
    "SRCSEQ": pl.Int64(),
}
LISTING_COLUMNS: tuple[str, ...] = tuple(LISTING_SCHEMA)

#: The two populations of the rates, in output order.
POPULATIONS: tuple[str, ...] = ("infused", "enrolled")

#: ``group`` of a subject without a value (COMMON subgroup contract).

_KINDS = ("infusion", "assessment", "new_therapy", "hsct")


def best_overall_response(events: pl.DataFrame, config: Config | None = None) -> pl.DataFrame:
    """"Best overall response (BOR) of an infused subject: the best result among those
    assessments, in the order CR > CRh > CRi > MLFS > PR > NR > PD > NE ... A subject with no
    assessment in the window has BOR ND ... Its date is the first assessment with that result."
    "A subject is an MRD-negative remitter when an assessment in the window has a remission
    result (CR, CRh, CRi) and mrd = negative."

    One row per infused subject (:data:`BOR_SCHEMA`), sorted by ``subject_id``. ``bor_line`` /
    ``mrd_negative_line`` are the input lines of the records the dates come from;
    ``first_response_day`` / ``first_remission_day`` the study day (date - infusion date) of the
    first counted assessment in ``response.response_set`` / ``response.remission_set``.
    """
    config = config or Config()
    cfg = config.response
    remission = list(config.response_sets.get(cfg.remission_set))
    response = list(config.response_sets.get(cfg.response_set))
    # (the columns first: the filter then copies only those)
    records = timeline(events.select(TIMELINE_COLUMNS).filter(pl.col("event").is_in(_KINDS)))
    fu = follow_up(records, cfg.window_days, config.response_sets.response)
    counted = fu.counted.lazy().with_columns(
        pl.col("result").replace_strict(list(cfg.bor_order), range(len(cfg.bor_order)), return_dtype=pl.Int32)
        .alias("_rank")
    )  # fmt: skip
    best = (
        counted.sort("subject_id", "_rank", "date", "line")
        .group_by("subject_id", maintain_order=True)
        .first()
        .select("subject_id", pl.col("result").alias("bor"), pl.col("date").alias("bor_date"),
                pl.col("line").alias("bor_line"))
    )  # fmt: skip
    mrd = (
        counted.filter(pl.col("result").is_in(remission) & (pl.col("mrd") == "negative"))
        .sort("subject_id", "date", "line")
        .group_by("subject_id", maintain_order=True)
        .first()
        .select("subject_id", pl.col("date").alias("mrd_negative_date"), pl.col("line").alias("mrd_negative_line"))
    )
    study_day = (pl.col("date") - pl.col("infusion_date")).dt.total_days()
    firsts = counted.group_by("subject_id").agg(
        study_day.filter(pl.col("result").is_in(response)).min().alias("first_response_day"),
        study_day.filter(pl.col("result").is_in(remission)).min().alias("first_remission_day"),
    )
    out = (
        fu.anchors.lazy()
        .select("subject_id", "infusion_date")
        .join(best, on="subject_id", how="left")
        .join(mrd, on="subject_id", how="left")
        .join(firsts, on="subject_id", how="left")
        .with_columns(
            pl.col("subject_id").cast(pl.String),
            pl.col("bor").fill_null(NOT_DONE),
            pl.col("mrd_negative_date").is_not_null().alias("mrd_negative"),
        )
        .sort("subject_id")
        .select(list(BOR_SCHEMA))
        .collect()
    )
    return out.cast(BOR_SCHEMA)  # type: ignore[arg-type]


def _responds(rate: ResponseRate, config: Config) -> pl.Expr:
    """A subject of :func:`best_overall_response` counts in ``rate``'s numerator."""
    results = config.response_sets.get(rate.bor_in) if isinstance(rate.bor_in, str) else rate.bor_in
    condition = pl.col("bor").is_in(list(results))
    return condition & pl.col("mrd_negative") if rate.mrd_negative else condition


def proportion_interval(k: int, n: int, cfg: ResponseConfig) -> tuple[float | None, float | None]:
    """The two-sided interval of k/n at ``cfg.confidence_level``: exact Clopper-Pearson (the DLT
    review's, :func:`cart19.engine.dlt.clopper_pearson`) or, with ``interval = "wilson"``,
    Wilson's score interval (scipy's ``proportion_ci(method="wilson")``); None when n = 0."""
    if cfg.interval == "clopper-pearson" or n == 0:
        return clopper_pearson(k, n, cfg.confidence_level)
    from scipy.stats import binomtest

    interval = binomtest(k, n).proportion_ci(confidence_level=cfg.confidence_level, method="wilson")
    return float(interval.low), float(interval.high)


def _with_group(subjects: pl.DataFrame, groups: pl.DataFrame | None) -> pl.DataFrame:
    """``subjects`` with ``group`` (COMMON subgroup contract: absent subjects in "(missing)")."""
    if groups is None:
        return subjects.with_columns(pl.lit(None, pl.String).alias("group"))
    return subjects.with_columns(group_of("subject_id", groups).alias("group"))


def response_rates(
    events: pl.DataFrame,
    config: Config | None = None,
    groups: pl.DataFrame | None = None,
    *,
    bor: pl.DataFrame | None = None,
    subjects: Subjects | None = None,
) -> pl.DataFrame:
    """"Rates, each with an exact (Clopper-Pearson) two-sided 95% CI (the confidence level is
    the configuration's), for two denominators: the infused set (primary) and the enrolled set
    (every subject in the file; subjects never infused count as non-responders)."

    One row per population (infused, enrolled) and rate (``response.rates``, in their order):
    :data:`RATES_COLUMNS`; ``rate`` and the limits as proportions, ``percent`` rounded to one
    decimal (half away from zero); empty where N = 0. With ``groups`` (``subject_id, group``),
    ``group`` comes first and there is one such block per group, groups sorted by their text.
    ``bor``: :func:`best_overall_response` of the same events, when the caller has it;
    ``subjects``: the reader's numbering of their subjects (:mod:`cart19.io.subjects`), when it
    fits them: the enrolled set is then its identifiers (no pass over every record's text).
    """
    config = config or Config()
    cfg = config.response
    if bor is None:
        bor = best_overall_response(events, config)
    flags = [_responds(rate, config).alias(f"_r{i}") for i, rate in enumerate(cfg.rates)]
    infused = _with_group(bor.select("subject_id", *flags), groups)
    if groups is None:
        # the never infused are in no numerator: the enrolled set adds only to the denominator
        total = subjects.count if subjects is not None else events.select(pl.col("subject_id").n_unique()).item()
        enrolled = infused
    else:
        every = subjects.ids.alias("subject_id").to_frame() if subjects is not None else (
            events.select(pl.col("subject_id").unique()))  # fmt: skip
        enrolled = _with_group(every, groups).join(
            infused.drop("group"), on="subject_id", how="left"
        )
        total = None

    def counts(subjects: pl.DataFrame, population: str, total: int | None = None) -> pl.DataFrame:
        """``group, N, _rate, n, population``: per group (without groups: over all, one row
        even for no subjects) the number of subjects (or ``total``) and each rate's numerator."""
        numerators = [pl.col(f"_r{i}").fill_null(False).sum().cast(pl.Int64).alias(f"_r{i}") for i in range(len(flags))]
        size = (pl.len() if total is None else pl.lit(total)).cast(pl.Int64).alias("N")
        if groups is None:
            per_group = subjects.select(pl.lit(None, pl.String).alias("group"), size, *numerators)
        else:
            per_group = subjects.group_by("group").agg(size, *numerators)
        return per_group.unpivot(index=["group", "N"], variable_name="_rate", value_name="n").with_columns(
            pl.lit(population).alias("population")
        )

    # every (group, population, rate), so that a group without infused subjects shows N = 0
    no_group = pl.DataFrame({"group": [None]}, schema={"group": pl.String})
    group_names = no_group if groups is None else enrolled.select("group").unique()
    populations = pl.DataFrame({"population": list(POPULATIONS), "_population": list(range(len(POPULATIONS)))})
    rate_order = pl.DataFrame({"_rate": [f"_r{i}" for i in range(len(cfg.rates))],
                               "PARAMCD": [r.paramcd for r in cfg.rates], "_order": list(range(len(cfg.rates)))},
                              schema={"_rate": pl.String, "PARAMCD": pl.String, "_order": pl.Int64})  # fmt: skip
    frame = group_names.join(populations, how="cross").join(rate_order, how="cross")
    if flags:
        found = pl.concat([counts(infused, "infused"), counts(enrolled, "enrolled", total)])
        frame = frame.join(found, on=["group", "population", "_rate"], how="left", nulls_equal=True)
    else:
        frame = frame.with_columns(pl.lit(0, pl.Int64).alias("N"), pl.lit(0, pl.Int64).alias("n"))
    frame = (
        frame.with_columns(pl.col("n").fill_null(0), pl.col("N").fill_null(0))
        .with_columns(
            pl.when(pl.col("N") > 0).then(pl.col("n") / pl.col("N")).alias("rate"),
            percent_one_decimal(pl.col("n"), pl.col("N")).alias("percent"),
        )
        .sort("group", "_population", "_order")
    )
    limits = [proportion_interval(k, n, cfg) for k, n in frame.select("n", "N").iter_rows()]
    frame = frame.with_columns(
        pl.Series("ci_low", [low for low, _ in limits], dtype=pl.Float64),
        pl.Series("ci_high", [high for _, high in limits], dtype=pl.Float64),
    )
    columns = (["group"] if groups is not None else []) + list(RATES_COLUMNS)
    schema = ({"group": pl.String()} if groups is not None else {}) | RATES_SCHEMA
    return frame.select(columns).cast(schema)  # type: ignore[arg-type]


def bor_distribution(bor: pl.DataFrame, config: Config | None = None) -> pl.DataFrame:
    """``AVALC, n, N, percent``: the infused subjects by BOR, every result of
    ``response.bor_order`` then ``ND``, zeros included (N: the infused)."""
    config = config or Config()
    order = [*config.response.bor_order, NOT_DONE]
    counts = bor.group_by("bor").len("n")
    return (
        pl.DataFrame({"AVALC": order})
        .join(counts, left_on="AVALC", right_on="bor", how="left", maintain_order="left")
        .with_columns(pl.col("n").fill_null(0).cast(pl.Int64), pl.lit(bor.height, pl.Int64).alias("N"))
        .with_columns(percent_one_decimal(pl.col("n"), pl.col("N")).alias("percent"))
    )


def response_times(bor: pl.DataFrame, config: Config | None = None) -> pl.DataFrame:
    """"Time to response: among subjects with BOR in the response set, the study day of the
    first response and of the first remission: median, minimum, maximum."

    ``measure`` (``first_response``, ``first_remission``), ``n`` (responders with such a day),
    ``median`` (of the days; the mean of the middle two for an even n), ``min``, ``max``."""
    config = config or Config()
    response = list(config.response_sets.get(config.response.response_set))
    responders = bor.filter(pl.col("bor").is_in(response))
    rows = []
    for measure, column in (("first_response", "first_response_day"), ("first_remission", "first_remission_day")):
        days = responders.get_column(column).drop_nulls()
        rows.append({"measure": measure, "n": days.len(), "median": days.median(), "min": days.min(),
                     "max": days.max()})  # fmt: skip
    schema = {"measure": pl.String, "n": pl.Int64, "median": pl.Float64, "min": pl.Int64, "max": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


#: PARAM of the listing's two parameters.
LISTING_PARAMS = {"BOR": "Best Overall Response", "MRDNEG": "MRD-Negative Remission"}


def response_listing(bor: pl.DataFrame) -> pl.DataFrame:
    """"ADRS style, per infused subject: USUBJID,PARAMCD,PARAM,AVALC,ADT,ADY,SRCDOM,SRCSEQ with
    PARAMCD BOR (AVALC the BOR; ADT the date of the first assessment with that result, empty
    for ND) and MRDNEG (AVALC Y/N)." ADY = ADT - infusion date (the infusion is day 0).

    MRDNEG ``Y`` carries the date and line of the first MRD-negative remission; ``N`` is empty
    there. Rows sort by USUBJID, then BOR before MRDNEG."""
    ady = (pl.col("ADT") - pl.col("infusion_date")).dt.total_days()
    bor_rows = bor.select(
        pl.col("subject_id").alias("USUBJID"),
        pl.lit("BOR").alias("PARAMCD"),
        pl.col("bor").alias("AVALC"),
        pl.col("bor_date").alias("ADT"),
        pl.col("bor_line").alias("SRCSEQ"),
        "infusion_date",
    )
    mrd_rows = bor.select(
        pl.col("subject_id").alias("USUBJID"),
        pl.lit("MRDNEG").alias("PARAMCD"),
        pl.when(pl.col("mrd_negative")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("AVALC"),
        pl.col("mrd_negative_date").alias("ADT"),
        pl.col("mrd_negative_line").alias("SRCSEQ"),
        "infusion_date",
    )
    return (
        pl.concat([bor_rows, mrd_rows])
        .with_columns(
            pl.col("PARAMCD").replace_strict(LISTING_PARAMS).alias("PARAM"),
            ady.alias("ADY"),
            pl.when(pl.col("ADT").is_not_null()).then(pl.lit("assessment")).alias("SRCDOM"),
            pl.col("PARAMCD").replace_strict(list(LISTING_PARAMS), range(len(LISTING_PARAMS))).alias("_order"),
        )
        .sort("USUBJID", "_order")
        .select(list(LISTING_COLUMNS))
        .cast(LISTING_SCHEMA)  # type: ignore[arg-type]
    )


__all__: Sequence[str] = (
    "BOR_SCHEMA",
    "LISTING_COLUMNS",
    "LISTING_SCHEMA",
    "NOT_DONE",
    "RATES_COLUMNS",
    "RATES_SCHEMA",
    "best_overall_response",
    "bor_distribution",
    "proportion_interval",
    "response_listing",
    "response_rates",
    "response_times",
)
