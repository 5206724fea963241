"""TEAE listing and incidence tables (endpoints.md, "TEAE"; cli.md, ``teae --format csv``),
checked cell by cell against a small table worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cart19.config import Config, TEAEConfig
from cart19.engine.teae import GRADES, TABLE_COLUMNS, ae_listing, percent_one_decimal, teae_tables
from cart19.schema import events_frame

INFUSION = dt.date(2024, 1, 1)
GI = "Gastrointestinal disorders"
IMMUNE = "Immune system disorders"
INFECTIONS = "Infections and infestations"


def day(n: int, start: dt.date = INFUSION) -> dt.date:
    return start + dt.timedelta(days=n)


def infusion(sid: str) -> dict:
    return {"subject_id": sid, "event": "infusion", "date": INFUSION}


def ae(sid: str, term: str, grade: int, onset: int, soc: str | None = None, **more) -> dict:
    return {"subject_id": sid, "event": "ae", "term": term, "grade": grade, "date": day(onset), "soc": soc, **more}


# Four infused subjects (N = 4) and one never infused.
#   A: Nausea g1 and g2 (GI), CRS g3 serious+related      -> max 3
#   B: Nausea g1, Vomiting g2 (GI), Rash g1 (no SOC); Diarrhoea g3 two days BEFORE infusion
#   C: Sepsis g5 serious, not related; CRS g2 related     -> max 5
#   D: Fatigue g4 on day 731, outside the 730-day window -> no TEAE
#   X: no infusion; Nausea g3 -> outside the safety set
HAND_MADE = [
    infusion("A"),
    ae("A", "Nausea", 1, 2, GI),
    ae("A", "Nausea", 2, 5, GI),
    ae("A", "Cytokine release syndrome", 3, 1, IMMUNE, serious=True, related=True, end_date=day(3)),
    infusion("B"),
    ae("B", "Diarrhoea", 3, -2, GI),
    ae("B", "Nausea", 1, 3, GI),
    ae("B", "Vomiting", 2, 3, GI, serious=False),
    ae("B", "Rash", 1, 40),
    infusion("C"),
    ae("C", "Sepsis", 5, 20, INFECTIONS, serious=True, related=False, end_date=day(20)),
    ae("C", "Cytokine release syndrome", 2, 0, IMMUNE, related=True, end_date=day(2)),
    {"subject_id": "C", "event": "death", "date": day(20), "result": "toxicity"},
    infusion("D"),
    ae("D", "Fatigue", 4, 731, "General disorders and administration site conditions"),
    {"subject_id": "X", "event": "ae", "term": "Nausea", "grade": 3, "date": day(4), "soc": GI},
]

#: (table, soc, term) -> n for grades any, >=3, 1, 2, 3, 4, 5 - in output order.
EXPECTED = {
    ("overall", None, None): [3, 2, 0, 1, 1, 0, 1],
    ("serious", None, None): [2, 2, 0, 0, 1, 0, 1],
    ("related", None, None): [2, 1, 0, 1, 1, 0, 0],
    # GI and Immune both 2 subjects: alphabetical; Infections and Uncoded both 1: alphabetical
    ("soc", GI, None): [2, 0, 0, 2, 0, 0, 0],
    ("soc", IMMUNE, None): [2, 1, 0, 1, 1, 0, 0],
    ("soc", INFECTIONS, None): [1, 1, 0, 0, 0, 0, 1],
    ("soc", "Uncoded", None): [1, 0, 1, 0, 0, 0, 0],
    ("soc_pt", GI, "Nausea"): [2, 0, 1, 1, 0, 0, 0],
    ("soc_pt", GI, "Vomiting"): [1, 0, 0, 1, 0, 0, 0],
    ("soc_pt", IMMUNE, "Cytokine release syndrome"): [2, 1, 0, 1, 1, 0, 0],
    ("soc_pt", INFECTIONS, "Sepsis"): [1, 1, 0, 0, 0, 0, 1],
    ("soc_pt", "Uncoded", "Rash"): [1, 0, 1, 0, 0, 0, 0],
}
PERCENT_OF_4 = {0: 0.0, 1: 25.0, 2: 50.0, 3: 75.0}


def test_hand_made_table_cell_by_cell_in_order():
    tables = teae_tables(events_frame(HAND_MADE), Config())
    assert tuple(tables.columns) == TABLE_COLUMNS
    expected_rows = [
        (table, soc, term, grade, n, 4, PERCENT_OF_4[n])
        for (table, soc, term), counts in EXPECTED.items()
        for grade, n in zip(GRADES, counts, strict=True)
    ]
    assert tables.rows() == expected_rows


def test_pre_infusion_and_out_of_window_aes_and_untreated_subjects_count_nowhere():
    tables = teae_tables(events_frame(HAND_MADE), Config())
    assert "Diarrhoea" not in tables["term"].to_list()
    assert "Fatigue" not in tables["term"].to_list()
    assert tables["N"].unique().to_list() == [4]


def cell(tables: pl.DataFrame, table: str = "overall", grade: str = "any") -> int:
    return tables.filter((pl.col("table") == table) & (pl.col("grade") == grade))["n"].item()


def test_an_ae_on_the_infusion_date_is_emergent_and_the_day_before_is_not():
    on_day_0 = teae_tables(events_frame([infusion("A"), ae("A", "Nausea", 1, 0)]), Config())
    before = teae_tables(events_frame([infusion("A"), ae("A", "Nausea", 1, -1)]), Config())
    assert (cell(on_day_0), cell(before)) == (1, 0)


def test_the_window_ends_on_day_730_inclusive():
    day_730 = teae_tables(events_frame([infusion("A"), ae("A", "Nausea", 1, 730)]), Config())
    day_731 = teae_tables(events_frame([infusion("A"), ae("A", "Nausea", 1, 731)]), Config())
    assert (cell(day_730), cell(day_731)) == (1, 0)
    shorter = Config(teae=TEAEConfig(window_days=30))
    assert cell(teae_tables(events_frame([infusion("A"), ae("A", "Nausea", 1, 31)]), shorter)) == 0


def test_a_partial_onset_in_the_infusion_month_imputed_to_the_infusion_date_is_emergent():
    # the reader imputes "2024-01" to the infusion date 2024-01-01 and sets date_imputed
    rows = [infusion("A"), ae("A", "Nausea", 2, 0, GI, date_imputed=True)]
    listing = ae_listing(events_frame(rows), Config())
    assert listing.select("ASTDT", "ASTDTF", "ASTDY", "TRTEMFL").row(0) == (INFUSION, "D", 0, "Y")
    assert cell(teae_tables(events_frame(rows), Config())) == 1


def test_each_subject_counts_once_per_cell_at_its_maximum_grade():
    rows = [infusion("A"), ae("A", "Nausea", 1, 1, GI), ae("A", "Nausea", 3, 2, GI), ae("A", "Nausea", 2, 3, GI)]
    tables = teae_tables(events_frame(rows), Config())
    pt = tables.filter(pl.col("table") == "soc_pt")
    assert pt["n"].to_list() == [1, 1, 0, 0, 1, 0, 0]


def test_a_pt_in_two_socs_is_two_cells():
    rows = [infusion("A"), ae("A", "Pain", 1, 1, "Nervous system disorders"), ae("A", "Pain", 2, 2)]
    pt = teae_tables(events_frame(rows), Config()).filter((pl.col("table") == "soc_pt") & (pl.col("grade") == "any"))
    assert pt.select("soc", "term", "n").rows() == [("Nervous system disorders", "Pain", 1), ("Uncoded", "Pain", 1)]


def test_socs_and_pts_sort_by_descending_frequency_then_alphabetically():
    rows = [infusion("A"), infusion("B")]
    rows += [ae("A", "Zoster", 1, 1, "Infections"), ae("B", "Zoster", 1, 1, "Infections")]
    rows += [ae("A", "Cough", 1, 1, "Respiratory"), ae("A", "Anosmia", 1, 1, "Nervous")]
    rows += [ae("A", "Abscess", 1, 1, "Infections"), ae("B", "Bronchitis", 1, 1, "Infections")]
    any_rows = teae_tables(events_frame(rows), Config()).filter(pl.col("grade") == "any")
    assert any_rows.filter(pl.col("table") == "soc")["soc"].to_list() == ["Infections", "Nervous", "Respiratory"]
    assert any_rows.filter(pl.col("table") == "soc_pt").select("soc", "term").rows() == [
        ("Infections", "Zoster"),
        ("Infections", "Abscess"),
        ("Infections", "Bronchitis"),
        ("Nervous", "Anosmia"),
        ("Respiratory", "Cough"),
    ]


def test_no_teae_at_all_still_gives_the_three_summary_cells_with_zeros():
    tables = teae_tables(events_frame([infusion("A"), ae("A", "Nausea", 1, -3)]), Config())
    assert tables.height == 21
    assert tables["table"].unique(maintain_order=True).to_list() == ["overall", "serious", "related"]
    assert set(tables["n"]) == {0} and set(tables["percent"]) == {0.0}


def test_an_empty_safety_set_does_not_crash_and_has_no_percent():
    tables = teae_tables(events_frame([]), Config())
    assert tables.height == 21
    assert set(tables["N"]) == {0} and tables["percent"].null_count() == 21
    tables = teae_tables(events_frame([{"subject_id": "X", "event": "ae", "date": "2024-01-01", "grade": 2, "term": "A"}]), Config())
    assert set(tables["N"]) == {0}


@pytest.mark.parametrize(
    ("n", "total", "expected"),
    [
        (1, 16, 6.3),  # 6.25: half away from zero (round-half-even would give 6.2)
        (1, 80, 1.3),  # 1.25
        (3, 80, 3.8),  # 3.75
        (1, 8, 12.5),
        (2, 3, 66.7),  # 66.666...
        (1, 3, 33.3),  # 33.333...
        (1, 6, 16.7),
        (5, 7, 71.4),  # 71.428...
        (0, 5, 0.0),
        (5, 5, 100.0),
        (1, 2000, 0.1),  # 0.05
        (1, 2001, 0.0),  # 0.049975
        (0, 0, None),
    ],
)
def test_percent_rounds_half_away_from_zero_to_one_decimal(n, total, expected):
    frame = pl.DataFrame({"n": [n], "N": [total]})
    assert frame.select(percent_one_decimal(pl.col("n"), pl.col("N"))).item() == expected


# --- the listing -----------------------------------------------------------------------------


def test_listing_has_one_row_per_ae_of_a_treated_subject_with_adae_columns():
    listing = ae_listing(events_frame(HAND_MADE), Config())
    assert listing.height == 10  # X's AE is not listed
    assert listing.columns[:6] == ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AESOC", "AETOXGR"]
    a_crs = listing.filter(pl.col("AESEQ") == 5).row(0, named=True)
    assert a_crs == {
        "USUBJID": "A",
        "AESEQ": 5,
        "AETERM": "Cytokine release syndrome",
        "AEDECOD": "Cytokine release syndrome",
        "AESOC": IMMUNE,
        "AETOXGR": 3,
        "TRTSDT": INFUSION,
        "ASTDT": day(1),
        "ASTDTF": None,
        "AENDT": day(3),
        "ASTDY": 1,
        "AENDY": 3,
        "ADURN": 3,
        "ADURU": "DAYS",
        "AEONGO": None,
        "AESER": "Y",
        "AEREL": "Y",
        "TRTEMFL": "Y",
        "DLTFL": None,  # grade 3 CRS of 3 days: not a DLT
        "DLTRULE": None,
    }
    b_pre = listing.filter(pl.col("AESEQ") == 7).row(0, named=True)
    assert (b_pre["ASTDY"], b_pre["TRTEMFL"], b_pre["AESOC"], b_pre["AESER"]) == (-2, None, GI, None)
    b_rash = listing.filter(pl.col("AESEQ") == 10).row(0, named=True)
    # ongoing: lasts until B's last record, which is the rash's own onset (day 40)
    assert (b_rash["AESOC"], b_rash["AEONGO"], b_rash["ADURN"]) == ("Uncoded", "Y", 1)
    c_sepsis = listing.filter(pl.col("AESEQ") == 12).row(0, named=True)
    assert (c_sepsis["DLTFL"], c_sepsis["DLTRULE"], c_sepsis["AEREL"]) == ("Y", "grade5_not_progression", "N")
    d_fatigue = listing.filter(pl.col("USUBJID") == "D").row(0, named=True)
    assert (d_fatigue["ASTDY"], d_fatigue["TRTEMFL"]) == (731, None)


def test_listing_sorts_by_subject_onset_and_line():
    listing = ae_listing(events_frame(HAND_MADE), Config())
    assert listing.select("USUBJID", "AESEQ").rows() == [
        ("A", 5), ("A", 3), ("A", 4), ("B", 7), ("B", 8), ("B", 9), ("B", 10), ("C", 13), ("C", 12), ("D", 16),
    ]  # fmt: skip
