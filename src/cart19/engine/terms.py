"""One vocabulary of AE terms and SOCs (safety-profile.md, "Terms are one vocabulary everywhere").

"A term or SOC is matched and grouped by a normal form: Unicode NFC, surrounding white space
removed, inner runs of white space as one space, letter case ignored. The TEAE tables, the DLT
rules and the syndromes use the same normal form." Every place that compares or groups terms
(``engine/teae.py``, ``engine/dlt.py``, ``engine/safety.py``) calls this module, so the DLT
review and the TEAE tables can never disagree about which term an AE is.

* :func:`term_key` - the normal form (the matching key) of one text. Besides the spec's four
  steps it reads a hyphen as a space, as endpoints.md asks of the DLT terms ("with or without
  hyphens"): ``Graft-versus-host disease`` and ``Graft versus host disease`` are one term in
  every output, not only in the DLT rules.
* :func:`tidy` - the text as shown: NFC, trimmed, inner white space collapsed (case and
  hyphens kept).
* :func:`vocabulary` - per spelling of a column of AE records: its key and the label a table
  shows, "the spelling used most often (ties: the first in the file)". Spellings are counted
  after :func:`tidy` (white space is not a spelling); a tie goes to the spelling on the
  smallest line.
* :func:`with_terms` - a frame with the key and the label of a column added.
* :func:`merged_spellings` - the warnings that list the spellings merged into one term.

The key is computed in Python once per distinct text (a trial has a few hundred terms among
millions of records) and joined back, so there is one implementation of the normal form, not
a Python one and a polars one that could drift apart.
"""

from __future__ import annotations

import unicodedata

import polars as pl

__all__ = ["term_key", "tidy", "vocabulary", "with_terms", "merged_spellings", "key_set", "ae_vocabulary", "spelling_warnings",
           "ae_vocabularies", "spelling_warnings_of"]


def tidy(text: str) -> str:
    """NFC, surrounding white space removed, inner runs of white space as one space:
    ``" Cytokine  release syndrome "`` -> ``"Cytokine release syndrome"``."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def term_key(text: str) -> str:
    """The normal form of a term or SOC: :func:`tidy`, letter case folded (``str.casefold``),
    hyphens read as spaces: ``"Acute graft-versus-host  disease "`` -> ``"acute graft versus
    host disease"``; ``"CYTOKINE RELEASE SYNDROME"`` -> ``"cytokine release syndrome"``."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.replace("-", " ").split())


def key_set(texts: tuple[str, ...] | list[str] | set[str]) -> list[str]:
    """The keys of configured terms or SOCs, sorted (for ``is_in``)."""
    return sorted({term_key(t) for t in texts})


def vocabulary(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per distinct non-null text of ``column`` (``frame`` needs ``line``): ``{column}``, the
    text as written; ``key`` (:func:`term_key`); ``label``, the tidy spelling shown for its key;
    ``rows``, the records with that text; ``first_line``, the first of them. Sorted by key,
    then text.

    The label of a key is the tidy spelling with the most records; a tie goes to the one whose
    first record comes first in the file (smallest ``line``).
    """
    counts = (
        frame.lazy()
        .select(column, "line")
        .filter(pl.col(column).is_not_null())
        .group_by(column)
        .agg(pl.len().alias("rows"), pl.col("line").min().alias("_first"))
        .collect()
    )
    texts = counts.get_column(column).to_list()
    counts = counts.with_columns(
        pl.Series("key", [term_key(t) for t in texts], dtype=pl.String()),
        pl.Series("_tidy", [tidy(t) for t in texts], dtype=pl.String()),
    )
    spellings = counts.group_by("key", "_tidy").agg(pl.col("rows").sum(), pl.col("_first").min())
    labels = (
        spellings.sort(["key", "rows", "_first"], descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .first()
        .select("key", pl.col("_tidy").alias("label"))
    )
    return (
        counts.join(labels, on="key", how="left")
        .select(column, "key", "label", pl.col("rows").cast(pl.Int64()), pl.col("_first").alias("first_line"))
        .sort("key", column)
    )


def with_terms(
    frame: pl.DataFrame, column: str, *, key: str, label: str | None = None, vocab: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``frame`` with ``key`` (the normal form of ``column``, Categorical) and, if asked,
    ``label`` (the spelling a table shows) added; null text -> null. ``vocab``: the
    :func:`vocabulary` to use (default: the one of ``frame`` itself). Row order is kept."""
    if vocab is None:
        vocab = vocabulary(frame, column) if label is not None else _keys_only(frame, column)
    columns = [pl.col(column), pl.col("key").cast(pl.Categorical()).alias(key)]
    if label is not None:
        columns.append(pl.col("label").alias(label))
    lookup = vocab.select(columns)
    return frame.join(lookup, on=column, how="left", maintain_order="left")


def _keys_only(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    texts = frame.get_column(column).drop_nulls().unique().to_list()
    keys = [term_key(t) for t in texts]
    return pl.DataFrame(
        {column: texts, "key": keys, "label": [tidy(t) for t in texts]},
        schema={column: pl.String(), "key": pl.String(), "label": pl.String()},
    )


def ae_vocabularies(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`ae_vocabulary` of ``term`` and of ``soc``, from one pass over the records."""
    aes = events.select("line", "event", "term", "soc").filter(pl.col("event") == "ae")
    return vocabulary(aes, "term"), vocabulary(aes, "soc")


def spelling_warnings_of(vocabularies: tuple[pl.DataFrame, pl.DataFrame]) -> list[str]:
    """:func:`merged_spellings` from the :func:`ae_vocabularies` a caller has already."""
    return [*spelling_warnings("term", vocabularies[0]), *spelling_warnings("soc", vocabularies[1])]


def ae_vocabulary(events: pl.DataFrame, column: str) -> pl.DataFrame:
    """:func:`vocabulary` of ``column`` over every ``ae`` record of ``events``: the one every
    output of a run shares, so that a term has the same label in each."""
    return vocabulary(events.select("line", "event", column).filter(pl.col("event") == "ae"), column)


def merged_spellings(events: pl.DataFrame, columns: tuple[str, ...] = ("term", "soc")) -> list[str]:
    """One warning per term (or SOC) written in more than one way among the ``ae`` records,
    listing the spellings merged (each quoted, so that white space shows) with their records,
    most frequent first (ties: first in the file): ``term 'Cytokine release syndrome': 3
    spellings merged: 'Cytokine release syndrome' (4), 'CYTOKINE RELEASE SYNDROME' (1),
    'cytokine  release syndrome' (1)``."""
    out: list[str] = []
    for column in columns:
        out.extend(spelling_warnings(column, ae_vocabulary(events, column)))
    return out


def spelling_warnings(column: str, vocab: pl.DataFrame) -> list[str]:
    """:func:`merged_spellings`' warnings for one column, from its :func:`vocabulary`."""
    out: list[str] = []
    several = vocab.group_by("key").agg(pl.len().alias("n")).filter(pl.col("n") > 1).get_column("key")
    if several.len() == 0:
        return out
    merged = vocab.filter(pl.col("key").is_in(several.implode())).sort(
        ["label", "rows", "first_line"], descending=[False, True, False]
    )
    for (label,), part in merged.group_by("label", maintain_order=True):
        spellings = ", ".join(f"{_quoted(text)} ({rows})" for text, rows in part.select(column, "rows").iter_rows())
        out.append(f"{column} {_quoted(label)}: {part.height} spellings merged: {spellings}")
    return out


def _quoted(text: str) -> str:
    """``repr`` of a text: quoted, with any unprintable character escaped."""
    return repr(text)
