"""ADSL, ADAE and ADRS (sdtm.md, "Writing ADaM"): metadata, a hand-worked trial, and `cart19 adam`.

The trial (lines as in a CSV with a header: the first record is line 2):

S1  2 enrolled 2023-12-20          S1  8 new_therapy 2024-03-01 (day 60)
S1  3 lymphodepletion 2023-12-27   S1  9 assessment 2024-03-15 PD (day 74, after the new therapy)
S1  4 infusion 2024-01-01          S1 10 ae 2024-05-01..05-03 Fatigue grade 1 (day 121: period 3)
S1  5 ae 2024-01-03..01-04 CRS grade 4, serious, related (day 2: period 1, DLT crs_grade4)
S1  6 assessment 2024-01-29 CR, MRD negative (day 28)
S1  7 ae 2024-02-15..02-20 Pneumonia grade 2 (day 45: period 2)
S1 11 death 2024-06 (day imputed: 2024-06-01), disease
S2 12 enrolled 2024-01-10          S2 13 withdrawal 2024-01-20 (never infused)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
import pyreadstat
import pytest
from conftest import run_cli

from cart19.config import Config
from cart19.engine import adam
from cart19.errors import InputError
from cart19.schema import events_frame

D = dt.date.fromisoformat
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path("/work/shared/standards/dataset-json/dataset.schema.json")
if not SCHEMA.exists():  # (the shared folder beside the repository, as test_adam_formats finds it)
    SCHEMA = ROOT.parent / "shared" / "standards" / "dataset-json" / "dataset.schema.json"
NO_EPOCH = {"SOURCE_DATE_EPOCH": "1751241600"}

ROWS = [
    {"subject_id": "S1", "event": "enrolled", "date": "2023-12-20"},
    {"subject_id": "S1", "event": "lymphodepletion", "date": "2023-12-27"},
    {"subject_id": "S1", "event": "infusion", "date": "2024-01-01"},
    {"subject_id": "S1", "event": "ae", "date": "2024-01-03", "end_date": "2024-01-04", "grade": 4,
     "term": "Cytokine release syndrome", "soc": "Immune system disorders", "serious": True, "related": True},
    {"subject_id": "S1", "event": "assessment", "date": "2024-01-29", "result": "CR", "mrd": "negative"},
    {"subject_id": "S1", "event": "ae", "date": "2024-02-15", "end_date": "2024-02-20", "grade": 2,
     "term": "Pneumonia", "soc": "Infections and infestations", "serious": False, "related": False},
    {"subject_id": "S1", "event": "new_therapy", "date": "2024-03-01"},
    {"subject_id": "S1", "event": "assessment", "date": "2024-03-15", "result": "PD"},
    {"subject_id": "S1", "event": "ae", "date": "2024-05-01", "end_date": "2024-05-03", "grade": 1,
     "term": "Fatigue", "soc": "General disorders and administration site conditions", "serious": False,
     "related": False},
    {"subject_id": "S1", "event": "death", "date": "2024-06-01", "date_imputed": True, "result": "disease"},
    {"subject_id": "S2", "event": "enrolled", "date": "2024-01-10"},
    {"subject_id": "S2", "event": "withdrawal", "date": "2024-01-20"},
]  # fmt: skip


def events() -> pl.DataFrame:
    return events_frame(ROWS)


def csv_rows() -> list[dict]:
    """The trial as an event file (the death's day left out: YYYY-MM)."""
    out = []
    for row in ROWS:
        row = {k: ({True: "Y", False: "N"}[v] if isinstance(v, bool) else v) for k, v in row.items()
               if k != "date_imputed"}
        if row["event"] == "death":
            row["date"] = "2024-06"
        out.append(row)
    return out


# --------------------------------------------------------------------------- metadata

ADSL_META = [
    ("STUDYID", "Study Identifier", "string"),
    ("USUBJID", "Unique Subject Identifier", "string"),
    ("SUBJID", "Subject Identifier for the Study", "string"),
    ("ENRLFL", "Enrolled Population Flag", "string"),
    ("SAFFL", "Safety Population Flag", "string"),
    ("DLTEVLFL", "DLT-Evaluable Population Flag", "string"),
    ("EFFFL", "Efficacy-Evaluable Population Flag", "string"),
    ("TRTSDT", "Date of First Exposure to Treatment", "date"),
    ("LDSTDT", "Lymphodepletion Start Date", "date"),
    ("EOTDT", "End of Treatment Date", "date"),
    ("HSCTDT", "Date of First HSCT after Infusion", "date"),
    ("NTHSTDT", "Date of First New Therapy after Infusion", "date"),
    ("DTHDT", "Date of Death", "date"),
    ("DTHDTF", "Date of Death Imputation Flag", "string"),
    ("DTHCAUS", "Cause of Death", "string"),
    ("LSTALVDT", "Date Last Known Alive", "date"),
    ("BOR", "Best Overall Response", "string"),
]
ADAE_META = [
    ("STUDYID", "Study Identifier", "string"),
    ("USUBJID", "Unique Subject Identifier", "string"),
    ("ASEQ", "Analysis Sequence Number", "integer"),
    ("AETERM", "Reported Term for the Adverse Event", "string"),
    ("AEDECOD", "Dictionary-Derived Term", "string"),
    ("AEBODSYS", "Body System or Organ Class", "string"),
    ("ASTDT", "Analysis Start Date", "date"),
    ("ASTDTF", "Analysis Start Date Imputation Flag", "string"),
    ("AENDT", "Analysis End Date", "date"),
    ("ASTDY", "Analysis Start Relative Day", "integer"),
    ("AENDY", "Analysis End Relative Day", "integer"),
    ("ADURN", "Analysis Duration (N)", "integer"),
    ("ATOXGR", "Analysis Toxicity Grade", "string"),
    ("AESER", "Serious Event", "string"),
    ("AEREL", "Causality", "string"),
    ("TRTEMFL", "Treatment Emergent Analysis Flag", "string"),
    ("DLTFL", "Dose-Limiting Toxicity Flag", "string"),
    ("DLTRULE", "DLT Rules Met", "string"),
    ("APERIOD", "Period", "integer"),
    ("SRCDOM", "Source Data", "string"),
    ("SRCSEQ", "Source Sequence Number", "integer"),
]
ADRS_META = [
    ("STUDYID", "Study Identifier", "string"),
    ("USUBJID", "Unique Subject Identifier", "string"),
    ("PARAMCD", "Parameter Code", "string"),
    ("PARAM", "Parameter", "string"),
    ("AVALC", "Analysis Value (C)", "string"),
    ("ADT", "Analysis Date", "date"),
    ("ADY", "Analysis Relative Day", "integer"),
    ("ANL01FL", "Analysis Flag 01", "string"),
    ("SRCDOM", "Source Data", "string"),
    ("SRCSEQ", "Source Sequence Number", "integer"),
]


@pytest.mark.parametrize(("variables", "expected"), [
    (adam.adsl_variables, ADSL_META), (adam.adae_variables, ADAE_META), (adam.adrs_variables, ADRS_META),
])  # fmt: skip
def test_every_variable_has_the_name_label_and_type_of_the_table(variables, expected):
    found = variables(Config())
    assert [(v.name, v.label, v.type) for v in found] == expected
    for v in found:
        assert len(v.label) <= 40 and len(v.name) <= 8
        assert v.derivation and "\n" not in v.derivation


# --------------------------------------------------------------------------- the hand-worked trial


def test_adsl_of_the_hand_worked_trial():
    frame, meta = adam.adsl(events(), Config(), studyid="ST1")
    assert frame.columns == meta.names
    s1, s2 = frame.rows(named=True)
    assert s1 == {
        "STUDYID": "ST1", "USUBJID": "S1", "SUBJID": "S1", "ENRLFL": "Y", "SAFFL": "Y", "DLTEVLFL": "Y",
        "EFFFL": "Y", "TRTSDT": D("2024-01-01"), "LDSTDT": D("2023-12-27"), "EOTDT": None, "HSCTDT": None,
        "NTHSTDT": D("2024-03-01"), "DTHDT": D("2024-06-01"), "DTHDTF": "D", "DTHCAUS": "disease",
        "LSTALVDT": D("2024-06-01"), "BOR": "CR",
    }  # fmt: skip
    # never infused: outside the safety set, no treatment date, no BOR
    assert s2 == {
        "STUDYID": "ST1", "USUBJID": "S2", "SUBJID": "S2", "ENRLFL": "Y", "SAFFL": "N", "DLTEVLFL": "N",
        "EFFFL": "N", "TRTSDT": None, "LDSTDT": None, "EOTDT": None, "HSCTDT": None, "NTHSTDT": None,
        "DTHDT": None, "DTHDTF": None, "DTHCAUS": None, "LSTALVDT": D("2024-01-20"), "BOR": None,
    }  # fmt: skip


def test_adae_of_the_hand_worked_trial():
    frame, meta = adam.adae(events(), Config(), studyid="ST1")
    assert frame.columns == meta.names
    got = frame.select("ASEQ", "AEDECOD", "ASTDY", "AENDY", "ADURN", "ATOXGR", "AESER", "AEREL", "TRTEMFL",
                       "DLTFL", "DLTRULE", "APERIOD", "SRCDOM", "SRCSEQ").rows()  # fmt: skip
    assert got == [
        (1, "Cytokine release syndrome", 2, 3, 2, "4", "Y", "Y", "Y", "Y", "crs_grade4", 1, "ae", 5),
        (2, "Pneumonia", 45, 50, 6, "2", "N", "N", "Y", None, None, 2, "ae", 7),
        (3, "Fatigue", 121, 123, 3, "1", "N", "N", "Y", None, None, 3, "ae", 10),
    ]
    assert frame.get_column("USUBJID").to_list() == ["S1"] * 3  # (S2 was never infused)


def test_adrs_of_the_hand_worked_trial():
    frame, meta = adam.adrs(events(), Config(), studyid="ST1")
    assert frame.columns == meta.names
    assert frame.drop("STUDYID", "USUBJID").rows() == [
        ("OVR", "Overall Response", "CR", D("2024-01-29"), 28, "Y", "assessment", 6),
        # after the new therapy of day 60: not response to the infusion
        ("OVR", "Overall Response", "PD", D("2024-03-15"), 74, None, "assessment", 9),
        ("BOR", "Best Overall Response", "CR", D("2024-01-29"), 28, None, "assessment", 6),
        ("MRDNEG", "MRD-Negative Remission", "Y", D("2024-01-29"), 28, None, "assessment", 6),
    ]


@settings(max_examples=15, deadline=None)
@given(st.permutations(range(len(ROWS))))
def test_row_order_never_changes_a_dataset(order):
    """The records in any order (each keeping its line) give the same ADSL, ADAE and ADRS."""
    numbered = [{**row, "line": i + 2} for i, row in enumerate(ROWS)]
    shuffled = events_frame([numbered[i] for i in order])
    for build in (adam.adsl, adam.adae, adam.adrs):
        assert build(shuffled, Config(), studyid="ST1")[0].equals(build(events(), Config(), studyid="ST1")[0])


# --------------------------------------------------------------------------- covariates


def test_covariates_are_upper_cased_and_follow_subjid():
    covariates = pl.DataFrame({"subject_id": ["S1", "S2"], "cohort": ["A", None], "Age": ["61", "47"]})
    renamed, meta = adam.covariate_variables(covariates, reserved=[v.name for v in adam.adsl_variables(Config())])
    assert [(v.name, v.label) for v in meta] == [("COHORT", "Covariate COHORT"), ("AGE", "Age")]
    frame, dataset = adam.adsl(events(), Config(), studyid="ST1", covariates=renamed, covariate_meta=meta)
    assert frame.columns[:5] == ["STUDYID", "USUBJID", "SUBJID", "COHORT", "AGE"]
    assert frame.select("COHORT", "AGE").rows() == [("A", "61"), (None, "47")]


def test_a_covariate_that_cannot_be_a_sas_name_is_an_error_for_xpt_only():
    covariates = pl.DataFrame({"subject_id": ["S1"], "dose_level": ["1"], "ok": ["x"]})
    with pytest.raises(InputError) as caught:
        adam.covariate_variables(covariates, fmt="xpt", source="subjects.csv")
    assert [(i.column, "at most 8" in i.message) for i in caught.value.errors] == [("dose_level", True)]
    _, meta = adam.covariate_variables(covariates, fmt="json")
    assert [v.name for v in meta] == ["DOSE_LEVEL", "OK"]
    for bad in ("2nd", "dose level"):
        with pytest.raises(InputError):
            adam.covariate_variables(pl.DataFrame({"subject_id": ["S1"], bad: ["1"]}), fmt="json")


def test_a_covariate_that_becomes_a_dataset_variable_or_another_covariate_is_an_error():
    with pytest.raises(InputError) as caught:
        adam.covariate_variables(pl.DataFrame({"subject_id": ["S1"], "bor": ["x"], "Arm": ["a"], "ARM": ["b"]}),
                                 reserved=["BOR"])  # fmt: skip
    assert [i.column for i in caught.value.errors] == ["bor", "ARM"]


# --------------------------------------------------------------------------- the command


def test_adam_writes_four_datasets_and_define_json_validated_against_cdisc(write_csv, tmp_path):
    subjects = tmp_path / "subjects.csv"
    subjects.write_text("subject_id,cohort\nS1,A\nS2,B\n", encoding="utf-8")
    out = tmp_path / "adam"
    result = run_cli("adam", write_csv(csv_rows()), "-o", out, "--format", "json", "--subjects", subjects,
                     env=NO_EPOCH)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = ["adsl.json", "adae.json", "adrs.json", "adtte.json", "define.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    definition = json.loads((out / "define.json").read_text(encoding="utf-8"))
    assert [(d["name"], d["records"]) for d in definition["datasets"]] == [
        ("ADSL", 2), ("ADAE", 3), ("ADRS", 4), ("ADTTE", 7),  # S1 (in CR): OS, EFS, EFSS1-3, DOR, RFS
    ]
    assert all(d["variables"] and all(v["derivation"] for v in d["variables"]) for d in definition["datasets"])
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for name in names[:4]:
        document = json.loads((out / name).read_text(encoding="utf-8"))
        validator.validate(document)
    adsl = json.loads((out / "adsl.json").read_text(encoding="utf-8"))
    columns = [c["name"] for c in adsl["columns"]]
    assert columns[:4] == ["STUDYID", "USUBJID", "SUBJID", "COHORT"]
    s1 = dict(zip(columns, adsl["rows"][0], strict=True))
    assert (s1["DTHDT"], s1["DTHDTF"], s1["COHORT"]) == ("2024-06-01", "D", "A")
    adtte = json.loads((out / "adtte.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in adtte["columns"]][-1] == "COHORT"


def test_adam_xpt_round_trips_through_pyreadstat(write_csv, tmp_path):
    result = run_cli("adam", write_csv(csv_rows()), "-o", tmp_path, "--format", "xpt", env=NO_EPOCH)
    assert result.exit_code == 0, result.stderr
    adsl, meta = pyreadstat.read_xport(str(tmp_path / "adsl.xpt"), output_format="polars")
    assert meta.table_name == "ADSL" and meta.file_label == "Subject-Level Analysis Dataset"
    assert meta.column_names == [name for name, _, _ in ADSL_META]
    assert meta.column_labels == [label for _, label, _ in ADSL_META]
    assert adsl.select("USUBJID", "SAFFL", "TRTSDT", "DTHDTF").rows() == [
        ("S1", "Y", D("2024-01-01"), "D"), ("S2", "N", None, ""),  # (SAS has no null text: blank)
    ]
    adae, _ = pyreadstat.read_xport(str(tmp_path / "adae.xpt"), output_format="polars")
    assert adae.select("DLTRULE", "APERIOD").rows() == [("crs_grade4", 1.0), ("", 2.0), ("", 3.0)]
    adrs, _ = pyreadstat.read_xport(str(tmp_path / "adrs.xpt"), output_format="polars")
    assert adrs.get_column("PARAMCD").to_list() == ["OVR", "OVR", "BOR", "MRDNEG"]


def test_the_sdtm_example_gives_adtte_with_srcvar_and_studyid_from_dm(tmp_path):
    result = run_cli("adam", ROOT / "examples" / "sdtm", "-o", tmp_path, "--format", "csv", "-q", env=NO_EPOCH)
    assert result.exit_code == 0, result.stderr
    adtte = pl.read_csv(tmp_path / "adtte.csv", infer_schema=False)
    assert adtte.columns.index("SRCVAR") == adtte.columns.index("SRCDOM") + 1
    efs = adtte.filter(pl.col("PARAMCD") == "EFS").row(0, named=True)
    assert (efs["SRCDOM"], efs["SRCVAR"]) == ("RS", "RSDTC")
    adae = pl.read_csv(tmp_path / "adae.csv", infer_schema=False)
    assert set(adae.get_column("SRCDOM").to_list()) == {"AE"}
    dm, _ = pyreadstat.read_xport(str(ROOT / "examples" / "sdtm" / "dm.xpt"), output_format="polars")
    assert set(adtte.get_column("STUDYID").to_list()) == set(dm.get_column("STUDYID").to_list())


# --------------------------------------------------------------------------- formats at the edge


def test_derive_writes_xpt_with_the_adtte_metadata(write_csv, tmp_path):
    target = tmp_path / "adtte.xpt"
    result = run_cli("derive", write_csv(csv_rows()), "-o", target, env=NO_EPOCH)
    assert result.exit_code == 0, result.stderr
    frame, meta = pyreadstat.read_xport(str(target), output_format="polars")
    assert meta.table_name == "ADTTE"
    assert frame.columns[:2] == ["STUDYID", "USUBJID"]
    assert frame.filter(pl.col("PARAMCD") == "OS").select("AVAL", "CNSR").rows() == [(153.0, 0.0)]  # 2024-01-01..06-01


@pytest.mark.parametrize(("command", "name"), [("derive", "adtte.xlsx"), ("km", "km.xpt"), ("response", "r.xpt"),
                                               ("derive", "adtte.out")])  # fmt: skip
def test_an_extension_the_command_cannot_write_is_an_error_before_any_work(write_csv, tmp_path, command, name):
    result = run_cli(command, write_csv(csv_rows()), "-o", tmp_path / name)
    assert result.exit_code == 2
    assert f"cannot write .{name.rsplit('.', 1)[1]} files" in result.stderr
    assert ".csv" in result.stderr and ".parquet" in result.stderr
    assert not (tmp_path / name).exists()


def test_an_unknown_extension_with_format_and_json_lines_stay_allowed(write_csv, tmp_path):
    source = write_csv(csv_rows())
    assert run_cli("derive", source, "-o", tmp_path / "adtte.out", "--format", "csv").exit_code == 0
    assert run_cli("derive", source, "-o", tmp_path / "adtte.json").exit_code == 0
    first = json.loads((tmp_path / "adtte.json").read_text(encoding="utf-8").splitlines()[0])  # JSON Lines
    assert first["USUBJID"] == "S1"
    assert run_cli("derive", source, "-o", tmp_path / "x.xpt", "--format", "csv").exit_code == 2


# --------------------------------------------------------------------------- as R reads them

FIXTURES = ROOT / "tests" / "fixtures" / "adam"


@pytest.mark.parametrize("name", ["adsl", "adae", "adrs"])
def test_example_xpt_read_back_by_pyreadstat_matches_what_r_read(tmp_path, name):
    """The example trial's dataset, written here, is byte for byte the file R (haven) read
    (tests/fixtures/adam, read_xpt.R); read back with pyreadstat it has R's values, labels,
    classes, SAS formats and dataset label."""
    import csv

    from cart19.io.read import read_events
    from cart19.io.submission import Provenance, write_xpt

    events = read_events(str(ROOT / "examples" / "events.csv")).events
    build = {"adsl": adam.adsl, "adae": adam.adae, "adrs": adam.adrs}[name]
    frame, meta = build(events, Config(), studyid="CART19")
    when = dt.datetime(2025, 6, 30)
    path = tmp_path / f"{name}.xpt"
    write_xpt(frame, meta, path, Provenance("CART19", when, when, "cart19"))
    assert path.read_bytes() == (FIXTURES / f"{name}.xpt").read_bytes()

    back, read = pyreadstat.read_xport(str(path), output_format="polars")
    text = back.with_columns(
        pl.col(pl.Date).dt.to_string("%Y-%m-%d"),
        pl.col(pl.Float64).cast(pl.Int64).cast(pl.String),
        pl.col(pl.String).replace("", None),
    )
    with open(FIXTURES / f"{name}_r_values.csv", newline="", encoding="utf-8") as handle:
        r_rows = [[cell or None for cell in row] for row in csv.reader(handle)]
    assert r_rows[0] == back.columns == meta.names
    assert [list(row) for row in text.rows()] == r_rows[1:]
    with open(FIXTURES / f"{name}_r_attributes.csv", newline="", encoding="utf-8") as handle:
        r_attributes = list(csv.DictReader(handle))
    r_class = {"character": "string", "numeric": "number", "Date": "date"}
    ours = {"string": "string", "integer": "number", "date": "date"}
    assert [(a["name"], a["label"], r_class[a["class"]], a["format_sas"] or None) for a in r_attributes] == [
        (v.name, v.label, ours[v.type], "DATE9" if v.type == "date" else None) for v in meta.variables
    ]
    with open(FIXTURES / f"{name}_r_dataset.csv", newline="", encoding="utf-8") as handle:
        (dataset,) = list(csv.DictReader(handle))
    assert (dataset["label"], int(dataset["rows"]), int(dataset["columns"])) == (meta.label, *back.shape)
