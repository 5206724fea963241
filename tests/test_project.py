"""The project's contract points: the README's two commands, CI, the changelog, the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cart19
from cart19.cli import COMMAND_MODULES, app

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_opens_with_install_and_run_then_test_command():
    first, second = _readme_commands()[:2]
    assert "pip install ." in first and "cart19 derive examples/events.csv" in first
    assert 'pip install -e ".[test]"' in second and second.endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()


def test_changelog_has_the_current_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{cart19.__version__}]" in changelog
    assert "## [Unreleased]" in changelog


def test_every_command_module_is_registered():
    registered = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    expected = {m.replace("_cmd", "").replace("_", "-") for m in COMMAND_MODULES}
    assert expected <= registered


def test_version_and_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "cart19", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"cart19 {cart19.__version__}"


def test_every_command_help_has_a_worked_example():
    from typer.testing import CliRunner

    runner = CliRunner()
    for name in sorted({c.name for c in app.registered_commands}):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output and "cart19 " in result.output, name
