"""Shared by the plot and report tests: the example trial, and a larger synthetic trial."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl

from cart19.schema import events_frame

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "events.csv"


def synthetic_trial(n: int, seed: int = 19) -> pl.DataFrame:
    """``n`` infused subjects with assessments, relapses, HSCT, new therapy, deaths of each
    cause and a few DLT-qualifying CRS records; deterministic for a seed."""
    rng = random.Random(seed)
    rows: list[dict] = []
    start = dt.date(2023, 1, 2)
    for i in range(n):
        sid = f"SYN-{i + 1:03d}"
        inf = start + dt.timedelta(days=7 * i)
        rows.append({"subject_id": sid, "event": "infusion", "date": inf})
        day = lambda d: inf + dt.timedelta(days=d)  # noqa: E731
        last = rng.randint(20, 700)
        if i % 5 == 0:  # grade 3 CRS for 5 days: a DLT
            rows.append({"subject_id": sid, "event": "ae", "date": day(2), "end_date": day(6), "grade": 3,
                         "term": "Cytokine release syndrome"})  # fmt: skip
        for d in (28, 90, 180, 270, 365):
            if d < last:
                rows.append({"subject_id": sid, "event": "assessment", "date": day(d),
                             "result": rng.choice(["CR", "CR", "CRi", "PR", "MLFS", "NR", "NE"])})  # fmt: skip
        if i % 7 == 3 and last > 100:
            rows.append({"subject_id": sid, "event": "relapse", "date": day(95),
                         "result": rng.choice(["hematologic", "extramedullary"])})  # fmt: skip
        if i % 9 == 4 and last > 120:
            rows.append({"subject_id": sid, "event": "hsct", "date": day(60)})
        if i % 6 == 2 and last > 130:
            rows.append({"subject_id": sid, "event": "new_therapy", "date": day(110)})
        if i % 4 == 1:
            cause = ("disease", "toxicity", "other", "unknown")[(i // 4) % 4]
            rows.append({"subject_id": sid, "event": "death", "date": day(last), "result": cause})
        else:
            rows.append({"subject_id": sid, "event": "contact", "date": day(last)})
    return events_frame(rows)
