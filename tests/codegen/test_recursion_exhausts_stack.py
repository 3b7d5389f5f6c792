"""Unbounded recursion always traps `call stack exhausted` (issue 8, item 2).

Every call that is not a wasm `return_call*` must consume stack (and each
function's prologue checks the limit), at every -O level.  The family of
recursion shapes is generated in recursion_shapes.py; the return_call*-only
cycles are legitimate infinite loops and are excluded (counted and printed).

A regression here is a hang, so each shape runs in a child process that the
test kills when one call takes longer than HANG_SECONDS; a shape must also trap
within one CPU second.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from wasmaot.driver.wat import wat_to_wasm

import recursion_shapes as rs

REPO = Path(__file__).resolve().parents[2]
HANG_SECONDS = 10.0  # wall clock, generous for a loaded machine
MAX_HANGS = 3  # then the rest is reported as not run: a broken build fails fast
TRAP_CPU_SECONDS = 1.0
COMPILE_SECONDS = 600.0
EXHAUSTED = "call stack exhausted"

# The child: compile once, then call each export in turn, one JSON line per
# call ({"name", "trap", "cpu"}), preceded by a "start" line so that the
# parent knows which call hung.
_CHILD = r"""
import json, sys, time
import wasmaot.api as wa
from wasmaot.errors import Trap
wasm, opt, calls = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
inst = wa.compile(open(wasm, "rb").read(), opt_level=opt).instantiate({})
print(json.dumps({"compiled": True}), flush=True)
for name, args in calls:
    print(json.dumps({"start": name}), flush=True)
    t = time.process_time()
    try:
        inst.exports[name](*args)
        trap = None
    except Trap as e:
        trap = str(e)
    print(json.dumps({"name": name, "trap": trap, "cpu": time.process_time() - t}), flush=True)
"""


class _Lines:
    """JSON lines from a child's stdout, each waited for with a timeout (raw
    reads: a buffered reader could hold lines that select() cannot see)."""

    def __init__(self, proc):
        self.fd = proc.stdout.fileno()
        self.buf = b""

    def next(self, timeout: float):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None  # the child died
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


def _run_calls(wasm: Path, opt: int, calls: list) -> dict:
    """name -> {"trap", "cpu"} or {"hang": True}; a hung call is killed and the
    remaining calls run in a fresh child, up to MAX_HANGS hangs."""
    results: dict = {}
    pending = list(calls)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    hangs = 0
    while pending and hangs < MAX_HANGS:
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(wasm), str(opt),
                                     json.dumps(pending)], stdout=subprocess.PIPE,
                                    stderr=err, env=env)
            try:
                problem = _collect(_Lines(proc), pending, results)
            finally:
                proc.kill()
                proc.wait()
            if problem == "hang":
                hangs += 1
            elif problem:
                err.seek(0)
                raise AssertionError(f"{problem}: {err.read().decode()[-2000:]}")
    return results


def _collect(lines: _Lines, pending: list, results: dict):
    """Reads the child's results into `results`, popping `pending`; returns
    None when all ran, "hang" after a call that never returned, or what went
    wrong."""
    if lines.next(COMPILE_SECONDS) != {"compiled": True}:
        return "the child did not compile the module"
    while pending:
        if lines.next(HANG_SECONDS) is None:
            return "the child died"
        done = lines.next(HANG_SECONDS)
        name = pending.pop(0)[0]
        if done is None:
            results[name] = {"hang": True}
            return "hang"
        results[name] = done
    return None


def _calls(family: list) -> list:
    return [(f"s{k}", list(rs.export_args(s))) for k, s in enumerate(family)]


@pytest.fixture(scope="module")
def family_wasm(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("recursion")
    src = d / "family.wat"
    src.write_text(rs.module_text(rs.shapes()))
    wasm = d / "family.wasm"
    wasm.write_bytes(wat_to_wasm(src))
    return wasm


def test_return_call_only_cycles_are_excluded_and_counted():
    excluded = rs.excluded()
    # 3 variants x (3 + 9 + 27) cycles of tail calls only.
    assert len(excluded) == 3 * (3 + 9 + 27)
    assert len(rs.shapes()) + len(excluded) == len(rs.all_shapes())
    print(f"\nexcluded {len(excluded)} return_call*-only cycles (wasm loops forever, "
          f"as wasmtime does); testing {len(rs.shapes())} shapes")


@pytest.mark.parametrize("opt", [0, 1, 2, 3])
def test_every_recursion_through_an_ordinary_call_exhausts_the_stack(family_wasm, opt):
    family = rs.shapes()
    results = _run_calls(family_wasm, opt, _calls(family))
    bad = []
    for k, shape in enumerate(family):
        r = results.get(f"s{k}")
        if r is None:
            bad.append(f"{shape.name}: not run after {MAX_HANGS} hangs")
        elif r.get("hang"):
            bad.append(f"{shape.name}: no trap within {HANG_SECONDS:.0f} s (hangs)")
        elif r["trap"] != EXHAUSTED:
            bad.append(f"{shape.name}: {r['trap']!r}")
        elif r["cpu"] > TRAP_CPU_SECONDS:
            bad.append(f"{shape.name}: trapped after {r['cpu']:.2f} CPU s")
    assert not bad, f"-O{opt}: {len(bad)} of {len(family)} shapes:\n" + "\n".join(bad[:40])


# On aarch64 (under qemu), a slice through `wasmaot wast --target aarch64-linux`
# with assert_exhaustion: every shape of up to two functions, -O0 and -O2 (the
# levels with and without inlining; -O1/-O3 differ from -O2 only in heuristics).

def _aarch64_family() -> list:
    return [s for s in rs.shapes() if len(s.edges) <= 2]


def _wast_text(family: list) -> str:
    checks = []
    for k, shape in enumerate(family):
        args = " ".join(f"(i32.const {a})" for a in rs.export_args(shape))
        checks.append(f'(assert_exhaustion (invoke "s{k}" {args}) "{EXHAUSTED}")')
    return rs.module_text(family) + "\n".join(checks) + "\n"


@pytest.mark.parametrize("opt", [0, 2])
def test_recursion_exhausts_the_stack_on_aarch64(tmp_path, opt):
    assert shutil.which("qemu-aarch64-static"), \
        "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    family = _aarch64_family()
    script = tmp_path / "recursion.wast"
    script.write_text(_wast_text(family))
    cmd = [sys.executable, "-m", "wasmaot", "wast", "--target", "aarch64-linux", f"-O{opt}",
           "-v", str(script)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.monotonic()
    # A hang of one shape hangs the whole script: bounded by shapes x HANG_SECONDS.
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=COMPILE_SECONDS + HANG_SECONDS * len(family))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # One command per shape, plus the module definition.
    assert f"{len(family) + 1} passed, 0 failed, 0 skipped" in proc.stdout, proc.stdout
    print(f"\naarch64 -O{opt}: {len(family)} shapes in {time.monotonic() - start:.1f} s")
