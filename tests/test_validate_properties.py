"""Property tests of the reader and validator.

(a) plausible random trials always validate, with zero errors and every record kept;
(b) one corrupted cell of a valid file is always reported at that record's line and column,
    and nothing but :class:`InputError` is ever raised;
(c) the pydantic description of a record (``record_problems`` / ``Event.from_row``) and the
    vectorised checks (``validate_raw``) flag exactly the same (line, column) pairs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart19.errors import InputError
from cart19.events import Event, RowProblem, record_problems
from cart19.io.read import read_events
from cart19.io.validate import validate_raw
from cart19.model import (
    ASSESSMENT_RESULTS,
    COLUMNS,
    DEATH_CAUSES,
    EVENT_KINDS,
    RELAPSE_SITES,
    RESULTS_BY_KIND,
    STRIP_CHARS,
)
from cart19.model import clean_cell as _clean
from cart19.model import invisible_characters

D = dt.date
TERMS = ("Cytokine release syndrome", "ICANS", "Neutrophil count decreased", "Pyrexia", "Nausea, vomiting", "Sepsis")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- (a) valid trials


@st.composite
def subject_rows(draw: st.DrawFn, sid: str) -> list[dict[str, str]]:
    """One plausible subject: enrolment, lymphodepletion, usually an infusion, assessments,
    AEs (some with a partial onset), maybe relapse/therapy/contacts, maybe a death last."""
    d0 = draw(st.dates(D(1990, 1, 1), D(2030, 12, 31)))
    rows: list[dict[str, str]] = []

    def add(kind: str, day: int, **cells: str) -> dt.date:
        date = d0 + dt.timedelta(days=day)
        rows.append({"subject_id": sid, "event": kind, "date": date.isoformat(), **cells})
        return date

    add("enrolled", -draw(st.integers(6, 60)))
    add("lymphodepletion", -5)
    if draw(st.integers(0, 9)):
        add("infusion", 0)
    day = 0
    for _ in range(draw(st.integers(0, 4))):
        day += draw(st.integers(14, 120))
        add("assessment", day, result=draw(st.sampled_from(ASSESSMENT_RESULTS)),
            mrd=draw(st.sampled_from(("", "negative", "positive", "Negative", "POSITIVE"))))
    last = d0 + dt.timedelta(days=max(day, 0))
    for _ in range(draw(st.integers(0, 6))):
        onset = draw(st.integers(-5, 400))
        cells = {"grade": str(draw(st.integers(1, 5))), "term": draw(st.sampled_from(TERMS))}
        if draw(st.booleans()):
            end = d0 + dt.timedelta(days=onset + draw(st.integers(0, 60)))
            cells["end_date"] = end.isoformat()
            last = max(last, end)
        for flag in ("serious", "related", "soc"):
            if draw(st.booleans()):
                cells[flag] = draw(st.sampled_from(("Y", "N", "y", "n"))) if flag != "soc" else "Immune system disorders"
        date = add("ae", onset, **cells)
        last = max(last, date)
        known = draw(st.integers(0, 9))
        if known < 2:  # onset known to the month only
            rows[-1]["date"] = date.strftime("%Y-%m")
        elif known == 2:  # ... or to the year only
            rows[-1]["date"] = date.strftime("%Y")
    for kind in draw(st.lists(st.sampled_from(("relapse", "hsct", "new_therapy", "end_of_treatment", "contact",
                                                "withdrawal")), max_size=4)):  # fmt: skip
        cells = {"result": draw(st.sampled_from(RELAPSE_SITES))} if kind == "relapse" else {}
        last = max(last, add(kind, draw(st.integers(1, 700)), **cells))
    if draw(st.booleans()):
        death = last + dt.timedelta(days=draw(st.integers(0, 90)))
        rows.append({"subject_id": sid, "event": "death", "result": draw(st.sampled_from(DEATH_CAUSES)),
                     "date": death.strftime("%Y-%m") if draw(st.booleans()) else death.isoformat()})  # fmt: skip
    return rows


@st.composite
def trials(draw: st.DrawFn) -> list[dict[str, str]]:
    n = draw(st.integers(0, 6))
    rows = [row for i in range(n) for row in draw(subject_rows(f"CART19-{i:03d}"))]
    return draw(st.permutations(rows))  # order is free


@st.composite
def styled(draw: st.DrawFn, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The same records written as people write them: any case, padded cells."""
    out = []
    for row in rows:
        row = dict(row)
        for name in ("event", "result"):
            if name in row and draw(st.booleans()):
                row[name] = draw(st.sampled_from((str.upper, str.lower, str.title)))(row[name])
        if draw(st.integers(0, 4)) == 0:
            row["date"] = f" {row['date']} "
        out.append(row)
    return out


def to_csv(rows: list[dict[str, str]], columns: list[str], eol: str = "\n", bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator=eol)
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


@SETTINGS
@given(data=st.data())
def test_random_valid_trials_validate_with_zero_errors(data):
    rows = data.draw(styled(data.draw(trials())))
    columns = list(data.draw(st.permutations(COLUMNS)))
    raw = to_csv(rows, columns, eol=data.draw(st.sampled_from(("\n", "\r\n"))), bom=data.draw(st.booleans()))
    result = read_events("-", stdin=io.BytesIO(raw))
    assert result.events.height == len(rows)
    assert sorted(result.events["line"].to_list()) == list(range(2, len(rows) + 2))
    kinds = result.events.sort("line")["event"].to_list()
    assert kinds == [r["event"].lower() for r in rows]
    assert result.events["date"].null_count() == 0
    partial = sum(1 for r in rows if len(r["date"].strip()) in (4, 7))
    assert result.events["date_imputed"].sum() == partial
    assert result.events["month_imputed"].sum() == sum(1 for r in rows if len(r["date"].strip()) == 4)


# --------------------------------------------------------------------------- (b) one bad cell

BAD_DATES = ("2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "24-01-01", "2024/01/05", "05.01.2024",
             "yesterday", "2024", "2024-1-5", "")  # fmt: skip


#: column -> the bad values a test writes into it; ``DAY_BEFORE_ONSET`` is an AE's onset - 1 day.
DAY_BEFORE_ONSET = "<day before onset>"
BAD_VALUES: dict[str, tuple[str, ...]] = {
    "date": (*BAD_DATES, "2024-05", "1899-12-31", "9999-12-31", "1899"),
    "end_date": ("2024-02-30", "2024-05", "soon", "1899-12-31", "9999-12-31", DAY_BEFORE_ONSET),
    "event": ("infuse", "adverse event", "AE1", "dead", "", "  "),
    "subject_id": ("", "   "),
    "grade": ("0", "6", "x", "2.5", "-1", "III", ""),
    "serious": ("yes", "0", "x", "N/A"),
    "related": ("yes", "0", "x", "N/A"),
    "term": ("", " "),
    "result": ("maybe", "CR?", "progression", "complete response", "", "C R"),
    "mrd": ("neg", "MRD-", "<0.01%", "yes", "negative?"),
}


def _can_corrupt(kind: str, column: str, value: str | None) -> bool:
    """Whether a bad ``value`` in ``column`` of a ``kind`` row is an error of that cell alone."""
    if column in ("grade", "term", "end_date", "serious", "related"):
        return kind == "ae"
    if column == "result":
        return kind in RESULTS_BY_KIND
    if column == "mrd":  # a bad value on an assessment; any value on another kind
        return True
    if column == "date" and value == "2024-05":  # a partial date where none is allowed
        return kind not in ("ae", "death")
    if column == "date" and value == "2024":  # a year alone: an ae onset may be one
        return kind != "ae"
    if column == "date" and value in ("1899-12-31", "9999-12-31", "1899"):
        return kind != "death"  # an early death would (rightly) also put the others after it
    return True


@st.composite
def corrupted(
    draw: st.DrawFn, column: str | None = None, value: str | None = None
) -> tuple[list[dict[str, str]], int, str]:
    """A valid trial with one bad cell: ``value`` (else any bad value) in ``column`` (else any)."""

    def fits(row: dict[str, str]) -> bool:
        return column is None or _can_corrupt(row["event"], column, value)

    rows = draw(trials().filter(lambda rows: any(fits(r) for r in rows)))
    index = draw(st.sampled_from([i for i, r in enumerate(rows) if fits(r)]))
    row = dict(rows[index])
    kind = row["event"]
    if column is None:
        column = draw(st.sampled_from([c for c in BAD_VALUES if _can_corrupt(kind, c, None)]))
    if value is None:
        value = draw(st.sampled_from([v for v in BAD_VALUES[column] if _can_corrupt(kind, column, v)]))
    if value == DAY_BEFORE_ONSET:
        onset = D.fromisoformat(row["date"] + {4: "-01-01", 7: "-01"}.get(len(row["date"]), ""))
        value = (onset - dt.timedelta(days=1)).isoformat()
    row[column] = value
    rows = list(rows)
    rows[index] = row
    return rows, index + 2, column


@SETTINGS
@given(case=corrupted())
def test_one_corrupted_cell_is_reported_at_its_line_and_column(case):
    rows, line, column = case
    raw = to_csv(rows, list(COLUMNS))
    with pytest.raises(InputError) as caught:
        read_events("-", stdin=io.BytesIO(raw))
    errors = caught.value.errors
    assert (line, column) in {(i.line, i.column) for i in errors}
    for issue in errors:  # nothing else is wrong, except records now after an earlier death
        assert issue.line == line or "after the subject's death" in issue.message, issue


@pytest.mark.parametrize(("column", "value"), [(c, v) for c, values in BAD_VALUES.items() for v in values])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_coded_reader_finds_one_corrupted_cell_as_the_eager_reader_does(tmp_path_factory, column, value, data):
    """A file on disk is read coded (``_read_plain_csv``), standard input eagerly: one bad cell
    gives the same errors and warnings, whichever value of whichever column it is."""
    rows, line, column = data.draw(corrupted(column, value))
    raw = to_csv(rows, list(COLUMNS))
    path = tmp_path_factory.mktemp("one") / "events.csv"
    path.write_bytes(raw)
    with pytest.raises(InputError) as coded:
        read_events(path)
    with pytest.raises(InputError) as eager:
        read_events("-", stdin=io.BytesIO(raw))
    assert (line, column) in {(i.line, i.column) for i in coded.value.errors}
    assert coded.value.errors == eager.value.errors
    assert coded.value.warnings == eager.value.warnings


@st.composite
def with_ignored_values(draw: st.DrawFn) -> list[dict[str, str]]:
    """A valid trial with values the format ignores: AE-only cells on other rows, a result
    where the kind takes none, and AE cells that are valid but unusual (y, n, padded)."""
    rows = [dict(row) for row in draw(trials().filter(bool))]
    for row in draw(st.lists(st.sampled_from(rows), min_size=1, max_size=4)):
        if row["event"] != "ae":
            column = draw(st.sampled_from(("end_date", "grade", "term", "soc", "serious", "related")))
            row[column] = draw(st.sampled_from(("3", "Pyrexia", "Y", "2024-01-01", "x")))
        if row["event"] not in RESULTS_BY_KIND:
            row["result"] = draw(st.sampled_from(("CR", "disease", "whatever")))
    return rows


@SETTINGS
@given(rows=with_ignored_values())
def test_the_coded_reader_ignores_the_values_the_eager_reader_ignores(tmp_path_factory, rows):
    raw = to_csv(rows, list(COLUMNS))
    path = tmp_path_factory.mktemp("ignored") / "events.csv"
    path.write_bytes(raw)
    coded = read_events(path)
    eager = read_events("-", stdin=io.BytesIO(raw))
    assert coded.events.equals(eager.events)
    assert coded.warnings == eager.warnings
    assert any("ignored" in w.message for w in coded.warnings)


# --------------------------------------------------------------------------- (c) two validators agree

_ODD = ("ſ", "K", "İ", "\x1c", "\xa0", "\u2003", "٣", "\n", "\t")


def _cell(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    padded = st.tuples(st.sampled_from(("", " ", "\t", "\xa0", "\x1c")), values, st.sampled_from(("", " ", "\xa0")))
    return st.one_of(
        st.none(), st.just(""), values, padded.map("".join),
        st.text(alphabet=st.sampled_from("0123456789-/ aeiouRCNY" + "".join(_ODD)), max_size=12),
    )  # fmt: skip


_DATES = st.one_of(
    st.dates(D(1850, 1, 1), D(2100, 12, 31)).map(D.isoformat),
    st.dates(D(1850, 1, 1), D(2100, 12, 31)).map(lambda d: d.strftime("%Y-%m")),
    st.sampled_from(("2024-02-30", "2023-02-29", "2024-13", "2024-00", "0000-01-01", "0000-01", "2024", "1899",
                     "0000", "1899-12", "2024-1-01", "２０２４-01-01", "2024-01-01T00:00", "20240101")),
)  # fmt: skip


def _variants(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(words).flatmap(
        lambda w: st.sampled_from((w, w.upper(), w.lower(), w.title(), w.replace("s", "ſ"), w.replace("k", "K"), w + "x"))
    )


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "subject_id": st.one_of(st.just("S"), st.sampled_from(("", " ", "\xa0", "\x1c", None))),
            "event": _cell(_variants(EVENT_KINDS)),
            "date": _cell(_DATES),
            "end_date": _cell(_DATES),
            "grade": _cell(st.sampled_from(("1", "3", "5", "0", "6", "3.0", "٣", "03", "10"))),
            "term": _cell(st.sampled_from(("Pyrexia", "CRS"))),
            "soc": _cell(st.just("Uncoded")),
            "serious": _cell(st.sampled_from(("Y", "N", "y", "n", "yes", "0"))),
            "related": _cell(st.sampled_from(("Y", "N", "y", "n", "no", "1"))),
            "result": _cell(_variants(ASSESSMENT_RESULTS + RELAPSE_SITES + DEATH_CAUSES)),
            "mrd": _cell(_variants(("negative", "positive", "neg"))),
        }
    ),
    min_size=1,
    max_size=30,
)


def _raw_frame(rows: list[dict]) -> pl.DataFrame:
    """The raw text frame as the reader hands it over; every record its own subject, so that
    no file-level rule (one infusion, nothing after death) applies."""
    for index, row in enumerate(rows):
        if _clean(row["subject_id"]) is not None:
            row["subject_id"] = f"{row['subject_id']}{index}"
    data = {"line": list(range(2, len(rows) + 2))} | {c: [r[c] for r in rows] for c in COLUMNS}
    return pl.DataFrame(data, schema={"line": pl.Int64} | {c: pl.String for c in COLUMNS})


@settings(max_examples=200, deadline=None)
@given(rows=ROWS)
def test_event_model_and_vectorised_checks_flag_the_same_cells(rows):
    frame = _raw_frame(rows)
    events, issues = validate_raw(frame)
    vectorised = {(i.line, i.column) for i in issues if i.severity == "error"}
    pydantic: set[tuple[int, str]] = set()
    blank_lines = []
    for line, row in enumerate(rows, start=2):
        if all(_clean(row[c]) is None for c in COLUMNS):
            blank_lines.append(line)  # a blank row is skipped (a warning), not a record
            continue
        problems = record_problems(row)
        pydantic |= {(line, column) for column, _, _ in problems}
        if problems:
            with pytest.raises(RowProblem) as caught:
                Event.from_row(row)
            assert {c for c, _, _ in caught.value.problems} == {c for c, _, _ in problems}
    assert vectorised == pydantic
    if blank_lines:
        assert any("blank row" in i.message and i.line == blank_lines[0] for i in issues)
    if vectorised:
        return
    # a valid file: the canonical frame holds exactly what the model makes of each row
    by_line = {row["line"]: row for row in events.iter_rows(named=True)}
    for line, row in enumerate(rows, start=2):
        if line in blank_lines:
            assert line not in by_line
            continue
        event = Event.from_row(row)
        got = by_line[line]
        assert got["subject_id"] == event.subject_id
        assert got["event"] == event.event
        assert got["date"] == event.date  # one record per subject: imputation gives the 1st
        assert got["date_imputed"] == (event.date_precision in ("month", "year"))
        assert got["month_imputed"] == (event.date_precision == "year")
        for name in ("end_date", "grade", "term", "soc", "serious", "related", "result", "mrd"):
            assert got[name] == getattr(event, name), name


# --------------------------------------------------------------------------- (d) fast and eager readers agree


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS, trial=trials(), odd=st.booleans())
def test_the_coded_reader_and_the_eager_validator_agree(tmp_path_factory, rows, trial, odd):
    """A plain CSV file is read coded (every distinct cell checked once, ``scan_coded``); the
    eager path checks a raw text table row by row (``validate_raw``). On the same records they
    give the same errors and warnings, line for line, and the same canonical frame. ``trial``
    adds valid subjects, so that imputation and the file-level rules have records to work on."""
    from cart19.io.contradictions import implausible_dates
    from cart19.io.read import _read_plain_csv

    records = [{c: row.get(c) for c in COLUMNS} for row in trial]
    if odd:  # records with odd cells (most hold an error) among the valid ones
        records += [{c: row.get(c) for c in COLUMNS} for row in _raw_frame(rows).drop("line").iter_rows(named=True)]
    path = tmp_path_factory.mktemp("coded") / "events.csv"
    path.write_bytes(to_csv(records, list(COLUMNS)))
    frame = pl.DataFrame(
        {"line": list(range(2, len(records) + 2))} | {c: [r[c] or None for r in records] for c in COLUMNS},
        schema={"line": pl.Int64} | {c: pl.String for c in COLUMNS},
    )
    eager_events, eager_issues = validate_raw(frame)
    eager_issues = eager_issues + implausible_dates(frame)
    coded = _read_plain_csv(str(path))
    if coded is None:  # only a record with a line break in a quoted cell takes the eager path, or one
        # with a control or invisible character in a cell (an error the eager path names)
        assert any("\n" in (r[c] or "") or "\r" in (r[c] or "") for r in records for c in COLUMNS) or any(
            invisible_characters(r[c] if c == "subject_id" else (r[c] or "").strip(STRIP_CHARS))
            for r in records for c in COLUMNS if r[c]
        )  # fmt: skip
        return
    events, issues, _ = coded
    key = lambda i: (i.line or 0, i.column or "", i.message)
    assert sorted(issues, key=key) == sorted(eager_issues, key=key)
    if not any(i.severity == "error" for i in issues):
        assert events.equals(eager_events)
        assert events.height == sum(any(r[c] and r[c].strip(STRIP_CHARS) for c in COLUMNS) for r in records)
