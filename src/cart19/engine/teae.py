"""TEAE - treatment-emergent adverse events (endpoints.md, "TEAE").

Public API:

* :func:`ae_listing` - the ADAE-style record listing (every AE of a treated subject, with its
  treatment-emergent and DLT flags).
* :func:`teae_tables` - the incidence tables in the long format of cli.md
  (``table,soc,term,grade,n,N,percent``).
* :func:`percent_one_decimal` - the rounding of ``percent`` (half away from zero, as SAS).
"""

from __future__ import annotations

import polars as pl

from cart19.config import Config
from cart19.engine.common import date_flag, treated_subjects
from cart19.engine.dlt import _aes_with_infusion, ae_records, flag_dlt_rules
from cart19.engine.terms import ae_vocabularies
from cart19.io.subjects_file import group_levels, group_of

#: Tables in output order (cli.md, ``teae --format csv``).
TABLES: tuple[str, ...] = ("overall", "serious", "related", "soc", "soc_pt")
#: Grade rows of every cell, in output order.
GRADES: tuple[str, ...] = ("any", ">=3", "1", "2", "3", "4", "5")

TABLE_COLUMNS: tuple[str, ...] = ("table", "soc", "term", "grade", "n", "N", "percent")

LISTING_COLUMNS: tuple[str, ...] = (
    "USUBJID",
    "AESEQ",
    "AETERM",
    "AEDECOD",
    "AESOC",
    "AETOXGR",
    "TRTSDT",
    "ASTDT",
    "ASTDTF",
    "AENDT",
    "ASTDY",
    "AENDY",
    "ADURN",
    "ADURU",
    "AEONGO",
    "AESER",
    "AEREL",
    "TRTEMFL",
    "DLTFL",
    "DLTRULE",
)


def treatment_emergent(config: Config) -> pl.Expr:
    """"An ``ae`` is treatment-emergent when its onset (``date``) is on or after the infusion
    date and within the window" (study day 0 to ``teae.window_days``, inclusive).
    Needs ``study_day`` (see :func:`cart19.engine.dlt.treated_aes`)."""
    return pl.col("study_day").is_between(0, config.teae.window_days).fill_null(False)


def _yes(flag: pl.Expr) -> pl.Expr:
    """ADaM flag: ``"Y"`` or null."""
    return pl.when(flag).then(pl.lit("Y")).otherwise(pl.lit(None, pl.String()))


def _yes_no(flag: pl.Expr) -> pl.Expr:
    """``Y`` / ``N`` / null (unknown)."""
    return pl.when(flag).then(pl.lit("Y")).when(~flag).then(pl.lit("N")).otherwise(pl.lit(None, pl.String()))


def ae_listing(events: pl.DataFrame, config: Config) -> pl.DataFrame:
    """ADAE-style listing: one row per ``ae`` record of a treated subject, sorted by
    ``USUBJID, ASTDT, AESEQ``.

    =========  ==================================================================================
    USUBJID    subject
    AESEQ      the input line of the record (the source of every other column)
    AETERM     the term as written; AEDECOD its label in the run's one vocabulary
               (:mod:`cart19.engine.terms`: the spelling of its normal form used most often)
    AESOC      the SOC's label likewise, ``teae.uncoded_soc`` ("Uncoded") when empty
    AETOXGR    grade 1-5
    TRTSDT     infusion date
    ASTDT      onset; ASTDTF ``"D"`` when the day was imputed (``YYYY-MM``), ``"M"`` when the
               month was too (``YYYY``)
    AENDT      end date (null = ongoing; AEONGO ``"Y"``)
    ASTDY      study day of onset, infusion = day 0 (negative before it); AENDY likewise
    ADURN      duration in days, ``end - onset + 1``; an ongoing AE lasts until the subject's
               last record (ADURU = ``DAYS``)
    AESER      ``Y``/``N``/null; AEREL likewise (related to the product)
    TRTEMFL    ``"Y"`` when treatment-emergent
    DLTFL      ``"Y"`` when onset is in the DLT window and a DLT rule is met
    DLTRULE    the names of the rules met, ``;``-joined in configuration order
    =========  ==================================================================================
    """
    aes = flag_dlt_rules(ae_records(events, config), config)
    term_vocab, soc_vocab = ae_vocabularies(events)
    return aes.sort("subject_id", "date", "line").select(
        pl.col("subject_id").alias("USUBJID"),
        pl.col("line").alias("AESEQ"),
        pl.col("term").alias("AETERM"),
        _label(pl.col("term"), term_vocab).alias("AEDECOD"),
        _label(pl.col("soc"), soc_vocab).fill_null(config.teae.uncoded_soc).alias("AESOC"),
        pl.col("grade").alias("AETOXGR"),
        pl.col("infusion_date").alias("TRTSDT"),
        pl.col("date").alias("ASTDT"),
        date_flag().alias("ASTDTF"),
        pl.col("end_date").alias("AENDT"),
        pl.col("study_day").alias("ASTDY"),
        (pl.col("end_date") - pl.col("infusion_date")).dt.total_days().alias("AENDY"),
        pl.col("duration_days").alias("ADURN"),
        pl.lit("DAYS").alias("ADURU"),
        _yes(pl.col("ongoing")).alias("AEONGO"),
        _yes_no(pl.col("serious")).alias("AESER"),
        _yes_no(pl.col("related")).alias("AEREL"),
        _yes(treatment_emergent(config)).alias("TRTEMFL"),
        _yes(pl.col("dlt")).alias("DLTFL"),
        pl.when(pl.col("dlt")).then(pl.col("dlt_rules").list.join(";")).alias("DLTRULE"),
    )


def _label(text: pl.Expr, vocab: pl.DataFrame) -> pl.Expr:
    """The label (:func:`cart19.engine.terms.vocabulary`) of each text; null stays null."""
    column = vocab.columns[0]
    return text.replace_strict(vocab.get_column(column), vocab.get_column("label"), default=None)


def percent_one_decimal(n: pl.Expr, total: pl.Expr) -> pl.Expr:
    """``100 * n / N`` rounded to one decimal, half away from zero (as SAS ``ROUND``), in exact
    integer arithmetic: 1/16 -> 6.3 (6.25 rounds up), 1/8 -> 12.5, 2/3 -> 66.7. Null when N = 0.

    tenths = floor((2000 n + N) / (2 N)) is 1000 n / N rounded half up, and n, N >= 0.
    """
    n, total = n.cast(pl.Int64()), total.cast(pl.Int64())
    tenths = (2000 * n + total) // (2 * total)
    # tenths / 10 can come out as 7.1000000000000005; round(1) gives the nearest double to the tenth
    return pl.when(total > 0).then((tenths / 10).round(1)).otherwise(pl.lit(None, pl.Float64()))


def _grade_counts(grade: pl.Expr) -> list[pl.Expr]:
    """The counts of a cell from its subjects' maximum grades: ``any, >=3, 1..5``."""
    return [
        pl.len().cast(pl.Int64()).alias("any"),
        (grade >= 3).sum().cast(pl.Int64()).alias(">=3"),
        *[(grade == g).sum().cast(pl.Int64()).alias(str(g)) for g in range(1, 6)],
    ]


#: Keys of :func:`_max_grade_per_key` stay below this, so that ``256 key + 255`` fits an Int64.
_KEY_LIMIT = 2**55


def _max_grade_per_key(frame: pl.DataFrame, key: pl.Expr, grade: str = "grade") -> pl.DataFrame:
    """Per distinct value of ``key`` (an integer expression, 0 <= key < :data:`_KEY_LIMIT`) over
    ``frame``'s rows, the maximum of the integer column ``grade`` (nulls ignored; null when all
    are null): columns ``key, max_grade``, sorted by ``key``.

    Key and grade are packed into one integer, ``256 key + (129 + grade)`` (0 for a null grade,
    an Int8 grade -128..126 takes 1..255) and sorted; the last of each run of a key holds its
    maximum. One integer sort instead of a group-by with a group per subject and cell, several
    times slower in polars.
    """
    packed_grade = (pl.col(grade).cast(pl.Int64()) + 129).fill_null(0)
    packed = frame.select((key.cast(pl.Int64()) * 256 + packed_grade).sort().alias("p"))
    runs = packed.select(
        (pl.col("p") // 256).alias("key"),
        pl.when(pl.col("p") % 256 > 0).then(pl.col("p") % 256 - 129).alias("max_grade"),
    )
    return runs.filter((pl.col("key") != pl.col("key").shift(-1)).fill_null(True))


def _codes(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Dense integer codes of a string column: each row's code (0..k-1 by distinct value, k for
    null) and the values by code (null last)."""
    names = values.unique().drop_nulls()
    codes = values.cast(pl.Enum(names)).to_physical().cast(pl.Int64()).fill_null(len(names))
    return codes, pl.concat([names, pl.Series(values.name, [None], pl.String())])


def _label_codes(values: pl.Series, vocab: pl.DataFrame, missing: str | None) -> tuple[pl.Series, pl.Series]:
    """:func:`_codes` of the labels of a text column (:mod:`cart19.engine.terms`: the spelling a
    table shows for each text's normal form; ``missing`` for an empty cell): the texts are coded
    as written and their few distinct values relabelled, so no column of labels is built."""
    codes, names = _codes(values)
    label_of = dict(zip(vocab.get_column(vocab.columns[0]).to_list(), vocab.get_column("label").to_list(), strict=True))
    labels = [missing if name is None else label_of.get(name, name) for name in names.to_list()]
    distinct = sorted({label for label in labels if label is not None})
    position = {label: i for i, label in enumerate(distinct)}
    relabel = pl.Series([len(distinct) if label is None else position[label] for label in labels], dtype=pl.Int64())
    return relabel.gather(codes).alias(values.name), pl.Series(values.name, [*distinct, None], dtype=pl.String())


def _long(wide: pl.DataFrame, table: str) -> pl.DataFrame:
    for key in ("soc", "term"):
        if key not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.String()).alias(key))
    if "_soc_rank" not in wide.columns:
        wide = wide.with_columns(pl.lit(0, pl.Int64()).alias("_soc_rank"))
    if "_term_rank" not in wide.columns:
        wide = wide.with_columns(pl.lit(0, pl.Int64()).alias("_term_rank"))
    return wide.unpivot(
        index=["_group", "soc", "term", "_soc_rank", "_term_rank"], on=list(GRADES), variable_name="grade", value_name="n"
    ).with_columns(pl.lit(table).alias("table"))


def _subject_groups(treated: pl.DataFrame, groups: pl.DataFrame | None) -> tuple[pl.Series, list[str | None]]:
    """Each treated subject's group code (in ``treated``'s order) and the groups by code:
    one group (None) without ``groups``; else every group of ``groups`` and of the treated
    subjects (:data:`MISSING_GROUP` for those not in it), sorted by text."""
    if groups is None:
        return pl.Series("_group", [0] * treated.height, dtype=pl.Int64()), [None]
    mine = treated.select(group_of("subject_id", groups)).to_series()
    levels = group_levels(groups, mine)
    codes = mine.replace_strict(
        pl.Series(levels, dtype=pl.String()), pl.Series(range(len(levels)), dtype=pl.Int64()), return_dtype=pl.Int64()
    ).cast(pl.Int64()).alias("_group")
    return codes, list(levels)


def teae_tables(
    events: pl.DataFrame,
    config: Config,
    groups: pl.DataFrame | None = None,
    *,
    vocabularies: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """TEAE incidence in the long format of cli.md: ``table,soc,term,grade,n,N,percent``.

    "Subjects in the safety set (infused) are the denominator. Each subject is counted once per
    row of a table, at its maximum grade."

    * tables ``overall``, ``serious`` and ``related`` (TEAEs with ``serious``/``related`` = Y;
      soc and term empty), ``soc`` (term empty), ``soc_pt``;
    * every cell has the seven grade rows ``any, >=3, 1..5``, zeros included; a SOC or PT
      appears when at least one subject had a TEAE in it;
    * ``N`` = infused subjects; ``percent`` by :func:`percent_one_decimal` (null when N = 0);
    * order: tables as listed; SOCs by descending ``any`` count, then alphabetically
      (case-insensitive, then as written); PTs within a SOC likewise; grades as listed.
    SOCs and PTs are grouped by their normal form and shown by their label
    (:mod:`cart19.engine.terms`: the spelling used most often); a missing SOC is
    ``teae.uncoded_soc``.

    ``groups`` (the subgroup contract: ``subject_id``, ``group``): the same tables per group,
    with a first column ``group``, groups sorted by text; within a group, ``N`` is its treated
    subjects and a SOC or PT appears when one of them had a TEAE in it. A group with no treated
    subject has its overall/serious/related rows with n = 0, N = 0 and no percent.
    """
    treated = treated_subjects(events)
    group_codes, group_names = _subject_groups(treated, groups)
    n_groups = len(group_names)
    per_group = group_codes.value_counts(name="N").cast(pl.Int64())
    totals = (
        pl.DataFrame({"_group": list(range(n_groups))}, schema={"_group": pl.Int64()})
        .join(per_group, on="_group", how="left")
        .with_columns(pl.col("N").fill_null(0))
    )
    # only the columns the tables read (a filter or a join copies every column it is given)
    ae_columns = events.select("subject_id", "event", "date", "grade", "term", "soc", "serious", "related")
    # one term vocabulary (cart19.engine.terms): spellings of a term are one row, shown as its label
    term_vocab, soc_vocab = vocabularies if vocabularies is not None else ae_vocabularies(events)
    teae = (
        _aes_with_infusion(ae_columns, treated)
        .filter(pl.col("_subject").is_not_null() & treatment_emergent(config))
        .select(
            pl.col("_subject").cast(pl.Int64()),
            "grade",
            "soc",
            "term",
            pl.col("serious").fill_null(False),
            pl.col("related").fill_null(False),
        )
    )
    # subjects, SOCs and terms as integers, so that the per-subject maxima are integer sorts, not
    # string group-bys; a cell is a SOC, or a SOC and a term (soc * n_terms + term)
    soc_codes, soc_names = _label_codes(teae.get_column("soc"), soc_vocab, config.teae.uncoded_soc)
    term_codes, term_names = _label_codes(teae.get_column("term"), term_vocab, None)
    teae = teae.with_columns(soc_codes.alias("_soc"), term_codes.alias("_term"))
    n_socs, n_terms = len(soc_names), len(term_names)
    subject, soc_code, term_code = pl.col("_subject"), pl.col("_soc"), pl.col("_term")
    if treated.height * n_socs * n_terms >= _KEY_LIMIT:  # pragma: no cover - far beyond any trial
        raise ValueError("too many subjects, SOCs and terms for the TEAE tables")

    def in_group(maxima: pl.DataFrame, cells: int) -> pl.DataFrame:
        """``maxima`` with the ``_group`` of each key's subject (``key // cells``)."""
        return maxima.with_columns(pl.lit(group_codes).gather(pl.col("key") // cells).alias("_group"))

    def counts(maxima: pl.DataFrame, cells: int) -> pl.DataFrame:
        """Per group and cell (``key % cells``), the counts of the subjects' maximum grades."""
        return in_group(maxima, cells).group_by("_group", (pl.col("key") % cells).alias("cell")).agg(
            _grade_counts(pl.col("max_grade"))
        )

    # each subject's maximum grade per SOC and term; per SOC and overall, the maxima of those
    pt_max = _max_grade_per_key(teae, subject * (n_socs * n_terms) + soc_code * n_terms + term_code)
    soc_max = _max_grade_per_key(pt_max, pl.col("key") // n_terms, grade="max_grade")
    subject_max = _max_grade_per_key(soc_max, pl.col("key") // n_socs, grade="max_grade")

    def one_cell(maxima: pl.DataFrame) -> pl.DataFrame:
        """Per group (every group, zeros included), the counts of one cell."""
        found = in_group(maxima, 1).group_by("_group").agg(_grade_counts(pl.col("max_grade")))
        return totals.select("_group").join(found, on="_group", how="left").fill_null(0)

    soc = counts(soc_max, n_socs).select(
        "_group", pl.lit(soc_names).gather(pl.col("cell")).alias("soc"), pl.exclude("cell", "_group")
    )
    soc_pt = counts(pt_max, n_socs * n_terms).select(
        "_group",
        pl.lit(soc_names).gather(pl.col("cell") // n_terms).alias("soc"),
        pl.lit(term_names).gather(pl.col("cell") % n_terms).alias("term"),
        pl.exclude("cell", "_group"),
    )
    soc = soc.sort(
        pl.col("_group"), pl.col("any"), pl.col("soc").str.to_lowercase(), pl.col("soc"),
        descending=[False, True, False, False],
    )  # fmt: skip
    soc = soc.with_row_index("_soc_rank").with_columns(pl.col("_soc_rank").cast(pl.Int64()))
    soc_rank = soc.select("_group", "soc", "_soc_rank")
    soc_pt = (
        soc_pt.join(soc_rank, on=["_group", "soc"], how="left")
        .sort(
            pl.col("_soc_rank"),
            pl.col("any"),
            pl.col("term").str.to_lowercase(),
            pl.col("term"),
            descending=[False, True, False, False],
        )
        .with_row_index("_term_rank")
        .with_columns(pl.col("_term_rank").cast(pl.Int64()))
    )
    parts = [
        _long(one_cell(subject_max), "overall"),
        _long(one_cell(_max_grade_per_key(teae.filter(pl.col("serious")), subject)), "serious"),
        _long(one_cell(_max_grade_per_key(teae.filter(pl.col("related")), subject)), "related"),
        _long(soc, "soc"),
        _long(soc_pt, "soc_pt"),
    ]
    table_order = {name: i for i, name in enumerate(TABLES)}
    grade_order = {name: i for i, name in enumerate(GRADES)}
    group_column = [] if groups is None else [pl.lit(pl.Series(group_names, dtype=pl.String())).gather("_group").alias("group")]
    return (
        pl.concat([p.select("_group", "table", "soc", "term", "grade", "n", "_soc_rank", "_term_rank") for p in parts])
        .join(totals, on="_group", how="left")
        .with_columns(
            pl.col("table").replace_strict(table_order, return_dtype=pl.Int64()).alias("_table_rank"),
            pl.col("grade").replace_strict(grade_order, return_dtype=pl.Int64()).alias("_grade_rank"),
        )
        .sort("_group", "_table_rank", "_soc_rank", "_term_rank", "_grade_rank")
        .select(
            *group_column,
            "table",
            "soc",
            "term",
            "grade",
            pl.col("n").cast(pl.Int64()),
            "N",
            percent_one_decimal(pl.col("n"), pl.col("N")).alias("percent"),
        )
    )
