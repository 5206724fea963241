"""Atomic output (cli.md: "-o FILE writes to a file, atomically ... so a failed run never
leaves a half-written file"): real signals on a real process, and failures half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli

KNOWN = b"subject_id,event,date\nEARLIER,contact,2020-01-01\n"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_write_keeps_the_earlier_file_and_leaves_no_temporary_file(tmp_path, signum):
    out = tmp_path / "out.csv"
    out.write_bytes(KNOWN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CART19_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "cart19", "simulate", "--subjects", "2000000", "-o", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # wait until the run is writing its temporary file: the signal lands mid-write
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            temporary = [p for p in tmp_path.glob(".out.csv.*.tmp") if p.stat().st_size > 1_000_000]
            if temporary or process.poll() is not None:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be interrupted; make it bigger"
        assert temporary, "no temporary file appeared next to out.csv"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert b"interrupted; nothing was written" in stderr
    assert b"Traceback" not in stderr
    assert out.read_bytes() == KNOWN
    assert leftovers(tmp_path) == []


def test_a_writer_failing_half_way_keeps_the_earlier_file(tmp_path):
    from cart19.cli.common import atomic_write

    out = tmp_path / "out.csv"
    out.write_bytes(KNOWN)

    def half(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(b"HALF,")
            handle.flush()
            raise OSError(28, "No space left on device")

    from cart19.errors import OutputError

    with pytest.raises(OutputError, match="the disk is full"):
        atomic_write(out, half)
    assert out.read_bytes() == KNOWN
    assert leftovers(tmp_path) == []


def test_a_command_failing_half_way_through_its_blocks_exits_1_and_keeps_the_earlier_file(tmp_path, monkeypatch):
    """simulate writes CSV block by block; a failure after the first block is written."""
    import cart19.engine.simulate as simulate

    real = simulate.simulate_blocks

    def failing(*args, **kwargs):
        blocks = real(*args, **kwargs)
        yield next(iter(blocks))
        raise RuntimeError("disk pulled out")

    monkeypatch.setattr(simulate, "simulate_blocks", failing)
    out = tmp_path / "out.csv"
    out.write_bytes(KNOWN)
    result = run_cli("simulate", "-n", "50000", "-o", out)
    assert result.exit_code == 1
    assert "internal error (RuntimeError: disk pulled out)" in result.stderr
    assert out.read_bytes() == KNOWN
    assert leftovers(tmp_path) == []


def test_derive_failing_while_serialising_keeps_the_earlier_file(tmp_path, monkeypatch):
    import polars as pl

    def broken(self, file=None, **kwargs):  # noqa: ARG001
        file.write(b"USUBJID,PARAMCD\n")
        raise MemoryError

    monkeypatch.setattr(pl.DataFrame, "write_csv", broken)
    out = tmp_path / "adtte.csv"
    out.write_bytes(KNOWN)
    result = run_cli("derive", "examples/events.csv", "-o", out)
    assert result.exit_code == 1
    assert out.read_bytes() == KNOWN
    assert leftovers(tmp_path) == []


def test_an_invalid_input_writes_nothing_and_keeps_the_earlier_file(tmp_path, write_bytes):
    bad = write_bytes(b"subject_id,event,date\nA,infusion,2024-02-30\n")
    for command, name in (("derive", "a.csv"), ("teae", "t.csv"), ("check-dlt", "d.json"), ("km", "k.csv")):
        out = tmp_path / name
        out.write_bytes(KNOWN)
        result = run_cli(command, bad, "-o", out)
        assert result.exit_code == 2, (command, result.stderr)
        assert out.read_bytes() == KNOWN
    assert leftovers(tmp_path) == []


def test_a_successful_write_replaces_the_file_with_the_umask_permissions(tmp_path):
    out = tmp_path / "adtte.csv"
    out.write_bytes(KNOWN)
    old_umask = os.umask(0o022)
    try:
        assert run_cli("derive", "examples/events.csv", "-o", out).exit_code == 0
    finally:
        os.umask(old_umask)
    assert out.read_bytes().startswith(b"USUBJID,PARAMCD,")
    assert out.stat().st_mode & 0o777 == 0o644
    assert leftovers(tmp_path) == []
