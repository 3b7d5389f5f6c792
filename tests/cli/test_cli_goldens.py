"""Golden CLI tests: each `tests/cli/*.wat` carries its commands in header comments.

    ;; RUN: validate %          wasmaot must exit 0
    ;; FAIL: validate %         wasmaot must exit 1 (a rejected or unreadable input)
    ;; USAGE: validate --frob   wasmaot must exit 2 (a command-line usage error)

`%` stands for the .wat file itself; commands run in tests/cli, so other inputs
(`inputs/*.wasm`, other .wat files) are named relative to it.  The expected
output sits beside the file: `NAME.wat.stdout` and `NAME.wat.stderr`, or
`NAME.wat.N.stdout` / `.stderr` when the file has several commands (N counts
from 0).  A missing expected file means "no output".  `pytest --update-goldens`
rewrites them from the actual output.  `readme.wat` shows the format.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from wasmaot.cli import cli

HERE = Path(__file__).resolve().parent
DIRECTIVE = re.compile(r"^\s*;;\s*(RUN|FAIL|USAGE):\s*(.*?)\s*$")
EXIT_STATUS = {"RUN": 0, "FAIL": 1, "USAGE": 2}


@dataclass
class Command:
    file: Path
    index: int | None  # None when the file has only one command
    directive: str
    args: str

    @property
    def id(self) -> str:
        return self.file.name if self.index is None else f"{self.file.name}.{self.index}"

    def golden(self, stream: str) -> Path:
        return self.file.with_name(f"{self.id}.{stream}")


def commands() -> list[Command]:
    found = []
    for path in sorted(HERE.glob("*.wat")):
        directives = []
        for line in path.read_text(encoding="utf-8").splitlines():
            match = DIRECTIVE.match(line)
            if match:
                directives.append(match.groups())
        if not directives:
            raise AssertionError(f"{path.name} has no RUN:/FAIL:/USAGE: line")
        single = len(directives) == 1
        for i, (directive, args) in enumerate(directives):
            found.append(Command(path, None if single else i, directive, args))
    return found


def run_wasmaot(args: list[str]):
    return CliRunner().invoke(cli, args, prog_name="wasmaot", catch_exceptions=True)


@pytest.mark.parametrize("cmd", commands(), ids=lambda c: c.id)
def test_cli_golden(cmd: Command, monkeypatch, request) -> None:
    monkeypatch.chdir(HERE)
    args = [cmd.file.name if arg == "%" else arg for arg in shlex.split(cmd.args)]
    result = run_wasmaot(args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception

    actual = {"stdout": result.stdout, "stderr": result.stderr}
    if request.config.getoption("--update-goldens"):
        for stream, text in actual.items():
            golden = cmd.golden(stream)
            if text:
                golden.write_text(text, encoding="utf-8")
            elif golden.exists():
                golden.unlink()
    for stream, text in actual.items():
        golden = cmd.golden(stream)
        expected = golden.read_text(encoding="utf-8") if golden.exists() else ""
        assert text == expected, f"{stream} of `wasmaot {cmd.args}` differs from {golden.name} (--update-goldens)"
    assert result.exit_code == EXIT_STATUS[cmd.directive], (
        f"`wasmaot {cmd.args}` exited with {result.exit_code}, expected {EXIT_STATUS[cmd.directive]} ({cmd.directive})"
    )


def test_no_orphan_goldens() -> None:
    """Every expected-output file belongs to a command (delete leftovers)."""
    expected = {cmd.golden(stream).name for cmd in commands() for stream in ("stdout", "stderr")}
    orphans = sorted(p.name for p in HERE.iterdir() if p.suffix in (".stdout", ".stderr") and p.name not in expected)
    assert not orphans, f"expected-output files without a command: {orphans}"
