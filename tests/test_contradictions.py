"""Clinically contradictory timelines (docs/data-checks.md): warnings on valid files, and the
placeholder-date error. Hand-made timelines; every assertion names the offending line."""

from __future__ import annotations

import pytest

from cart19.io.contradictions import (
    LATEST_PLAUSIBLE_YEAR,
    MAX_LINES_PER_CHECK,
    contradiction_warnings,
    implausible_dates,
)
from cart19.io.read import read_events
from cart19.schema import events_frame
from conftest import run_cli


def warnings_of(rows: list[dict]) -> list:
    return contradiction_warnings(events_frame(rows))


def lines(issues: list, text: str) -> list[int | None]:
    return [i.line for i in issues if text in i.message]


BASE = [
    {"subject_id": "S1", "event": "enrolled", "date": "2024-01-02"},  # line 2
    {"subject_id": "S1", "event": "lymphodepletion", "date": "2024-01-20"},  # 3
    {"subject_id": "S1", "event": "infusion", "date": "2024-01-25"},  # 4
    {"subject_id": "S1", "event": "assessment", "date": "2024-02-22", "result": "CR"},  # 5
    {"subject_id": "S1", "event": "assessment", "date": "2024-04-22", "result": "CR"},  # 6
    {"subject_id": "S1", "event": "relapse", "date": "2024-09-01", "result": "hematologic"},  # 7
    {"subject_id": "S1", "event": "end_of_treatment", "date": "2024-04-22"},  # 8
    {"subject_id": "S1", "event": "contact", "date": "2024-10-01"},  # 9
]


def test_a_coherent_timeline_has_no_warning():
    assert warnings_of(BASE) == []


def test_the_example_trial_and_an_empty_frame_have_no_warning():
    assert read_events("examples/events.csv").warnings == []
    assert contradiction_warnings(events_frame([])) == []


def test_assessment_before_the_infusion_is_a_pre_treatment_assessment():
    rows = BASE + [{"subject_id": "S1", "event": "assessment", "date": "2024-01-10", "result": "NR"}]  # line 10
    issues = warnings_of(rows)
    assert [(i.line, i.column, i.value, i.severity) for i in issues] == [(10, "date", "2024-01-10", "warning")]
    assert "before the subject's infusion (2024-01-25 on line 4)" in issues[0].message
    assert "pre-treatment" in issues[0].message


def test_relapse_without_a_prior_response():
    rows = [
        {"subject_id": "R", "event": "infusion", "date": "2024-01-01"},  # 2
        {"subject_id": "R", "event": "assessment", "date": "2024-02-01", "result": "NR"},  # 3
        {"subject_id": "R", "event": "relapse", "date": "2024-03-01", "result": "extramedullary"},  # 4
        {"subject_id": "R", "event": "assessment", "date": "2024-04-01", "result": "CR"},  # 5 (after the relapse)
    ]
    issues = warnings_of(rows)
    assert lines(issues, "relapse with no response") == [4]
    # a response on the relapse date itself counts as before it
    rows[3]["date"] = "2024-03-01"
    assert lines(warnings_of(rows), "relapse with no response") == []


def test_post_treatment_records_of_a_subject_never_infused():
    rows = [
        {"subject_id": "U", "event": "enrolled", "date": "2024-01-01"},  # 2
        {"subject_id": "U", "event": "assessment", "date": "2024-02-01", "result": "NR"},  # 3
        {"subject_id": "U", "event": "new_therapy", "date": "2024-02-05"},  # 4
        {"subject_id": "U", "event": "hsct", "date": "2024-03-05"},  # 5
        {"subject_id": "U", "event": "end_of_treatment", "date": "2024-02-05"},  # 6: not flagged
        {"subject_id": "U", "event": "contact", "date": "2024-04-01"},  # 7: not flagged
    ]
    issues = warnings_of(rows)
    assert lines(issues, "no infusion") == [3, 4, 5]
    assert all(i.column == "event" for i in issues)


def test_lymphodepletion_after_the_infusion():
    rows = BASE + [{"subject_id": "S1", "event": "lymphodepletion", "date": "2024-01-26"}]  # 10
    assert lines(warnings_of(rows), "lymphodepletion dated after the infusion (2024-01-25 on line 4)") == [10]


@pytest.mark.parametrize("kind", ["end_of_treatment", "hsct", "new_therapy"])
def test_kinds_that_follow_the_infusion_dated_before_it(kind):
    rows = BASE + [{"subject_id": "S1", "event": kind, "date": "2024-01-24"}]  # 10
    issues = warnings_of(rows)
    assert lines(issues, f"{kind} dated before the infusion (2024-01-25 on line 4)") == [10]
    # on the infusion date itself it is not flagged
    rows[-1]["date"] = "2024-01-25"
    assert warnings_of(rows) == []


def test_treatment_before_enrolment():
    rows = [dict(r) for r in BASE]
    rows[0]["date"] = "2024-01-22"  # enrolled after the lymphodepletion (line 3), before the infusion
    assert lines(warnings_of(rows), "before the subject's enrolment (2024-01-22 on line 2)") == [3]


def test_records_after_withdrawal_but_not_death():
    rows = [
        {"subject_id": "W", "event": "infusion", "date": "2024-01-01"},  # 2
        {"subject_id": "W", "event": "withdrawal", "date": "2024-03-01"},  # 3
        {"subject_id": "W", "event": "contact", "date": "2024-04-01"},  # 4: after
        {"subject_id": "W", "event": "ae", "date": "2024-02-20", "end_date": "2024-03-10", "grade": 2,
         "term": "Nausea"},  # 5: ends after  # fmt: skip
        {"subject_id": "W", "event": "death", "date": "2024-06-01", "result": "disease"},  # 6: registry data, fine
    ]
    issues = warnings_of(rows)
    assert [(i.line, i.column) for i in issues] == [(4, "date"), (5, "end_date")]
    assert all("withdrawal (2024-03-01 on line 3)" in i.message for i in issues)


def test_duplicate_records_name_the_first_copy():
    rows = BASE + [dict(BASE[4]), dict(BASE[4])]  # lines 10 and 11 repeat line 6
    issues = warnings_of(rows)
    assert [(i.line, i.message.split(" (")[0]) for i in issues] == [(10, "the same record as line 6"),
                                                                    (11, "the same record as line 6")]  # fmt: skip


def test_subject_ids_differing_only_in_case_or_spaces():
    rows = BASE + [{"subject_id": "s1 ", "event": "contact", "date": "2024-10-02"}]  # 10
    issues = warnings_of(rows)
    assert [(i.line, i.column, i.value) for i in issues if "letter case" in i.message] == [(10, "subject_id", "s1 ")]
    assert "'S1' (line 2)" in issues[-1].message


def test_many_offending_records_are_listed_up_to_the_cap_then_counted():
    rows = [{"subject_id": f"S{n:03d}", "event": "hsct", "date": "2024-01-01"} for n in range(45)]
    issues = warnings_of(rows)
    assert [i.line for i in issues] == list(range(2, 2 + MAX_LINES_PER_CHECK)) + [None]
    assert "25 more record(s)" in issues[-1].message and "45 in all" in issues[-1].message
    assert all(i.severity == "warning" for i in issues)


def test_warnings_reach_the_cli_on_standard_error_and_do_not_change_the_exit_status(write_csv):
    path = write_csv(BASE + [{"subject_id": "S1", "event": "hsct", "date": "2024-01-24"}])
    result = run_cli("derive", path)
    assert result.exit_code == 0
    assert "line 10, column date, value '2024-01-24': hsct dated before the infusion" in result.stderr
    quiet = run_cli("derive", path, "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == result.stdout


def test_validate_json_lists_them_as_warnings(write_csv):
    import json

    path = write_csv(BASE + [{"subject_id": "S1", "event": "lymphodepletion", "date": "2024-02-01"}])
    document = json.loads(run_cli("validate", path, "--format", "json").stdout)
    assert document["valid"] is True
    assert [(w["line"], w["severity"]) for w in document["warnings"]] == [(10, "warning")]


# --------------------------------------------------------------------------- placeholder dates


def test_placeholder_dates_are_errors_with_their_line(write_csv):
    rows = [
        {"subject_id": "P", "event": "infusion", "date": "2024-01-01"},  # 2
        {"subject_id": "P", "event": "ae", "date": "2024-01-02", "end_date": "9999-12-31", "grade": 1,
         "term": "Nausea"},  # 3  # fmt: skip
        {"subject_id": "P", "event": "contact", "date": f"{LATEST_PLAUSIBLE_YEAR + 1}-01-01"},  # 4
        {"subject_id": "P", "event": "contact", "date": f"{LATEST_PLAUSIBLE_YEAR}-12-31"},  # 5: fine
        {"subject_id": "P", "event": "death", "date": "9999-12", "result": "unknown"},  # 6
    ]
    path = write_csv(rows)
    from cart19.errors import InputError

    with pytest.raises(InputError) as caught:
        read_events(path)
    assert [(i.line, i.column, i.value) for i in caught.value.errors] == [
        (3, "end_date", "9999-12-31"),
        (4, "date", f"{LATEST_PLAUSIBLE_YEAR + 1}-01-01"),
        (6, "date", "9999-12"),
    ]
    result = run_cli("check-dlt", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert "placeholder" in result.stderr


def test_an_end_date_on_a_row_that_is_not_an_ae_is_not_read_so_not_checked():
    raw = events_frame([]).select("line").clear()  # shape only
    assert implausible_dates(raw) == []
    import polars as pl

    raw = pl.DataFrame({"line": [2], "subject_id": ["A"], "event": ["contact"], "date": ["2024-01-01"],
                        "end_date": ["9999-12-31"]})  # fmt: skip
    assert implausible_dates(raw) == []
    assert [i.line for i in implausible_dates(raw.with_columns(pl.lit(" AE ").alias("event")))] == [2]
