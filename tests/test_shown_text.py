"""Text from the data is never sent to a terminal raw (cli.md, "Output safety"): one helper,
:func:`cart19.text.shown`, escapes control characters in every table, message and label."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from rich.console import Console

from cart19.cli.common import Env
from cart19.config import Config
from cart19.io.read import read_events
from cart19.text import escape_controls, shorten, shown
from conftest import run_cli

CLEAR = "\x1b[2J"
EXAMPLE = "examples/events.csv"


def _hostile_events() -> pl.DataFrame:
    """The example trial with one subject renamed to an ID holding escape sequences (the reader
    refuses such IDs in a file; the display must not rely on it)."""
    events = read_events(EXAMPLE).events
    return events.with_columns(pl.col("subject_id").replace({"CART19-003": f"EVIL{CLEAR}\x07\x01[bold]"}))


def test_escape_controls_makes_every_control_visible():
    assert escape_controls("A\x1b[2J\r\x00\x7f\x9b\u202eB") == "A\\x1b[2J\\x0d\\x00\\x7f\\x9b\\u202eB"
    assert escape_controls("two\nlines\x1b", keep="\n") == "two\nlines\\x1b"
    assert shown("[bold]x\x1b") == "\\[bold]x\\x1b"
    assert shorten("S" * 30, 24) == "S" * 23 + "…"


def test_an_escape_sequence_in_a_subject_id_never_reaches_the_check_dlt_table_raw():
    from cart19.cli.check_dlt import review_table
    from cart19.engine.dlt import dlt_review

    review = dlt_review(_hostile_events(), Config(), None)
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, no_color=True, width=200).print(review_table(review))
    text = buffer.getvalue()
    assert CLEAR not in text and "\x07" not in text and "\x01" not in text
    assert "EVIL\\x1b[2J\\x07\\x01[bold]" in text  # shown, escaped, markup kept as text


def test_messages_on_standard_error_escape_control_characters():
    stderr = io.StringIO()
    Env(stderr=stderr).warn(f"subject EVIL{CLEAR} has a problem")
    assert stderr.getvalue() == "warning: subject EVIL\\x1b[2J has a problem\n"


def test_a_terminal_error_table_escapes_the_values(write_bytes):
    path = write_bytes(f"subject_id,event,date\nS1,infusion,2024-01-1{CLEAR}\n".encode())
    result = run_cli("validate", path, "--format", "table", env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1"})
    assert result.exit_code == 2
    assert CLEAR not in result.stderr and CLEAR not in result.stdout


def test_control_characters_in_a_subject_id_keep_the_swimmer_svg_valid_xml():
    pytest.importorskip("matplotlib")
    from cart19.plot._mpl import figure_bytes, pyplot
    from cart19.plot.swimmer import draw_swimmer, swimmer_data

    events = _hostile_events().with_columns(
        pl.col("subject_id").replace({"CART19-004": "X" * 1000}))  # fmt: skip
    figure = draw_swimmer(swimmer_data(events, Config()))
    try:
        svg = figure_bytes(figure, "svg")
        labels = [label.get_text() for label in figure.axes[1].get_yticklabels()]  # left of the response cells
    finally:
        pyplot().close(figure)
    ET.fromstring(svg)  # raises on a character XML forbids
    assert any(label.startswith("EVIL\\x1b[2J\\x07\\x01") for label in labels)
    assert "X" * 23 + "…" in labels and max(len(label) for label in labels) <= 24


def test_the_swimmer_plot_draws_the_first_lanes_and_says_so():
    pytest.importorskip("matplotlib")
    from cart19.engine.simulate import simulate_events
    from cart19.plot._mpl import pyplot
    from cart19.plot.swimmer import draw_swimmer, swimmer_data
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trial.csv"
        simulate_events(80, 5).write_csv(path)
        data = swimmer_data(read_events(path).events, Config())
    total = data.lanes.height
    assert total > 12
    figure = draw_swimmer(data, max_lanes=12)
    try:
        bars = [p for p in figure.axes[0].patches if (p.get_gid() or "").startswith("lane:")]
        title = figure.axes[0].get_title(loc="left")
    finally:
        pyplot().close(figure)
    assert len(bars) == 12
    assert f"the 12 of N = {total} infused with the longest follow-up shown" in title
    kept = set(data.lanes.filter(pl.col("lane") < 12)["subject_id"])
    assert {b.get_gid().removeprefix("lane:") for b in bars} == kept


def test_report_as_of_states_the_records_it_set_aside(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    result = run_cli("report", EXAMPLE, "--as-of", "2024-01-01", "-o", out)
    assert result.exit_code == 0, result.stderr
    words = "115 record(s) dated after the review date 2024-01-01 were set aside"
    assert words in result.stderr
    assert words in out.read_text()


@pytest.mark.parametrize(
    "args",
    [("check-dlt", "--by", "cohort"), ("response", "--by", "cohort"), ("safety", "--by", "cohort"),
     ("cuminc", "--by", "cohort")],
    ids=["check-dlt", "response", "safety", "cuminc"],
)
def test_an_escape_sequence_in_a_covariate_never_reaches_a_terminal_raw(tmp_path, args):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples"
    subjects = tmp_path / "subjects.csv"
    text = (example / "subjects.csv").read_text(encoding="utf-8").replace(",DL1,", ",DL\x1b[2J1,")
    subjects.write_text(text, encoding="utf-8")
    command, *rest = args
    result = run_cli(command, example / "events.csv", "--subjects", subjects, *rest, "--format", "table",
                     env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "200"})  # fmt: skip
    assert result.exit_code in (0, 3), result.stderr
    assert "\x1b[2J" not in result.stdout and "\x1b[2J" not in result.stderr
    assert "DL\\x1b[2J1" in result.stdout


@pytest.mark.parametrize(
    "args",
    [("derive",), ("teae",), ("check-dlt",), ("response",), ("response", "--listing"), ("safety",),
     ("safety", "--listing")],
    ids=["derive", "teae", "check-dlt", "response", "response-listing", "safety", "safety-listing"],
)
def test_an_output_path_that_looks_like_markup_is_said_as_written(tmp_path, args):
    """``-o 'out[bold].csv'`` on a terminal: the line that says where the output went names
    the file as written (rich would take an unescaped ``[bold]`` for a style and drop it)."""
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "events.csv"
    target = tmp_path / "out[bold].csv"
    command, *rest = args
    result = run_cli(command, example, *rest, "-o", target,
                     env={"CART19_FORCE_TERMINAL": "1", "NO_COLOR": "1", "COLUMNS": "400"})  # fmt: skip
    assert result.exit_code in (0, 3), result.stderr
    assert target.exists()
    assert "out[bold].csv" in result.stdout.replace("\n", "")
