"""Determinism: the same input gives byte-identical output whatever the row order of the input,
the number of polars threads, the locale and the time zone."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "events.csv"

#: (name, arguments) of every output compared; {in} is the event file, {out} a folder.
OUTPUTS: list[tuple[str, list[str]]] = [
    ("derive.csv", ["derive", "{in}", "-o", "{out}/derive.csv"]),
    ("derive.jsonl", ["derive", "{in}", "-o", "{out}/derive.jsonl"]),
    ("derive.parquet", ["derive", "{in}", "-o", "{out}/derive.parquet"]),
    ("teae.csv", ["teae", "{in}", "-o", "{out}/teae.csv"]),
    ("listing.csv", ["teae", "{in}", "--listing", "-o", "{out}/listing.csv"]),
    ("dlt.json", ["check-dlt", "{in}", "--format", "json", "-o", "{out}/dlt.json"]),
    ("km.csv", ["km", "{out}/derive.csv", "-o", "{out}/km.csv"]),
    ("report.html", ["report", "{in}", "-o", "{out}/report.html"]),
]


def shuffled(data: bytes, seed: int) -> bytes:
    header, *rows = data.decode().splitlines(keepends=True)
    random.Random(seed).shuffle(rows)
    return (header + "".join(rows)).encode()


def record_by_line(data: bytes) -> dict[str, tuple[str, ...]]:
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    return {str(number): tuple(row) for number, row in enumerate(rows[1:], start=2)}


def canonical_derive(text: str, source: bytes) -> list[tuple]:
    """derive's rows with SRCSEQ (the input line) replaced by the record it names."""
    records = record_by_line(source)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return [tuple((k, records[v] if k == "SRCSEQ" and v else v) for k, v in row.items()) for row in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_row_order_of_the_input_does_not_change_the_outputs(tmp_path, seed):
    original = EXAMPLE.read_bytes()
    mixed = shuffled(original, seed)
    assert mixed != original
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(original)
    b.write_bytes(mixed)

    derive_a, derive_b = run_cli("derive", a), run_cli("derive", b)
    assert canonical_derive(derive_a.stdout, original) == canonical_derive(derive_b.stdout, mixed)
    # everything but SRCSEQ byte-identical
    strip = lambda text: [row[:11] + row[12:] for row in csv.reader(io.StringIO(text, newline=""))]  # noqa: E731
    assert strip(derive_a.stdout) == strip(derive_b.stdout)

    for args in (["teae"], ["check-dlt", "--format", "json"], ["check-dlt", "--format", "csv"]):
        out_a, out_b = run_cli(*args[:1], a, *args[1:]), run_cli(*args[:1], b, *args[1:])
        assert out_a.exit_code == out_b.exit_code
        if args[0] == "check-dlt" and "json" in args:
            # qualifying AEs name their input line: compare through the record
            da, db = json.loads(out_a.stdout), json.loads(out_b.stdout)
            ra, rb = record_by_line(original), record_by_line(mixed)
            for doc, records in ((da, ra), (db, rb)):
                for subject in doc["subjects"]:
                    for event in subject["dlt_events"]:
                        event["line"] = records[str(event["line"])]
            assert da == db
            assert [s["subject_id"] for s in da["subjects"]] == sorted(s["subject_id"] for s in da["subjects"])
        else:
            assert out_a.stdout == out_b.stdout, args
    # the listing's AESEQ is the input line (as SRCSEQ): compare through the record it names
    listing_a, listing_b = run_cli("teae", a, "--listing"), run_cli("teae", b, "--listing")
    assert listing_a.stdout.splitlines()[0].startswith("USUBJID,AESEQ,")

    def canonical_listing(text: str, source: bytes) -> list[tuple]:
        records = record_by_line(source)
        rows = list(csv.reader(io.StringIO(text, newline="")))
        return [tuple(row[:1]) + (records[row[1]],) + tuple(row[2:]) for row in rows[1:]]

    rows_a, rows_b = canonical_listing(listing_a.stdout, original), canonical_listing(listing_b.stdout, mixed)
    # same rows; same order by subject and onset; AEs of one subject with the same onset keep
    # the order of the input lines (AESEQ), a defined tie-break that follows the input order
    assert sorted(rows_a) == sorted(rows_b)
    keys = lambda rows: [(row[0], row[7]) for row in rows]  # noqa: E731 - USUBJID, ASTDT
    assert keys(rows_a) == keys(rows_b)
    # km reads derive's output: shuffle that too
    km_in_a, km_in_b = tmp_path / "adtte_a.csv", tmp_path / "adtte_b.csv"
    km_in_a.write_text(derive_a.stdout)
    km_in_b.write_bytes(shuffled(derive_a.stdout.encode(), seed))
    assert run_cli("km", km_in_a).stdout == run_cli("km", km_in_b).stdout


SCRIPT = """
import sys
from pathlib import Path
from typer.testing import CliRunner
from cart19.cli import app
source, out = sys.argv[1], sys.argv[2]
for args in {outputs!r}:
    argv = [a.replace("{{in}}", source).replace("{{out}}", out) for a in args[1]]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert result.exit_code in (0, 3), (argv, result.output)
"""


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


#: The environments compared: polars threads, locale and time zone. Only C locales may be
#: installed; a missing locale is still passed (a process must not depend on it either).
ENVIRONMENTS = {
    "default": {},
    "1 thread, tr_TR, Kiritimati (UTC+14)": {"POLARS_MAX_THREADS": "1", "LC_ALL": "tr_TR.UTF-8", "LANG": "tr_TR.UTF-8",
                                             "TZ": "Pacific/Kiritimati"},
    "2 threads, C locale, UTC, de_DE numbers": {"LC_ALL": "C", "TZ": "UTC", "LC_NUMERIC": "de_DE.UTF-8",
                                     "POLARS_MAX_THREADS": "2"},
}  # fmt: skip


def test_outputs_are_byte_identical_across_threads_locales_and_time_zones(tmp_path):
    pytest.importorskip("matplotlib")
    source = tmp_path / "events.csv"
    # a bigger trial than the example, so that polars splits work between threads
    assert run_cli("simulate", "-n", "400", "-s", "5", "-o", source).exit_code == 0
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CART19_", "POLARS_", "LC_", "TZ", "LANG"))}
    base["SOURCE_DATE_EPOCH"] = "1700000000"
    results = {}
    script = SCRIPT.format(outputs=OUTPUTS)
    for name, extra in ENVIRONMENTS.items():
        out = tmp_path / f"out-{len(results)}"
        out.mkdir()
        completed = subprocess.run([sys.executable, "-c", script, str(source), str(out)], env={**base, **extra},
                                   capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert completed.returncode == 0, (name, completed.stderr[-3000:])
        results[name] = _digests(out)
    reference = results["default"]
    assert sorted(reference) == sorted(name for name, _ in OUTPUTS)
    for name, digests in results.items():
        assert digests == reference, name


def test_the_real_entry_point_agrees_across_threads_and_time_zones(tmp_path):
    """The same through ``python -m cart19`` (no CliRunner in between)."""
    outputs = []
    for extra in ({}, {"POLARS_MAX_THREADS": "1", "TZ": "Pacific/Kiritimati", "LC_ALL": "C"}):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CART19_", "POLARS_"))} | extra
        completed = subprocess.run([sys.executable, "-m", "cart19", "derive", str(EXAMPLE), "--format", "json"],
                                   env=env, capture_output=True, timeout=120, check=True)  # fmt: skip
        outputs.append(completed.stdout)
    assert outputs[0] == outputs[1] and outputs[0]
