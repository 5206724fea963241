"""Write small SDTM folders for the tests: domain rows as dicts, in any of the formats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl


def domain_frame(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    return pl.DataFrame([{n: row.get(n) for n in names} for row in rows], schema=dict.fromkeys(names, pl.String),
                        orient="row")  # fmt: skip


def write_domain(folder: Path, name: str, rows: Sequence[Mapping[str, object]], fmt: str = "csv") -> Path:
    """``rows`` (dicts of text) as ``folder/<name>.<fmt>``; ``name`` keeps its case."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = domain_frame(rows)
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "parquet":
        frame.write_parquet(path)
    elif fmt == "xpt":
        import pyreadstat

        pyreadstat.write_xport(frame.with_columns(pl.all().fill_null("")), str(path), table_name=name.upper()[:8],
                               file_format_version=5)  # fmt: skip
    elif fmt in ("json", "ndjson"):
        meta = {"datasetJSONVersion": "1.1.0", "name": name.upper(), "records": frame.height,
                "columns": [{"itemOID": f"IT.{c}", "name": c, "label": c, "dataType": "string"} for c in frame.columns]}  # fmt: skip
        rows_out = [list(r) for r in frame.iter_rows()]
        if fmt == "json":
            path.write_text(json.dumps({**meta, "rows": rows_out}), encoding="utf-8")
        else:
            path.write_text("\n".join(json.dumps(x) for x in [meta, *rows_out]) + "\n", encoding="utf-8")
    else:  # pragma: no cover
        raise ValueError(fmt)
    return path


def write_study(folder: Path, domains: Mapping[str, Sequence[Mapping[str, object]]], fmt: str = "csv") -> Path:
    for name, rows in domains.items():
        write_domain(folder, name, rows, fmt)
    return folder


def dm(*subjects: str, **extra: object) -> list[dict[str, object]]:
    """DM rows, consent on 2024-01-02; ``extra``: USUBJID -> dict of more variables."""
    return [{"STUDYID": "S1", "DOMAIN": "DM", "USUBJID": s, "RFICDTC": "2024-01-02", **extra.get(s, {})}  # type: ignore[dict-item]
            for s in subjects]  # fmt: skip


def ex_infusion(subject: str, date: str = "2024-02-01", seq: int = 2) -> dict[str, object]:
    return {"USUBJID": subject, "EXSEQ": str(seq), "EXTRT": "CD19 CAR-T", "EXCAT": "STUDY PRODUCT", "EXSTDTC": date}


def ex_fludarabine(subject: str, date: str = "2024-01-27", seq: int = 1) -> dict[str, object]:
    return {"USUBJID": subject, "EXSEQ": str(seq), "EXTRT": "FLUDARABINE", "EXCAT": "LYMPHODEPLETION", "EXSTDTC": date}
