"""Cumulative incidence of competing events (efficacy.md, "Cumulative incidence of relapse (CIR)
and non-relapse mortality (NRM)"), with the figures of R's ``cmprsk`` (checked against cmprsk
2.2-11, see ``tests/fixtures/cuminc``).

Pure functions: arrays and frames in, arrays and frames out; no I/O, no printing.

* **Estimate**: the Aalen-Johansen cumulative incidence of a cause,
  ``F(t) = sum_{t_i <= t} S(t_i-) d_i / n_i`` with ``S`` the all-cause Kaplan-Meier estimate,
  ``d_i`` the events of the cause at ``t_i`` and ``n_i`` the number at risk; right-continuous.
* **Variance**: the one ``cmprsk::cuminc`` reports, a line-by-line port of its Fortran routine
  ``cinc`` (Gray's delta-method estimator, with the tie correction ``1 - (d-1)/(n-1)``). As in
  ``cinc``, the variance is recorded at the times of the cause's own events and carried forward
  between them.
* **At a time** (``cmprsk::timepoints``): the step function's value at the last time of the
  cause at or before it; 0 (variance 0) before the first; **empty past the largest time** of
  the sample (censored times included).
* **Pointwise CI** on the log(-log) scale: ``F ** exp(±z sqrt(var) / (F log F))`` (as
  tidycmprsk and SAS PROC LIFETEST with ``EVENTCODE=``); empty where ``F`` is 0 or 1.
* **Gray's test** of equal cumulative incidence of a cause across groups: a port of
  ``cmprsk``'s Fortran ``crstm``/``crst`` (score ``s`` of the first ``ng - 1`` groups and its
  covariance ``V``, ``rho = 0``, one stratum); statistic ``s' V^-1 s``, chi-square with
  ``ng - 1`` degrees of freedom.

Choices where cmprsk is silent:

* A cause with no event has a cumulative incidence of 0 (variance 0) up to the largest time
  (cmprsk leaves such a cause out of its result; here every configured cause has its rows).
* Gray's test where ``V`` is singular (cmprsk reports the statistic as ``-1``), as for a cause
  with no event, or with a single group: the statistic, df and p-value are empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import numpy as np
import polars as pl

from cart19.engine.km import _z
from cart19.io.subjects_file import group_of

__all__ = [
    "CAUSES",
    "CUMINC_COLUMNS",
    "CUMINC_SCHEMA",
    "GRAY_COLUMNS",
    "CIFCurve",
    "cif_at",
    "cif_curve",
    "cif_limits",
    "cuminc_summary",
    "gray_test",
    "gray_tests",
]

#: The causes of the relapse-incidence dataset: ``EVENT`` code -> the ``cause`` column's text.
CAUSES: Mapping[int, str] = {1: "relapse", 2: "nrm"}

#: The ``cuminc --format csv`` contract (cli.md), in order.
CUMINC_SCHEMA: dict[str, pl.DataType] = {
    "cause": pl.String(),
    "N": pl.Int64(),
    "events": pl.Int64(),
    "time_months": pl.Float64(),
    "estimate": pl.Float64(),
    "variance": pl.Float64(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
}
CUMINC_COLUMNS: tuple[str, ...] = tuple(CUMINC_SCHEMA)

#: ``cuminc --tests``: Gray's test per cause.
GRAY_SCHEMA: dict[str, pl.DataType] = {
    "cause": pl.String(),
    "statistic": pl.Float64(),
    "df": pl.Int64(),
    "p_value": pl.Float64(),
}
GRAY_COLUMNS: tuple[str, ...] = tuple(GRAY_SCHEMA)


@dataclass(frozen=True)
class CIFCurve:
    """The cumulative incidence of one cause, as a step function: at each ``time`` of the
    cause's events, the ``estimate`` and its ``variance`` (from that time until the next);
    ``max_time`` is the largest time of the sample (the curve is defined up to it)."""

    time: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    max_time: float
    n: int
    events: int


def cif_curve(time: np.ndarray, status: np.ndarray, cause: int) -> CIFCurve:
    """The cumulative incidence of ``cause`` (``status`` 0 = censored; any other code is an
    event of that cause): cmprsk's ``cinc``, the same operations in the same order."""
    time = np.asarray(time, dtype=np.float64)
    status = np.asarray(status)
    n = time.size
    if n == 0:
        empty = np.empty(0)
        return CIFCurve(empty, empty, empty, math.nan, 0, 0)
    utime, inverse = np.unique(time, return_inverse=True)
    at = np.bincount(inverse, minlength=utime.size)
    of_cause = np.bincount(inverse, weights=(status == cause).astype(np.float64), minlength=utime.size)
    of_any = np.bincount(inverse, weights=(status != 0).astype(np.float64), minlength=utime.size)
    times: list[float] = []
    estimates: list[float] = []
    variances: list[float] = []
    fk, f, v1, v2, v3 = 1.0, 0.0, 0.0, 0.0, 0.0
    rs = float(n)
    for t, count, d1, d in zip(utime.tolist(), at.tolist(), of_cause.tolist(), of_any.tolist(), strict=True):
        nd1, nd2 = d1, d - d1
        if d > 0:
            fkn = fk * (rs - d) / rs
            if nd1 > 0:
                f = f + fk * nd1 / rs
            if nd2 > 0 and fkn > 0:
                t5 = 1.0 if nd2 <= 1 else 1 - (nd2 - 1.0) / (rs - 1.0)
                t6 = fk * fk * t5 * nd2 / (rs * rs)
                t3 = 1.0 / fkn
                t4 = f / fkn
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
            if nd1 > 0:
                t5 = 1.0 if nd1 <= 1 else 1 - (nd1 - 1.0) / (rs - 1.0)
                t6 = fk * fk * t5 * nd1 / (rs * rs)
                t3 = 1.0 / fkn if fkn > 0 else 0.0
                t4 = 1 + t3 * f
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
                times.append(t)
                estimates.append(f)
                variances.append(v1 + f * f * v3 - 2 * f * v2)
            fk = fkn
        rs -= count
    return CIFCurve(
        np.array(times),
        np.array(estimates),
        np.array(variances),
        float(utime[-1]),
        n,
        int(np.count_nonzero(status == cause)),
    )


def cif_at(curve: CIFCurve, times: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(estimate, variance)`` at each of ``times`` (``cmprsk::timepoints``): the value at the
    last event time of the cause at or before it, 0 before the first; NaN past ``max_time``."""
    t = np.asarray(times, dtype=np.float64)
    if curve.n == 0:
        nan = np.full(t.shape, np.nan)
        return nan, nan.copy()
    pos = np.searchsorted(curve.time, t, side="right") - 1
    safe = np.clip(pos, 0, None)
    before = pos < 0
    estimate = np.where(before, 0.0, curve.estimate[safe] if curve.time.size else 0.0)
    variance = np.where(before, 0.0, curve.variance[safe] if curve.time.size else 0.0)
    beyond = t > curve.max_time
    return np.where(beyond, np.nan, estimate), np.where(beyond, np.nan, variance)


def cif_limits(
    estimate: np.ndarray, variance: np.ndarray, confidence_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """The log(-log) pointwise limits ``F ** exp(±z sqrt(var) / (F log F))``; NaN where ``F``
    is 0, 1 or NaN."""
    z = _z(confidence_level)
    f = np.where((estimate > 0) & (estimate < 1), estimate, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = z * np.sqrt(variance) / (f * np.log(f))  # negative: log F < 0
        lower = f ** np.exp(-shift)
        upper = f ** np.exp(shift)
    return lower, upper


def gray_test(
    time: np.ndarray, status: np.ndarray, group: np.ndarray, cause: int, rho: float = 0.0
) -> tuple[float | None, int, float | None]:
    """Gray's test that ``cause``'s cumulative incidence is the same in every group:
    ``(statistic, df, p_value)``, cmprsk's ``crstm`` (one stratum). ``group`` holds integer
    codes ``0 .. ng - 1``, each used. Statistic and p-value None where the covariance of the
    scores is singular."""
    from scipy.special import chdtrc  # chi2.sf, without importing scipy.stats (0.3-0.7 s)

    time = np.asarray(time, dtype=np.float64)
    status = np.asarray(status)
    group = np.asarray(group, dtype=np.int64)
    ng = int(group.max()) + 1 if group.size else 0
    if ng < 2:
        return None, max(ng - 1, 0), None
    ng1 = ng - 1
    m = np.where(status == 0, 0, np.where(status == cause, 1, 2))
    utime, inverse = np.unique(time, return_inverse=True)
    # d[u, k, j]: at unique time u, the number in group j censored (k = 0), failed from the
    # cause (1) or from another cause (2); leaving[u, j]: the number in group j at time u
    d = np.zeros((utime.size, 3, ng))
    np.add.at(d, (inverse, m, group), 1.0)
    leaving = d.sum(axis=1)
    rs = np.bincount(group, minlength=ng).astype(np.float64)

    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    f1m = np.zeros(ng)
    f1 = np.zeros(ng)
    skmm = np.ones(ng)
    skm = np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    fm = 0.0
    f = 0.0
    for u in range(utime.size):
        d0, d1, d2 = d[u]
        nd1, nd2 = d1.sum(), d2.sum()
        if nd1 > 0 or nd2 > 0:
            tr = 0.0
            tq = 0.0
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                td = d1[i] + d2[i]
                skm[i] = skmm[i] * (rs[i] - td) / rs[i]
                f1[i] = f1m[i] + (skmm[i] * d1[i]) / rs[i]
                tr += rs[i] / skmm[i]
                tq += rs[i] * (1 - f1m[i]) / skmm[i]
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = np.zeros((ng, ng))
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                t1 = rs[i] / skmm[i]
                a[i, i] = fb * t1 * (1 - t1 / tr)
                if a[i, i] != 0:
                    c[i, i] += a[i, i] * nd1 / (tr * (1 - fm))
                for j in range(i + 1, ng):
                    if rs[j] <= 0:
                        continue
                    a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                    if a[i, j] != 0:
                        c[i, j] += a[i, j] * nd1 / (tr * (1 - fm))
            for i in range(1, ng):
                for j in range(i):
                    a[i, j] = a[j, i]
                    c[i, j] = c[j, i]
            for i in range(ng1):
                if rs[i] > 0:
                    s[i] += fb * (d1[i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if rs[k] <= 0:
                        continue
                    t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = a[i, k] - t4 * c[i, k]
                        v2[i, k] += t1 * t4 * t3
                        for j in range(i + 1):
                            t2 = a[j, k] - t4 * c[j, k]
                            v[i, j] += t1 * t2 * t3
            if nd2 > 0:
                for k in range(ng):
                    if skm[k] <= 0 or d2[k] <= 0:
                        continue
                    t4 = (1 - f) / skm[k]
                    t5 = 1 - (d2[k] - 1.0) / (rs[k] - 1.0) if d2[k] > 1 else 1.0
                    t3 = t5 * ((skmm[k] ** 2) * d2[k]) / (rs[k] ** 2)
                    v3[k] += t4 * t4 * t3
                    for i in range(ng1):
                        t1 = t4 * c[i, k]
                        v2[i, k] -= t1 * t4 * t3
                        for j in range(i + 1):
                            t2 = t4 * c[j, k]
                            v[i, j] += t1 * t2 * t3
        if u == utime.size - 1:
            break
        rs -= leaving[u]
        fm = f
        f1m = f1.copy()
        skmm = skm.copy()
    for i in range(ng1):
        for j in range(i + 1):
            for k in range(ng):
                v[i, j] += c[i, k] * c[j, k] * v3[k]
                v[i, j] += c[i, k] * v2[j, k]
                v[i, j] += c[j, k] * v2[i, k]
    v = np.tril(v) + np.tril(v, -1).T
    if not np.all(np.isfinite(v)) or np.linalg.matrix_rank(v) < ng1:
        return None, ng1, None
    statistic = float(s @ np.linalg.solve(v, s))
    return statistic, ng1, float(chdtrc(ng1, statistic))


# --------------------------------------------------------------------------------------------
# The summaries of the relapse-incidence dataset
# --------------------------------------------------------------------------------------------



def _validate(dataset: pl.DataFrame, causes: Mapping[int, str]) -> pl.DataFrame:
    """``USUBJID`` (text, when present), ``AVAL`` (f64, >= 0) and ``EVENT`` (int: 0 or a cause)."""
    missing = [c for c in ("AVAL", "EVENT") if c not in dataset.columns]
    if missing:
        raise ValueError(f"the dataset is missing column(s) {', '.join(missing)}; required: AVAL, EVENT")
    frame = dataset.select(
        pl.col("USUBJID").cast(pl.String) if "USUBJID" in dataset.columns else pl.lit(None, pl.String).alias("USUBJID"),
        pl.col("AVAL").cast(pl.Float64, strict=False),
        pl.col("EVENT").cast(pl.Float64, strict=False),
    )
    allowed = [0.0, *(float(c) for c in causes)]
    aval = pl.col("AVAL")
    checks = (
        ("AVAL", aval.is_null() | ~aval.is_finite() | (aval < 0), "a number of days >= 0"),
        ("EVENT", pl.col("EVENT").is_null() | ~pl.col("EVENT").is_in(allowed), f"one of {[int(a) for a in allowed]}"),
    )
    for column, bad, what in checks:
        flags = frame.select(bad.fill_null(True)).to_series()
        if flags.any():
            row = int(flags.arg_max())  # type: ignore[arg-type]
            raise ValueError(f"column {column}, row {row} (0-based): value {dataset[column][row]!r} is not {what}")
    return frame.with_columns(pl.col("EVENT").cast(pl.Int64))


def _with_groups(frame: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the subject's ``group`` (``"(missing)"`` for a subject absent from it)."""
    return frame.with_columns(group_of(pl.col("USUBJID").cast(pl.String), groups).alias("group"))


def _summary_rows(
    time: np.ndarray,
    status: np.ndarray,
    causes: Mapping[int, str],
    marks: Sequence[float],
    days_per_month: float,
    confidence_level: float,
) -> dict[str, list]:
    rows: dict[str, list] = {c: [] for c in CUMINC_COLUMNS}
    days = np.array([m * days_per_month for m in marks], dtype=np.float64)
    for code, name in causes.items():
        curve = cif_curve(time, status, code)
        estimate, variance = cif_at(curve, days)
        lower, upper = cif_limits(estimate, variance, confidence_level)
        per_mark = list(zip(marks, estimate, variance, lower, upper, strict=True)) if marks else [(None,) * 5]
        for month, e, var, lo, up in per_mark:
            rows["cause"].append(name)
            rows["N"].append(curve.n)
            rows["events"].append(curve.events)
            rows["time_months"].append(month)
            for column, value in (("estimate", e), ("variance", var), ("lower", lo), ("upper", up)):
                rows[column].append(None if value is None or math.isnan(value) else float(value))
    return rows


def cuminc_summary(
    dataset: pl.DataFrame,
    *,
    groups: pl.DataFrame | None = None,
    landmarks_months: Sequence[float] = (6, 12, 24),
    days_per_month: float = 30.4375,
    confidence_level: float = 0.95,
    causes: Mapping[int, str] = CAUSES,
) -> pl.DataFrame:
    """The ``cuminc --format csv`` table (cli.md): one row per cause and landmark, with ``N``
    (the population), ``events`` (of the cause; repeated on each landmark row), the estimate,
    its variance and log(-log) limits at ``landmarks_months`` (in the order given; empty past
    the largest time, limits empty where the estimate is 0 or 1).

    ``dataset`` needs ``AVAL`` (days) and ``EVENT`` (0 censored, else a key of ``causes``), as
    :func:`cart19.engine.relapse.cir_dataset` writes it. With ``groups`` (``subject_id``,
    ``group``; joined on ``USUBJID``), a first column ``group`` and one block per group, sorted
    by its text; a subject absent from ``groups`` is in ``"(missing)"``.

    Raises ``ValueError`` naming the column and the first bad (0-based) row.
    """
    frame = _validate(dataset, causes)
    marks = tuple(float(m) for m in landmarks_months)
    if groups is None:
        rows = _summary_rows(
            frame["AVAL"].to_numpy(), frame["EVENT"].to_numpy(), causes, marks, days_per_month, confidence_level
        )
        return pl.DataFrame(rows, schema=CUMINC_SCHEMA)
    frame = _with_groups(frame, groups)
    blocks = []
    for name in sorted(frame["group"].unique().to_list()):
        part = frame.filter(pl.col("group") == name)
        rows = _summary_rows(
            part["AVAL"].to_numpy(), part["EVENT"].to_numpy(), causes, marks, days_per_month, confidence_level
        )
        blocks.append(pl.DataFrame(rows, schema=CUMINC_SCHEMA).select(pl.lit(name).alias("group"), pl.all()))
    if not blocks:
        return pl.DataFrame(schema={"group": pl.String(), **CUMINC_SCHEMA})
    return pl.concat(blocks)


def gray_tests(dataset: pl.DataFrame, groups: pl.DataFrame, *, causes: Mapping[int, str] = CAUSES) -> pl.DataFrame:
    """Gray's test per cause across the groups (``cuminc --tests``): ``cause, statistic, df,
    p_value`` (:func:`gray_test`; groups coded in the order of their text)."""
    frame = _with_groups(_validate(dataset, causes), groups)
    names = sorted(frame["group"].unique().to_list())
    code = frame["group"].replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64).to_numpy()
    time, status = frame["AVAL"].to_numpy(), frame["EVENT"].to_numpy()
    rows = [(name, *gray_test(time, status, code, cause)) for cause, name in causes.items()]
    return pl.DataFrame(rows, schema=GRAY_SCHEMA, orient="row")
