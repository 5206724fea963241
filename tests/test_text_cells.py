"""events-format.md, "Text cells": a control character (other than the line breaks of a quoted
field) or an invisible format character (Unicode Cf) in a text cell is an error naming the line,
the column and the character's code point, on every reader path."""

from __future__ import annotations

import io
import unicodedata

import pytest

from cart19.errors import InputError
from cart19.io.read import read_events
from cart19.model import INVISIBLE_RANGES, invisible_characters
from conftest import run_cli

HEADER = "subject_id,event,date,end_date,grade,term,soc\n"
GOOD = (
    "A,infusion,2024-01-01,,,,\n"
    "A,ae,2024-01-02,2024-01-09,4,Cytokine release syndrome,Immune system disorders\n"
    "A,contact,2024-03-01,,,,\n"
)


def _file(body: str, newline: str = "\n") -> bytes:
    return (HEADER + body).replace("\n", newline).encode("utf-8")


def _errors_on_every_path(tmp_path, data: bytes) -> list[list[tuple]]:
    """The (line, column, message) of the errors of the same bytes read from a plain file (the
    coded reader), from standard input (the eager polars reader) and with lone CR line breaks (the slow path,
    Python's csv module)."""
    found = []
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    for source, stdin in ((str(path), None), ("-", io.BytesIO(data))):
        with pytest.raises(InputError) as caught:
            read_events(source, stdin=stdin)
        found.append([(i.line, i.column, i.message) for i in caught.value.errors])
    slow = tmp_path / "cr.csv"
    slow.write_bytes(data.replace(b"\n", b"\r"))
    with pytest.raises(InputError) as caught:
        read_events(str(slow))
    found.append([(i.line, i.column, i.message) for i in caught.value.errors])
    return found


def test_a_zero_width_space_in_a_term_is_an_error_naming_line_column_and_code_point(tmp_path):
    body = GOOD.replace("Cytokine release", "Cytokine\u200b release")
    for errors in _errors_on_every_path(tmp_path, _file(body)):
        assert len(errors) == 1
        line, column, message = errors[0]
        assert (line, column) == (3, "term")
        assert "U+200B ZERO WIDTH SPACE" in message and "character 9" in message


def test_a_bidi_override_in_a_subject_and_a_control_character_in_a_soc(tmp_path):
    body = GOOD.replace("A,contact", "\u202eA,contact").replace("Immune system", "Immune\x1csystem")
    for errors in _errors_on_every_path(tmp_path, _file(body)):
        assert [(line, column) for line, column, _ in errors] == [(3, "soc"), (4, "subject_id")]
        assert "a control character U+001C" in errors[0][2]
        assert "an invisible format character U+202E RIGHT-TO-LEFT OVERRIDE" in errors[1][2]


def test_a_bom_inside_the_text_is_an_error_but_a_bom_opening_the_file_is_not(tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + _file(GOOD))
    assert read_events(tmp_path / "bom.csv").events.height == 3
    body = GOOD.replace("A,infusion", "A\ufeff,infusion")
    for errors in _errors_on_every_path(tmp_path, _file(body)):
        assert [(line, column) for line, column, _ in errors] == [(2, "subject_id")]
        assert "U+FEFF" in errors[0][2]


def test_a_tab_inside_a_cell_is_an_error_but_padding_trimmed_away_is_not(tmp_path):
    padded = GOOD.replace("Cytokine release syndrome", "\tCytokine release syndrome\t")
    (tmp_path / "padded.csv").write_bytes(_file(padded))
    assert read_events(tmp_path / "padded.csv").events.get_column("term").drop_nulls().to_list() == [
        "Cytokine release syndrome"
    ]
    inner = GOOD.replace("Cytokine release", "Cytokine\trelease")
    for errors in _errors_on_every_path(tmp_path, _file(inner)):
        assert [(line, column) for line, column, _ in errors] == [(3, "term")]
        assert "U+0009" in errors[0][2]


def test_a_line_break_in_a_quoted_cell_is_not_an_error(tmp_path):
    body = GOOD.replace("Immune system disorders", '"Immune system\ndisorders"')
    (tmp_path / "events.csv").write_bytes(_file(body))
    assert read_events(tmp_path / "events.csv").events.height == 3


def test_the_command_exits_2_and_names_the_code_point(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(_file(GOOD.replace("Cytokine release", "Cytokine\u200b release")))
    for command in ("validate", "teae", "check-dlt", "safety"):
        result = run_cli(command, path)
        assert result.exit_code == 2, command
        assert "line 3, column term" in result.stderr and "U+200B" in result.stderr, command


def test_the_ranges_are_unicode_control_and_format_characters():
    """Every Cc (but LF and CR) and every Cf of this Python's Unicode tables is listed, and
    nothing else but code points that Unicode assigned as Cf later than those tables."""
    listed = {c for low, high in INVISIBLE_RANGES for c in range(low, high + 1)}
    for code in range(0x110000):
        category = unicodedata.category(chr(code))
        if category == "Cf" or (category == "Cc" and code not in (0x0A, 0x0D)):
            assert code in listed, f"U+{code:04X}"
        elif code in listed:
            assert category == "Cn", f"U+{code:04X} is {category}"
    assert invisible_characters("a\u200bb\u00adc") == [(2, "\u200b"), (4, "\u00ad")]
