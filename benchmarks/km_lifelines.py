"""The pandas + lifelines script `cart19 km` is compared with (benchmarks/compare_lifelines.py).

    python benchmarks/km_lifelines.py ADTTE.csv [--by COLUMN] > summary.csv

What a statistician would write instead of `cart19 km`: per parameter (and group), N, events,
the median with its 95% CI, the survival at 6/12/24 months with its CI, and the median
follow-up by reverse Kaplan-Meier. It needs pandas and lifelines, which cart19 does not install.
"""

import sys

import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

by = sys.argv[sys.argv.index("--by") + 1] if "--by" in sys.argv else None
data = pd.read_csv(sys.argv[1], usecols=["PARAMCD", "AVAL", "CNSR"] + ([by] if by else []))
rows = []
for key, part in data.groupby(["PARAMCD"] + ([by] if by else []), sort=False):
    km = KaplanMeierFitter().fit(part["AVAL"], event_observed=part["CNSR"] == 0)
    ci = median_survival_times(km.confidence_interval_)
    follow = KaplanMeierFitter().fit(part["AVAL"], event_observed=part["CNSR"] == 1)
    for months in (6, 12, 24):
        day = months * 365.25 / 12
        rows.append({"key": key, "N": len(part), "events": int((part["CNSR"] == 0).sum()),
                     "median": km.median_survival_time_, "median_lower": ci.iloc[0, 0], "median_upper": ci.iloc[0, 1],
                     "time_months": months, "survival": float(km.predict(day)),
                     "survival_lower": float(km.confidence_interval_survival_function_.asof(day).iloc[0]),
                     "survival_upper": float(km.confidence_interval_survival_function_.asof(day).iloc[1]),
                     "followup_median": follow.median_survival_time_})
pd.DataFrame(rows).to_csv(sys.stdout, index=False)
