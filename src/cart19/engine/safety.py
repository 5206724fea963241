"""The CAR-T safety profile (safety-profile.md): syndromes of special interest, TEAEs by period,
deaths, disposition.

Pure functions: the canonical events frame and the configuration in, frames out. The rules
are data (:class:`cart19.config.SafetyConfig`); terms and SOCs are matched by the one normal
form of :mod:`cart19.engine.terms`, as the TEAE tables and the DLT rules match them.

Public API:

* :func:`safety_profile` - everything below, gathered (:class:`SafetyProfile`), for the
  command and the report.
* :func:`subject_status` - one row per subject in the file: infusion, death, relapse before
  death, evaluability (the per-subject facts the deaths and disposition tables count).
* :func:`syndrome_subjects` - one row per infused subject and syndrome group with a TEAE of
  the group: maximum grade, onset day, the first episode's duration or ongoing, its line.
* :func:`period_subjects` - one row per infused subject and period with a TEAE in it.
* :func:`summary` - the long table of safety-profile.md ("Machine format"), optionally by a
  subject-level ``groups`` frame (COMMON.md's contract).
* :func:`death_listing`, :func:`never_infused_listing` - the listings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from cart19.config import Config
from cart19.engine.common import apply_cutoff
from cart19.engine.dlt import ae_records, flag_dlt_rules, followed_through_window
from cart19.engine.terms import key_set, spelling_warnings_of, vocabulary, with_terms
from cart19.io.subjects import Subjects, subject_codes
from cart19.io.subjects_file import group_of
from cart19.model import DEATH_CAUSES

#: Columns of the long summary (safety-profile.md, "Machine format").
SUMMARY_COLUMNS: tuple[str, ...] = ("table", "item", "statistic", "value", "N")
#: Columns of the ``--listing`` output.
LISTING_COLUMNS: tuple[str, ...] = ("USUBJID", "group", "max_grade", "onset_day", "duration_days", "ongoing", "SRCSEQ")
#: Statistics of a syndrome group, in output order.
SYNDROME_STATISTICS: tuple[str, ...] = (
    "n_any", "n_grade_ge3", "n_grade_1", "n_grade_2", "n_grade_3", "n_grade_4", "n_grade_5",
    "onset_median", "onset_min", "onset_max", "duration_median", "duration_min", "duration_max", "n_ongoing",
)  # fmt: skip
PERIOD_STATISTICS: tuple[str, ...] = ("n_any", "n_grade_ge3", "n_serious")
DISPOSITION_ITEMS: tuple[str, ...] = (
    "enrolled", "lymphodepleted", "infused", "dlt_evaluable", "efficacy_evaluable", "withdrawn", "died", "alive",
)  # fmt: skip
#: Statistics that are counts of subjects out of the infused set (they carry ``N``).
_COUNTS = frozenset({"n_any", "n_grade_ge3", "n_grade_1", "n_grade_2", "n_grade_3", "n_grade_4", "n_grade_5",
                     "n_ongoing", "n_serious"})  # fmt: skip


@dataclass(frozen=True)
class SafetyProfile:
    """The figures of ``cart19 safety`` (and of the report's safety section). The listings
    (:attr:`listing`, :attr:`deaths`, :attr:`never_infused`) are made when first read: the
    long table alone needs none of them."""

    #: the long table: ``table,item,statistic,value,N`` (``group`` first when grouped)
    summary: pl.DataFrame
    #: :func:`subject_status`, :func:`syndrome_subjects`, and the events with their subject
    #: codes (``_sid``): what the listings are made from
    status: pl.DataFrame = field(repr=False)
    syndromes: pl.DataFrame = field(repr=False)
    events: pl.DataFrame = field(repr=False)
    codes: Subjects = field(repr=False)
    #: the spellings merged into one term or SOC (:func:`cart19.engine.terms.merged_spellings`)
    warnings: tuple[str, ...] = ()
    #: with ``groups``: :attr:`summary` per group (``group`` first); else None
    by_group: pl.DataFrame | None = None

    @cached_property
    def listing(self) -> pl.DataFrame:
        """Per subject and syndrome group: :data:`LISTING_COLUMNS`."""
        return syndrome_listing(self.syndromes, self.status)

    @cached_property
    def deaths(self) -> pl.DataFrame:
        """Deaths of infused subjects: ``USUBJID,date,study_day,cause,relapse_before,SRCSEQ``."""
        return death_listing(self.status)

    @cached_property
    def never_infused(self) -> pl.DataFrame:
        """The last record of each subject never infused: ``USUBJID,event,date,result,term,SRCSEQ``."""
        return never_infused_listing(self.events, self.status, codes=self.codes)


# --------------------------------------------------------------------------- per subject


def _with_codes(events: pl.DataFrame, subjects: Subjects | None = None) -> tuple[pl.DataFrame, pl.Series]:
    """``events`` with ``_sid``, its subject as an integer code (:mod:`cart19.io.subjects`:
    grouping and joining 3M records on integers, not on the identifiers' text), and the
    identifiers by code. ``subjects``: the reader's numbering of these very records, if known."""
    if "_sid" in events.columns and subjects is not None:
        return events, subjects.ids
    coded = subjects if subjects is not None else subject_codes(events.get_column("subject_id"))
    return events.with_columns(coded.codes.alias("_sid")), coded.ids


def _of_subjects(codes: pl.Series) -> pl.Expr:
    """Whether a record's subject (``_sid``) is one of ``codes``."""
    return pl.col("_sid").is_in(codes.implode())


def subject_status(
    events: pl.DataFrame,
    config: Config,
    *,
    review_date: dt.date | None = None,
    subjects: Subjects | None = None,
) -> pl.DataFrame:
    """One row per subject in the file, sorted by ``subject_id``:

    ``_sid`` (the subject's code), ``subject_id, infused, infusion_date, lymphodepleted,
    withdrawn, died, death_date, death_line, death_cause, death_day`` (study day, infusion =
    day 0; null when not infused), ``relapse_before_death`` (a ``relapse`` record, or an
    assessment ``PD``, on or after the infusion date and on or before the death date),
    ``dlt_evaluable``, ``efficacy_evaluable``, ``last_date`` (the latest ``date`` or
    ``end_date`` of any of the subject's records: OS's last known alive date).

    * DLT-evaluable: as :func:`cart19.engine.dlt.dlt_review` says (a DLT, or a record on or
      after ``dlt.evaluable_through_day``); the DLT rules (:func:`~cart19.engine.dlt.flag_dlt_rules`)
      run only on the AEs of the infused subjects who were not followed that long (the others
      are evaluable whatever their DLTs). ``review_date``: the review's ``as_of`` (records
      after it set aside, as the review does; default: none).
    * Efficacy-evaluable: infused, with an adequate assessment (result not ``NE``) on study
      day 1 to ``response.window_days``.

    ``subjects``: the reader's numbering of the records (only makes it faster).
    """
    events, ids = _with_codes(events, subjects)
    kinds = pl.col("event")
    records = events.lazy().select("line", "_sid", "event", "date", "end_date", "result")
    last = records.group_by("_sid").agg(
        pl.max_horizontal(pl.col("date").max(), pl.col("end_date").max()).alias("last_date")
    )
    # the kinds of record read below, in one filter of every record (not the bulk: ae, contact)
    read = records.filter(kinds.is_in(["infusion", "lymphodepletion", "withdrawal", "death", "relapse", "assessment"]))
    read, last = pl.collect_all([read, last])  # (two passes, side by side)
    firsts = read.lazy().group_by("_sid").agg(
        pl.col("date").filter(kinds == "infusion").min().alias("infusion_date"),
        (kinds == "lymphodepletion").any().alias("lymphodepleted"),
        (kinds == "withdrawal").any().alias("withdrawn"),
    )
    deaths = (
        read.lazy()
        .filter(kinds == "death")
        .sort("_sid", "date", "line", maintain_order=True)
        .group_by("_sid", maintain_order=True)
        .first()
        .select("_sid", pl.col("date").alias("death_date"), pl.col("line").alias("death_line"),
                pl.col("result").alias("death_cause"))
    )  # fmt: skip
    # the subjects' table, row i the subject of code i
    codes = pl.LazyFrame({"_sid": pl.int_range(0, ids.len(), dtype=events.schema["_sid"], eager=True)})
    infusion = pl.col("infusion_date")
    subjects_frame = (
        codes.join(last.lazy(), on="_sid", how="left")
        .join(firsts, on="_sid", how="left")
        .join(deaths, on="_sid", how="left")
        .sort("_sid")  # (cheaper than joins that keep the order)
        .with_columns(
            pl.lit(ids).alias("subject_id"),
            infusion.is_not_null().alias("infused"),
            pl.col("lymphodepleted").fill_null(False),
            pl.col("withdrawn").fill_null(False),
            pl.col("death_date").is_not_null().alias("died"),
            (pl.col("death_date") - infusion).dt.total_days().alias("death_day"),
        )
        .collect()
    )
    # each record with its subject's infusion and death dates (by code, row i of the table)
    code = pl.col("_sid").cast(pl.Int64())
    read = read.lazy().with_columns(
        pl.lit(subjects_frame.get_column(c)).gather(code) for c in ("infusion_date", "death_date")
    )
    # a relapse before the death: a relapse record or a PD assessment from the infusion on
    is_relapse = (kinds == "relapse") | ((kinds == "assessment") & (pl.col("result") == "PD"))
    relapses = read.filter(is_relapse & (pl.col("date") >= infusion) & (pl.col("date") <= pl.col("death_date")))
    window = config.response.window_days
    adequate = (kinds == "assessment") & (pl.col("result") != "NE")
    assessed = read.filter(adequate & (pl.col("date") - infusion).dt.total_days().is_between(1, window))
    relapses, assessed = (f.get_column("_sid").unique().implode() for f in pl.collect_all([relapses, assessed]))
    followed = followed_through_window(config.dlt)
    subjects_frame = subjects_frame.with_columns(
        pl.col("_sid").is_in(relapses).alias("relapse_before_death"),
        pl.col("_sid").is_in(assessed).alias("efficacy_evaluable"),
        (pl.col("infused") & followed.fill_null(False)).alias("_followed"),
    )
    # the infused subjects followed through the DLT window are evaluable; the others only if
    # the DLT rules find a DLT (a subject's status depends on its own records alone)
    short = subjects_frame.filter(pl.col("infused") & ~pl.col("_followed")).get_column("_sid")
    with_dlt = pl.Series("_sid", [], dtype=short.dtype)
    if short.len():
        # the DLT review's rules on these subjects' AEs (its "dlt" status: a qualifying AE)
        subset = events.filter(_of_subjects(short)).drop("_sid")
        subset = apply_cutoff(subset, review_date).events
        aes = flag_dlt_rules(ae_records(subset, config), config)
        dlt_ids = aes.filter(pl.col("dlt")).get_column("subject_id").unique()
        with_dlt = subjects_frame.filter(pl.col("subject_id").is_in(dlt_ids.implode())).get_column("_sid")
    has_dlt = pl.col("_sid").is_in(with_dlt.implode())
    return (
        subjects_frame.with_columns((pl.col("_followed") | (pl.col("infused") & has_dlt)).alias("dlt_evaluable"))
        .select(
            "_sid", "subject_id", "infused", "infusion_date", "lymphodepleted", "withdrawn", "died", "death_date",
            "death_line", "death_cause", "death_day", "relapse_before_death", "dlt_evaluable", "efficacy_evaluable",
            "last_date",
        )
        .sort("subject_id")
    )  # fmt: skip


_AE_COLUMNS = ("line", "_sid", "event", "date", "end_date", "grade", "term", "soc", "serious")


def teae_records(
    events: pl.DataFrame,
    config: Config,
    *,
    subjects: Subjects | None = None,
    vocabularies: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    aes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The TEAEs of infused subjects (onset on study day 0 to ``teae.window_days``):
    ``line, _sid, date, end_date, study_day, grade, serious, term_key, soc_key``.
    ``vocabularies``: the :func:`~cart19.engine.terms.vocabulary` of ``term`` and of ``soc``
    over the ``ae`` records, and ``aes``, those records (columns :data:`_AE_COLUMNS`), when the
    caller has them."""
    events, _ = _with_codes(events, subjects)
    if aes is None:
        aes = events.select(*_AE_COLUMNS).filter(pl.col("event") == "ae")
    infusions = (
        events.select("_sid", "event", "date")
        .filter(pl.col("event") == "infusion")
        .select("_sid", pl.col("date").alias("infusion_date"))
    )
    aes = (
        aes.join(infusions, on="_sid", how="inner", maintain_order="left")
        .with_columns((pl.col("date") - pl.col("infusion_date")).dt.total_days().alias("study_day"))
        .filter(pl.col("study_day").is_between(0, config.teae.window_days))
    )
    term_vocab, soc_vocab = vocabularies if vocabularies is not None else (None, None)
    aes = with_terms(with_terms(aes, "term", key="term_key", vocab=term_vocab), "soc", key="soc_key", vocab=soc_vocab)
    return aes.select("line", "_sid", "date", "end_date", "study_day", "grade", "serious", "term_key", "soc_key")


def _in_group(terms: tuple[str, ...], socs: tuple[str, ...]) -> pl.Expr:
    # (the keys are Categorical: is_in compares codes, not text)
    condition = pl.lit(False)
    if terms:
        condition = condition | pl.col("term_key").is_in(pl.lit(pl.Series(key_set(terms))).implode())
    if socs:
        condition = condition | pl.col("soc_key").is_in(pl.lit(pl.Series(key_set(socs))).implode())
    return condition.fill_null(False)


def _day_number(column: str) -> pl.Expr:
    """A date as a positive day number (days since 1970 + 30000: 1900-01-01 is 4433)."""
    return pl.col(column).cast(pl.Int32()).cast(pl.Int64()) + 30_000


def syndrome_subjects(teae: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Per infused subject and syndrome group with a TEAE of the group (``teae``:
    :func:`teae_records`): ``_sid, syndrome, max_grade, onset_day, duration_days,
    ongoing, first_line``, sorted by subject code and the groups' configuration order.

    * ``max_grade``: the highest grade of the subject's TEAE rows of the group;
    * ``onset_day``: the study day of the first of them;
    * the first episode: "TEAE rows of the group that overlap or follow within one day of each
      other (in order of onset, a row starting on or before the day after the latest end so
      far) form one episode" (``safety.episode_gap_days`` = 1); rows in order of onset, then
      line. ``duration_days`` = the episode's latest ``end_date`` - its first ``date`` + 1;
      an episode with an ongoing row (no ``end_date``) has no duration: ``ongoing``.
    * ``first_line``: the input line of the episode's first row (``SRCSEQ``).
    """
    gap = config.safety.episode_gap_days
    parts = [
        teae.filter(_in_group(g.terms, g.socs)).with_columns(pl.lit(order, pl.Int32()).alias("_order"))
        for order, g in enumerate(config.safety.groups)
    ]
    names = pl.Series([g.name for g in config.safety.groups], dtype=pl.String())
    if not parts:
        rows = teae.clear().with_columns(pl.lit(0, pl.Int32()).alias("_order"))
    else:
        rows = pl.concat(parts)
    never = pl.lit(dt.date(9999, 12, 31))
    key = ["_sid", "_order"]
    # (a stable sort: several times faster in polars 2.1 than the default on these keys)
    rows = rows.sort("_sid", "_order", "date", "line", maintain_order=True).with_columns(
        pl.col("end_date").fill_null(never).alias("_end"),
        pl.struct(key).rle_id().cast(pl.Int64()).alias("_run"),
    )
    # the latest end among the earlier rows of the same subject and group: a running maximum
    # over the whole (sorted) column of ``run * 2**23 + end day``, where a later run's values
    # all exceed an earlier run's (a window per subject and group is much slower in polars)
    shift = 2**23  # day numbers from 1900 to 9999 (see _day_number) fit in 23 bits
    packed = pl.col("_run") * shift + _day_number("_end")
    first_row = pl.col("_run") != pl.col("_run").shift(1).fill_null(-1)
    latest_before = packed.cum_max().shift(1) - pl.col("_run") * shift
    starts = first_row | (_day_number("date") > latest_before + gap)
    rows = rows.with_columns(starts.cum_sum().alias("_episode"), first_row.alias("_first_row"))
    # the first episode of each run: the episode number its first row has
    rows = rows.with_columns(
        (pl.col("_episode") == pl.when(pl.col("_first_row")).then(pl.col("_episode")).forward_fill()).alias("_in_first")
    )
    first = pl.col("_in_first")
    # simple aggregations over the runs (sorted integers): the first episode's values are
    # made null on the other rows beforehand, rather than filtered per group
    rows = rows.with_columns(
        pl.when(first).then(pl.col("end_date").is_null()).alias("_ongoing"),
        pl.when(first).then(pl.col("_end")).alias("_first_end"),
    )
    per_subject = rows.group_by(pl.col("_run").set_sorted(), maintain_order=True).agg(
        pl.col("_sid").first(),
        pl.col("_order").first(),
        pl.col("grade").max().cast(pl.Int64()).alias("max_grade"),
        pl.col("study_day").first().alias("onset_day"),  # rows in order of onset
        pl.col("_ongoing").max().alias("ongoing"),
        pl.col("_first_end").max().alias("_last_end"),
        pl.col("date").first().alias("_first_date"),
        pl.col("line").first().alias("first_line"),
    )
    return per_subject.select(  # (the runs come in the order of _sid, _order)
        "_sid",
        pl.lit(names).gather(pl.col("_order")).alias("syndrome"),
        "max_grade",
        "onset_day",
        pl.when(~pl.col("ongoing"))
        .then((pl.col("_last_end") - pl.col("_first_date")).dt.total_days() + 1)
        .alias("duration_days"),
        "ongoing",
        "first_line",
    )


def period_number(day: pl.Expr, config: Config) -> pl.Expr:
    """The period (1, 2, ... in ``safety.periods``' order, Int32) a study day falls in, null
    outside every period (ADAE's ``APERIOD``)."""
    number = pl.lit(None, pl.Int32())
    for i, p in reversed(list(enumerate(config.safety.periods, start=1))):
        number = pl.when(day.is_between(p.first_day, p.last_day)).then(pl.lit(i, pl.Int32())).otherwise(number)
    return number


def period_subjects(teae: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Per infused subject and period with a TEAE whose onset day is in it: ``_sid,
    period, any, grade_ge3, serious`` (booleans; "a subject counts once per period"), sorted
    by subject code and period."""
    periods = config.safety.periods
    index = period_number(pl.col("study_day"), config) - 1
    labels = pl.Series([p.label for p in periods], dtype=pl.String())
    return (
        teae.select("_sid", index.alias("_period"), "grade", "serious")
        .filter(pl.col("_period").is_not_null())
        .group_by("_sid", "_period")
        .agg(
            pl.lit(True).alias("any"),
            (pl.col("grade") >= 3).any().alias("grade_ge3"),
            pl.col("serious").fill_null(False).any().alias("serious"),
        )
        .sort("_sid", "_period")
        .select("_sid", pl.lit(labels).gather(pl.col("_period")).alias("period"), "any", "grade_ge3", "serious")
    )


# --------------------------------------------------------------------------- the summary


def _grouping(subjects: pl.DataFrame, groups: pl.DataFrame | None) -> tuple[pl.DataFrame, list[str]]:
    """``_sid, group`` for every subject (``(missing)`` where ``groups`` has none), and
    the group values in order; without ``groups`` one unnamed group."""
    if groups is None:
        return subjects.select("_sid", pl.lit("", pl.String()).alias("group")), [""]
    mapped = subjects.select("_sid", group_of("subject_id", groups).alias("group"))
    return mapped, sorted(mapped.get_column("group").unique().to_list())


def _median(values: pl.Expr) -> pl.Expr:
    return values.cast(pl.Float64()).median()


def _grid(groups: list[str], table: str, items: list[str], statistics: tuple[str, ...]) -> pl.DataFrame:
    rows = [(g, table, i, s) for g in groups for i in items for s in statistics]
    return pl.DataFrame(rows, schema={"group": pl.String(), "table": pl.String(), "item": pl.String(),
                                      "statistic": pl.String()}, orient="row")  # fmt: skip


def _long(wide: pl.DataFrame, index: list[str], table: str) -> pl.DataFrame:
    value_columns = [c for c in wide.columns if c not in index]
    return (
        wide.with_columns(pl.col(value_columns).cast(pl.Float64()))
        .unpivot(index=index, on=value_columns, variable_name="statistic", value_name="value")
        .with_columns(pl.lit(table).alias("table"))
    )


def summary(
    subjects: pl.DataFrame,
    syndromes: pl.DataFrame,
    periods: pl.DataFrame,
    config: Config,
    *,
    groups: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The long table of safety-profile.md: ``table,item,statistic,value,N``, in the order
    syndrome (groups in configuration order), period, deaths, disposition; statistics in the
    spec's order. ``value`` is a number (a count, or a study day / duration in days; null
    where there is nothing to summarise, e.g. the median onset of a syndrome no one had);
    ``N`` is the infused set for the counts out of it (syndrome and period counts, deaths),
    null elsewhere.

    ``groups`` (``subject_id, group``): the same table per group, with ``group`` as the first
    column (groups sorted by their text; subjects absent from ``groups`` in ``(missing)``).
    """
    mapping, names = _grouping(subjects, groups)
    subjects = subjects.with_columns(mapping.get_column("group"))  # (the mapping's rows are the subjects')
    infused = subjects.filter(pl.col("infused"))
    group_of = infused.select("_sid", "group")
    n_infused = infused.group_by("group").agg(pl.len().cast(pl.Int64()).alias("N"))

    # syndromes
    syn = syndromes.join(group_of, on="_sid", how="inner")
    grade = pl.col("max_grade")
    syn_wide = syn.group_by("group", pl.col("syndrome").alias("item")).agg(
        pl.len().alias("n_any"),
        (grade >= 3).sum().alias("n_grade_ge3"),
        *[(grade == g).sum().alias(f"n_grade_{g}") for g in range(1, 6)],
        _median(pl.col("onset_day")).alias("onset_median"),
        pl.col("onset_day").min().alias("onset_min"),
        pl.col("onset_day").max().alias("onset_max"),
        _median(pl.col("duration_days")).alias("duration_median"),
        pl.col("duration_days").min().alias("duration_min"),
        pl.col("duration_days").max().alias("duration_max"),
        pl.col("ongoing").sum().alias("n_ongoing"),
    )
    parts = [
        (_grid(names, "syndrome", [g.name for g in config.safety.groups], SYNDROME_STATISTICS),
         _long(syn_wide, ["group", "item"], "syndrome")),
    ]  # fmt: skip

    # periods
    per = periods.join(group_of, on="_sid", how="inner")
    per_wide = per.group_by("group", pl.col("period").alias("item")).agg(
        pl.col("any").sum().alias("n_any"),
        pl.col("grade_ge3").sum().alias("n_grade_ge3"),
        pl.col("serious").sum().alias("n_serious"),
    )
    parts.append((_grid(names, "period", [p.label for p in config.safety.periods], PERIOD_STATISTICS),
                  _long(per_wide, ["group", "item"], "period")))  # fmt: skip

    # deaths among the infused
    safety = config.safety
    day_statistics = tuple(f"by_day_{d}" for d in safety.death_days) + ("in_window",)
    dead = infused.filter(pl.col("died"))
    day = pl.col("death_day")
    death_counts = [(day <= d).sum().alias(f"by_day_{d}") for d in safety.death_days]
    death_counts.append((day <= config.os.window_days).sum().alias("in_window"))
    by_cause = dead.group_by("group", pl.col("death_cause").alias("item")).agg(death_counts)
    every_cause = dead.group_by("group").agg(death_counts).with_columns(pl.lit("all").alias("item"))
    relapse_like = pl.col("relapse_before_death")
    if config.cuminc.disease_death_as_relapse:
        relapse_like = relapse_like | (pl.col("death_cause") == "disease")
    nrm = (
        dead.group_by("group")
        .agg(((day <= safety.nrm_day) & ~relapse_like).sum().alias(f"by_day_{safety.nrm_day}"))
        .with_columns(pl.lit("nrm").alias("item"))
    )
    deaths_grid = pl.concat([
        _grid(names, "deaths", [*DEATH_CAUSES, "all"], day_statistics),
        _grid(names, "deaths", ["nrm"], (f"by_day_{safety.nrm_day}",)),
    ])  # fmt: skip
    deaths_long = pl.concat(
        [_long(by_cause, ["group", "item"], "deaths"), _long(every_cause.select(by_cause.columns), ["group", "item"], "deaths"),
         _long(nrm.select("group", "item", f"by_day_{safety.nrm_day}"), ["group", "item"], "deaths")]
    )  # fmt: skip
    parts.append((deaths_grid, deaths_long))

    # disposition among every subject of the file
    disposition = subjects.group_by("group").agg(
        pl.len().alias("enrolled"),
        pl.col("lymphodepleted").sum(),
        pl.col("infused").sum(),
        pl.col("dlt_evaluable").sum(),
        pl.col("efficacy_evaluable").sum(),
        pl.col("withdrawn").sum(),
        pl.col("died").sum(),
        (~pl.col("died")).sum().alias("alive"),
    )
    disposition_long = (
        _long(disposition, ["group"], "disposition")
        .rename({"statistic": "item"})
        .with_columns(pl.lit("n").alias("statistic"))
    )
    parts.append((_grid(names, "disposition", list(DISPOSITION_ITEMS), ("n",)), disposition_long))

    frames = []
    for grid, values in parts:
        table = grid.join(values.select("group", "table", "item", "statistic", "value"),
                          on=["group", "table", "item", "statistic"], how="left", maintain_order="left")  # fmt: skip
        frames.append(table)
    long = pl.concat(frames)
    is_count = pl.col("statistic").is_in(sorted(_COUNTS)) | (pl.col("table") == "deaths")
    long = (
        long.join(n_infused, on="group", how="left", maintain_order="left")
        .with_columns(
            pl.when(is_count).then(pl.col("value").fill_null(0.0)).when(pl.col("table") == "disposition")
            .then(pl.col("value").fill_null(0.0)).otherwise(pl.col("value")).alias("value"),
            pl.when(is_count).then(pl.col("N").fill_null(0)).otherwise(pl.lit(None, pl.Int64())).alias("N"),
        )
    )  # fmt: skip
    columns = ["group", *SUMMARY_COLUMNS] if groups is not None else list(SUMMARY_COLUMNS)
    return long.select(columns)


# --------------------------------------------------------------------------- listings


def syndrome_listing(syndromes: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """The ``--listing`` rows: ``USUBJID,group,max_grade,onset_day,duration_days,ongoing,SRCSEQ``
    (``ongoing`` ``Y``/``N``), by subject and the groups' configuration order (``subjects``:
    :func:`subject_status`, for the identifiers)."""
    names = subjects.select("_sid", "subject_id")
    return (
        syndromes.with_row_index("_position")
        .join(names, on="_sid", how="left")
        .sort("subject_id", "_position")
        .select(
            pl.col("subject_id").alias("USUBJID"),
            pl.col("syndrome").alias("group"),
            "max_grade",
            "onset_day",
            "duration_days",
            pl.when(pl.col("ongoing")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("ongoing"),
            pl.col("first_line").alias("SRCSEQ"),
        )
    )


def death_listing(subjects: pl.DataFrame) -> pl.DataFrame:
    """Deaths of infused subjects: ``USUBJID, date, study_day, cause, relapse_before`` (``Y``/
    ``N``), ``SRCSEQ``, by study day then subject."""
    return (
        subjects.filter(pl.col("infused") & pl.col("died"))
        .sort("death_day", "subject_id")
        .select(
            pl.col("subject_id").alias("USUBJID"),
            pl.col("death_date").alias("date"),
            pl.col("death_day").alias("study_day"),
            pl.col("death_cause").alias("cause"),
            pl.when(pl.col("relapse_before_death")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("relapse_before"),
            pl.col("death_line").alias("SRCSEQ"),
        )
    )


def never_infused_listing(events: pl.DataFrame, subjects: pl.DataFrame, *, codes: Subjects | None = None) -> pl.DataFrame:
    """For each subject never infused, the last record of their data (latest date, then the
    latest line): ``USUBJID, event, date, result, term, SRCSEQ``, by subject (``subjects``:
    :func:`subject_status`)."""
    events, ids = _with_codes(events, codes)
    untreated = subjects.filter(~pl.col("infused")).select("_sid", "subject_id")
    return (
        events.select("line", "_sid", "event", "date", "result", "term")
        .filter(_of_subjects(untreated.get_column("_sid")))
        .sort("_sid", "date", "line")
        .group_by("_sid", maintain_order=True)
        .last()
        .join(untreated, on="_sid", how="left")
        .sort("subject_id")
        .select(
            pl.col("subject_id").alias("USUBJID"), "event", "date", "result", "term", pl.col("line").alias("SRCSEQ")
        )
    )


def safety_profile(
    events: pl.DataFrame,
    config: Config,
    *,
    review_date: dt.date | None = None,
    groups: pl.DataFrame | None = None,
    subjects: Subjects | None = None,
) -> SafetyProfile:
    """Every figure of the safety profile, gathered (the command prints them; the report lays
    them out). ``events``: the canonical frame after any cutoff; ``review_date``: the DLT
    review's date (``--as-of``/the cutoff); ``groups``: see :func:`summary` (that table per
    group is :attr:`SafetyProfile.by_group`; ``summary`` stays the overall one); ``subjects``: the
    reader's numbering of these records (:mod:`cart19.io.subjects`), if known (only makes it
    faster)."""
    coded, ids = _with_codes(events, subjects)
    codes = Subjects(codes=coded.get_column("_sid"), ids=ids)
    # the ae records once: the vocabularies and the TEAEs are made from them
    aes = coded.select(*_AE_COLUMNS).filter(pl.col("event") == "ae")
    vocabularies = (vocabulary(aes, "term"), vocabulary(aes, "soc"))
    status = subject_status(coded, config, review_date=review_date, subjects=codes)
    teae = teae_records(coded, config, subjects=codes, vocabularies=vocabularies, aes=aes)
    syndromes = syndrome_subjects(teae, config)
    periods = period_subjects(teae, config)
    warnings = spelling_warnings_of(vocabularies)
    return SafetyProfile(
        summary=summary(status, syndromes, periods, config),
        by_group=None if groups is None else summary(status, syndromes, periods, config, groups=groups),
        status=status,
        syndromes=syndromes,
        events=coded,
        codes=codes,
        warnings=tuple(warnings),
    )


__all__ = [
    "SafetyProfile",
    "safety_profile",
    "subject_status",
    "teae_records",
    "syndrome_subjects",
    "period_subjects",
    "summary",
    "syndrome_listing",
    "death_listing",
    "never_infused_listing",
]
