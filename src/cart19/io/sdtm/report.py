"""The mapping report in words: one line per domain (sdtm.md, ``cart19 events``).

``RS (rs.xpt): 312 read; 140 assessment, 12 relapse; left out: 160 RSTESTCD not OVRLRESP or MRD``
"""

from __future__ import annotations

import polars as pl


def report_lines(report: pl.DataFrame) -> list[str]:
    """The report frame (``domain, file, read, outcome, records``) as one line per domain."""
    lines = []
    for (domain,), rows in report.group_by("domain", maintain_order=True):
        first = rows.row(0, named=True)
        if first["file"] is None:
            lines.append(f"{domain}: {first['outcome']}")
            continue
        mapped = [f"{r['records']} {r['outcome']}" for r in rows.iter_rows(named=True)
                  if not r["outcome"].startswith("left out") and r["outcome"] != "no records"]  # fmt: skip
        left = [f"{r['records']} {r['outcome'].removeprefix('left out: ')}" for r in rows.iter_rows(named=True)
                if r["outcome"].startswith("left out")]  # fmt: skip
        parts = [f"{first['read']} read"]
        if mapped:
            parts.append(", ".join(mapped))
        if left:
            parts.append("left out: " + ", ".join(left))
        lines.append(f"{domain} ({first['file']}): " + "; ".join(parts))
    return lines
