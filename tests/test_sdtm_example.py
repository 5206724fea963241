"""The example trial as SDTM (examples/sdtm, written by examples/make_sdtm.py) tells the same
story as examples/events.csv: the same events, and the same endpoints."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cart19.io.read import read_events
from cart19.io.sdtm import read_sdtm
from conftest import run_cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_sdtm_example_maps_to_the_events_of_the_event_file():
    columns = [c for c in read_events(EXAMPLES / "events.csv").events.columns if c != "line"]
    expected = read_events(EXAMPLES / "events.csv").events.select(columns).sort(columns, nulls_last=True)
    mapped = read_sdtm(EXAMPLES / "sdtm").events.select(columns).sort(columns, nulls_last=True)
    assert mapped.schema == expected.schema  # (the kind an Enum from either reader: schema.EVENT_KIND)
    assert mapped.equals(expected)


def test_deriving_from_the_sdtm_example_gives_the_endpoints_of_the_event_file():
    cols = ["USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR"]
    from_sdtm = run_cli("derive", EXAMPLES / "sdtm", "--format", "csv", "--quiet")
    from_file = run_cli("derive", EXAMPLES / "events.csv", "--format", "csv", "--quiet")
    assert from_sdtm.exit_code == from_file.exit_code == 0
    a, b = (pl.read_csv(r.stdout.encode()).select(cols) for r in (from_sdtm, from_file))
    assert a.height == 85  # 14 infused x (OS + 4 EFS) + 8 DOR + 7 RFS (examples/README.md)
    assert a.equals(b)
    # and every date names an SDTM record
    traced = pl.read_csv(from_sdtm.stdout.encode())
    assert set(traced.get_column("SRCDOM")) <= {"DM", "EX", "RS", "AE", "CM", "PR", "DS", "SV"}
    assert traced.get_column("SRCVAR").null_count() == 0
