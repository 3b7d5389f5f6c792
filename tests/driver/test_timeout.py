"""Interruption (issue 8, item 8): `wasmaot build --timeout`, WASMAOT_TIMEOUT,
`wasmaot run --timeout` stop a running guest with `wasm trap: interrupt` and
exit status 134, as wasmtime's epoch interruption does; a program that ends in
time is unaffected; without --timeout no check is emitted at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wasmaot.commands.build import BuildOptions, build
from wasmaot.commands.duration import DurationError, parse_duration
from wasmaot.driver.wat import wat_to_wasm

REPO = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-aarch64-static")
TARGETS = ["x86_64-linux", "aarch64-linux"]
INTERRUPT = "wasm trap: interrupt\n"

# $say prints "started"; each of SPINS then spins forever in its own way.
_PRINT = """
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "started\\n")
  (func $say
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
"""
SPINS = {
    # A loop that calls nothing: only the loop-header check can stop it.
    "loop": "(func (export \"_start\") (call $say) (loop $l (br $l)))",
    # A self return_call: LLVM makes it a loop that skips the prologue.
    "self_return_call": """(func $spin (return_call $spin))
        (func (export "_start") (call $say) (call $spin))""",
    # A return_call cycle of two functions: their prologues are the checks.
    "return_call_cycle": """(func $a (return_call $b)) (func $b (return_call $a))
        (func (export "_start") (call $say) (call $a))""",
}
# Loops 3 * 10^7 times, calling a function each time, then prints "started".
FINISHES = """(module {print}
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "_start") (local i32)
    (loop $l (local.set 0 (call $inc (local.get 0)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const 30000000))))
    (call $say)))""".replace("{print}", _PRINT)


def _wasm(tmp_path: Path, text: str) -> bytes:
    src = tmp_path / "m.wat"
    src.write_text(text)
    return wat_to_wasm(src)


def _spin(tmp_path: Path, mode: str) -> bytes:
    return _wasm(tmp_path, f"(module {_PRINT} {SPINS[mode]})")


def _build(tmp_path: Path, wasm: bytes, name: str = "prog", **opts) -> Path:
    out = tmp_path / name
    build(wasm, out, BuildOptions(**opts))
    return out


def _run(exe: Path, target: str = "x86_64-linux", env=None) -> subprocess.CompletedProcess:
    prefix = []
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
        prefix = [QEMU]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WASMAOT_")}
    environ.update(env or {})
    return subprocess.run([*prefix, str(exe)], capture_output=True, text=True, timeout=60,
                          env=environ)


def _assert_interrupted(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 134, proc.stderr
    assert proc.stdout == "started\n"
    assert proc.stderr.startswith(INTERRUPT), proc.stderr


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("mode", sorted(SPINS))
def test_busy_loop_in_an_executable_is_interrupted(tmp_path, target, mode):
    exe = _build(tmp_path, _spin(tmp_path, mode), target=target, interruptible=True,
                 timeout_ns=300_000_000)
    start = time.monotonic()
    proc = _run(exe, target)
    _assert_interrupted(proc)
    assert time.monotonic() - start >= 0.3


@pytest.mark.parametrize("opt_level", [0, 2])
def test_wasmaot_timeout_at_run_time_sets_the_deadline(tmp_path, opt_level):
    exe = _build(tmp_path, _spin(tmp_path, "loop"), opt_level=opt_level, interruptible=True,
                 timeout_ns=3600 * 10**9)
    _assert_interrupted(_run(exe, env={"WASMAOT_TIMEOUT": "300ms"}))


def test_a_locked_build_lets_wasmaot_timeout_only_shorten_its_timeout(tmp_path):
    exe = _build(tmp_path, _spin(tmp_path, "loop"), interruptible=True, locked=True,
                 timeout_ns=300_000_000)
    start = time.monotonic()
    _assert_interrupted(_run(exe, env={"WASMAOT_TIMEOUT": "60m"}))
    assert time.monotonic() - start < 30


def test_a_program_that_finishes_before_the_deadline_is_unaffected(tmp_path):
    exe = _build(tmp_path, _wasm(tmp_path, FINISHES), interruptible=True,
                 timeout_ns=60 * 10**9)
    proc = _run(exe)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "started\n", "")


def test_wasmaot_timeout_is_refused_without_timeout_support(tmp_path):
    exe = _build(tmp_path, _wasm(tmp_path, FINISHES))
    proc = _run(exe, env={"WASMAOT_TIMEOUT": "1s"})
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == ("error: WASMAOT_TIMEOUT: this executable was built without "
                           "--timeout, so its loops cannot be interrupted\n")


def _cli(*args, env=None) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=str(REPO))
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "wasmaot", *args], capture_output=True,
                          text=True, timeout=300, env=environ)


def test_wasmaot_run_timeout_interrupts_a_busy_loop(tmp_path):
    src = tmp_path / "spin.wat"
    src.write_text(f"(module {_PRINT} {SPINS['loop']})")
    _assert_interrupted(_cli("run", "--timeout", "300ms", str(src)))


def test_wasmaot_run_timeout_leaves_a_program_that_finishes_alone(tmp_path):
    src = tmp_path / "finishes.wat"
    src.write_text(FINISHES)
    proc = _cli("run", "--timeout", "1m", str(src))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "started\n", "")


@pytest.mark.parametrize("command", ["build", "run"])
def test_a_bad_timeout_is_one_usage_error_line(tmp_path, command):
    src = tmp_path / "finishes.wat"
    src.write_text(FINISHES)
    extra = ["-o", str(tmp_path / "out")] if command == "build" else []
    proc = _cli(command, "--timeout", "5x", *extra, str(src))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--timeout': invalid duration '5x' "
        "(e.g. 500ms, 2s, 1m, or a number of seconds)")
    assert not (tmp_path / "out").exists()


DURATIONS = {  # text -> nanoseconds, or None if refused
    "500ms": 500 * 10**6, "2s": 2 * 10**9, "1m": 60 * 10**9, "30": 30 * 10**9,
    "0.25": 250 * 10**6, "1.5m": 90 * 10**9, "2.5ms": 2_500_000, "0.000000001": 1,
    "525600m": 365 * 24 * 3600 * 10**9, "1h": 3600 * 10**9, "0.5h": 1800 * 10**9,
    "8760h": 365 * 24 * 3600 * 10**9, "8760.000000001h": None,
    "0": None, "0ms": None, "0.0": None, "": None, "5x": None, "1d": None, "-1s": None,
    " 2s": None, "2s ": None, "2 s": None, ".5": None, "5.": None, "1e3": None,
    "0.0000000001": None, "525601m": None, "999999999999999": None, "2S": None, "ms": None,
}


def test_duration_syntax_in_python():
    for text, ns in DURATIONS.items():
        if ns is None:
            with pytest.raises(DurationError):
                parse_duration(text)
        else:
            assert parse_duration(text) == ns, text


def test_the_executable_accepts_and_refuses_the_same_durations(tmp_path):
    """WASMAOT_TIMEOUT goes through main.c's parser: refused strings give the
    one error line and exit 1; accepted ones run (finishing, or interrupted
    when the duration is tiny)."""
    exe = _build(tmp_path, _wasm(tmp_path, FINISHES), interruptible=True,
                 timeout_ns=60 * 10**9)
    for text, ns in DURATIONS.items():
        if text == "":
            continue  # an empty variable is an unset one
        proc = _run(exe, env={"WASMAOT_TIMEOUT": text})
        if ns is None:
            line = (f"error: WASMAOT_TIMEOUT: invalid duration '{text}' (e.g. 500ms, 2s, 1m, "
                    f"or a number of seconds)\n")
            assert (proc.returncode, proc.stderr) == (1, line), text
        elif ns >= 10**9:
            assert (proc.returncode, proc.stdout) == (0, "started\n"), text
        else:
            assert proc.returncode in (0, 134), (text, proc.stderr)


def test_without_timeout_the_code_has_no_interruption_checks(tmp_path):
    """Zero cost when off: not one check in the IR of a build without --timeout."""
    wasm = _spin(tmp_path, "loop")
    for opt in (0, 2):
        plain = _build(tmp_path, wasm, "plain.ll", opt_level=opt, emit="llvm-ir").read_text()
        checked = _build(tmp_path, wasm, "checked.ll", opt_level=opt, emit="llvm-ir",
                         interruptible=True).read_text()
        # The check: a volatile read of the interrupt page (codegen/function.py).
        assert "load volatile" not in plain
        assert "load volatile i8" in checked
