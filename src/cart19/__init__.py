"""cart19: endpoint derivation for a donor-derived CD19 CAR-T trial in R/R B-ALL.

The package is layered (see ``README.md``):

* :mod:`cart19.model` and :mod:`cart19.config` - pydantic models: what a valid event is, and
  every window, response set, term list and rule of the endpoints (the spec's defaults).
* :mod:`cart19.engine` - pure functions, polars frames in, frames out.
* :mod:`cart19.io` - reading and validating the event file, writing outputs atomically.
* :mod:`cart19.cli` - the thin typer command line.

Importing :mod:`cart19` is cheap: heavy modules are imported by the functions that use them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
