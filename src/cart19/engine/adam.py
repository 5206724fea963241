"""ADaM datasets as frames plus their metadata (sdtm.md, "Writing ADaM").

Frames and :class:`cart19.io.submission.Dataset` metadata only: writing them in a submission
format is :mod:`cart19.io.submission`'s. Each variable carries a one-line derivation naming
the rule it comes from (docs/endpoints.md, docs/adam.md), so that ``define.json`` lets a
reviewer trace every number to its rule. The derivations read the configuration, so a changed
window or response set shows in the metadata too.

* ADTTE: the frame ``derive`` writes (:data:`cart19.engine.tte.ADTTE_SCHEMA`) plus ``STUDYID``
  and ``PARAMN`` (the parameter's place in the configured order), and the covariates.
* ADSL, ADAE, ADRS (:func:`adsl`, :func:`adae`, :func:`adrs`): the figures of the engines that
  own the rules (``safety.subject_status``, ``response.best_overall_response`` and
  ``response_listing``, ``teae.ae_listing``, ``tte.follow_up``), never derived again here.

``STUDYID`` is the caller's: DM's for SDTM input, else ``study.studyid``. The relative days
(``ASTDY``, ``AENDY``, ``ADY``) are the trial's study day: date - infusion date (infusion = day 0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from cart19.config import Config
from cart19.engine.response import LISTING_PARAMS, best_overall_response, response_listing
from cart19.engine.safety import period_number, subject_status
from cart19.engine.teae import ae_listing
from cart19.engine.tte import follow_up, timeline
from cart19.errors import InputError, Issue
from cart19.io.sdtm import trace_sources
from cart19.io.subjects import Subjects
from cart19.io.submission import XPT_NAME_MAX, Dataset, Variable

ADTTE_NAME = "ADTTE"
ADTTE_LABEL = "Time-to-Event Analysis Dataset"


def _parameters(config: Config) -> list[tuple[str, str]]:
    """(PARAMCD, its rule in one phrase), in the order ``derive`` writes the parameters."""
    os_, efs, dor, rfs = config.os, config.efs, config.dor, config.rfs
    failure = {
        "start": "treatment failure dated at the start (day 1)",
        "actual": "treatment failure at its actual date",
        "end_of_treatment": "treatment failure at end of treatment",
        "next_therapy": "treatment failure at the start of next-line therapy",
    }
    return [
        (os_.paramcd, f"death of any cause within {os_.window_days} days, else censored at the window end or "
                      "the last known alive date"),
        *((p.paramcd, f"first of {failure[p.failure_date]}, relapse, death within {efs.window_days} days, else "
                      "censored at the last adequate assessment") for p in efs.parameters),
        (dor.paramcd, f"from the first {dor.response_set} result: relapse, PD or death of "
                      f"{'/'.join(dor.event_death_causes)} within {dor.window_days} days, else censored at the last "
                      "adequate assessment"),
        (rfs.paramcd, f"from the first {rfs.response_set} result: relapse, PD or death of "
                      f"{'/'.join(rfs.event_death_causes)} within {rfs.window_days} days, else censored at the last "
                      "adequate assessment"),
    ]  # fmt: skip


def adtte_variables(config: Config) -> tuple[Variable, ...]:
    """Every ADTTE variable, in the file's order, with its derivation (``SRCVAR`` only when the
    frame has one: the SDTM reader names the date variable of each record)."""
    rules = "; ".join(f"{code}: {rule}" for code, rule in _parameters(config))
    order = ", ".join(f"{i} {code}" for i, (code, _) in enumerate(_parameters(config), start=1))
    doc = "docs/endpoints.md"
    return (
        Variable("STUDYID", "Study Identifier", "string", _STUDYID_RULE),
        Variable("USUBJID", "Unique Subject Identifier", "string",
                 "Input subject_id of a treated subject (one with an infusion record)", key=1),
        Variable("PARAMCD", "Parameter Code", "string", f"{rules}; {doc}", key=2),
        Variable("PARAM", "Parameter", "string", "Configuration os.param, efs.parameters[].param, dor.param, rfs.param"),
        Variable("PARAMN", "Parameter (N)", "integer", f"Place of PARAMCD in the configured order: {order}"),
        Variable("STARTDT", "Time to Event Origin Date for Subject", "date",
                 f"Date of the first origin_event record (infusion by default); DOR: first response; RFS: first remission; {doc}"),
        Variable("ADT", "Analysis Date", "date",
                 f"Date of the chosen event (earliest) or, without one, censoring (latest), per PARAMCD; {doc}"),
        Variable("AVAL", "Analysis Value", "integer", "ADT - STARTDT + 1 (days)"),
        Variable("AVALU", "Analysis Value Unit", "string", "DAYS"),
        Variable("CNSR", "Censor", "integer", "0 when ADT is an event, 1 when it is a censoring"),
        Variable("EVNTDESC", "Event Description", "string", "Description of the event source chosen (CNSR = 0)"),
        Variable("CNSDTDSC", "Censor Date Description", "string",
                 "Description of the censoring source chosen (CNSR = 1)"),
        Variable("SRCDOM", "Source Data", "string", "Event kind (or SDTM domain) of the record ADT was taken from"),
        Variable("SRCVAR", "Source Variable", "string", "Variable of the record ADT was taken from"),
        Variable("SRCSEQ", "Source Sequence Number", "integer",
                 "Input line (or SDTM --SEQ) of the record ADT was taken from"),
        Variable("ADTF", "Analysis Date Imputation Flag", "string",
                 "D when the source date's day was imputed (YYYY-MM), M when its month was too (a year alone)"),
    )  # fmt: skip


def adtte(
    frame: pl.DataFrame, config: Config, covariates: Sequence[Variable] = (), *, studyid: str | None = None
) -> tuple[pl.DataFrame, Dataset]:
    """ADTTE from ``derive``'s frame (:func:`cart19.engine.tte.derive_adtte`): ``STUDYID``
    first, ``PARAMN`` after ``PARAM``, then its columns as ``derive`` wrote them.

    ``covariates``: metadata of further (subject-level) columns of ``frame``, written after the
    dataset's own variables in the order given. ``SRCVAR`` is written when ``frame`` has it.
    ``studyid``: DM's ``STUDYID`` (SDTM input), else ``study.studyid``."""
    codes = [code for code, _ in _parameters(config)]
    own = [v for v in adtte_variables(config) if v.name != "SRCVAR" or "SRCVAR" in frame.columns]
    variables = (*own, *covariates)
    out = frame.with_columns(
        pl.lit(studyid or config.study.studyid, pl.String).alias("STUDYID"),
        pl.col("PARAMCD").replace_strict(codes, list(range(1, len(codes) + 1)), return_dtype=pl.Int64).alias("PARAMN"),
    ).select(v.name for v in variables)
    return out, Dataset(ADTTE_NAME, ADTTE_LABEL, variables)


# --------------------------------------------------------------------------- covariates

#: Labels of DM's usual covariates (``sdtm.covariates``); any other covariate is labelled
#: "Covariate NAME".
_COVARIATE_LABELS = {
    "AGE": "Age", "SEX": "Sex", "RACE": "Race", "ETHNIC": "Ethnicity", "ARMCD": "Planned Arm Code",
    "ACTARMCD": "Actual Arm Code", "ARM": "Description of Planned Arm", "ACTARM": "Description of Actual Arm",
    "SITEID": "Study Site Identifier", "COUNTRY": "Country",
}  # fmt: skip

_COVARIATE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def covariate_variables(
    covariates: pl.DataFrame | None, *, fmt: str = "xpt", source: str = "--subjects",
    origin: str = "the subject file", reserved: Sequence[str] = (),
) -> tuple[pl.DataFrame | None, tuple[Variable, ...]]:
    """The covariates (``subject_id`` and text columns: ``--subjects`` or DM's) as ADaM
    variables: each name upper-cased, never otherwise changed. A name that is not a SAS name
    once upper-cased (a letter, then letters, digits or ``_``; for ``fmt`` ``xpt`` also at most
    8 characters), that another covariate also becomes, or that a dataset already has
    (``reserved``) is an :class:`~cart19.errors.InputError` naming it (docs/adam.md,
    "Covariates"). ``source`` names the file in that error; ``origin`` (``the subject file`` or
    ``DM``) the derivation.

    Returns the covariates renamed (``subject_id`` kept) and their metadata, in file order."""
    if covariates is None or covariates.width <= 1:
        return None, ()
    issues: list[Issue] = []
    names = [c for c in covariates.columns if c != "subject_id"]
    taken = {name.upper() for name in reserved}
    seen: dict[str, str] = {}
    for name in names:
        upper = name.upper()
        if not _COVARIATE_NAME.match(name) or (fmt == "xpt" and len(name) > XPT_NAME_MAX):
            limit = f"at most {XPT_NAME_MAX} " if fmt == "xpt" else ""
            issues.append(Issue(None, name, None, f"covariate {name!r} cannot be an ADaM variable{' in XPT' * (fmt == 'xpt')}: "
                                f"a name is {limit}letters, digits or _, a letter first; rename the column"
                                f"{' or write another --format' * (fmt == 'xpt')}"))  # fmt: skip
        elif upper in taken:
            issues.append(Issue(None, name, None, f"covariate {name!r} would be {upper}, a variable the ADaM datasets "
                                "already have; rename the column"))  # fmt: skip
        elif upper in seen:
            issues.append(Issue(None, name, None, f"covariates {seen[upper]!r} and {name!r} would both be {upper}; "
                                "rename one"))  # fmt: skip
        seen.setdefault(upper, name)
    if issues:
        raise InputError(source, issues)
    variables = tuple(
        Variable(name.upper(), _COVARIATE_LABELS.get(name.upper(), f"Covariate {name.upper()}"), "string",
                 f"Column {name} of {origin}, as text (docs/adam.md)")
        for name in names
    )  # fmt: skip
    renamed = covariates.select("subject_id", *(pl.col(n).cast(pl.String).alias(n.upper()) for n in names))
    return renamed, variables


def _with_covariates(frame: pl.DataFrame, covariates: pl.DataFrame | None, on: str = "USUBJID") -> pl.DataFrame:
    if covariates is None:
        return frame
    return frame.join(covariates.rename({"subject_id": on}), on=on, how="left", maintain_order="left")


def _yes_no(flag: pl.Expr) -> pl.Expr:
    return pl.when(flag).then(pl.lit("Y")).otherwise(pl.lit("N"))


def _yes(flag: pl.Expr) -> pl.Expr:
    return pl.when(flag).then(pl.lit("Y")).otherwise(pl.lit(None, pl.String))


def _studyid(studyid: str) -> pl.Expr:
    return pl.lit(studyid, pl.String).alias("STUDYID")


_STUDYID_RULE = "DM.STUDYID (SDTM input), else configuration study.studyid"


def _usubjid(derivation: str, key: int = 1) -> Variable:
    return Variable("USUBJID", "Unique Subject Identifier", "string", derivation, key=key)


# --------------------------------------------------------------------------- ADSL

ADSL_NAME, ADSL_LABEL = "ADSL", "Subject-Level Analysis Dataset"


def adsl_variables(config: Config, covariates: Sequence[Variable] = ()) -> tuple[Variable, ...]:
    """Every ADSL variable, in the file's order (covariates after ``SUBJID``)."""
    window, through = config.response.window_days, config.dlt.evaluable_through_day
    return (
        Variable("STUDYID", "Study Identifier", "string", _STUDYID_RULE),
        _usubjid("Input subject_id (every subject with a record)"),
        Variable("SUBJID", "Subject Identifier for the Study", "string", "Input subject_id"),
        *covariates,
        Variable("ENRLFL", "Enrolled Population Flag", "string",
                 "Y for every subject in the input (disposition: enrolled); docs/safety.md"),
        Variable("SAFFL", "Safety Population Flag", "string", "Y when infused (an infusion record), else N; docs/endpoints.md"),
        Variable("DLTEVLFL", "DLT-Evaluable Population Flag", "string",
                 f"Y when infused and followed through day {through} (dlt.evaluable_through_day) or with a DLT, "
                 "else N; docs/endpoints.md DLT"),
        Variable("EFFFL", "Efficacy-Evaluable Population Flag", "string",
                 f"Y when infused with an adequate assessment (not NE) on study day 1-{window} "
                 "(response.window_days), else N; docs/safety.md disposition"),
        Variable("TRTSDT", "Date of First Exposure to Treatment", "date", "Date of the infusion record"),
        Variable("LDSTDT", "Lymphodepletion Start Date", "date", "Date of the first lymphodepletion record"),
        Variable("EOTDT", "End of Treatment Date", "date", "Date of the first end_of_treatment record"),
        Variable("HSCTDT", "Date of First HSCT after Infusion", "date",
                 "Date of the first hsct record after the infusion day; docs/adam.md"),
        Variable("NTHSTDT", "Date of First New Therapy after Infusion", "date",
                 "Date of the first new_therapy record after the infusion day; docs/adam.md"),
        Variable("DTHDT", "Date of Death", "date", "Date of the death record"),
        Variable("DTHDTF", "Date of Death Imputation Flag", "string",
                 "D when the death date's day was imputed (YYYY-MM: the first of the month)"),
        Variable("DTHCAUS", "Cause of Death", "string", "result of the death record (disease, toxicity, other, unknown)"),
        Variable("LSTALVDT", "Date Last Known Alive", "date",
                 "Latest date or AE end date of any record of the subject (OS's last known alive); docs/endpoints.md"),
        Variable("BOR", "Best Overall Response", "string",
                 f"Best counted assessment in {window} days, order {' > '.join(config.response.bor_order)}; ND without "
                 "one; empty when not infused; docs/response.md"),
    )  # fmt: skip


def _first_dates(events: pl.DataFrame, infusions: pl.DataFrame) -> pl.DataFrame:
    """Per subject with such a record: the first lymphodepletion and end_of_treatment dates, the
    first hsct and new_therapy dates after the infusion day (``infusions``: ``subject_id,
    infusion_date``), and whether the death record's date was imputed."""
    kind = pl.col("event")
    after = pl.col("date") > pl.col("infusion_date")
    kinds = ["lymphodepletion", "end_of_treatment", "hsct", "new_therapy", "death"]
    return (
        events.lazy()
        .select("subject_id", "event", "date", "date_imputed")
        .filter(kind.is_in(kinds))
        .with_columns(pl.col("subject_id").cast(pl.String))
        .join(infusions.lazy(), on="subject_id", how="left")
        .group_by("subject_id")
        .agg(
            pl.col("date").filter(kind == "lymphodepletion").min().alias("LDSTDT"),
            pl.col("date").filter(kind == "end_of_treatment").min().alias("EOTDT"),
            pl.col("date").filter((kind == "hsct") & after).min().alias("HSCTDT"),
            pl.col("date").filter((kind == "new_therapy") & after).min().alias("NTHSTDT"),
            pl.col("date_imputed").filter(kind == "death").first().alias("_death_imputed"),
        )
        .collect()
    )


def adsl(
    events: pl.DataFrame,
    config: Config,
    *,
    studyid: str,
    covariates: pl.DataFrame | None = None,
    covariate_meta: Sequence[Variable] = (),
    subjects: Subjects | None = None,
) -> tuple[pl.DataFrame, Dataset]:
    """ADSL: one row per subject of ``events`` (sorted by ``USUBJID``). The flags and dates are
    those of :func:`cart19.engine.safety.subject_status` (infusion, death, DLT- and
    efficacy-evaluable) and :func:`cart19.engine.response.best_overall_response` (``BOR``);
    ``covariates``/``covariate_meta`` from :func:`covariate_variables`."""
    status = subject_status(events, config, subjects=subjects).drop("_sid").with_columns(
        pl.col("subject_id").cast(pl.String)
    )
    bor = best_overall_response(events, config).select("subject_id", pl.col("bor").alias("BOR"))
    infusions = status.select("subject_id", "infusion_date").filter(pl.col("infusion_date").is_not_null())
    firsts = _first_dates(events, infusions)
    frame = (
        status.join(firsts, on="subject_id", how="left")
        .join(bor, on="subject_id", how="left")
        .select(
            _studyid(studyid),
            pl.col("subject_id").alias("USUBJID"),
            pl.col("subject_id").alias("SUBJID"),
            pl.lit("Y").alias("ENRLFL"),
            _yes_no(pl.col("infused")).alias("SAFFL"),
            _yes_no(pl.col("dlt_evaluable")).alias("DLTEVLFL"),
            _yes_no(pl.col("efficacy_evaluable")).alias("EFFFL"),
            pl.col("infusion_date").alias("TRTSDT"),
            "LDSTDT", "EOTDT", "HSCTDT", "NTHSTDT",
            pl.col("death_date").alias("DTHDT"),
            pl.when(pl.col("_death_imputed")).then(pl.lit("D")).otherwise(pl.lit(None, pl.String)).alias("DTHDTF"),
            pl.col("death_cause").alias("DTHCAUS"),
            pl.col("last_date").alias("LSTALVDT"),
            "BOR",
        )  # fmt: skip
    )
    frame = _with_covariates(frame, covariates)
    meta = Dataset(ADSL_NAME, ADSL_LABEL, adsl_variables(config, covariate_meta))
    return frame.select(meta.names), meta


# --------------------------------------------------------------------------- ADAE

ADAE_NAME, ADAE_LABEL = "ADAE", "Adverse Events Analysis Dataset"


def _periods(config: Config) -> str:
    return ", ".join(f"{i} = days {p.label}" for i, p in enumerate(config.safety.periods, start=1))


def adae_variables(config: Config) -> tuple[Variable, ...]:
    """Every ADAE variable, in the file's order."""
    dlt = ", ".join(rule.name for rule in config.dlt.rules)
    return (
        Variable("STUDYID", "Study Identifier", "string", _STUDYID_RULE),
        _usubjid("Input subject_id of an infused subject"),
        Variable("ASEQ", "Analysis Sequence Number", "integer", "1, 2, ... per subject in the order of ASTDT, then the input line", key=2),
        Variable("AETERM", "Reported Term for the Adverse Event", "string", "term of the ae record, as written"),
        Variable("AEDECOD", "Dictionary-Derived Term", "string",
                 "The term's label in the run's one vocabulary (its most used spelling); docs/safety.md"),
        Variable("AEBODSYS", "Body System or Organ Class", "string",
                 f"The SOC's label in the run's one vocabulary, {config.teae.uncoded_soc} when empty (teae.uncoded_soc)"),
        Variable("ASTDT", "Analysis Start Date", "date", "date of the ae record"),
        Variable("ASTDTF", "Analysis Start Date Imputation Flag", "string",
                 "D when the onset's day was imputed (YYYY-MM), M when its month was too (YYYY); docs/data-checks.md"),
        Variable("AENDT", "Analysis End Date", "date", "end_date of the ae record (empty: ongoing)"),
        Variable("ASTDY", "Analysis Start Relative Day", "integer", "ASTDT - TRTSDT (infusion = day 0, no day 1 rule); docs/adam.md"),
        Variable("AENDY", "Analysis End Relative Day", "integer", "AENDT - TRTSDT (infusion = day 0, no day 1 rule); docs/adam.md"),
        Variable("ADURN", "Analysis Duration (N)", "integer",
                 "AENDT - ASTDT + 1 days; ongoing: until the subject's last record; docs/endpoints.md TEAE"),
        Variable("ATOXGR", "Analysis Toxicity Grade", "string", "grade of the ae record (1-5)"),
        Variable("AESER", "Serious Event", "string", "serious of the ae record (Y, N, empty)"),
        Variable("AEREL", "Causality", "string", "related of the ae record (Y, N, empty)"),
        Variable("TRTEMFL", "Treatment Emergent Analysis Flag", "string",
                 f"Y when ASTDY is 0-{config.teae.window_days} (teae.window_days); docs/endpoints.md TEAE"),
        Variable("DLTFL", "Dose-Limiting Toxicity Flag", "string",
                 f"Y when onset is in the DLT window and a DLT rule is met ({dlt}); docs/endpoints.md DLT"),
        Variable("DLTRULE", "DLT Rules Met", "string", "Names of the DLT rules met, ;-joined in configuration order"),
        Variable("APERIOD", "Period", "integer",
                 f"Period of ASTDY (safety.periods: {_periods(config)}); empty outside them; docs/safety.md"),
        Variable("SRCDOM", "Source Data", "string", "ae (or the SDTM domain AE)"),
        Variable("SRCSEQ", "Source Sequence Number", "integer", "Input line (or SDTM AESEQ) of the ae record"),
    )  # fmt: skip


def _sequence(key: str) -> pl.Expr:
    """1, 2, ... within each run of equal ``key`` values of a frame sorted by ``key`` (the row's
    index minus the index of its run's first row: no group-by over the text)."""
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    starts = pl.col(key).ne_missing(pl.col(key).shift(1)) | (index == 0)
    return index - pl.when(starts).then(index).forward_fill() + 1


def adae(
    events: pl.DataFrame, config: Config, *, studyid: str, provenance: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, Dataset]:
    """ADAE: one row per AE of an infused subject, from :func:`cart19.engine.teae.ae_listing`
    (its flags and days), sorted by ``USUBJID, ASTDT, SRCSEQ``. ``provenance``: the SDTM
    reader's (:func:`cart19.io.sdtm.trace_sources`), for SDTM input."""
    listing = ae_listing(events, config)
    traced = trace_sources(listing, provenance)
    meta = Dataset(ADAE_NAME, ADAE_LABEL, adae_variables(config))
    frame = traced.with_columns(
        _studyid(studyid),
        _sequence("USUBJID").alias("ASEQ"),
        pl.col("AESOC").alias("AEBODSYS"),
        pl.col("AETOXGR").cast(pl.String).alias("ATOXGR"),
        pl.col("ASTDY").cast(pl.Int64),
        pl.col("AENDY").cast(pl.Int64),
        pl.col("ADURN").cast(pl.Int64),
        period_number(pl.col("ASTDY"), config).alias("APERIOD"),
        pl.lit("ae" if provenance is None else "AE").alias("SRCDOM"),
        pl.col("AESEQ").cast(pl.Int64).alias("SRCSEQ"),
    )
    return frame.select(meta.names), meta


# --------------------------------------------------------------------------- ADRS

ADRS_NAME, ADRS_LABEL = "ADRS", "Response Analysis Dataset"
_ADRS_PARAMS = {"OVR": "Overall Response", **LISTING_PARAMS}


def adrs_variables(config: Config) -> tuple[Variable, ...]:
    """Every ADRS variable, in the file's order."""
    window = config.response.window_days
    return (
        Variable("STUDYID", "Study Identifier", "string", _STUDYID_RULE),
        _usubjid("Input subject_id of an infused subject"),
        Variable("PARAMCD", "Parameter Code", "string",
                 "OVR: one row per assessment; BOR: best overall response; MRDNEG: MRD-negative remission; "
                 "docs/response.md", key=2),
        Variable("PARAM", "Parameter", "string", "; ".join(f"{k}: {v}" for k, v in _ADRS_PARAMS.items())),
        Variable("AVALC", "Analysis Value (C)", "string",
                 "OVR: the assessment's result; BOR: the BOR (ND without a counted assessment); MRDNEG: Y or N"),
        Variable("ADT", "Analysis Date", "date",
                 "OVR: the assessment's date; BOR: first assessment with that result; MRDNEG Y: first MRD-negative "
                 "remission"),
        Variable("ADY", "Analysis Relative Day", "integer", "ADT - TRTSDT (infusion = day 0, no day 1 rule); docs/adam.md"),
        Variable("ANL01FL", "Analysis Flag 01", "string",
                 f"OVR: Y when the assessment counts as response to the infusion (after day 0, within {window} days "
                 "(response.window_days), before new therapy and a salvage HSCT); docs/endpoints.md"),
        Variable("SRCDOM", "Source Data", "string", "assessment (or the SDTM domain RS)"),
        Variable("SRCSEQ", "Source Sequence Number", "integer", "Input line (or SDTM RSSEQ) of the assessment"),
    )  # fmt: skip


def adrs(
    events: pl.DataFrame, config: Config, *, studyid: str, provenance: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, Dataset]:
    """ADRS: per infused subject one ``OVR`` row per assessment (in order of date, line), then
    its ``BOR`` and ``MRDNEG`` rows (:func:`cart19.engine.response.response_listing`).
    ``ANL01FL`` = Y on the assessments :func:`cart19.engine.tte.follow_up` counts as response to
    the infusion (``response.window_days``)."""
    cfg = config.response
    records = timeline(events.filter(pl.col("event").is_in(["infusion", "assessment", "new_therapy", "hsct"])))
    fu = follow_up(records, cfg.window_days, config.response_sets.response)
    counted = fu.counted.get_column("line")
    ovr = (
        records.filter(pl.col("event") == "assessment")
        .sort("subject_id", "date", "line")
        .select(
            pl.col("subject_id").cast(pl.String).alias("USUBJID"),
            pl.lit("OVR").alias("PARAMCD"),
            pl.col("result").alias("AVALC"),
            pl.col("date").alias("ADT"),
            (pl.col("date") - pl.col("infusion_date")).dt.total_days().alias("ADY"),
            _yes(pl.col("line").is_in(counted.implode())).alias("ANL01FL"),
            pl.lit("assessment").alias("SRCDOM"),
            pl.col("line").alias("SRCSEQ"),
            pl.lit(0).alias("_order"),
        )
    )
    summary = response_listing(best_overall_response(events, config)).select(
        "USUBJID", "PARAMCD", "AVALC", "ADT", "ADY", pl.lit(None, pl.String).alias("ANL01FL"), "SRCDOM", "SRCSEQ",
        (pl.when(pl.col("PARAMCD") == "BOR").then(1).otherwise(2)).alias("_order"),
    )  # fmt: skip
    schema = {"ADY": pl.Int64, "SRCSEQ": pl.Int64, "_order": pl.Int32}
    rows = pl.concat([ovr.cast(schema), summary.cast(schema)])  # type: ignore[arg-type]
    rows = rows.sort("USUBJID", "_order", maintain_order=True)
    if provenance is not None:
        rows = trace_sources(rows, provenance)
    meta = Dataset(ADRS_NAME, ADRS_LABEL, adrs_variables(config))
    frame = rows.with_columns(_studyid(studyid), pl.col("PARAMCD").replace_strict(_ADRS_PARAMS).alias("PARAM"))
    return frame.select(meta.names), meta


__all__ = [
    "ADAE_LABEL", "ADAE_NAME", "ADRS_LABEL", "ADRS_NAME", "ADSL_LABEL", "ADSL_NAME", "ADTTE_LABEL", "ADTTE_NAME",
    "adae", "adae_variables", "adrs", "adrs_variables", "adsl", "adsl_variables", "adtte", "adtte_variables",
    "covariate_variables",
]  # fmt: skip
