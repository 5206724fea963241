"""The vocabulary of the input format (``shared/spec/events-format.md``).

These constants are the single source of what a valid event is. Both descriptions of
validity use them: the pydantic :class:`cart19.events.Event` model (one record, the Python
API) and the vectorised polars checks of :mod:`cart19.io.validate` (whole files).
"""

from __future__ import annotations

from types import MappingProxyType

#: Columns the format knows, in the order the spec lists them.
COLUMNS: tuple[str, ...] = (
    "subject_id",
    "event",
    "date",
    "end_date",
    "grade",
    "term",
    "soc",
    "serious",
    "related",
    "result",
    "mrd",
)

#: Columns every file must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("subject_id", "event", "date")

ASSESSMENT_RESULTS: tuple[str, ...] = ("CR", "CRh", "CRi", "MLFS", "PR", "NR", "PD", "NE")
RELAPSE_SITES: tuple[str, ...] = ("hematologic", "extramedullary")
DEATH_CAUSES: tuple[str, ...] = ("disease", "toxicity", "other", "unknown")

#: Event kinds, in the order of the spec's table.
EVENT_KINDS: tuple[str, ...] = (
    "enrolled",
    "lymphodepletion",
    "infusion",
    "assessment",
    "relapse",
    "ae",
    "hsct",
    "new_therapy",
    "end_of_treatment",
    "contact",
    "death",
    "withdrawal",
)

#: ``result`` vocabulary by event kind; kinds not listed take no result.
RESULTS_BY_KIND: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {"assessment": ASSESSMENT_RESULTS, "relapse": RELAPSE_SITES, "death": DEATH_CAUSES}
)

#: Event kinds whose ``date`` may be partial (``YYYY-MM``).
PARTIAL_DATE_KINDS: frozenset[str] = frozenset({"ae", "death"})

#: Event kinds whose ``date`` may be the year alone (``YYYY``: an AE onset, flag ``M``).
YEAR_DATE_KINDS: frozenset[str] = frozenset({"ae"})

#: Event kinds that may occur at most once per subject.
ONCE_PER_SUBJECT: tuple[str, ...] = ("infusion", "death")

#: Columns that belong to ``ae`` rows only.
AE_ONLY_COLUMNS: tuple[str, ...] = ("end_date", "grade", "term", "soc", "serious", "related")

#: ``mrd``: measurable residual disease of an ``assessment`` (empty = not done); read
#: case-insensitively, like ``result``, and kept in these spellings.
MRD_VALUES: tuple[str, ...] = ("negative", "positive")
#: The one event kind that takes an ``mrd``; on any other kind it is an error.
MRD_KIND = "assessment"

#: The earliest date the format accepts.
EARLIEST_YEAR = 1900

#: Anchored patterns of the date forms. Both validators use exactly these.
FULL_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MONTH_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
YEAR_DATE_PATTERN = r"^[0-9]{4}$"
GRADE_PATTERN = r"^[1-5]$"
YES_NO: tuple[str, ...] = ("Y", "N")

#: White space trimmed from every cell before it is checked (a cell of only these is empty).
#: An explicit set, so that Python's ``str.strip`` and polars' ``str.strip_chars`` agree
#: exactly (their default sets differ, e.g. on ``\x1c``-``\x1f``).
STRIP_CHARS = " \t\n\r\x0b\x0c\xa0"


def clean_cell(value: object) -> str | None:
    """A cell as the validators see it: trimmed of :data:`STRIP_CHARS`; empty -> None."""
    if value is None:
        return None
    text = str(value).strip(STRIP_CHARS)
    return text or None


def canonical_result(kind: str, value: str) -> str | None:
    """The canonical spelling of a ``result`` for its kind (case-insensitive), or None.

    Case is folded with ``str.lower`` (Unicode lower-case mapping, as polars'
    ``str.to_lowercase``), not ``casefold``: the vectorised checks must accept exactly the
    same spellings (``casefold`` would also accept e.g. ``MLF\u017f``)."""
    folded = value.lower()
    for allowed in RESULTS_BY_KIND.get(kind, ()):
        if allowed.lower() == folded:
            return allowed
    return None


def canonical_mrd(value: str) -> str | None:
    """The canonical spelling of an ``mrd`` value (case-insensitive, as :func:`canonical_result`), or None."""
    folded = value.lower()
    return folded if folded in MRD_VALUES else None
#: Characters a text cell may not hold (events-format.md, "Text cells"): the control characters
#: (Unicode Cc: C0, DEL, C1) other than the line breaks LF and CR of a quoted field, and the
#: invisible format characters (Unicode Cf: zero-width space, bidirectional controls, a BOM
#: inside the text, ...), as inclusive code point ranges. Written out, not read from
#: ``unicodedata`` at import (slow, and tied to the running Python's Unicode version), so that
#: Python (:func:`invisible_characters`) and polars (:data:`INVISIBLE_PATTERN`) test the same
#: set; ``tests/test_text_cells.py`` holds it to Unicode's Cc and Cf categories.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0009), (0x000B, 0x000C), (0x000E, 0x001F), (0x007F, 0x009F),  # Cc, but LF and CR
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)  # fmt: skip

#: :data:`INVISIBLE_RANGES` as a regular-expression character class (polars' regex syntax).
INVISIBLE_PATTERN = "[" + "".join(
    f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in INVISIBLE_RANGES
) + "]"

_INVISIBLE = frozenset(chr(c) for low, high in INVISIBLE_RANGES for c in range(low, high + 1))


def invisible_characters(text: str) -> list[tuple[int, str]]:
    """The (1-based position, character) of every character of :data:`INVISIBLE_RANGES` in ``text``."""
    return [(i, ch) for i, ch in enumerate(text, start=1) if ch in _INVISIBLE]


def describe_invisible(text: str) -> str:
    """The error message for a text cell holding such characters: the first one's code point
    and name, its position, and how many more there are."""
    import unicodedata

    found = invisible_characters(text)
    if not found:  # pragma: no cover - called on offending cells only
        return ""
    position, ch = found[0]
    kind = "a control character" if unicodedata.category(ch) == "Cc" else "an invisible format character"
    name = unicodedata.name(ch, "")
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (
        f"{kind} U+{ord(ch):04X}{' ' + name if name else ''} at character {position}{more}; such characters split "
        "a subject in two or hide a term from a rule without anyone seeing why: remove it"
    )

