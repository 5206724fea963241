"""Text from the data, made safe to show: the one helper every table, message and label uses.

A subject ID or term is the data's, not ours: it may hold an escape sequence (``ESC[2J`` clears
a terminal), a carriage return that overwrites a line, a bidirectional override that reorders
what is read, or characters XML forbids (an SVG with them is not a valid file). Shown to a
person, such characters are written as visible escapes (``\\x1b``, ``\\u202e``); the machine
formats (CSV, JSON, Parquet) keep the data verbatim.

Standard library only: imported by the command line at start.
"""

from __future__ import annotations

import re

#: C0 and C1 control characters, DEL, and the invisible format characters that change how
#: text reads (zero-width, bidirectional marks, embeddings, overrides and isolates, BOM).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: object, *, keep: str = "") -> str:
    """``text`` with every control or invisible format character written as a visible escape
    (``keep``: characters left as they are, e.g. ``"\\n"`` for a message of several lines)."""
    value = str(text)
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _visible(m), value)
    return _UNSAFE.sub(_visible, value)


def shown(text: object, *, limit: int | None = None) -> str:
    """Text from the data for a rich table or console line: controls escaped, rich markup
    escaped (``[bold]`` in a subject ID is text), and cut to ``limit`` characters with an
    ellipsis when given."""
    from rich.markup import escape

    return escape(shorten(escape_controls(text), limit))


def shorten(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)] + "…"
