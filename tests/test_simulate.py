"""The synthetic trial generator: deterministic, valid by the format's rules (checked here
directly, independently of the reader), and plausibly distributed."""

from __future__ import annotations

import polars as pl
import pytest

from cart19.engine.simulate import DATA_END, simulate_events
from cart19.model import COLUMNS, EVENT_KINDS, RESULTS_BY_KIND

N = 2_000


@pytest.fixture(scope="module")
def trial() -> pl.DataFrame:
    return simulate_events(N, 2024)


@pytest.fixture(scope="module")
def dated(trial: pl.DataFrame) -> pl.DataFrame:
    """The trial with parsed dates: ``day`` (a partial date as the first of its month)."""
    full = pl.col("date").str.to_date("%Y-%m-%d", strict=False)
    month = (pl.col("date") + "-01").str.to_date("%Y-%m-%d", strict=False)
    return trial.with_row_index("row").with_columns(
        pl.coalesce(full, month).alias("day"),
        (pl.col("date").str.len_chars() == 7).alias("partial"),
        pl.col("end_date").str.to_date("%Y-%m-%d", strict=False).alias("end_day"),
    )


def test_same_seed_gives_the_same_bytes() -> None:
    first, second = simulate_events(300, 7), simulate_events(300, 7)
    assert first.equals(second)
    assert first.write_csv() == second.write_csv()


def test_different_seeds_give_different_trials() -> None:
    assert simulate_events(300, 7).write_csv() != simulate_events(300, 8).write_csv()


def test_no_subjects_is_an_empty_table_with_the_columns() -> None:
    empty = simulate_events(0, 1)
    assert empty.height == 0
    assert empty.columns == list(COLUMNS)


def test_columns_are_the_format_columns_as_text(trial: pl.DataFrame) -> None:
    assert trial.columns == list(COLUMNS)
    assert all(dtype == pl.String for dtype in trial.dtypes)
    assert trial["subject_id"].n_unique() == N
    assert trial["subject_id"].null_count() == 0
    assert trial.filter(pl.col("subject_id").str.len_chars() == 0).height == 0


def test_kinds_results_and_grades_follow_the_vocabulary(trial: pl.DataFrame) -> None:
    assert set(trial["event"]) == set(EVENT_KINDS)
    for kind in EVENT_KINDS:
        results = set(trial.filter(pl.col("event") == kind)["result"])
        if kind in RESULTS_BY_KIND:
            assert results <= set(RESULTS_BY_KIND[kind]), kind
        else:
            assert results == {None}, kind
    ae = trial.filter(pl.col("event") == "ae")
    assert set(ae["grade"]) <= {"1", "2", "3", "4", "5"}
    assert ae["term"].null_count() == 0 and ae["soc"].null_count() == 0
    assert set(ae["serious"]) <= {"Y", "N"} and set(ae["related"]) <= {"Y", "N"}
    others = trial.filter(pl.col("event") != "ae")
    for column in ("end_date", "grade", "term", "soc", "serious", "related"):
        assert others[column].null_count() == others.height, column


def test_dates_are_well_formed_and_in_range(dated: pl.DataFrame) -> None:
    assert dated["day"].null_count() == 0
    assert dated.filter(pl.col("end_date").is_not_null() & pl.col("end_day").is_null()).height == 0
    assert dated["day"].min().year >= 1900
    assert dated["day"].max() <= DATA_END and dated["end_day"].max() <= DATA_END
    partial = dated.filter(pl.col("partial"))
    assert set(partial["event"]) <= {"ae"}
    assert 0 < partial.height < 0.01 * dated.height
    assert dated.filter(pl.col("end_day") < pl.col("day")).height == 0


def test_one_infusion_and_at_most_one_death_per_subject(trial: pl.DataFrame) -> None:
    counts = trial.group_by("subject_id").agg(
        (pl.col("event") == "infusion").sum().alias("infusions"), (pl.col("event") == "death").sum().alias("deaths")
    )
    assert counts["infusions"].max() == 1
    assert counts["deaths"].max() <= 1


def test_nothing_is_dated_after_the_death(dated: pl.DataFrame) -> None:
    deaths = dated.filter(pl.col("event") == "death").select("subject_id", pl.col("day").alias("death_day"))
    joined = dated.join(deaths, on="subject_id")
    assert joined.filter(pl.col("day") > pl.col("death_day")).height == 0
    assert joined.filter(pl.col("end_day") > pl.col("death_day")).height == 0


def test_rows_are_sorted_by_subject_date_and_kind(dated: pl.DataFrame) -> None:
    full = dated.filter(~pl.col("partial")).with_columns(
        pl.col("event").replace_strict(list(EVENT_KINDS), list(range(len(EVENT_KINDS)))).alias("order")
    )
    assert full.select(pl.col("row").is_sorted()).item()
    resorted = full.sort("subject_id", "day", "order", maintain_order=True)
    assert resorted["row"].to_list() == full["row"].to_list()


def test_every_infused_subject_starts_with_enrolment_and_lymphodepletion(dated: pl.DataFrame) -> None:
    firsts = dated.group_by("subject_id", maintain_order=True).agg(pl.col("event").first())
    assert set(firsts["event"]) == {"enrolled"}
    infused = dated.filter(pl.col("event") == "infusion").select("subject_id", pl.col("day").alias("infusion"))
    ld = dated.filter(pl.col("event") == "lymphodepletion").select("subject_id", pl.col("day").alias("ld"))
    both = infused.join(ld, on="subject_id", how="left")
    assert both["ld"].null_count() == 0
    assert both.select(((pl.col("infusion") - pl.col("ld")).dt.total_days()).is_between(3, 7).all()).item()


def test_distributions_are_plausible(trial: pl.DataFrame) -> None:
    infused = set(trial.filter(pl.col("event") == "infusion")["subject_id"])
    assert 0.92 <= len(infused) / N <= 0.98
    assessments = trial.filter(pl.col("event") == "assessment")
    responders = set(assessments.filter(pl.col("result").is_in(["CR", "CRh", "CRi", "MLFS", "PR"]))["subject_id"])
    assert 0.75 <= len(responders) / len(infused) <= 0.92
    ae = trial.filter(pl.col("event") == "ae")

    def share(term: str) -> float:
        return ae.filter(pl.col("term") == term)["subject_id"].n_unique() / len(infused)

    assert 0.78 <= share("Cytokine release syndrome") <= 0.92
    assert 0.25 <= share("Immune effector cell-associated neurotoxicity syndrome") <= 0.45
    assert share("Acute graft versus host disease") > 0.03
    assert set(trial.filter(pl.col("event") == "death")["result"]) == {"disease", "toxicity", "other", "unknown"}
    assert set(trial.filter(pl.col("event") == "relapse")["result"]) == {"hematologic", "extramedullary"}
    transplanted = set(trial.filter(pl.col("event") == "hsct")["subject_id"])
    assert 0.25 <= len(transplanted & responders) / len(responders) <= 0.45
    assert 25 <= trial.height / N <= 35


def test_the_reader_accepts_a_simulated_file(tmp_path, trial: pl.DataFrame) -> None:
    read = pytest.importorskip("cart19.io.read")
    path = tmp_path / "trial.csv"
    trial.write_csv(path)
    result = read.read_events(path)  # raises InputError on any error
    assert result.events["subject_id"].n_unique() == N
    assert result.events.height == trial.height


def test_blocks_concatenate_to_the_whole_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    import cart19.engine.simulate as simulate

    monkeypatch.setattr(simulate, "_CHUNK", 400)
    blocks = list(simulate.simulate_blocks(1_000, 3))
    assert [b["subject_id"].n_unique() for b in blocks] == [400, 400, 200]
    whole = simulate_events(1_000, 3)
    assert pl.concat(blocks).equals(whole)
    assert whole["subject_id"].is_sorted() and whole["subject_id"][0] == "SIM-0001"
