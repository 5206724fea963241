"""The submission writers (cart19.io.submission): XPT v5, Dataset-JSON v1.1 (.json, .ndjson),
Parquet, CSV and define.json, on small hand-made datasets; and CDISC's own Dataset-JSON examples
read the way we write (shared/standards/dataset-json)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import jsonschema
import polars as pl
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart19.io.submission import (
    Dataset,
    Provenance,
    SubmissionError,
    Variable,
    check,
    dataset_json_bytes,
    dataset_ndjson_bytes,
    define,
    define_bytes,
    write_dataset,
    write_xpt,
)

#: CDISC's Dataset-JSON schemas and examples, in ``../shared`` beside the repository.
STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards" / "dataset-json"

D = dt.date.fromisoformat
WHEN = dt.datetime(2025, 6, 30, 12, 34, 56)
PROVENANCE = Provenance("STUDY1", WHEN, dt.datetime(2025, 6, 30), "Tester", ("cart19", "9.9"))

META = Dataset(
    "ADX",
    "A small test dataset",
    (
        Variable("USUBJID", "Unique Subject Identifier", "string", "subject", key=1),
        Variable("ADT", "Analysis Date", "date", "a date"),
        Variable("AVAL", "Analysis Value", "integer", "a count"),
        Variable("RATE", "A Rate", "double", "a ratio", format="8.3"),
        Variable("NOTE", "A Note", "string", "free text"),
    ),
)


def frame() -> pl.DataFrame:
    """Three records: a date before SAS's epoch (1960-01-01), a missing value of every type,
    non-ASCII text (é is 2 bytes in UTF-8)."""
    return pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3"],
            "ADT": [D("2024-02-29"), D("1959-12-31"), None],
            "AVAL": [1, None, 365],
            "RATE": [0.5, 1.25, None],
            "NOTE": ["évènement", None, ""],
        },
        schema={"USUBJID": pl.String, "ADT": pl.Date, "AVAL": pl.Int64, "RATE": pl.Float64, "NOTE": pl.String},
    )


def schema(name: str) -> dict:
    raw = (STANDARDS / name).read_bytes()
    return json.loads(raw.decode("utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"))


def ndjson_metadata_validator() -> jsonschema.Draft201909Validator:
    """CDISC's NDJSON schema validates the first line (the metadata). As published it refers to
    ``#/$defs/Column`` and ``#/$defs/SourceSystem``, which it nests under other names; they are
    put where the references look, unchanged."""
    spec = schema("dataset-ndjson-schema.json")
    nested = spec["$defs"]["DatasetMetadata"]["properties"]
    spec["$defs"]["Column"] = nested["columns"]["items"]["Column"]
    spec["$defs"]["DataTypesEnum"] = nested["columns"]["items"]["DataTypesEnum"]
    spec["$defs"]["SourceSystem"] = nested["sourceSystem"]["SourceSystem"]
    return jsonschema.Draft201909Validator(spec)


# --------------------------------------------------------------------------- XPT


def test_xpt_round_trip_keeps_values_labels_formats_and_the_dataset_label(tmp_path):
    path = tmp_path / "adx.xpt"
    write_xpt(frame(), META, path, PROVENANCE)
    back, meta = pyreadstat.read_xport(str(path), output_format="polars")
    assert meta.table_name == "ADX"
    assert meta.file_label == "A small test dataset"
    assert meta.column_names_to_labels == {
        "USUBJID": "Unique Subject Identifier", "ADT": "Analysis Date", "AVAL": "Analysis Value",
        "RATE": "A Rate", "NOTE": "A Note",
    }  # fmt: skip
    assert meta.original_variable_types == {
        "USUBJID": None, "ADT": "DATE9.", "AVAL": None, "RATE": "8.3", "NOTE": None,
    }  # fmt: skip
    assert meta.creation_time == WHEN and meta.modification_time == WHEN
    # numbers come back as SAS doubles; text nulls as SAS's blank
    assert back.to_dicts() == [
        {"USUBJID": "S1", "ADT": D("2024-02-29"), "AVAL": 1.0, "RATE": 0.5, "NOTE": "évènement"},
        {"USUBJID": "S2", "ADT": D("1959-12-31"), "AVAL": None, "RATE": 1.25, "NOTE": ""},
        {"USUBJID": "S3", "ADT": None, "AVAL": 365.0, "RATE": None, "NOTE": ""},
    ]


def test_xpt_dates_are_sas_day_numbers_from_1960(tmp_path):
    path = tmp_path / "adx.xpt"
    write_xpt(frame(), META, path, PROVENANCE)
    raw, _ = pyreadstat.read_xport(str(path), output_format="polars", disable_datetime_conversion=True)
    # 2024-02-29: 64 years of 365 days + 16 leap days (1960, 1964, ..., 2020) + 31 (January)
    # + 28 = 23435 days after 1960-01-01; 1959-12-31 is day -1
    assert raw.get_column("ADT").to_list() == [23435.0, -1.0, None]


def test_xpt_header_stamps_are_the_given_time_so_the_bytes_repeat(tmp_path):
    first, second = tmp_path / "a.xpt", tmp_path / "b.xpt"
    write_xpt(frame(), META, first, PROVENANCE)
    write_xpt(frame(), META, second, PROVENANCE)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data.count(b"30JUN25:12:34:56") == 4  # library and member, created and modified


def test_a_value_over_200_bytes_is_an_error_naming_dataset_variable_and_record(tmp_path):
    # 100 two-byte characters are 200 bytes (allowed); 101 are 202
    table = frame().with_columns(pl.Series("NOTE", ["é" * 100, "x" * 201, "é" * 101]))
    with pytest.raises(SubmissionError) as caught:
        write_xpt(table, META, tmp_path / "adx.xpt", PROVENANCE)
    assert not (tmp_path / "adx.xpt").exists()
    issues = caught.value.errors
    assert [(i.column, i.message) for i in issues] == [
        ("NOTE", "record 2 of ADX: 201 bytes; XPT allows at most 200"),
        ("NOTE", "record 3 of ADX: 202 bytes; XPT allows at most 200"),
    ]
    assert caught.value.source == "ADX (xpt)"
    # the other formats have no such limit
    check(table, META, "json")


def test_overlong_labels_are_errors_in_every_format_overlong_names_in_xpt():
    long_label = "An analysis value label, 41 characters: " + "x"
    assert len(long_label) == 41
    meta = Dataset(
        "ADVERYLONG",
        "x" * 41,
        (Variable("USUBJIDXX", "ok", "string", "d"), Variable("AVAL", long_label, "integer", "d"),
         Variable("aval2", "ok", "integer", "d")),
    )  # fmt: skip
    table = pl.DataFrame({"USUBJIDXX": ["S1"], "AVAL": [1], "aval2": [2]})
    with pytest.raises(SubmissionError) as caught:
        check(table, meta, "xpt")
    assert [(i.column, i.value) for i in caught.value.errors] == [
        (None, "ADVERYLONG"), (None, "x" * 41), ("USUBJIDXX", "USUBJIDXX"), ("AVAL", long_label),
        ("aval2", "aval2"),
    ]  # fmt: skip
    for fmt in ("json", "ndjson", "parquet", "csv"):  # (names longer than 8: XPT's limit alone)
        with pytest.raises(SubmissionError) as caught:
            check(table, meta, fmt)
        assert [(i.column, i.value) for i in caught.value.errors] == [
            (None, "x" * 41), ("AVAL", long_label), ("aval2", "aval2"),
        ]  # fmt: skip


def test_a_label_of_exactly_40_and_a_name_of_exactly_8_are_allowed(tmp_path):
    meta = Dataset("ADABCDEF", "y" * 40, (Variable("ABCDEFGH", "z" * 40, "integer", "d"),))
    write_xpt(pl.DataFrame({"ABCDEFGH": [1]}), meta, tmp_path / "a.xpt", PROVENANCE)
    _, read = pyreadstat.read_xport(str(tmp_path / "a.xpt"), metadataonly=True, output_format="polars")
    assert (read.table_name, read.file_label, read.column_labels) == ("ADABCDEF", "y" * 40, ["z" * 40])


def test_a_frame_that_disagrees_with_its_metadata_is_a_programming_error():
    with pytest.raises(ValueError, match="columns"):
        check(frame().drop("NOTE"), META, "csv")
    with pytest.raises(ValueError, match="cannot be a date"):
        check(frame().with_columns(pl.col("ADT").cast(pl.String)), META, "csv")


# --------------------------------------------------------------------------- Dataset-JSON


def test_dataset_json_has_the_v1_1_attributes_columns_and_rows():
    document = json.loads(dataset_json_bytes(frame(), META, PROVENANCE))
    assert {k: v for k, v in document.items() if k not in ("columns", "rows")} == {
        "datasetJSONCreationDateTime": "2025-06-30T12:34:56",
        "datasetJSONVersion": "1.1.0",
        "fileOID": "cart19/STUDY1/adx",
        "dbLastModifiedDateTime": "2025-06-30T00:00:00",
        "originator": "Tester",
        "sourceSystem": {"name": "cart19", "version": "9.9"},
        "studyOID": "STUDY1",
        "metaDataVersionOID": "MDV.STUDY1",
        "metaDataRef": "define.json",
        "itemGroupOID": "IG.ADX",
        "records": 3,
        "name": "ADX",
        "label": "A small test dataset",
    }
    assert document["columns"] == [
        {"itemOID": "IT.ADX.USUBJID", "name": "USUBJID", "label": "Unique Subject Identifier", "dataType": "string",
         "length": 2, "keySequence": 1},
        {"itemOID": "IT.ADX.ADT", "name": "ADT", "label": "Analysis Date", "dataType": "date",
         "targetDataType": "integer", "displayFormat": "DATE9."},
        {"itemOID": "IT.ADX.AVAL", "name": "AVAL", "label": "Analysis Value", "dataType": "integer"},
        {"itemOID": "IT.ADX.RATE", "name": "RATE", "label": "A Rate", "dataType": "double", "displayFormat": "8.3"},
        {"itemOID": "IT.ADX.NOTE", "name": "NOTE", "label": "A Note", "dataType": "string", "length": 11},
    ]  # fmt: skip
    assert document["rows"] == [
        ["S1", "2024-02-29", 1, 0.5, "évènement"],
        ["S2", "1959-12-31", None, 1.25, None],
        ["S3", None, 365, None, ""],
    ]


def test_a_double_nan_is_null_in_json():
    table = frame().with_columns(pl.Series("RATE", [float("nan"), 2.0, None]))
    assert [row[3] for row in json.loads(dataset_json_bytes(table, META, PROVENANCE))["rows"]] == [None, 2.0, None]


def test_dataset_json_validates_against_cdisc_schema():
    validator = jsonschema.Draft201909Validator(schema("dataset.schema.json"))
    validator.validate(json.loads(dataset_json_bytes(frame(), META, PROVENANCE)))
    # and an empty dataset
    validator.validate(json.loads(dataset_json_bytes(frame().clear(), META, PROVENANCE)))


def test_ndjson_first_line_is_the_metadata_then_one_row_per_line():
    lines = dataset_ndjson_bytes(frame(), META, PROVENANCE).decode("utf-8").splitlines()
    first, rows = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    ndjson_metadata_validator().validate(first)
    jsonschema.Draft201909Validator(schema("dataset-ndjson-schema.json")["$defs"]["DatasetMetadata"]).validate(first)
    assert "rows" not in first and first["records"] == 3 == len(rows)
    assert all(isinstance(row, list) for row in rows)
    # the same document as the .json form
    assert first | {"rows": rows} == json.loads(dataset_json_bytes(frame(), META, PROVENANCE))


def test_the_same_input_gives_the_same_bytes_in_every_format(tmp_path):
    for fmt in ("xpt", "json", "ndjson", "parquet", "csv"):
        write_dataset(frame(), META, fmt, tmp_path / f"a.{fmt}", PROVENANCE)
        write_dataset(frame(), META, fmt, tmp_path / f"b.{fmt}", PROVENANCE)
        assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes(), fmt


def test_parquet_and_csv_are_the_frame_and_parquet_carries_the_metadata(tmp_path):
    write_dataset(frame(), META, "parquet", tmp_path / "a.parquet", PROVENANCE)
    write_dataset(frame(), META, "csv", tmp_path / "a.csv", PROVENANCE)
    assert pl.read_parquet(tmp_path / "a.parquet").equals(frame())
    stored = json.loads(pl.read_parquet_metadata(tmp_path / "a.parquet")["dataset_json"])
    assert stored["columns"][1]["displayFormat"] == "DATE9." and "rows" not in stored
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").splitlines() == [
        "USUBJID,ADT,AVAL,RATE,NOTE", "S1,2024-02-29,1,0.5,évènement", "S2,1959-12-31,,1.25,", 'S3,,365,,""',
    ]  # fmt: skip


def test_define_lists_every_variable_with_type_length_format_and_derivation():
    assert define("STUDY1", [(frame(), META)]) == {
        "studyid": "STUDY1",
        "datasets": [
            {
                "name": "ADX",
                "label": "A small test dataset",
                "records": 3,
                "variables": [
                    {"name": "USUBJID", "label": "Unique Subject Identifier", "type": "string", "length": 2,
                     "format": None, "derivation": "subject"},
                    {"name": "ADT", "label": "Analysis Date", "type": "date", "length": 8, "format": "DATE9.",
                     "derivation": "a date"},
                    {"name": "AVAL", "label": "Analysis Value", "type": "integer", "length": 8, "format": None,
                     "derivation": "a count"},
                    {"name": "RATE", "label": "A Rate", "type": "double", "length": 8, "format": "8.3",
                     "derivation": "a ratio"},
                    {"name": "NOTE", "label": "A Note", "type": "string", "length": 11, "format": None,
                     "derivation": "free text"},
                ],
            }
        ],
    }  # fmt: skip
    assert define_bytes("STUDY1", [(frame(), META)]) == define_bytes("STUDY1", [(frame(), META)])


def test_an_empty_text_column_has_length_1():
    empty = frame().clear()
    assert define("S", [(empty, META)])["datasets"][0]["variables"][0]["length"] == 1


# --------------------------------------------------------------------------- CDISC's examples


def test_cdisc_example_files_validate_and_agree_with_each_other():
    """adtte.json, adtte.ndjson and adtte.xpt are one dataset: the .json validates against the
    schema; the .ndjson is the same metadata and rows; read with pyreadstat, the .xpt has the
    same names, labels and values (dates as the ISO text of the SAS date, blanks as null), so
    our reading of the format is CDISC's."""
    document = json.loads((STANDARDS / "adtte.json").read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator(schema("dataset.schema.json")).validate(document)
    lines = (STANDARDS / "adtte.ndjson").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    ndjson_metadata_validator().validate(first)
    assert first == {k: v for k, v in document.items() if k != "rows"}
    assert [json.loads(line) for line in lines[1:]] == document["rows"]
    assert document["records"] == len(document["rows"]) == 254

    xpt, meta = pyreadstat.read_xport(str(STANDARDS / "adtte.xpt"), output_format="polars")
    columns = document["columns"]
    assert xpt.columns == [c["name"] for c in columns]
    # CDISC's .xpt and .json differ in two labels (and only there)
    labels = {c["name"]: c["label"] for c in columns}
    assert (labels["STARTDT"], labels["SRCDOM"]) == ("Time to Event Origin Date for Subject", "Source Domain")
    assert meta.column_names_to_labels == labels | {
        "STARTDT": "Time-to-Event Origin Date for Subject", "SRCDOM": "Source Data"
    }
    dates = [c["name"] for c in columns if c["dataType"] == "date"]
    assert dates == ["TRTSDT", "TRTEDT", "STARTDT", "ADT"]
    assert all(meta.original_variable_types[name] == "DATE9." for name in dates)
    texts = [c["name"] for c in columns if c["dataType"] == "string"]
    as_json = xpt.with_columns(
        pl.col(dates).dt.to_string("%Y-%m-%d"),
        *(pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in texts),
    )
    integers = [c["name"] for c in columns if c["dataType"] == "integer"]
    as_json = as_json.with_columns(pl.col(integers).cast(pl.Int64))
    assert [list(row) for row in as_json.rows()] == document["rows"]


def test_cdisc_example_metadata_uses_the_attributes_we_write():
    """Our top-level attributes and column keys are the ones CDISC's examples use, in their order."""
    example = json.loads((STANDARDS / "adtte.json").read_text(encoding="utf-8"))
    ours = json.loads(dataset_json_bytes(frame(), META, PROVENANCE))
    assert list(ours) == list(example)
    date_column = next(c for c in example["columns"] if c["name"] == "ADT")
    ours_date = next(c for c in ours["columns"] if c["name"] == "ADT")
    assert {k: v for k, v in ours_date.items() if k not in ("itemOID",)} == {
        k: v for k, v in date_column.items() if k not in ("itemOID",)
    }


def test_an_integer_a_double_cannot_hold_exactly_is_an_xpt_error():
    table = frame().with_columns(pl.Series("AVAL", [2**53, -(2**53) - 1, None]))
    with pytest.raises(SubmissionError) as caught:
        check(table, META, "xpt")
    assert [(i.column, i.value, i.message) for i in caught.value.errors] == [
        ("AVAL", str(-(2**53) - 1),
         "record 2 of ADX: XPT stores numbers as doubles, exact only up to 2**53 = 9007199254740992"),
    ]  # fmt: skip
    check(table, META, "json")


def test_a_column_without_a_type_is_a_programming_error():
    with pytest.raises(ValueError, match="cannot be a string"):
        check(frame().with_columns(pl.lit(None).alias("NOTE")), META, "csv")


# --------------------------------------------------------------------------- properties

_TEXT = st.text(alphabet="ABCxyz09 -_/éü中", max_size=40).map(str.rstrip)  # SAS drops trailing blanks
_ROWS = st.lists(
    st.tuples(
        st.text(alphabet="S0123456789", min_size=1, max_size=8),
        st.none() | st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
        st.none() | st.integers(-(10**12), 10**12),
        st.none() | st.floats(-1e6, 1e6, allow_nan=False, width=32).map(float),
        st.none() | _TEXT,
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ROWS)
def test_any_dataset_reads_back_from_xpt_and_dataset_json_as_written(rows):
    table = pl.DataFrame(rows, schema=frame().schema, orient="row")
    document = json.loads(dataset_json_bytes(table, META, PROVENANCE))
    iso = [[None if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in rows]
    assert document["rows"] == iso and document["records"] == len(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "adx.xpt"
        write_xpt(table, META, path, PROVENANCE)
        back, _ = pyreadstat.read_xport(str(path), output_format="polars")
    expected = [(s, d, None if n is None else float(n), x, t or "") for s, d, n, x, t in rows]
    got = back.rows()
    assert [row[:3] + row[4:] for row in got] == [row[:3] + row[4:] for row in expected]
    # doubles go through IBM floating point: equal to about 14 significant digits
    assert all(g[3] == pytest.approx(e[3], rel=1e-14, abs=0) if e[3] is not None else g[3] is None
               for g, e in zip(got, expected, strict=True))  # fmt: skip
