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

#: Event kinds whose ``date`` may be partial (``YYYY-MM``); no kind allows ``YYYY`` alone.
PARTIAL_DATE_KINDS: frozenset[str] = frozenset({"ae", "death"})

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
