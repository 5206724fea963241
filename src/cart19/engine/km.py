"""Kaplan-Meier summaries of an ADTTE-shaped table (cli.md, ``km``).

Pure functions: frames and arrays in, frames and arrays out; no I/O, no printing.

The numbers are those of R ``survival`` (checked against survival 3.5-3, see
``tests/fixtures/km``)::

    fit <- survfit(Surv(AVAL, 1 - CNSR) ~ 1, conf.type = "log-log")
    quantile(fit, 0.5)                          # median and its CI
    summary(fit, times = t, extend = FALSE)     # landmark estimates

* Product-limit estimate ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)``, right-continuous: an
  event at exactly ``t`` counts in ``S(t)``.
* Greenwood variance on the log scale, ``se(t)^2 = sum_{t_i <= t} d_i / (n_i (n_i - d_i))``
  (R's ``std.err``).
* Log-log pointwise CI (R ``survfit_confint``)::

      s2    = z * se / log(S)
      lower = exp(-exp(log(-log S) - s2))
      upper = exp(-exp(log(-log S) + s2))

  undefined (null) where ``S`` is 0 or 1 (see "Choices" for ``S = 1``).
* Median and its CI: R's ``quantile.survfit`` (its internal ``findq``), applied to the
  estimate, the lower band and the upper band. The median is the first time ``S(t) <= 0.5``;
  where ``S`` is 0.5 (within ``sqrt(machine eps)``) over an interval, the midpoint between the
  time it reached 0.5 and the next time it changes, or the last observed time when it never
  changes again. The **lower** limit of the median is the same rule applied to the **lower**
  band (it reaches 0.5 first), the **upper** limit the rule applied to the upper band; null
  when that band never falls to 0.5 (Brookmeyer-Crowley on the log-log scale, as
  ``print.survfit`` shows it).

Choices (where R is silent or inconsistent):

* A landmark after the last observed time of a parameter (event or censoring) has a null
  estimate and CI, as R ``summary(times =, extend = FALSE)`` gives no row there.
* Where ``S(t) = 1`` (no event on or before ``t``) the CI is ``[1, 1]``. R gives ``[1, 1]``
  for ``t`` before the first observed time but NA for ``t`` at or after a censoring that
  precedes the first event (0/0 in the log-log transform); one answer for the same estimate
  is used here.
* Where ``S(t) = 0`` the CI is null (as R).
* Times are used as given: R's ``timefix`` (merging times that differ by rounding error) is
  not applied; ADTTE ``AVAL`` is a whole number of days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl

from cart19.io.subjects_file import MISSING_GROUP

__all__ = [
    "KM_COLUMNS",
    "KNOWN_PARAMCD_ORDER",
    "KMCurve",
    "km_curve",
    "km_followup",
    "km_quantile",
    "km_at",
    "km_summary",
    "order_paramcds",
]

#: The ``km --format csv`` contract (cli.md), in order.
KM_COLUMNS: tuple[str, ...] = (
    "PARAMCD",
    "N",
    "events",
    "censored",
    "median",
    "median_lower",
    "median_upper",
    "time_months",
    "survival",
    "survival_lower",
    "survival_upper",
    # after the contract's columns: the median follow-up (reverse Kaplan-Meier), in days
    "followup_median",
    "followup_lower",
    "followup_upper",
)

KM_SCHEMA: dict[str, pl.DataType] = {
    "PARAMCD": pl.String(),
    "N": pl.Int64(),
    "events": pl.Int64(),
    "censored": pl.Int64(),
    "median": pl.Float64(),
    "median_lower": pl.Float64(),
    "median_upper": pl.Float64(),
    "time_months": pl.Float64(),
    "survival": pl.Float64(),
    "survival_lower": pl.Float64(),
    "survival_upper": pl.Float64(),
    "followup_median": pl.Float64(),
    "followup_lower": pl.Float64(),
    "followup_upper": pl.Float64(),
}

#: Parameters the derivation writes come first, in this order; any others follow by name.
KNOWN_PARAMCD_ORDER: tuple[str, ...] = ("OS", "EFS", "EFSS1", "EFSS2", "EFSS3", "DOR", "RFS")

#: R ``quantile.survfit``'s default ``tolerance = sqrt(.Machine$double.eps)``.
QUANTILE_TOLERANCE: float = math.sqrt(np.finfo(np.float64).eps)

_REQUIRED = ("PARAMCD", "AVAL", "CNSR")


@dataclass(frozen=True)
class KMCurve:
    """A product-limit curve at each distinct observed time (R ``survfit`` components).

    ``lower``/``upper`` are the log-log pointwise limits, NaN where ``surv`` is 0 or 1
    (exactly as R's ``fit$lower``/``fit$upper``).
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    confidence_level: float

    @property
    def n(self) -> int:
        return int(self.n_risk[0]) if self.n_risk.size else 0


def _z(confidence_level: float) -> float:
    # R: qnorm(1 - (1 - conf.int)/2); NormalDist uses the same algorithm (Wichura AS241).
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence_level) / 2.0)


def _check_level(confidence_level: float) -> None:
    if not (isinstance(confidence_level, (int, float)) and 0.0 < confidence_level < 1.0):
        raise ValueError(f"confidence_level must be strictly between 0 and 1, got {confidence_level!r}")


def km_curve(time: np.ndarray, event: np.ndarray, *, confidence_level: float = 0.95) -> KMCurve:
    """The Kaplan-Meier curve of one sample. ``time`` >= 0, ``event`` true/1 for an event.

    Inputs are assumed valid (``km_summary`` validates); arrays of equal length, possibly empty.
    """
    _check_level(confidence_level)
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event).astype(np.float64)
    utime, inverse = np.unique(time, return_inverse=True)
    at_time = np.bincount(inverse, minlength=utime.size).astype(np.float64)
    d = np.bincount(inverse, weights=event, minlength=utime.size)
    n_risk = np.cumsum(at_time[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        has_event = d > 0
        # The same sequential products and sums as R's survfitkm.c, so bit-for-bit alike.
        surv = np.cumprod(np.where(has_event, (n_risk - d) / n_risk, 1.0))
        green = np.where(has_event, d / (n_risk * (n_risk - d)), 0.0)
        std_err = np.sqrt(np.cumsum(green))
        lower, upper = _loglog_limits(surv, std_err, _z(confidence_level))
    return KMCurve(
        time=utime,
        n_risk=n_risk,
        n_event=d,
        n_censor=at_time - d,
        surv=surv,
        std_err=std_err,
        lower=lower,
        upper=upper,
        confidence_level=float(confidence_level),
    )


def _loglog_limits(surv: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """R ``survfit_confint(conf.type = "log-log")``, same operation order."""
    xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        se2 = z * se / np.log(xx)
        loglog = np.log(-np.log(xx))
        lower = np.exp(-np.exp(loglog - se2))
        upper = np.exp(-np.exp(loglog + se2))
    return lower, upper


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """R survival's internal ``findq`` for one probability; NaN where R gives NA.

    ``x`` the times (with the start time first), ``y`` the cumulative failure ``1 - S``
    (NaN allowed, as R's NA).
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return math.nan
    xmax = x[-1]
    # duplicated(y): keep the first occurrence of each value (NaN counts as one value).
    key = np.where(np.isnan(y), np.inf, y)  # y <= 1, so inf stands for NA alone
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    n = y.size
    # approx(y +/- tol, 1:n, p, method = "constant", f = 1): NA pairs dropped, sorted by y;
    # result = the index of the smallest (y +/- tol) >= p, NA outside the range.
    ok = ~np.isnan(y)
    idx = np.flatnonzero(ok)
    order = np.argsort(y[ok], kind="stable")
    idx, ys = idx[order], y[ok][order]

    def locate(shifted: np.ndarray) -> int | None:
        if shifted.size == 0 or p < shifted[0] or p > shifted[-1]:
            return None
        return int(idx[np.searchsorted(shifted, p, side="left")])

    i1 = locate(ys + tol)
    i2 = locate(ys - tol)
    quant = math.nan if i1 is None or i2 is None else (x[i1] + x[i2]) / 2
    if p == 0:
        quant = x[0]
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol:
        quant = math.nan if i1 is None else (x[i1] + xmax) / 2
    return float(quant)


def km_quantile(
    curve: KMCurve, p: float = 0.5, *, tolerance: float = QUANTILE_TOLERANCE
) -> tuple[float | None, float | None, float | None]:
    """The ``p`` quantile of the failure distribution (``p = 0.5``: the median) and its CI,
    as R ``quantile(fit, p)``: ``(estimate, lower, upper)``, None where not reached."""
    if curve.time.size == 0:
        return None, None, None
    x = np.concatenate(([0.0], curve.time))

    def q(s: np.ndarray) -> float | None:
        v = _findq(x, np.concatenate(([0.0], 1.0 - s)), p, tolerance)
        return None if math.isnan(v) else v

    return q(curve.surv), q(curve.lower), q(curve.upper)


def km_followup(
    time: np.ndarray, event: np.ndarray, *, confidence_level: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """The median follow-up and its CI by the reverse Kaplan-Meier method (Schemper & Smith):
    the Kaplan-Meier median of the same times with the indicator reversed (a censoring is the
    "event", an event is censored), as R ``survfit(Surv(AVAL, CNSR) ~ 1, conf.type =
    "log-log")`` and ``quantile(fit, 0.5)``: ``(median, lower, upper)`` in days, None where
    not reached."""
    reverse = 1.0 - np.asarray(event, dtype=np.float64)
    return km_quantile(km_curve(time, reverse, confidence_level=confidence_level), 0.5)


def km_at(curve: KMCurve, times: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate and CI at each of ``times`` (right-continuous). NaN after the last observed
    time; CI ``[1, 1]`` where the estimate is 1; CI NaN where it is 0."""
    t = np.asarray(times, dtype=np.float64)
    nan = np.full(t.shape, np.nan)
    if curve.time.size == 0:
        return nan, nan.copy(), nan.copy()
    pos = np.searchsorted(curve.time, t, side="right") - 1
    safe = np.clip(pos, 0, None)
    before = pos < 0
    beyond = t > curve.time[-1]
    surv = np.where(before, 1.0, curve.surv[safe])
    lower = np.where(before, 1.0, curve.lower[safe])
    upper = np.where(before, 1.0, curve.upper[safe])
    one = surv == 1.0
    lower = np.where(one, 1.0, lower)
    upper = np.where(one, 1.0, upper)
    return tuple(np.where(beyond, np.nan, a) for a in (surv, lower, upper))  # type: ignore[return-value]


def order_paramcds(codes: Sequence[str]) -> list[str]:
    """Known codes first (OS, EFS, EFSS1, EFSS2, EFSS3, DOR, RFS), then the others by name."""
    distinct = set(codes)
    known = [c for c in KNOWN_PARAMCD_ORDER if c in distinct]
    return known + sorted(distinct - set(KNOWN_PARAMCD_ORDER))


def _validate(adtte: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Check the columns and values; return ``PARAMCD, AVAL (f64), EVENT (f64)`` (and ``group``,
    text, an empty value :data:`MISSING_GROUP`, when ``by`` names a column)."""
    if not isinstance(adtte, pl.DataFrame):
        raise TypeError(f"km_summary expects a polars DataFrame, got {type(adtte).__name__}")
    missing = [c for c in _REQUIRED if c not in adtte.columns]
    if missing:
        raise ValueError(
            f"the ADTTE table is missing column(s) {', '.join(missing)}; "
            f"required: {', '.join(_REQUIRED)}"
        )
    frame = adtte.select(_REQUIRED)

    schema = frame.schema
    if not (schema["PARAMCD"] in (pl.String, pl.Null) or isinstance(schema["PARAMCD"], (pl.Categorical, pl.Enum))):
        raise ValueError(f"column PARAMCD must be text, got {schema['PARAMCD']}")
    if not (schema["AVAL"].is_numeric() or schema["AVAL"] == pl.Null):
        raise ValueError(f"column AVAL must be numeric (days), got {schema['AVAL']}")
    if not (schema["CNSR"].is_numeric() or schema["CNSR"] in (pl.Boolean, pl.Null)):
        raise ValueError(f"column CNSR must be 0 or 1, got a column of {schema['CNSR']}")

    frame = frame.with_columns(
        pl.col("PARAMCD").cast(pl.String),
        pl.col("AVAL").cast(pl.Float64),
        pl.col("CNSR").cast(pl.Float64),
    )

    def complain(col: str, bad: pl.Expr, what: str) -> None:
        flags = frame.select(bad.fill_null(True).alias("bad")).to_series()
        count = int(flags.sum())
        if count:
            row = int(flags.arg_max())  # type: ignore[arg-type]
            value = adtte[col][row]
            more = f" ({count} rows in all)" if count > 1 else ""
            raise ValueError(f"column {col}, row {row} (0-based): value {value!r} {what}{more}")

    complain("PARAMCD", pl.col("PARAMCD").is_null(), "is missing; every row needs a parameter code")
    aval = pl.col("AVAL")
    complain("AVAL", aval.is_null() | aval.is_nan(), "is missing; AVAL must be a number of days")
    complain("AVAL", aval.is_infinite(), "is not finite; AVAL must be a number of days")
    complain("AVAL", aval < 0, "is negative; AVAL must be a number of days >= 0")
    cnsr = pl.col("CNSR")
    complain("CNSR", ~cnsr.is_in([0.0, 1.0]) | cnsr.is_nan(), "is not 0 (event) or 1 (censored)")
    out = frame.select("PARAMCD", "AVAL", (1.0 - pl.col("CNSR")).alias("EVENT"))
    if by is None:
        return out
    if by not in adtte.columns:
        raise ValueError(f"--by {by!r} is not a column of the ADTTE table; its columns: {', '.join(adtte.columns)}")
    return out.with_columns(adtte.get_column(by).cast(pl.String).fill_null(MISSING_GROUP).alias("group"))


def _check_landmarks(landmarks_months: Sequence[float], days_per_month: float) -> tuple[float, ...]:
    if not (isinstance(days_per_month, (int, float)) and math.isfinite(days_per_month) and days_per_month > 0):
        raise ValueError(f"days_per_month must be a positive number, got {days_per_month!r}")
    marks = tuple(float(m) for m in landmarks_months)
    for m in marks:
        if not (math.isfinite(m) and m >= 0):
            raise ValueError(f"landmarks_months must be non-negative numbers, got {m!r}")
    return marks


def km_summary(
    adtte: pl.DataFrame,
    *,
    landmarks_months: Sequence[float] = (6, 12, 24),
    days_per_month: float = 30.4375,
    confidence_level: float = 0.95,
    by: str | None = None,
) -> pl.DataFrame:
    """The ``km --format csv`` table (cli.md): one row per parameter and landmark, then the
    median follow-up with its CI (:func:`km_followup`, repeated on each row as the median is).

    ``by``: a column of ``adtte`` (a covariate; values as text, an empty one
    :data:`MISSING_GROUP`): the same table per value, with a first column ``group``, groups
    sorted by their text, each group's parameters in the usual order (efficacy.md, "Subgroups").

    ``adtte`` needs ``PARAMCD`` (text), ``AVAL`` (days, >= 0) and ``CNSR`` (0 event,
    1 censored); other columns are ignored. Parameters come in the order of
    :func:`order_paramcds`, landmarks in the order given. Median and its limits are in days and
    repeat on each landmark row; nulls where not reached or not estimable. With no landmarks,
    one row per parameter with null landmark columns.

    Raises ``ValueError`` naming the column and the first offending (0-based) row when a
    column is missing or a value is invalid.
    """
    _check_level(confidence_level)
    marks = _check_landmarks(landmarks_months, days_per_month)
    data = _validate(adtte, by)
    schema = KM_SCHEMA if by is None else {"group": pl.String(), **KM_SCHEMA}
    if data.height == 0:
        return pl.DataFrame(schema=schema)

    blocks = _blocks(data, by is not None)
    land_days = np.array([m * days_per_month for m in marks], dtype=np.float64)
    rows: dict[str, list] = {c: [] for c in schema}
    aval, event = blocks.aval, blocks.event
    for group, code, s, e in blocks.order:
        curve = km_curve(aval[s:e], event[s:e], confidence_level=confidence_level)
        n_events = int(round(float(curve.n_event.sum())))
        med, med_lo, med_hi = km_quantile(curve, 0.5)
        follow = km_followup(aval[s:e], event[s:e], confidence_level=confidence_level)
        if marks:
            surv, lo, hi = km_at(curve, land_days)
            per_mark = [
                (marks[i], _num(surv[i]), _num(lo[i]), _num(hi[i])) for i in range(len(marks))
            ]
        else:
            per_mark = [(None, None, None, None)]
        for month, sv, sl, su in per_mark:
            if by is not None:
                rows["group"].append(group)
            rows["PARAMCD"].append(code)
            rows["N"].append(e - s)
            rows["events"].append(n_events)
            rows["censored"].append(e - s - n_events)
            rows["median"].append(med)
            rows["median_lower"].append(med_lo)
            rows["median_upper"].append(med_hi)
            rows["time_months"].append(month)
            rows["survival"].append(sv)
            rows["survival_lower"].append(sl)
            rows["survival_upper"].append(su)
            for column, value in zip(("followup_median", "followup_lower", "followup_upper"), follow, strict=True):
                rows[column].append(value)
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True)
class _Blocks:
    """The rows sorted by group, parameter and time; ``order``: (group, PARAMCD, start, end)
    of each contiguous block, groups by text and parameters by :func:`order_paramcds`."""

    aval: np.ndarray
    event: np.ndarray
    order: list[tuple[str | None, str, int, int]]


def _codes(values: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a text column, in the order of its sorted distinct values, and those."""
    levels = values.unique().sort()
    return values.cast(pl.Enum(levels)).to_physical().to_numpy(), levels.to_list()


def _blocks(data: pl.DataFrame, grouped: bool) -> _Blocks:
    """Sorted by group, parameter and time as integer codes (numpy's lexsort: a polars sort on
    the text columns costs several times more at hundreds of thousands of rows)."""
    param, param_names = _codes(data.get_column("PARAMCD"))
    group, group_names = _codes(data.get_column("group")) if grouped else (np.zeros(data.height, np.int64), [None])
    aval = data.get_column("AVAL").to_numpy()
    order = np.lexsort((aval, param, group))
    aval, param, group = aval[order], param[order], group[order]
    starts = np.flatnonzero(np.r_[True, (param[1:] != param[:-1]) | (group[1:] != group[:-1])])
    ends = np.r_[starts[1:], aval.size]
    where = {
        (group_names[group[s]], param_names[param[s]]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)
    }
    blocks = []
    for name in group_names:  # (sorted by text)
        for code in order_paramcds([c for g, c in where if g == name]):
            start, end = where[(name, code)]
            blocks.append((name, code, start, end))
    return _Blocks(aval=aval, event=data.get_column("EVENT").to_numpy()[order], order=blocks)


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)
