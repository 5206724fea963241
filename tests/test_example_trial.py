"""The example trial (examples/events.csv) against the outcomes worked out by hand in
examples/README.md. The README's table is the single source of the expectations: it is parsed
here, so the documentation and the tests cannot drift apart."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from cart19.model import ASSESSMENT_RESULTS, DEATH_CAUSES, EVENT_KINDS, RELAPSE_SITES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EVENTS = EXAMPLES / "events.csv"
PARAMS = ("OS", "EFS", "EFSS1", "EFSS2", "EFSS3", "DOR", "RFS")
_CELL = re.compile(r"^(?:from (?P<start>\d{4}-\d{2}-\d{2}): )?(?P<flag>[EC]) (?P<adt>\d{4}-\d{2}-\d{2}) \((?P<aval>\d+)\)")


def _expected_table() -> dict[tuple[str, str], dict]:
    """{(subject, PARAMCD): {"CNSR", "ADT", "AVAL", "STARTDT"}} from the README's table."""
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    section = text.split("## Expected time-to-event outcomes (defaults)", 1)[1].split("\n## ", 1)[0]
    expected: dict[tuple[str, str], dict] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(PARAMS) or not cells[0].startswith("CART19-"):
            continue
        subject, infusion = cells[0], cells[1]
        for paramcd, cell in zip(PARAMS, cells[2:], strict=True):
            match = _CELL.match(cell)
            if match is None:
                continue  # "—": no row for this parameter
            expected[(subject, paramcd)] = {
                "CNSR": 0 if match["flag"] == "E" else 1,
                "ADT": match["adt"],
                "AVAL": int(match["aval"]),
                "STARTDT": match["start"] or infusion,
            }
    return expected


EXPECTED = _expected_table()


def _events() -> pl.DataFrame:
    read = pytest.importorskip("cart19.io.read")
    return read.read_events(EVENTS).events


def _adtte(config=None) -> dict[tuple[str, str], dict]:
    tte = pytest.importorskip("cart19.engine.tte")
    frame = tte.derive_adtte(_events(), config)
    return {
        (row["USUBJID"], row["PARAMCD"]): {
            "CNSR": int(row["CNSR"]),
            "ADT": str(row["ADT"]),
            "AVAL": int(row["AVAL"]),
            "STARTDT": str(row["STARTDT"]),
        }
        for row in frame.iter_rows(named=True)
    }


def test_readme_table_is_complete_and_consistent() -> None:
    assert len(EXPECTED) == 14 * 5 + 8 + 7  # OS and four EFS rows per infused subject, 8 DOR rows, 7 RFS rows
    for (subject, paramcd), row in EXPECTED.items():
        start = dt.date.fromisoformat(row["STARTDT"])
        adt = dt.date.fromisoformat(row["ADT"])
        assert (adt - start).days + 1 == row["AVAL"], (subject, paramcd)


def test_example_file_tells_every_kind_of_story() -> None:
    raw = pl.read_csv(EVENTS, infer_schema=False)
    assert raw.columns == ["subject_id", "event", "date", "end_date", "grade", "term", "soc", "serious", "related", "result",
                           "mrd"]
    assert raw["subject_id"].n_unique() == 15
    assert set(raw["event"]) == set(EVENT_KINDS)
    results = raw.group_by("event").agg(pl.col("result").drop_nulls().unique())
    by_kind = {row["event"]: set(row["result"]) for row in results.iter_rows(named=True)}
    assert by_kind["assessment"] == set(ASSESSMENT_RESULTS)
    assert by_kind["relapse"] == set(RELAPSE_SITES)
    assert by_kind["death"] == set(DEATH_CAUSES)
    partial = raw.filter(pl.col("date").str.len_chars() == 7)
    assert set(partial["event"]) == {"ae", "death"}
    infused = set(raw.filter(pl.col("event") == "infusion")["subject_id"])
    assert set(raw["subject_id"]) - infused == {"CART19-013"}


def test_example_file_is_valid() -> None:
    events = _events()
    assert events.height == pl.read_csv(EVENTS, infer_schema=False).height


def test_time_to_event_outcomes_match_the_hand_worked_table() -> None:
    derived = _adtte()
    assert set(derived) == set(EXPECTED)
    mismatches = {key: (derived[key], want) for key, want in EXPECTED.items() if derived[key] != want}
    assert not mismatches


def test_partially_dated_death_is_imputed_to_the_last_contact_and_flagged() -> None:
    tte = pytest.importorskip("cart19.engine.tte")
    frame = tte.derive_adtte(_events())
    row = frame.filter((pl.col("USUBJID") == "CART19-006") & (pl.col("PARAMCD") == "OS")).row(0, named=True)
    assert str(row["ADT"]) == "2024-05-26"
    assert row["ADTF"] == "D"


def test_dlt_review_matches_the_hand_worked_statuses() -> None:
    dlt = pytest.importorskip("cart19.engine.dlt")
    from cart19.config import Config

    review = dlt.dlt_review(_events(), Config())
    statuses = dict(zip(review.subjects["subject_id"], review.subjects["status"], strict=True))
    expected = {f"CART19-{i:03d}": "no_dlt" for i in range(1, 16) if i != 13}
    expected |= {"CART19-004": "dlt", "CART19-005": "dlt", "CART19-008": "dlt", "CART19-014": "not_evaluable"}
    assert statuses == expected
    rules = {row["subject_id"]: list(row["dlt_rules"]) for row in review.subjects.iter_rows(named=True) if row["dlt_rules"]}
    assert rules == {
        "CART19-004": ["crs_grade3_over_3d"],
        "CART19-005": ["cytopenia_grade4_unresolved_day28"],
        "CART19-008": ["acute_gvhd_grade3"],
    }
    assert (review.dlt, review.evaluable) == (3, 13)
    assert review.ci_low == pytest.approx(0.0504, abs=5e-4)
    assert review.ci_high == pytest.approx(0.5381, abs=5e-4)
    assert review.posterior_probability == pytest.approx(0.355, abs=5e-4)
    assert review.stopping_rule_met is False


def test_example_configuration_loads_and_changes_what_the_readme_says() -> None:
    from cart19.config import load_config

    config = load_config(EXAMPLES / "cart19.toml")
    assert config.efs.response_set == "remission"
    assert config.dor.censor_at_hsct is True
    derived = _adtte(config)
    changed = {
        ("CART19-006", "EFS"): (0, "2023-10-03", 1),
        ("CART19-006", "EFSS1"): (0, "2024-01-01", 91),
        ("CART19-006", "EFSS2"): (0, "2024-02-20", 141),
        ("CART19-006", "EFSS3"): (0, "2024-03-01", 151),
        ("CART19-007", "EFS"): (0, "2023-11-28", 1),
        ("CART19-007", "EFSS1"): (0, "2024-02-26", 91),
        ("CART19-007", "EFSS2"): (0, "2024-02-28", 93),
        ("CART19-007", "EFSS3"): (0, "2024-03-03", 97),
        ("CART19-002", "DOR"): (1, "2023-04-18", 1),
    }
    for key, want in EXPECTED.items():
        got = derived[key]
        if key in changed:
            assert (got["CNSR"], got["ADT"], got["AVAL"]) == changed[key], key
        else:
            assert got == want, key

    dlt = pytest.importorskip("cart19.engine.dlt")
    review = dlt.dlt_review(_events(), config)
    assert review.posterior_probability == pytest.approx(0.698, abs=5e-4)
    assert review.stopping_rule_met is True
