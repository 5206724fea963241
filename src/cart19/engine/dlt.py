"""DLT - dose-limiting toxicity, and the safety stopping rule (endpoints.md, "DLT").

The DLT criteria are data (:class:`cart19.config.DLTRule`); this module has one generic
evaluator that turns each rule into a polars expression over the AE records, so a site that
adds a rule in its configuration changes the result without touching code.

Public API:

* :func:`flag_dlt_rules` - AE records in, the same records with ``dlt_rules`` (the names of
  the rules met, in configuration order) and ``dlt`` (onset in the DLT window and at least one
  rule met).
* :func:`dlt_review` - the review for a safety meeting: per-subject status, rate, exact CI,
  the stopping rule's verdict and warnings for the safety physician.
* :func:`normalise_term` - the term-matching key, :func:`cart19.engine.terms.term_key` (NFC,
  case-insensitive, hyphens read as spaces, white space collapsed).
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import polars as pl

from cart19.config import Config, DLTConfig, DLTRule
from cart19.engine.common import apply_cutoff, last_record_date, treated_subjects
from cart19.engine.terms import ae_vocabulary, term_key, with_terms
from cart19.io.subjects import Subjects, subject_codes
from cart19.io.subjects_file import group_levels, group_of

#: Statuses of a subject in a DLT review (cli.md, ``check-dlt --format json``).
STATUSES: tuple[str, ...] = ("dlt", "no_dlt", "in_window", "not_evaluable")


# --- term matching -------------------------------------------------------------------------


#: The normal form of a term or SOC: :func:`cart19.engine.terms.term_key` (one vocabulary for
#: the DLT rules, the TEAE tables and the safety profile).
normalise_term = term_key


def _keys(values: set[str]) -> pl.Series:
    return pl.Series(sorted(values), dtype=pl.String())


def _in(column: str, values: set[str]) -> pl.Expr:
    if not values:
        return pl.lit(False)
    return pl.col(column).is_in(pl.lit(_keys(values)).implode()).fill_null(False)


def _rule_terms(terms: tuple[str, ...], groups: tuple[str, ...], config: DLTConfig) -> set[str]:
    named = set(terms).union(*(config.term_groups[g] for g in groups)) if groups else set(terms)
    return {normalise_term(t) for t in named}


def rule_expression(rule: DLTRule, config: DLTConfig) -> pl.Expr:
    """One :class:`DLTRule` as a boolean expression over AE records.

    Needs the columns ``term_key``, ``soc_key`` (see :func:`normalise_term`), ``grade``,
    ``end_date``, ``duration_days`` (``end_date - date + 1``, an ongoing AE lasting until the
    subject's last record), ``infusion_date`` and ``last_date`` (the subject's last record).
    The DLT onset window is not part of a rule (see :func:`flag_dlt_rules`).
    """
    include_terms = _rule_terms(rule.terms, rule.term_groups, config)
    include_socs = {normalise_term(s) for s in rule.socs}
    exclude_terms = _rule_terms(rule.exclude_terms, rule.exclude_term_groups, config)
    exclude_socs = {normalise_term(s) for s in rule.exclude_socs}

    if include_terms or include_socs:
        selected = _in("term_key", include_terms) | _in("soc_key", include_socs)
    else:  # no terms, groups or SOCs: any AE
        selected = pl.lit(True)
    excluded = _in("term_key", exclude_terms) | _in("soc_key", exclude_socs)
    grade = pl.col("grade")
    met = selected & ~excluded & (grade >= rule.min_grade) & (grade <= rule.max_grade)

    if rule.longer_than_days is not None:
        # "lasting more than N days": end_date - date + 1 > N
        met = met & (pl.col("duration_days") > rule.longer_than_days)
    if rule.not_resolved_by_day is not None:
        # "not resolved by day N": ended after day N, or ongoing and the subject was followed
        # to day N (ongoing with follow-up ending earlier: not yet known, so not met)
        day_n = pl.col("infusion_date") + pl.duration(days=rule.not_resolved_by_day)
        ended_after = pl.col("end_date") > day_n
        ongoing_followed = pl.col("end_date").is_null() & (pl.col("last_date") >= day_n)
        met = met & (ended_after.fill_null(False) | ongoing_followed)
    return met.fill_null(False)


def rule_pending(rule: DLTRule, config: DLTConfig) -> pl.Expr | None:
    """An ongoing AE that meets the rule's term and grade conditions but not yet its duration or
    resolution condition, which more follow-up could still satisfy (a warning, not a DLT): the
    review's "may still meet" warnings and the report's list of possible DLTs both ask this."""
    if rule.longer_than_days is None and rule.not_resolved_by_day is None:
        return None
    static = rule.model_copy(update={"longer_than_days": None, "not_resolved_by_day": None})
    return rule_expression(static, config) & pl.col("end_date").is_null() & ~rule_expression(rule, config)


# --- AE records with what the rules need ----------------------------------------------------


def _aes_with_infusion(
    events: pl.DataFrame, treated: pl.DataFrame, where: pl.Expr | None = None, *, key: str = "subject_id"
) -> pl.DataFrame:
    """Every ``ae`` record (that meets ``where``, if given), in input order, with its subject's
    ``infusion_date``, ``study_day`` (infusion = day 0) and ``_subject``: the subject's row
    number in ``treated`` (a :func:`~cart19.engine.common.treated_subjects` frame), null for a
    subject outside it. The caller filters on ``_subject`` together with whatever else it
    selects on. ``key``: the column telling subjects apart in both (the identifier, or the
    reader's integer codes).

    A left join: with the filter, the same rows as an inner join keeping the left order, which
    is several times slower in polars.
    """
    infusions = treated.select(key, "infusion_date").with_row_index("_subject")
    is_ae = pl.col("event") == "ae"
    return (
        events.filter(is_ae if where is None else is_ae & where)
        .join(infusions, on=key, how="left", maintain_order="left")
        .with_columns((pl.col("date") - pl.col("infusion_date")).dt.total_days().alias("study_day"))
    )


def treated_aes(events: pl.DataFrame, *, treated: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ``ae`` records of treated subjects with ``infusion_date`` and ``study_day``
    (infusion = day 0, negative before it), in input order.

    ``treated``: :func:`~cart19.engine.common.treated_subjects` of ``events``, when the caller
    has it already.
    """
    aes = _aes_with_infusion(events, treated_subjects(events) if treated is None else treated)
    if aes.get_column("_subject").null_count():  # AEs of untreated subjects (a filter copies every row)
        aes = aes.filter(pl.col("_subject").is_not_null())
    return aes.drop("_subject")


def _last_record_dates(events: pl.DataFrame) -> pl.DataFrame:
    """:func:`~cart19.engine.common.last_record_date` of ``events`` (it takes a LazyFrame as
    well) on polars' streaming engine: a group-by over every record, two to three times faster
    there than eagerly."""
    return last_record_date(events.lazy()).collect(engine="streaming")  # type: ignore[arg-type]


def ae_records(
    events: pl.DataFrame, config: Config, *, aes: pl.DataFrame | None = None, last_dates: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The ``ae`` records of treated subjects, with the columns every DLT rule needs:
    ``infusion_date``, ``study_day`` (infusion = day 0), ``last_date`` (the subject's last
    record, AE end dates included), ``ongoing``, ``duration_days`` (``end_date - date + 1``; an
    ongoing AE lasts until the subject's last record), ``term_key``, ``soc_key`` (Categorical).

    ``aes``: a subset of :func:`treated_aes` to work on (default: all of them).
    ``last_dates``: :func:`~cart19.engine.common.last_record_date` of ``events``, when the
    caller has it already (a group-by over every record).
    """
    if aes is None:
        aes = treated_aes(events)
    if last_dates is None:
        last_dates = _last_record_dates(events)
    return _with_rule_columns(aes.join(last_dates, on="subject_id", how="left", maintain_order="left"))


def _with_rule_columns(aes: pl.DataFrame) -> pl.DataFrame:
    """:func:`ae_records`' columns but ``last_date``, which ``aes`` has already."""
    aes = aes.with_columns(
        pl.col("end_date").is_null().alias("ongoing"),
        ((pl.coalesce("end_date", "last_date") - pl.col("date")).dt.total_days() + 1).alias("duration_days"),
    )
    # the keys are Categorical: the rules test them against sets of terms (``is_in``), which on
    # a categorical column compares codes, not text
    return with_terms(with_terms(aes, "term", key="term_key"), "soc", key="soc_key")


#: Conditions per integer code column of :func:`_with_rule_names`: a bit each, in an Int64.
_CODE_BITS = 62


def _with_rule_names(frame: pl.DataFrame, conditions: list[tuple[str, pl.Expr]], alias: str) -> pl.DataFrame:
    """Add ``alias``: the list of the names whose condition holds on each row, in the given
    order. The conditions of a row are packed into integer codes (a bit each); the few distinct
    codes are named once and joined back (building a list row by row is slow in polars at
    millions of rows, and so is a join on one boolean column per condition)."""
    if not conditions:
        return frame.with_columns(pl.lit(pl.Series(alias, [[]] * frame.height, dtype=pl.List(pl.String()))))
    chunks = [conditions[i : i + _CODE_BITS] for i in range(0, len(conditions), _CODE_BITS)]
    columns = [f"__conditions_{i}" for i in range(len(chunks))]
    coded = frame.with_columns(
        pl.sum_horizontal(
            condition.fill_null(False).cast(pl.Int64()) * (1 << bit) for bit, (_, condition) in enumerate(chunk)
        ).alias(column)
        for column, chunk in zip(columns, chunks, strict=True)
    )
    combinations = coded.select(columns).unique()
    names = [
        [name for chunk, code in zip(chunks, row, strict=True) for bit, (name, _) in enumerate(chunk) if code >> bit & 1]
        for row in combinations.iter_rows()
    ]
    lookup = combinations.with_columns(pl.Series(alias, names, dtype=pl.List(pl.String())))
    return coded.join(lookup, on=columns, how="left", maintain_order="left").drop(columns)


def flag_dlt_rules(aes: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Add ``in_dlt_window``, ``dlt_rules`` (list of the rule names met, in configuration order;
    empty outside the window) and ``dlt`` to :func:`ae_records` output.

    "An ``ae`` with onset in the window [day 0 to day 28, inclusive] is a DLT when it meets one
    of the rules." Every rule a record meets is reported.
    """
    dlt = config.dlt
    in_window = pl.col("study_day").is_between(0, dlt.window_days).fill_null(False)
    conditions = [(rule.name, in_window & rule_expression(rule, dlt)) for rule in dlt.rules]
    return (
        _with_rule_names(aes.with_columns(in_window.alias("in_dlt_window")), conditions, "dlt_rules")
        .with_columns((pl.col("dlt_rules").list.len() > 0).alias("dlt"))
    )


# --- the review ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DLTReview:
    """The DLT review as of ``review_date``.

    ``subjects``: one row per treated subject, sorted by ``subject_id``:
    ``subject_id, infusion_date, window_end, evaluable_from, last_date, status, reason,
    window_day, dlt_terms (list), dlt_rules (list), dlt_events (list of struct: line, term,
    grade, study_day, end_date, rules)``. ``window_day`` is the study day reached at the
    review for a subject ``in_window`` (the "N" of "day N of 28"), else null.

    ``dlt_events``: the qualifying AE records, one row each (``subject_id, line, term, grade,
    date, study_day, end_date, duration_days, rules``).
    """

    review_date: dt.date | None
    window_days: int
    subjects: pl.DataFrame
    dlt_events: pl.DataFrame
    evaluable: int
    dlt: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence_level: float
    #: posterior P(true DLT rate > threshold) under Beta(prior_alpha + dlt, prior_beta + evaluable - dlt)
    posterior_probability: float
    dlt_rate_threshold: float
    posterior_threshold: float
    stopping_rule_met: bool
    #: records dated after the review date, set aside
    set_aside: int
    warnings: tuple[str, ...] = field(default=())
    #: with ``groups`` (``--by``): one row per group, sorted by text (:data:`GROUP_COLUMNS`)
    by_group: pl.DataFrame | None = None

    @property
    def groups_meeting_rule(self) -> list[str]:
        """The groups whose own stopping rule is met (empty without ``--by``)."""
        if self.by_group is None:
            return []
        return self.by_group.filter(pl.col("stopping_rule_met")).get_column("group").to_list()

    @property
    def any_stopping_rule_met(self) -> bool:
        """The rule is met overall or in a group: check-dlt's exit status 3."""
        return self.stopping_rule_met or bool(self.groups_meeting_rule)

    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self.subjects.group_by("status").len().iter_rows():
            counts[status] = n
        return counts

    def to_json_dict(self, *, subjects_as_frame: bool = False) -> dict[str, Any]:
        """The ``check-dlt --format json`` object (cli.md) as data: text, numbers, booleans,
        null, lists and dicts (dates as ISO text), for a JSON library to write
        (:func:`cart19.io.write.json_document`). ``subjects_as_frame``: the subject rows stay
        a polars frame (the same values), which ``json_document`` writes row by row without
        making Python objects of them."""
        subjects = self._json_subjects()
        return {
            "review_date": None if self.review_date is None else self.review_date.isoformat(),
            "subjects": subjects if subjects_as_frame else _records(subjects),
            "treated": self.subjects.height,
            "evaluable": self.evaluable,
            "dlt": self.dlt,
            "rate": self.rate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence_level": self.confidence_level,
            "posterior_probability": self.posterior_probability,
            "dlt_rate_threshold": self.dlt_rate_threshold,
            "posterior_threshold": self.posterior_threshold,
            "stopping_rule_met": self.stopping_rule_met,
            "status_counts": self.status_counts(),
            "set_aside": self.set_aside,
            "warnings": list(self.warnings),
            **({} if self.by_group is None else {
                "groups": self.by_group.to_dicts(),
                "stopping_rule_met_groups": self.groups_meeting_rule,
            }),
        }  # fmt: skip

    def _json_subjects(self) -> pl.DataFrame:
        """The subject rows of the JSON object, in its key order, dates as ISO text."""
        events = pl.col("dlt_events").fill_null(pl.lit([], self.subjects.schema["dlt_events"]))
        return self.subjects.select(
            "subject_id",
            "status",
            "dlt_terms",
            pl.col("window_end").dt.to_string(_ISO_DATE),
            pl.col("infusion_date").dt.to_string(_ISO_DATE),
            "reason",
            "window_day",
            "dlt_rules",
            events.list.eval(pl.element().struct.with_fields(pl.field("end_date").dt.to_string(_ISO_DATE))),
            *self.covariate_columns,
        )

    @property
    def covariate_columns(self) -> list[str]:
        """Columns of ``subjects`` beyond the review's own: the covariates of ``--subjects``."""
        return [name for name in self.subjects.columns if name not in SUBJECT_COLUMNS]


# --- the JSON object's data ------------------------------------------------------------------

#: Dates in the JSON object.
_ISO_DATE = "%Y-%m-%d"


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dicts()``, column by column (:func:`_values`), several times faster on the
    subject rows, with the cyclic garbage collector paused: building a hundred thousand dicts
    and lists (none in a cycle) set off its passes over every object again and again, which
    took longer than the building itself."""
    names = frame.columns
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [dict(zip(names, row)) for row in zip(*map(_values, frame.iter_columns()), strict=True)]
    finally:
        if enabled:
            gc.enable()


def _values(column: pl.Series) -> list[Any]:
    """``column.to_list()``. Polars makes a Python object of each nested value (a list, a
    struct) one at a time, slowly, even an empty list: here the items of a list column are
    converted as one flat column, then cut back into lists, and a struct column is converted
    field by field."""
    dtype = column.dtype
    if isinstance(dtype, pl.List):
        items = iter(_values(column.list.explode(keep_nulls=False, empty_as_null=False)))
        lengths = column.list.len().to_list()  # None for a null list
        return [[] if n == 0 else None if n is None else list(islice(items, n)) for n in lengths]
    if isinstance(dtype, pl.Struct) and not column.has_nulls():
        return _records(column.struct.unnest())
    return column.to_list()


def clopper_pearson(k: int, n: int, confidence_level: float) -> tuple[float | None, float | None]:
    """Exact (Clopper-Pearson) confidence interval of k/n; ``(None, None)`` when n = 0.

    Its limits are quantiles of beta distributions, as R's ``binom.test`` computes them
    (``qbeta``): the lower the alpha/2 quantile of Beta(k, n - k + 1) (0 when k = 0), the upper
    the 1 - alpha/2 quantile of Beta(k + 1, n - k) (1 when k = n), alpha = 1 - the level; from
    scipy.special's ``betaincinv`` (the inverse of the regularised incomplete beta function,
    the beta quantile). Not scipy.stats' ``binomtest(...).proportion_ci(method="exact")``: that
    finds the same limits by root-finding (they agree within 5e-13), and importing scipy.stats
    took 0.3-0.7 s of every ``response`` and ``check-dlt`` run; scipy.special ~0.1 s.
    """
    if n == 0:
        return None, None
    from scipy.special import betaincinv

    alpha = (1.0 - confidence_level) / 2.0
    low = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha))
    high = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1.0 - alpha))
    return low, high


def posterior_exceedance(dlt: int, evaluable: int, threshold: float, prior_alpha: float, prior_beta: float) -> float:
    """P(true rate > threshold) under the Beta(prior_alpha + dlt, prior_beta + evaluable - dlt)
    posterior (the stopping rule of endpoints.md): the beta survival function, scipy.special's
    ``betaincc`` (what scipy.stats' ``beta.sf`` computes, without importing scipy.stats)."""
    from scipy.special import betaincc

    return float(betaincc(prior_alpha + dlt, prior_beta + evaluable - dlt, threshold))


def _day_text(day: pl.Expr) -> pl.Expr:
    return pl.lit("day ") + day.cast(pl.String())


#: The columns of :attr:`DLTReview.subjects`, in order.
SUBJECT_COLUMNS: tuple[str, ...] = (
    "subject_id", "infusion_date", "window_end", "evaluable_from", "last_date", "status", "reason", "window_day",
    "dlt_terms", "dlt_rules", "dlt_events",
)  # fmt: skip

#: The columns of :attr:`DLTReview.by_group`, in order.
GROUP_COLUMNS: tuple[str, ...] = (
    "group", "treated", "evaluable", "dlt", "rate", "ci_low", "ci_high", "posterior_probability", "stopping_rule_met",
    "no_dlt", "in_window", "not_evaluable",
)  # fmt: skip


def review_by_group(subjects: pl.DataFrame, groups: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Per group (every group of ``groups`` and :data:`~cart19.io.subjects_file.MISSING_GROUP`
    when a treated subject is not in it; sorted by text): the treated subjects, the evaluable,
    the DLTs, the rate with its exact CI, the posterior probability and the stopping rule's
    verdict, by the same rule as the overall review, and the count of each other status.
    ``subjects``: :attr:`DLTReview.subjects`."""
    stop = config.stopping_rule
    mine = subjects.select("status", group_of("subject_id", groups).alias("group"))
    levels = pl.DataFrame({"group": group_levels(groups, mine.get_column("group"))}, schema={"group": pl.String()})
    status = pl.col("status")
    counts = mine.group_by("group").agg(
        pl.len().alias("treated"),
        status.is_in(["dlt", "no_dlt"]).sum().alias("evaluable"),
        *[(status == name).sum().alias(name) for name in STATUSES],
    )
    counts = levels.join(counts, on="group", how="left").with_columns(
        pl.col("treated", "evaluable", *STATUSES).fill_null(0).cast(pl.Int64())
    )
    rows = []
    for row in counts.iter_rows(named=True):
        n, k = row["evaluable"], row["dlt"]
        low, high = clopper_pearson(k, n, stop.confidence_level)
        posterior = posterior_exceedance(k, n, stop.dlt_rate_threshold, stop.prior_alpha, stop.prior_beta)
        rows.append({**row, "rate": k / n if n else None, "ci_low": low, "ci_high": high,
                     "posterior_probability": posterior, "stopping_rule_met": posterior > stop.posterior_probability})  # fmt: skip
    schema = {name: pl.Int64() for name in ("treated", "evaluable", *STATUSES)} | {
        "group": pl.String(), "rate": pl.Float64(), "ci_low": pl.Float64(), "ci_high": pl.Float64(),
        "posterior_probability": pl.Float64(), "stopping_rule_met": pl.Boolean(),
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema).select(GROUP_COLUMNS)


def evaluable_from_date(config: DLTConfig) -> pl.Expr:
    """The day from which a subject without a DLT is DLT-evaluable: the infusion date plus
    ``dlt.evaluable_through_day`` days (on ``infusion_date``)."""
    return pl.col("infusion_date") + pl.duration(days=config.evaluable_through_day)


def followed_through_window(config: DLTConfig) -> pl.Expr:
    """Followed long enough to be DLT-evaluable without a DLT: a record (``last_date``, the
    subject's latest date or AE end date) on or after :func:`evaluable_from_date`. The review
    (:func:`dlt_review`) and the safety profile's ``dlt_evaluable`` share it."""
    return pl.col("last_date") >= evaluable_from_date(config)


def dlt_review(
    events: pl.DataFrame,
    config: Config,
    as_of: dt.date | None = None,
    groups: pl.DataFrame | None = None,
    term_vocabulary: pl.DataFrame | None = None,
    subjects: Subjects | None = None,
) -> DLTReview:
    """The DLT review as of a date (endpoints.md, "DLT").

    * "A review ``--as-of`` a date uses only the records dated on or before it, as a cutoff
      does" (an AE ending after it is ongoing at the review). ``as_of=None``: the review date is
      the latest date in the events (AE end dates included).
    * Status per treated subject, in this order: ``dlt`` (a qualifying AE with onset from day 0
      to ``dlt.window_days``); ``no_dlt`` (followed through ``evaluable_through_day``: a record
      on or after it); ``not_evaluable`` when follow-up ended before it (death or withdrawal);
      ``in_window`` when the review date is before it ("day N of 28"); else ``not_evaluable``
      (no record on or after that day).
    * Rate = dlt / evaluable with an exact CI; the stopping rule is met when
      P(rate > threshold | data) > posterior_probability.
    * ``groups`` (the subgroup contract, e.g. cohorts or dose levels): the same rate, CI and
      verdict per group as well (:func:`review_by_group`); the overall figures are unchanged.
    * ``term_vocabulary``: :func:`~cart19.engine.terms.ae_vocabulary` of ``term`` over
      ``events``, when the caller has it already (for the spelling warnings); used when the
      review date sets no record aside (the vocabulary of the records reviewed is then the same).
    * ``subjects``: the reader's subject codes of ``events`` (:mod:`cart19.io.subjects`), when
      the caller has them; used when the review date sets no record aside.
    """
    dlt_config, stop = config.dlt, config.stopping_rule
    cut = apply_cutoff(events, as_of)
    events = cut.events
    review_date = as_of
    if review_date is None and events.height:
        review_date = events.select(pl.max_horizontal(pl.col("date").max(), pl.col("end_date").max())).item()
    # the per-subject work (the subjects' dates, the AEs' infusion dates) groups and joins on
    # integer codes (``_sid``, cart19.io.subjects), not on the identifiers' text
    if subjects is None or subjects.codes.len() != events.height:
        subjects = subject_codes(events.get_column("subject_id"))
    ids = subjects.ids
    coded = events.with_columns(subjects.codes.alias("_sid"))

    # the records of the per-subject dates (infusion, death, withdrawal), a few per subject, found
    # once and with only the columns read from them: a filter of the whole events frame costs a
    # pass over every record of every column it is given
    milestones = coded.select("line", "_sid", "event", "date", "result").filter(
        pl.col("event").is_in(["infusion", "death", "withdrawal"])
    )
    treated = treated_subjects(milestones, key="_sid").select("_sid", "infusion_date")
    last_dates = last_record_date(coded.select("_sid", "date", "end_date"), key="_sid")
    # only AEs with onset in the DLT window and a grade some rule accepts can be DLTs (or pending,
    # see _safety_warnings); grade 5 AEs are needed for the warnings. Only the AE columns the
    # review reads: each step copies the columns it is given.
    lowest_grade = min((rule.min_grade for rule in dlt_config.rules), default=5)
    in_window = pl.col("study_day").is_between(0, dlt_config.window_days)
    ae_columns = coded.select("line", "_sid", "event", "date", "end_date", "grade", "term", "soc")
    candidates = (
        _aes_with_infusion(ae_columns, treated, where=pl.col("grade") >= lowest_grade, key="_sid")
        .filter(pl.col("_subject").is_not_null() & (in_window | (pl.col("grade") == 5)))
        .drop("_subject")
        .join(last_dates, on="_sid", how="left", maintain_order="left")
    )
    aes = flag_dlt_rules(_with_rule_columns(candidates), config)
    # a DLT's term as the TEAE tables show it (the vocabulary's label, cart19.engine.terms)
    if term_vocabulary is None or cut.set_aside:
        term_vocabulary = ae_vocabulary(events, "term")
    labels = term_vocabulary.select("term", "label")
    qualifying = (
        aes.filter(pl.col("dlt"))
        .join(labels, on="term", how="left", maintain_order="left")
        .with_columns(pl.lit(ids).gather(pl.col("_sid")).alias("subject_id"))
        .sort("subject_id", "date", "line")
        .select(
            "_sid",
            "subject_id",
            "line",
            pl.col("label").alias("term"),
            pl.col("grade").cast(pl.Int64()),
            "date",
            "study_day",
            "end_date",
            "duration_days",
            pl.col("dlt_rules").alias("rules"),
        )
    )
    per_subject_dlt = qualifying.group_by("_sid", maintain_order=True).agg(
        pl.col("term").unique(maintain_order=True).alias("dlt_terms"),
        pl.col("rules").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True).alias("dlt_rules"),
        pl.struct("line", "term", "grade", "study_day", "end_date", "rules").alias("dlt_events"),
    )
    # keep the rules of each subject in configuration order
    rule_order = {rule.name: i for i, rule in enumerate(dlt_config.rules)}
    per_subject_dlt = per_subject_dlt.with_columns(
        pl.col("dlt_rules").list.eval(
            pl.element().sort_by(pl.element().replace_strict(rule_order, return_dtype=pl.Int64()))
        ),
        # the reason of a "dlt" subject, here for the few subjects with a DLT rather than below
        # for every treated subject
        (pl.lit("DLT: ") + pl.col("dlt_terms").list.join(", ")).alias("_dlt_reason"),
    )

    ends = (
        milestones.filter(pl.col("event").is_in(["death", "withdrawal"]))
        .sort("_sid", "date", "line")
        .group_by("_sid", maintain_order=True)
        .agg(
            pl.col("date").filter(pl.col("event") == "death").first().alias("death_date"),
            pl.col("result").filter(pl.col("event") == "death").first().alias("death_cause"),
            pl.col("date").filter(pl.col("event") == "withdrawal").first().alias("withdrawal_date"),
        )
    )
    infusion = pl.col("infusion_date")
    evaluable_from = evaluable_from_date(dlt_config)
    subjects_frame = (
        treated.join(last_dates, on="_sid", how="left")
        .join(ends, on="_sid", how="left")
        .join(per_subject_dlt, on="_sid", how="left")
        .with_columns(
            pl.lit(ids).gather(pl.col("_sid")).alias("subject_id"),
            (infusion + pl.duration(days=dlt_config.window_days)).alias("window_end"),
            evaluable_from.alias("evaluable_from"),
            (pl.lit(review_date, pl.Date()) - infusion).dt.total_days().alias("_review_day"),
            (pl.col("death_date") - infusion).dt.total_days().alias("_death_day"),
            (pl.col("withdrawal_date") - infusion).dt.total_days().alias("_withdrawal_day"),
            (pl.col("last_date") - infusion).dt.total_days().alias("_last_day"),
        )
    )
    has_dlt = pl.col("dlt_rules").list.len().fill_null(0) > 0
    followed = followed_through_window(dlt_config)
    died = pl.col("death_date").is_not_null()
    withdrew = pl.col("withdrawal_date").is_not_null()
    reviewing_early = pl.lit(review_date, pl.Date()) < pl.col("evaluable_from")
    through = dlt_config.evaluable_through_day
    subjects_frame = subjects_frame.with_columns(
        pl.when(has_dlt)
        .then(pl.lit("dlt"))
        .when(followed)
        .then(pl.lit("no_dlt"))
        .when(died | withdrew)
        .then(pl.lit("not_evaluable"))
        .when(reviewing_early)
        .then(pl.lit("in_window"))
        .otherwise(pl.lit("not_evaluable"))
        .alias("status"),
        pl.when(has_dlt)
        .then(pl.col("_dlt_reason"))
        .when(followed)
        .then(pl.lit(f"followed through day {through} without a DLT"))
        .when(died)
        .then(
            pl.lit("died on ")
            + _day_text(pl.col("_death_day"))
            + pl.lit(" (")
            + pl.col("death_cause").fill_null("cause unknown")
            + pl.lit(") without a DLT")
        )
        .when(withdrew)
        .then(pl.lit("withdrew on ") + _day_text(pl.col("_withdrawal_day")) + pl.lit(" without a DLT"))
        .when(reviewing_early)
        .then(_day_text(pl.col("_review_day")) + pl.lit(f" of {dlt_config.window_days}"))
        .otherwise(
            pl.lit(f"no record on or after day {through} (last record on ")
            + _day_text(pl.col("_last_day"))
            + pl.lit(")")
        )
        .alias("reason"),
        pl.col("dlt_terms").fill_null(pl.lit([], pl.List(pl.String()))),
        pl.col("dlt_rules").fill_null(pl.lit([], pl.List(pl.String()))),
        pl.col("dlt_events").fill_null(pl.lit([], per_subject_dlt.schema["dlt_events"])),
    ).with_columns(
        pl.when(pl.col("status") == "in_window").then(pl.col("_review_day")).alias("window_day"),
    )

    status = pl.col("status")
    n_dlt, evaluable = subjects_frame.select(
        (status == "dlt").sum().alias("dlt"), status.is_in(["dlt", "no_dlt"]).sum().alias("evaluable")
    ).row(0)
    rate = n_dlt / evaluable if evaluable else None
    ci_low, ci_high = clopper_pearson(n_dlt, evaluable, stop.confidence_level)
    posterior = posterior_exceedance(n_dlt, evaluable, stop.dlt_rate_threshold, stop.prior_alpha, stop.prior_beta)

    warnings = _safety_warnings(milestones, aes, subjects_frame, config)
    per_subject = subjects_frame.select(SUBJECT_COLUMNS).sort("subject_id")
    return DLTReview(
        review_date=review_date,
        window_days=dlt_config.window_days,
        subjects=per_subject,
        dlt_events=qualifying.drop("_sid"),
        evaluable=evaluable,
        dlt=n_dlt,
        rate=rate,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence_level=stop.confidence_level,
        posterior_probability=posterior,
        dlt_rate_threshold=stop.dlt_rate_threshold,
        posterior_threshold=stop.posterior_probability,
        stopping_rule_met=posterior > stop.posterior_probability,
        set_aside=cut.set_aside,
        warnings=tuple(warnings),
        by_group=None if groups is None else review_by_group(per_subject, groups, config),
    )


def _safety_warnings(events: pl.DataFrame, aes: pl.DataFrame, subjects: pl.DataFrame, config: Config) -> list[str]:
    """What a safety physician wants to see beside the verdict (``events``: at least the
    ``death`` and ``withdrawal`` records; ``aes``: :func:`flag_dlt_rules` output; ``subjects``:
    the treated subjects, ``_sid, subject_id, infusion_date, window_end``; the subjects of
    ``events`` and ``aes`` by their code, ``_sid``):

    * a death of cause ``toxicity`` in the DLT window with no grade 5 AE recorded;
    * a grade 5 AE with no death record;
    * an ongoing AE in the DLT window that meets a rule's term and grade but not yet its
      duration or resolution condition: it may still become a DLT, or, when follow-up ended
      (death or withdrawal), the rule cannot be assessed.
    """
    out: list[str] = []
    grade5 = aes.filter(pl.col("grade") == 5).select("_sid").unique()
    deaths = events.filter(pl.col("event") == "death").select("_sid", "date", "result")
    window = subjects.select("_sid", "subject_id", "infusion_date", "window_end")
    named = window.select("_sid", "subject_id")

    toxic = (
        deaths.filter(pl.col("result") == "toxicity")
        .join(window, on="_sid")
        .filter(pl.col("date").is_between(pl.col("infusion_date"), pl.col("window_end")))
        .join(grade5, on="_sid", how="anti")
        .with_columns((pl.col("date") - pl.col("infusion_date")).dt.total_days().alias("day"))
        .sort("subject_id")
    )
    for row in toxic.iter_rows(named=True):
        out.append(
            f"{row['subject_id']}: death of toxicity on day {row['day']} (in the DLT window) "
            "with no grade 5 AE recorded; check the AE records"
        )

    orphan = (
        aes.filter(pl.col("grade") == 5)
        .join(deaths, on="_sid", how="anti")
        .join(named, on="_sid", how="left", maintain_order="left")
        .sort("subject_id", "date", "line")
    )
    for row in orphan.iter_rows(named=True):
        out.append(f"{row['subject_id']}: grade 5 AE {row['term']!r} (line {row['line']}) with no death record")

    pending_conditions = []
    for rule in config.dlt.rules:
        expr = rule_pending(rule, config.dlt)
        if expr is not None:
            pending_conditions.append((rule.name, expr))
    if pending_conditions:
        follow_up_ended = (
            events.filter(pl.col("event").is_in(["death", "withdrawal"]))
            .group_by("_sid")
            .agg(pl.col("date").min().alias("_ended"))
        )
        pending = (
            # a pending rule needs an ongoing AE: filter on that first, the names are slow to add
            _with_rule_names(
                aes.filter(pl.col("in_dlt_window") & pl.col("end_date").is_null()), pending_conditions, "_pending"
            )
            .filter(pl.col("_pending").list.len() > 0)
            .join(follow_up_ended, on="_sid", how="left")
            .join(named, on="_sid", how="left", maintain_order="left")
            .sort("subject_id", "date", "line")
        )
        days = pl.col("duration_days")
        what = pl.format(
            "{}: grade {} '{}' (line {}, onset day {}) ongoing after {} {}",
            "subject_id", "grade", "term", "line", "study_day", days,
            pl.when(days == 1).then(pl.lit("day")).otherwise(pl.lit("days")),
        )  # fmt: skip
        rules = pl.col("_pending").list.join(", ")
        message = (
            pl.when(pl.col("_ended").is_null())
            .then(pl.format("{}: may still meet {}", what, rules))
            .otherwise(pl.format("{} when follow-up ended (death or withdrawal): {} cannot be assessed", what, rules))
        )
        out.extend(pending.select(message).to_series().to_list())
    return out
