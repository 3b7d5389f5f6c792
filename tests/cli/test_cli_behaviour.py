"""CLI behaviour that golden files cannot show: help everywhere, internal errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import wasmaot.commands.inputs
from wasmaot.cli import cli

HERE = Path(__file__).resolve().parent


def run(args: list[str]):
    return CliRunner().invoke(cli, args, prog_name="wasmaot", catch_exceptions=False)


@pytest.mark.parametrize("command", [[], ["validate"], ["inspect"], ["wast"], ["build"], ["run"],
                                     ["install-launcher"]], ids=lambda c: " ".join(c) or "wasmaot")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_every_command(command: list[str], flag: str) -> None:
    result = run([*command, flag])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: wasmaot")
    assert result.stderr == ""


def test_every_command_is_covered_by_the_help_test() -> None:
    assert sorted(cli.commands) == ["build", "inspect", "install-launcher", "run", "validate", "wast"]


def _explode(path):
    raise RuntimeError("boom\nsecond line")


def test_internal_error_is_one_line(monkeypatch) -> None:
    monkeypatch.setattr(wasmaot.commands.inputs, "read_module_bytes", _explode)
    result = run(["validate", str(HERE / "readme.wat"), str(HERE / "validate-valid.wat")])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0] == f"{HERE / 'readme.wat'}: internal error: RuntimeError: boom second line"
    assert "Traceback" not in result.stderr


def test_internal_error_traceback_with_debug(monkeypatch) -> None:
    monkeypatch.setattr(wasmaot.commands.inputs, "read_module_bytes", _explode)
    result = run(["--debug", "inspect", str(HERE / "readme.wat")])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1] == f"{HERE / 'readme.wat'}: internal error: RuntimeError: boom second line"


def test_console_script_runs_as_module() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "wasmaot", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("wasmaot ")
