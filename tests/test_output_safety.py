"""Output safety (cli.md, "Output safety"): -o never destroys an input, streams are written
in place, permissions are kept, an interrupt always stops the run, and problems of the
environment are plain messages with exit status 2."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import run_cli

EXAMPLE = Path("examples/events.csv")
KNOWN = b"subject_id,event,date\nEARLIER,contact,2020-01-01\n"
COMMANDS = ("derive", "teae", "km", "check-dlt")


def _copy_example(tmp_path: Path) -> Path:
    target = tmp_path / "x.csv"
    shutil.copyfile(EXAMPLE, target)
    return target


def _process_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CART19_")}


# --------------------------------------------------------------------------- never destroy an input


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_is_the_input_is_refused_before_any_work(tmp_path, command):
    source = _copy_example(tmp_path)
    before = source.read_bytes()
    result = run_cli(command, source, "-o", source)
    assert result.exit_code == 2, result.stderr
    assert "is the event file" in result.stderr
    assert "would destroy the input" in result.stderr
    assert source.read_bytes() == before


def test_the_input_reached_through_a_link_or_another_spelling_is_refused(tmp_path):
    source = _copy_example(tmp_path)
    before = source.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    (tmp_path / "sub").mkdir()
    for output in (link, tmp_path / "sub" / ".." / "x.csv", Path(os.path.relpath(source))):
        result = run_cli("derive", source, "-o", output)
        assert result.exit_code == 2, (output, result.stderr)
        assert "would destroy the input" in result.stderr
    hard = tmp_path / "hard.csv"
    os.link(source, hard)
    assert run_cli("derive", source, "-o", hard).exit_code == 2
    assert source.read_bytes() == before


def test_an_output_that_is_the_configuration_is_refused(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[km]\nconfidence_level = 0.9\n")
    result = run_cli("derive", EXAMPLE, "--config", config, "-o", config)
    assert result.exit_code == 2
    assert "is the configuration" in result.stderr
    assert config.read_text() == "[km]\nconfidence_level = 0.9\n"


# --------------------------------------------------------------------------- streams and permissions


def test_a_fifo_as_output_is_written_as_a_stream_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_cli("derive", EXAMPLE, "-o", fifo, "-q")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received and received[0].startswith(b"USUBJID,PARAMCD,PARAM,")


def test_a_character_device_as_output_is_written_not_replaced():
    before = os.stat("/dev/null")
    result = run_cli("derive", EXAMPLE, "-o", "/dev/null", "-q")
    assert result.exit_code == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_rewriting_an_output_keeps_its_permission_bits(tmp_path):
    out = tmp_path / "adtte.csv"
    out.write_bytes(KNOWN)
    out.chmod(0o600)
    assert run_cli("derive", EXAMPLE, "-o", out, "-q").exit_code == 0
    assert out.read_bytes().startswith(b"USUBJID,")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    config = tmp_path / "cart19.toml"  # every command goes through the same writer
    config.write_bytes(b"old")
    config.chmod(0o640)
    assert run_cli("config", "-o", config).exit_code == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_an_interrupt_swallowed_by_a_library_still_stops_the_write(tmp_path, monkeypatch):
    """A SIGINT that reached Python while polars ran may come back as a polars error that a
    reader catches; the remembered interrupt still stops the run before anything is written."""
    import cart19.io.write as write

    out = tmp_path / "out.csv"
    out.write_bytes(KNOWN)
    monkeypatch.setattr(write, "_interrupted", True)
    with pytest.raises(KeyboardInterrupt):
        write.write_bytes(out, b"new")
    with pytest.raises(KeyboardInterrupt):
        write.write_to_stdout(b"new")
    assert out.read_bytes() == KNOWN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def _mapped(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open or mapped (it is reading it)."""
    text = str(path.resolve())
    try:
        if any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == text for fd in os.listdir(f"/proc/{pid}/fd")):
            return True
        with open(f"/proc/{pid}/maps") as maps:
            return text in maps.read()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the reader start")
def test_ctrl_c_while_the_reader_runs_stops_with_130_and_writes_nothing(tmp_path):
    from cart19.engine.simulate import simulate_events

    source = tmp_path / "trial.csv"
    simulate_events(20_000, 3).write_csv(source)
    out = tmp_path / "out.csv"
    out.write_bytes(KNOWN)
    process = subprocess.Popen([sys.executable, "-m", "cart19", "derive", str(source), "-o", str(out)],
                               env=_process_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None and not _mapped(process.pid, source):
            time.sleep(0.002)
        if process.poll() is not None:
            pytest.skip("the run ended before it could be interrupted")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert b"interrupted; nothing was written" in stderr
    assert b"Traceback" not in stderr
    assert out.read_bytes() == KNOWN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "trial.csv"]


# --------------------------------------------------------------------------- the environment


@pytest.mark.parametrize(
    ("output", "words"),
    [
        ("missing/adtte.csv", "the folder"),
        (".", "it is a folder"),
        ("events.csv/adtte.csv", "a part of the path is a file"),
    ],
    ids=["missing folder", "a folder", "under a file"],
)
def test_an_output_that_cannot_be_written_is_a_plain_error_before_any_work(tmp_path, output, words):
    (tmp_path / "events.csv").write_bytes(KNOWN)
    result = run_cli("derive", EXAMPLE, "-o", tmp_path / output)
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr
    assert "bug" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_a_plain_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = run_cli("derive", EXAMPLE, "-o", folder / "adtte.csv", "-q")
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2
    assert "permission denied" in result.stderr
    assert "bug" not in result.stderr


def test_a_full_file_system_is_a_plain_error_and_keeps_the_earlier_file(tmp_path):
    out = tmp_path / "adtte.csv"
    out.write_bytes(KNOWN)

    def limit() -> None:  # a file may grow to 1 KiB: the output does not fit (EFBIG, as a full disk)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    completed = subprocess.run([sys.executable, "-m", "cart19", "derive", str(EXAMPLE), "-o", str(out), "-q"],
                               env=_process_env(), capture_output=True, preexec_fn=limit, timeout=120)  # fmt: skip
    stderr = completed.stderr.decode()
    assert completed.returncode == 2, stderr
    assert "cannot write" in stderr and "file size limit" in stderr
    assert "bug" not in stderr and "Traceback" not in stderr
    assert out.read_bytes() == KNOWN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adtte.csv"]


def test_standard_output_closed_is_a_plain_error_even_for_version():
    for args in (["--version"], ["derive", str(EXAMPLE), "-q"], ["simulate", "-n", "5"]):
        completed = subprocess.run([sys.executable, "-m", "cart19", *args], env=_process_env(),
                                   capture_output=False, stderr=subprocess.PIPE,
                                   preexec_fn=lambda: os.close(1), timeout=120)  # fmt: skip
        stderr = completed.stderr.decode()
        assert completed.returncode == 2, (args, stderr)
        assert "cannot write to standard output: it is closed" in stderr
        assert "Traceback" not in stderr and "bug" not in stderr


def test_a_reader_that_goes_away_early_ends_the_run_quietly():
    process = subprocess.Popen([sys.executable, "-m", "cart19", "simulate", "-n", "20000"], env=_process_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(100)  # as `| head -c 100` does
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 0, stderr
    assert stderr == b""
