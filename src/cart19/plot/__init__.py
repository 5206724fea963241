"""Pictures for a safety review meeting: the swimmer plot and Kaplan-Meier curves.

Each figure is built in two steps:

1. a **pure** function turns the canonical events frame into the figure's data (polars frames
   of lanes, markers, curve steps, numbers at risk), testable without drawing;
2. a ``draw_*`` function turns that data into a matplotlib figure.

matplotlib is an optional extra (``pip install 'cart19[plot]'``). It is imported only by
:func:`pyplot` (with the non-interactive Agg backend), so importing this package, or building
the figure data, never needs it.
"""

from __future__ import annotations

from cart19.plot._mpl import IMAGE_FORMATS, PlotUnavailable, pyplot, save_figure

__all__ = ["IMAGE_FORMATS", "PlotUnavailable", "pyplot", "save_figure"]
