"""Pure endpoint engines: polars frames in, frames out; no I/O, no printing."""
