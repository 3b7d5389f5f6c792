"""Differential tests: `wasm-tools smith` modules run on wasmaot and on wasmtime.

Each seed is one module and one plan of calls (every export, several times, random
arguments); `diff_harness.py` says what is generated and what is compared.  The cases
run in a child process (`diff_harness.py --worker`), so a crash or a hang in native code
fails that seed, not the session; the child is restarted for the next seed.

Scale: `WASMAOT_DIFF_SCALE` seeds (default 60, about 10 s); `WASMAOT_DIFF_FIRST`
shifts the range; `WASMAOT_DIFF_OPT` sets wasmaot's opt level (default 2) and
`WASMAOT_DIFF_BOUNDS=explicit` its bounds checks (default: guard pages).  Totals are
printed at the end (conftest.py).  A mismatch writes the module and the calls to
pytest's tmp directory and prints the command that reruns it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import diff_harness
import pytest

SCALE = int(os.environ.get("WASMAOT_DIFF_SCALE", "60"))
FIRST = int(os.environ.get("WASMAOT_DIFF_FIRST", "0"))
SEEDS = range(FIRST, FIRST + SCALE)
CASE_TIMEOUT_SECONDS = 300  # compiling a big module at -O2 included


class Worker:
    """The child running cases; restarted after it dies or hangs."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = cache_dir
        self.proc = None

    def _start(self) -> None:
        # stderr goes to a file: a pipe nobody reads would block a chatty worker.
        self.stderr = open(self.cache_dir / "worker-stderr.txt", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(diff_harness.__file__)), "--worker",
             "--cache-dir", str(self.cache_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            cwd=diff_harness.ROOT)

    def run(self, seed: int) -> diff_harness.Report:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps({"seed": seed}) + "\n")
        self.proc.stdin.flush()
        line = _readline(self.proc, CASE_TIMEOUT_SECONDS)
        if line is None:  # died or hung: collect what it said, start afresh next time
            self.proc.kill()
            self.proc.wait()
            code = self.proc.returncode
            self.proc = None
            self.stderr.seek(0)
            tail = "\n".join(self.stderr.read().strip().splitlines()[-15:])
            self.stderr.close()
            return diff_harness.Report(seed, "error", f"the worker died or hung (exit {code})",
                                       log=[tail])
        return diff_harness.Report(**json.loads(line))

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.stderr.close()


def _readline(proc, timeout: float) -> str | None:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout)
    sel.close()
    if not ready:
        return None
    line = proc.stdout.readline()
    return line or None


@pytest.fixture(scope="session")
def worker(tmp_path_factory):
    w = Worker(tmp_path_factory.mktemp("diff-modules"))
    yield w
    w.close()


@pytest.fixture(scope="session")
def failures_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("diff-failures")


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed-{s}")
def test_matches_wasmtime(seed: int, worker: Worker, failures_dir: Path) -> None:
    report = worker.run(seed)
    diff_harness.REPORTS[seed] = report
    if report.status == "skipped":
        pytest.skip(report.reason)
    if report.status in ("ok", "nomodule", "inconclusive"):
        return
    wasm = diff_harness.smith_module(seed)
    lines = [f"{report.status}: {report.reason}"]
    if wasm is not None:
        wasm_path, json_path = diff_harness.save_case(report, wasm, failures_dir)
        lines.append(f"saved {wasm_path} and {json_path}")
    lines.append(f"rerun: {diff_harness.repro_command(seed)}")
    lines += [str(entry) for entry in report.log[-3:]]
    pytest.fail("\n".join(lines), pytrace=False)
