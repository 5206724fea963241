"""ADTTE as a submission dataset (cart19.engine.adam): its variables, a hand-worked patient, and
the example trial's XPT as R (haven) reads it (tests/fixtures/adam, made by read_xpt.R)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pyreadstat
import pytest

from cart19.config import Config, config_from_mapping
from cart19.engine.adam import adtte
from cart19.engine.tte import derive_adtte
from cart19.errors import ConfigError
from cart19.io.read import read_events
from cart19.io.submission import Provenance, Variable, define, write_xpt
from cart19.schema import events_frame
from tte_helpers import INFUSION, timeline

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "adam"

#: Every ADTTE variable: name, label, type; and the length the example trial gives it.
EXPECTED = [
    ("STUDYID", "Study Identifier", "string", 6),
    ("USUBJID", "Unique Subject Identifier", "string", 10),
    ("PARAMCD", "Parameter Code", "string", 5),
    ("PARAM", "Parameter", "string", 56),
    ("PARAMN", "Parameter (N)", "integer", 8),
    ("STARTDT", "Time to Event Origin Date for Subject", "date", 8),
    ("ADT", "Analysis Date", "date", 8),
    ("AVAL", "Analysis Value", "integer", 8),
    ("AVALU", "Analysis Value Unit", "string", 4),
    ("CNSR", "Censor", "integer", 8),
    ("EVNTDESC", "Event Description", "string", 108),
    ("CNSDTDSC", "Censor Date Description", "string", 35),
    ("SRCDOM", "Source Data", "string", 16),
    ("SRCSEQ", "Source Sequence Number", "integer", 8),
    ("ADTF", "Analysis Date Imputation Flag", "string", 1),
]


def example() -> tuple[pl.DataFrame, object]:
    events = read_events(str(ROOT / "examples" / "events.csv")).events
    return adtte(derive_adtte(events), Config())


def test_every_adtte_variable_has_its_name_label_type_length_and_a_derivation():
    frame, meta = example()
    variables = define("CART19", [(frame, meta)])["datasets"][0]["variables"]
    assert [(v["name"], v["label"], v["type"], v["length"]) for v in variables] == EXPECTED
    assert all(v["derivation"] for v in variables)
    assert [v["name"] for v in variables if v["format"]] == ["STARTDT", "ADT"]
    assert {v.name: v.key for v in meta.variables if v.key} == {"USUBJID": 1, "PARAMCD": 2}
    assert (meta.name, meta.label) == ("ADTTE", "Time-to-Event Analysis Dataset")


def test_derivations_name_the_rule_and_follow_the_configuration():
    config = config_from_mapping({"efs": {"window_days": 180}, "study": {"studyid": "TRIAL-9"}})
    frame, meta = adtte(derive_adtte(events_frame(timeline(INFUSION))), config)
    paramcd = meta.variable("PARAMCD").derivation
    assert "EFS: first of treatment failure dated at the start (day 1), relapse, death within 180 days" in paramcd
    assert "OS: death of any cause within 730 days" in paramcd
    assert paramcd.endswith("docs/endpoints.md")
    assert meta.variable("PARAMN").derivation.endswith("1 OS, 2 EFS, 3 EFSS1, 4 EFSS2, 5 EFSS3, 6 DOR, 7 RFS")
    assert frame.get_column("STUDYID").unique().to_list() == ["TRIAL-9"]


def test_a_study_id_is_printable_ascii_without_outer_blanks():
    for bad in ("", " X", "X ", "É1", "x" * 201):
        with pytest.raises(ConfigError, match="study.studyid"):
            config_from_mapping({"study": {"studyid": bad}})
    assert config_from_mapping({"study": {"studyid": "A 1-B/2"}}).study.studyid == "A 1-B/2"


def test_a_patient_who_dies_on_day_10_without_assessment():
    """Infused 2024-01-01, dead of toxicity 2024-01-10: OS and EFS events on day 10 (AVAL 10),
    EFSS1-3 the same, no DOR row (no response). STUDYID and PARAMN added around derive's row."""
    rows = timeline(INFUSION, ("death", "2024-01-10", "toxicity"))
    frame, _ = adtte(derive_adtte(events_frame(rows)), Config())
    got = frame.select("STUDYID", "USUBJID", "PARAMCD", "PARAMN", "ADT", "AVAL", "CNSR", "EVNTDESC").rows()
    death = ("CART19", "S1")
    day10 = dt.date(2024, 1, 10)
    assert got == [
        (*death, "OS", 1, day10, 10, 0, "Death (toxicity)"),
        (*death, "EFS", 2, day10, 10, 0, "Death (toxicity)"),
        (*death, "EFSS1", 3, day10, 10, 0, "Death (toxicity)"),
        (*death, "EFSS2", 4, day10, 10, 0, "Death (toxicity)"),
        (*death, "EFSS3", 5, day10, 10, 0, "Death (toxicity)"),
    ]


def test_srcvar_and_covariates_take_their_place_when_the_frame_has_them():
    base = derive_adtte(events_frame(timeline(INFUSION)))
    with_more = base.with_columns(pl.lit("EXSTDTC").alias("SRCVAR"), pl.lit(54, pl.Int64).alias("AGE"))
    age = Variable("AGE", "Age", "integer", "DM.AGE")
    frame, meta = adtte(with_more, Config(), covariates=[age])
    assert frame.columns[-4:] == ["SRCVAR", "SRCSEQ", "ADTF", "AGE"]
    assert meta.names == frame.columns
    assert "SRCVAR" not in adtte(base, Config())[0].columns


def test_example_xpt_read_back_by_pyreadstat_matches_what_r_read(tmp_path):
    """The same file R read (tests/fixtures/adam/adtte.xpt, rewritten here byte for byte),
    read with pyreadstat: the same values, labels, date formats and dataset label as haven's."""
    frame, meta = example()
    when = dt.datetime(2025, 6, 30)
    path = tmp_path / "adtte.xpt"
    write_xpt(frame, meta, path, Provenance("CART19", when, when, "cart19"))
    assert path.read_bytes() == (FIXTURES / "adtte.xpt").read_bytes()

    back, read = pyreadstat.read_xport(str(path), output_format="polars")
    text = back.with_columns(
        pl.col(pl.Date).dt.to_string("%Y-%m-%d"),
        pl.col(pl.Float64).cast(pl.Int64).cast(pl.String),
        pl.col(pl.String).replace("", None),
    )
    with open(FIXTURES / "r_values.csv", newline="", encoding="utf-8") as handle:
        r_rows = [[cell or None for cell in row] for row in csv.reader(handle)]
    assert r_rows[0] == back.columns
    assert [list(row) for row in text.rows()] == r_rows[1:]

    with open(FIXTURES / "r_attributes.csv", newline="", encoding="utf-8") as handle:
        r_attributes = list(csv.DictReader(handle))
    r_class = {"character": "string", "numeric": "number", "Date": "date"}
    ours = {"string": "string", "integer": "number", "date": "date"}
    assert [(a["name"], a["label"], r_class[a["class"]], a["format_sas"] or None) for a in r_attributes] == [
        (v.name, read.column_names_to_labels[v.name], ours[v.type], (read.original_variable_types[v.name] or "")
         .rstrip(".") or None)
        for v in meta.variables
    ]  # fmt: skip
    with open(FIXTURES / "r_dataset.csv", newline="", encoding="utf-8") as handle:
        (dataset,) = list(csv.DictReader(handle))
    assert (dataset["label"], int(dataset["rows"]), int(dataset["columns"])) == (read.file_label, *back.shape)
