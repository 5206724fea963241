"""Tests of equality between the survival curves of groups (efficacy.md, "Subgroups and
cohorts"): the log-rank test, as R ``survival::survdiff`` computes it (``rho = 0``)::

    survdiff(Surv(AVAL, 1 - CNSR) ~ group)

checked against R in ``tests/fixtures/logrank``.

* At each distinct event time ``t`` (all groups pooled): ``n`` at risk, ``d`` events; in group
  ``g``: ``n_g`` at risk, ``d_g`` events. Expected ``E_g = sum_t d n_g / n``, observed
  ``O_g = sum_t d_g``.
* Variance (hypergeometric), ``V_gh = sum_t d (n - d) / (n - 1) (n_g / n) (delta_gh - n_h / n)``;
  a time with ``n = 1`` adds nothing.
* Groups with ``E_g = 0`` (never at risk at an event time) are left out, as survdiff does;
  with ``k`` groups left, ``df = k - 1`` and the statistic is ``(O - E)' V^-1 (O - E)`` over
  all groups but the first, a chi-square on ``df`` degrees of freedom (p-value from scipy).
* Fewer than two groups left: statistic 0, df 0 and a null p-value (R prints the chi-square
  0 on 0 df, whose p-value means nothing).
* A singular variance matrix (a group at risk only when it is alone at risk): R stops with an
  error; here the Moore-Penrose inverse is used and df is the matrix's rank.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cart19.engine.km import _codes, _validate, order_paramcds

__all__ = ["LOGRANK_COLUMNS", "logrank", "logrank_tests"]

#: ``km --by COL --tests --format csv`` (cli.md).
LOGRANK_COLUMNS: tuple[str, ...] = ("PARAMCD", "statistic", "df", "p_value")


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, int, float | None]:
    """``(statistic, df, p_value)`` of the log-rank test of one sample: ``time`` >= 0, ``event``
    1/0, ``group`` a label per row (any values that sort)."""
    from scipy.special import chdtrc  # chi2.sf, without importing scipy.stats (0.3-0.7 s)

    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=np.float64)
    labels, g = np.unique(np.asarray(group), return_inverse=True)
    k = labels.size
    event_times = np.unique(time[event > 0])
    if k < 2 or event_times.size == 0:
        return 0.0, 0, None
    # at risk per group at each event time: subjects with time >= t
    at_risk = np.empty((k, event_times.size))
    deaths = np.empty((k, event_times.size))
    for j in range(k):
        mine = time[g == j]
        sorted_times = np.sort(mine)
        at_risk[j] = sorted_times.size - np.searchsorted(sorted_times, event_times, side="left")
        died = np.sort(mine[event[g == j] > 0])
        deaths[j] = np.searchsorted(died, event_times, side="right") - np.searchsorted(died, event_times, side="left")
    n = at_risk.sum(axis=0)
    d = deaths.sum(axis=0)
    share = at_risk / n
    expected = (d * share).sum(axis=1)
    observed = deaths.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    # V = sum_t w_t (diag(p_t) - p_t p_t')
    variance = np.diag((weight * share).sum(axis=1)) - (share * weight) @ share.T
    keep = expected > 0
    if keep.sum() < 2:
        return 0.0, 0, None
    diff = (observed - expected)[keep][1:]
    v = variance[np.ix_(keep, keep)][1:, 1:]
    df = int(keep.sum()) - 1
    try:
        statistic = float(np.sum(np.linalg.solve(v, diff) * diff))
    except np.linalg.LinAlgError:  # R stops here ("exactly singular"): a generalised inverse instead
        statistic = float(diff @ np.linalg.pinv(v) @ diff)
        df = int(np.linalg.matrix_rank(v))
        if df == 0:
            return 0.0, 0, None
    return statistic, df, float(chdtrc(df, statistic))


def logrank_tests(adtte: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per parameter of an ADTTE-shaped table (``PARAMCD``, ``AVAL``, ``CNSR``), the log-rank
    test between the values of the column ``by`` (an empty value is a group of its own):
    ``PARAMCD, statistic, df, p_value``, parameters in the order of :func:`order_paramcds`."""
    data = _validate(adtte, by)
    param, param_names = _codes(data.get_column("PARAMCD"))
    group, _ = _codes(data.get_column("group"))  # (integers: fast to sort and compare)
    order = np.argsort(param, kind="stable")
    param, group = param[order], group[order]
    time, event = data.get_column("AVAL").to_numpy()[order], data.get_column("EVENT").to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, param[1:] != param[:-1]])
    where = {param_names[param[s]]: (s, e) for s, e in zip(starts, np.r_[starts[1:], param.size], strict=True)}
    rows: dict[str, list] = {name: [] for name in LOGRANK_COLUMNS}
    for code in order_paramcds(list(where)):
        s, e = where[code]
        statistic, df, p_value = logrank(time[s:e], event[s:e], group[s:e])
        rows["PARAMCD"].append(code)
        rows["statistic"].append(statistic)
        rows["df"].append(df)
        rows["p_value"].append(p_value)
    schema = {"PARAMCD": pl.String(), "statistic": pl.Float64(), "df": pl.Int64(), "p_value": pl.Float64()}
    return pl.DataFrame(rows, schema=schema)
