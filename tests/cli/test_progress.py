"""The build progress line (commands/progress.py): only on a terminal, only
for builds over DELAY seconds, never with --quiet, erased at the end."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from wasmaot.commands.progress import DELAY, Progress

REPO = Path(__file__).resolve().parents[2]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_shown_before_the_delay_or_when_disabled():
    clock, out = _Clock(), io.StringIO()
    p = Progress(out, True, clock=clock)
    clock.now += DELAY / 2
    p.update(10, 100, 0.1)
    p.close()
    off = Progress(out, False, clock=clock)
    clock.now += 10 * DELAY
    off.update(50, 100, 0.5)
    off.close()
    assert out.getvalue() == ""


def test_the_line_counts_functions_estimates_the_rest_and_is_erased():
    clock, out = _Clock(), io.StringIO()
    p = Progress(out, True, clock=clock)
    clock.now += 10.0
    p.update(2_500, 10_000, 0.25)  # a quarter in 10 s: 30 s left
    assert out.getvalue() == "\rcompiling: 2,500/10,000 functions (25%), about 0:30 left\x1b[K"
    p.update(10_000, 10_000, 1.0)
    assert out.getvalue().endswith("\rcompiling: 10,000/10,000 functions (100%)\x1b[K")
    p.close()
    assert out.getvalue().endswith("\r\x1b[K")


def _many_functions(tmp_path: Path) -> Path:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import shapes
    finally:
        sys.path.pop(0)
    path = tmp_path / "many.wasm"
    # partitioned; about 6 s at -O2 on this machine kind when it is fast (40,000 functions
    # once took 2.1 s, a hair past the progress line's 2 s delay, and showed no line)
    path.write_bytes(shapes.many_funcs(120_000))
    return path


def _build_on_a_terminal(args: list[str]) -> bytes:
    """stderr of `wasmaot build ARGS` run with stderr on a pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "wasmaot", "build", *args],
                            stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    got = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pty closes with the process
            break
        if not chunk:
            break
        got += chunk
    assert proc.wait(timeout=600) == 0, got
    os.close(leader)
    return got


@pytest.mark.parametrize("quiet", [False, True])
def test_a_long_build_on_a_terminal_shows_progress_unless_quiet(tmp_path, quiet):
    wasm = _many_functions(tmp_path)
    # --no-cache: a build remembered by an earlier run (driver/reuse.py) shows nothing
    err = _build_on_a_terminal([str(wasm), "-o", str(tmp_path / "many"), "--no-cache",
                                *(["--quiet"] if quiet else [])])
    assert (tmp_path / "many").exists()
    if quiet:
        assert err == b""
    else:
        assert b"compiling: " in err and b"/120,001 functions" in err
        assert err.endswith(b"\r\x1b[K")  # erased at the end


def test_a_build_into_a_pipe_shows_nothing(tmp_path):
    wasm = _many_functions(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "wasmaot", "build", str(wasm), "-o",
                           str(tmp_path / "many")], capture_output=True, timeout=600)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert (tmp_path / "many").exists()
