"""ADaM datasets as frames plus their metadata (sdtm.md, "Writing ADaM").

Frames and :class:`cart19.io.submission.Dataset` metadata only: writing them in a submission
format is :mod:`cart19.io.submission`'s. Each variable carries a one-line derivation naming
the rule it comes from (docs/endpoints.md, docs/adam.md), so that ``define.json`` lets a
reviewer trace every number to its rule. The derivations read the configuration, so a changed
window or response set shows in the metadata too.

ADTTE is the first dataset here: the frame ``derive`` writes
(:data:`cart19.engine.tte.ADTTE_SCHEMA`) plus ``STUDYID`` (``study.studyid``) and ``PARAMN``
(the parameter's place in the configured order).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cart19.config import Config
from cart19.io.submission import Dataset, Variable

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
        Variable("STUDYID", "Study Identifier", "string", "Configuration study.studyid"),
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
        Variable("ADTF", "Analysis Date Imputation Flag", "string", "D when the source date was imputed (day)"),
    )  # fmt: skip


def adtte(
    frame: pl.DataFrame, config: Config, covariates: Sequence[Variable] = ()
) -> tuple[pl.DataFrame, Dataset]:
    """ADTTE from ``derive``'s frame (:func:`cart19.engine.tte.derive_adtte`): ``STUDYID``
    first, ``PARAMN`` after ``PARAM``, then its columns as ``derive`` wrote them.

    ``covariates``: metadata of further (subject-level) columns of ``frame``, written after the
    dataset's own variables in the order given. ``SRCVAR`` is written when ``frame`` has it."""
    codes = [code for code, _ in _parameters(config)]
    own = [v for v in adtte_variables(config) if v.name != "SRCVAR" or "SRCVAR" in frame.columns]
    variables = (*own, *covariates)
    out = frame.with_columns(
        pl.lit(config.study.studyid, pl.String).alias("STUDYID"),
        pl.col("PARAMCD").replace_strict(codes, list(range(1, len(codes) + 1)), return_dtype=pl.Int64).alias("PARAMN"),
    ).select(v.name for v in variables)
    return out, Dataset(ADTTE_NAME, ADTTE_LABEL, variables)


__all__ = ["ADTTE_LABEL", "ADTTE_NAME", "adtte", "adtte_variables"]
