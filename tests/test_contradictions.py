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
from cart19.io.subjects import Subjects
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


@pytest.mark.parametrize(
    "command", [["derive"], ["teae"], ["check-dlt"], ["derive", "--cutoff", "2024-03-01"], ["teae", "--listing"]]
)
def test_every_command_that_reads_events_prints_them_once_in_the_readers_order(write_csv, command):
    """The command line runs the contradiction checks beside the engine (cli.common.load_inputs)
    and prints them when the engine is done: every command must, once, between the reader's
    warnings and those of the cutoff and of untreated subjects, as if all were found at once."""
    rows = BASE + [
        {"subject_id": "S1", "event": "hsct", "date": "2024-01-24"},  # line 10: before the infusion
        {"subject_id": "S2", "event": "enrolled", "date": "2024-01-02", "grade": "3"},  # 11: ignored grade; untreated
        {"subject_id": "S1", "event": "contact", "date": "2024-06-01"},  # 12: after the cutoff of the last case
    ]
    result = run_cli(command[0], write_csv(rows), *command[1:], "--format", "csv")
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    ignored = [i for i, w in enumerate(warnings) if "grade is for ae rows only" in w]
    timeline = [i for i, w in enumerate(warnings) if "hsct dated before the infusion" in w]
    untreated = [i for i, w in enumerate(warnings) if "without an infusion" in w]
    assert len(ignored) == len(timeline) == len(untreated) == 1, warnings
    assert ignored[0] < timeline[0] < untreated[0]
    if "--cutoff" in command:
        cutoff = [i for i, w in enumerate(warnings) if "dated after the cutoff" in w]
        assert len(cutoff) == 1 and timeline[0] < cutoff[0] < untreated[0]


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


# --------------------------------------------------------------------------- property: a plain reference

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cart19.io.contradictions import CHECKS, POST_INFUSION_KINDS, RESPONSE_RESULTS  # noqa: E402

#: a phrase of each check's message, in the order of CHECKS
_MARKERS = {
    "assessment before infusion": "a response assessment (",
    "relapse without a prior response": "a relapse with no response assessment",
    "post-treatment record without an infusion": "for a subject with no infusion",
    "lymphodepletion after infusion": "lymphodepletion dated after the infusion",
    "end of treatment before infusion": "end_of_treatment dated before the infusion",
    "hsct before infusion": "hsct dated before the infusion",
    "new therapy before infusion": "new_therapy dated before the infusion",
    "treatment before enrolment": "before the subject's enrolment",
    "records after withdrawal": "after the subject's withdrawal",
    "duplicate records": "the same record as line",
    "subject_id spelling variants": "only in letter case or surrounding spaces",
}
_CELLS = ("subject_id", "event", "date", "date_imputed", "end_date", "grade", "term", "soc", "serious", "related",
          "result")  # fmt: skip
_RESULTS = {
    "assessment": ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE"),
    "relapse": ("hematologic", "extramedullary"),
    "death": ("disease", "toxicity", "other", "unknown"),
}


def reference_warnings(rows: list[dict]) -> list[tuple[str, int, str, str, str]]:
    """What each check should flag, as (check, line, column, value, text of the message), in
    the order of the checks and by line: a loop over the records, each looking at all the
    records of its subject. Obviously slow; obviously what docs/data-checks.md says."""
    import datetime as dt

    def iso(day: dt.date) -> str:
        return day.isoformat()

    def of_subject(row: dict) -> list[dict]:
        return [other for other in rows if other["subject_id"] == row["subject_id"]]

    def earliest(row: dict, kind: str) -> tuple[dt.date, int] | None:
        """(date, line) of the subject's earliest record of ``kind``; the lower line on a tie."""
        found = [(other["date"], other["line"]) for other in of_subject(row) if other["event"] == kind]
        return min(found) if found else None

    found: dict[str, list[tuple[int, str, str, str]]] = {name: [] for name in _MARKERS}
    for row in rows:
        line, kind, date = row["line"], row["event"], row["date"]
        infusion, enrolled = earliest(row, "infusion"), earliest(row, "enrolled")
        withdrawal = earliest(row, "withdrawal")
        at_infusion = f"({iso(infusion[0])} on line {infusion[1]})" if infusion else ""
        if kind == "assessment" and infusion and date < infusion[0]:
            found["assessment before infusion"].append(
                (line, "date", iso(date), f"({row['result']}) dated before the subject's infusion {at_infusion}"))
        if kind == "relapse" and not any(other["event"] == "assessment" and other["result"] in RESPONSE_RESULTS
                                         and other["date"] <= date for other in of_subject(row)):  # fmt: skip
            found["relapse without a prior response"].append((line, "event", "relapse", ""))
        if kind in POST_INFUSION_KINDS and infusion is None:
            found["post-treatment record without an infusion"].append((line, "event", kind, f"of kind {kind} for"))
        if kind == "lymphodepletion" and infusion and date > infusion[0]:
            found["lymphodepletion after infusion"].append((line, "date", iso(date), at_infusion))
        for name, before in (("end of treatment before infusion", "end_of_treatment"),
                             ("hsct before infusion", "hsct"),
                             ("new therapy before infusion", "new_therapy")):  # fmt: skip
            if kind == before and infusion and date < infusion[0]:
                found[name].append((line, "date", iso(date), f"{kind} dated before the infusion {at_infusion}"))
        if kind in ("lymphodepletion", "infusion") and enrolled and date < enrolled[0]:
            found["treatment before enrolment"].append(
                (line, "date", iso(date), f"{kind} dated before the subject's enrolment ({iso(enrolled[0])} on line "
                                          f"{enrolled[1]})"))  # fmt: skip
        if withdrawal and kind not in ("withdrawal", "death"):
            at_withdrawal = f"withdrawal ({iso(withdrawal[0])} on line {withdrawal[1]})"
            if date > withdrawal[0]:
                found["records after withdrawal"].append((line, "date", iso(date), at_withdrawal))
            elif row["end_date"] is not None and row["end_date"] > withdrawal[0]:
                found["records after withdrawal"].append(
                    (line, "end_date", iso(row["end_date"]), "the AE ends dated after the subject's " + at_withdrawal))
        same = [other["line"] for other in rows if all(other[c] == row[c] for c in _CELLS)]
        if min(same) != line:
            found["duplicate records"].append((line, "event", kind, f"the same record as line {min(same)}"))
    first_line = {row["subject_id"]: min(r["line"] for r in of_subject(row)) for row in rows}
    for subject, line in first_line.items():
        alike = [other for other in first_line if other.strip().lower() == subject.strip().lower()]
        first = min(alike, key=first_line.__getitem__)
        if subject != first:
            found["subject_id spelling variants"].append(
                (line, "subject_id", subject, f"differs from '{first}' (line {first_line[first]})"))
    return [(name, *hit) for name in _MARKERS for hit in sorted(found[name])]


_DAY = st.integers(0, 9)
_RECORD = st.fixed_dictionaries({
    "subject_id": st.sampled_from(("S1", "s1", " S1", "S2", "s2 ", "P-3")),
    "event": st.sampled_from(("enrolled", "lymphodepletion", "infusion", "assessment", "relapse", "ae", "hsct",
                              "new_therapy", "end_of_treatment", "contact", "death", "withdrawal")),
    "day": _DAY, "end": st.one_of(st.none(), _DAY), "grade": st.integers(1, 3),
    "term": st.sampled_from(("Nausea", "CRS")), "serious": st.sampled_from((None, True, False)),
    "which": st.integers(0, 7),
})  # fmt: skip


def _canonical(drawn: dict) -> dict:
    """A valid record of a drawn one: an AE's columns only on an AE, a result where one is required."""
    import datetime as dt

    date = dt.date(2024, 1, 1) + dt.timedelta(days=drawn["day"])
    row = {"subject_id": drawn["subject_id"], "event": drawn["event"], "date": date, "date_imputed": False,
           "end_date": None, "grade": None, "term": None, "soc": None, "serious": None, "related": None,
           "result": None}  # fmt: skip
    if drawn["event"] == "ae":
        end = None if drawn["end"] is None else date + dt.timedelta(days=drawn["end"])
        row.update(end_date=end, grade=drawn["grade"], term=drawn["term"], serious=drawn["serious"])
    results = _RESULTS.get(drawn["event"])
    if results:
        row["result"] = results[drawn["which"] % len(results)]
    return row


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=st.lists(_RECORD, min_size=1, max_size=16), copies=st.lists(st.integers(0, 15), max_size=4),
       order=st.randoms(use_true_random=False), shuffled_lines=st.booleans(), with_codes=st.booleans())  # fmt: skip
def test_every_check_flags_what_a_plain_reference_flags(drawn, copies, order, shuffled_lines, with_codes):
    """Small random timelines (ids that differ in case or spaces, ties of dates, second
    infusions and enrolments, exact copies, lines in any order, subject codes given or not):
    the warnings are the reference's, record for record, in its order."""
    import polars as pl

    rows = [_canonical(d) for d in drawn]
    rows += [dict(rows[i % len(rows)]) for i in copies]
    lines = list(range(2, len(rows) + 2))
    if shuffled_lines:
        order.shuffle(lines)
    rows = [dict(row, line=line) for row, line in zip(rows, lines, strict=True)]
    subjects = None
    if with_codes:  # any numbering of the subjects will do
        ids = list(dict.fromkeys(row["subject_id"] for row in rows))
        order.shuffle(ids)
        codes = pl.Series([ids.index(row["subject_id"]) for row in rows], dtype=pl.UInt32)
        subjects = Subjects(codes=codes, ids=pl.Series(ids, dtype=pl.String))
    issues = contradiction_warnings(events_frame(rows), subjects)
    expected = reference_warnings(rows)
    assert [(i.line, i.column, i.value) for i in issues] == [(line, col, value) for _, line, col, value, _ in expected]
    for issue, (name, *_, text) in zip(issues, expected, strict=True):
        assert _MARKERS[name] in issue.message and text in issue.message, (name, text, issue.message)
        assert issue.severity == "warning"
    assert list(_MARKERS) == [name for name, _ in CHECKS]
