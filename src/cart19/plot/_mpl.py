"""The one place matplotlib is imported: the Agg backend, and reproducible image files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

#: Image formats a figure can be written in, by file extension.
IMAGE_FORMATS: dict[str, str] = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

INSTALL_HINT = "pip install 'cart19[plot]'"


class PlotUnavailable(Exception):
    """matplotlib is not installed: the figure cannot be drawn."""

    def __init__(self) -> None:
        super().__init__(
            f"drawing figures needs matplotlib, which is not installed; install it with: {INSTALL_HINT}"
        )


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed), or :class:`PlotUnavailable`."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable() from None
    matplotlib.use("Agg")
    # SVG element ids are random unless salted: fix the salt so the same figure gives the same file.
    matplotlib.rcParams["svg.hashsalt"] = "cart19"
    import matplotlib.pyplot as plt

    return plt


def image_format(path: str | Path) -> str:
    """The format of an output file from its extension; ``ValueError`` when not one we write."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise ValueError(
            f"cannot tell the image format of {str(path)!r}: use a file name ending in "
            + ", ".join(IMAGE_FORMATS)
        )
    return IMAGE_FORMATS[suffix]


def figure_bytes(figure: Any, fmt: str, *, dpi: int = 150) -> bytes:
    """The figure as bytes, with no creation date in the file (PNG has none; SVG's ``Date`` and
    PDF's ``CreationDate`` are dropped), so the same data give the same bytes."""
    metadata: dict[str, Any] = {}
    if fmt == "svg":
        metadata = {"Date": None}
    elif fmt == "pdf":
        metadata = {"CreationDate": None, "ModDate": None}
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, bbox_inches="tight")
    return buffer.getvalue()


def save_figure(figure: Any, path: str | Path, *, dpi: int = 150) -> bytes:
    """Render ``figure`` in the format of ``path``'s extension; return the bytes (the caller
    writes them atomically)."""
    return figure_bytes(figure, image_format(path), dpi=dpi)
