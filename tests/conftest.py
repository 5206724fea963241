"""Shared test helpers: write an event file, run the CLI in-process or as a real process.

* ``write_csv(rows, name=..., header=...)`` (fixture) writes rows (dicts or lists) to a CSV in
  ``tmp_path`` and returns its path; ``write_bytes(data, name=...)`` writes raw bytes.
* :func:`run_cli` runs ``cart19.cli.app`` with typer's ``CliRunner`` (fast; stdout and stderr
  kept apart).
* :func:`run_process` runs ``python -m cart19`` in a subprocess (the real entry point: exit
  status, streams and signals exactly as a user sees them).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from cart19.model import COLUMNS

HEADER: tuple[str, ...] = COLUMNS


def csv_text(rows: Iterable[Mapping[str, object] | Sequence[object]], header: Sequence[str] = HEADER) -> str:
    """Rows as CSV text with a header (``None`` -> empty cell; dict keys not in the header
    are an error, missing keys are empty; a list shorter than the default header, written
    before its last columns were added (``mrd``), ends in empty cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, Mapping):
            extra = set(row) - set(header)
            if extra:
                raise KeyError(f"not in the header: {sorted(extra)}")
            row = [row.get(name) for name in header]
        elif header is HEADER and len(row) < len(header):
            row = [*row, *[None] * (len(header) - len(row))]
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue()


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(
        rows: Iterable[Mapping[str, object] | Sequence[object]],
        name: str = "events.csv",
        header: Sequence[str] = HEADER,
    ) -> Path:
        path = tmp_path / name
        path.write_text(csv_text(rows, header), encoding="utf-8", newline="")
        return path

    return write


@pytest.fixture
def write_bytes(tmp_path: Path) -> Callable[..., Path]:
    def write(data: bytes, name: str = "events.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: object, input: str | bytes | None = None, env: Mapping[str, str] | None = None) -> Result:
    """Run the CLI in-process (``CliRunner``); standard output is not a terminal."""
    from typer.testing import CliRunner

    from cart19.cli import app

    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], input=input, env=dict(env or {}), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def run_process(
    *args: object, input: bytes | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Result:
    """Run ``python -m cart19 ARGS`` in a subprocess and capture both streams as text."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CART19_")}
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "cart19", *(str(a) for a in args)],
        input=input,
        capture_output=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return Result(
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )
