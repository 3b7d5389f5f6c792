"""A big br_table inside a loop (an interpreter's dispatch) branches through a table of
block addresses (function.py `_dispatch`) and takes exactly the targets a switch does.

The index is clamped to the table, whose entries past the labels (at least up to 255, so
that a byte-sized index needs no clamp) are the default: every index at or past the
label count, up to 2^32 - 1, must take the default, and the labels in range
their own targets, with the values the br_table carries, at every -O level and on both
targets.  The lowering applies only where it pays (DISPATCH_MIN_TARGETS labels, inside a
loop): smaller tables, and tables outside loops, stay switches.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from wat_compile import compiled_text, function_irs

import wasmaot.api as wa
from wasmaot.codegen.function import DISPATCH_MIN_TARGETS
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.wat import wat_bytes_to_wasm

QEMU = shutil.which("qemu-aarch64-static")
N = DISPATCH_MIN_TARGETS
U32 = 1 << 32
DEFAULT_STEP = 1000
# ... and 255 / 256: the last entry of the table's padding to 256 (BYTE_INDEXES), the first clamped.
INDICES = (0, 1, N - 2, N - 1, N, N + 1, 255, 256, 2**31 - 1, 2**31, U32 - 2, U32 - 1)


def _step(index: int, n: int) -> int:
    """What one dispatch adds: case k adds 7k + 1, the default 1000."""
    return 7 * index + 1 if index < n else DEFAULT_STEP


def expected(op: int, n: int) -> int:
    """$run's result: two dispatches, on op and on op + 1 (wrapping at 2^32)."""
    return (_step(op, n) + _step((op + 1) % U32, n)) % U32


def interpreter(n: int, carry: bool, in_loop: bool = True, index: str = "(local.get $op)") -> str:
    """$run(op): a loop that dispatches twice through a br_table of n labels (and the
    default), on op then op + 1; each case adds its step to $acc.  With `carry`, every
    label takes an i32 (the br_table passes $acc, each case adds to what it got), so
    each target needs a landing block; `in_loop=False` dispatches once, outside any
    loop (the result is then _step(op) alone)."""
    result = " (result i32)" if carry else ""
    operand = "(local.get $acc) " if carry else ""
    labels = " ".join(f"$c{k}" for k in range(n))
    dispatch = f"(br_table {labels} $default {operand}{index})"

    def add(step: int) -> str:  # to the carried value, or to $acc
        return (f"(local.set $acc (i32.add (i32.const {step})))" if carry
                else f"(local.set $acc (i32.add (local.get $acc) (i32.const {step})))")
    for k in range(n):
        dispatch = f"(block $c{k}{result} {dispatch}) {add(7 * k + 1)} (br $next)"
    dispatch = f"(block $default{result} {dispatch}) {add(DEFAULT_STEP)}"
    if not in_loop:
        return f"""(module (func (export "run") (param $op i32) (result i32) (local $acc i32)
          (block $next {dispatch}) (local.get $acc)))"""
    return f"""(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (func $run (export "run") (param $op i32) (result i32) (local $acc i32) (local $i i32)
        (loop $top
          (block $next {dispatch})
          (local.set $op (i32.add (local.get $op) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $top (i32.lt_u (local.get $i) (i32.const 2))))
        (local.get $acc))
      (func (export "_start")
        {" ".join(f"(if (i32.ne (call $run (i32.const {_signed(op)})) "
                  f"(i32.const {_signed(expected(op, n))})) (then (call $exit (i32.const {k + 1}))))"
                  for k, op in enumerate(INDICES))}
        (call $exit (i32.const 0))))"""


def _signed(value: int) -> int:
    return value - U32 if value >= 2**31 else value


# $run alone is called through the API: the executable's exit is never reached.
EXIT = {"wasi_snapshot_preview1": {"proc_exit": wa.Func(["i32"], [], lambda code: None)}}


def _run_ir(wat: str) -> str:
    ir = compiled_text(wat, opt_level=0)
    return next(body for body in function_irs(ir).values()
                if "indirectbr" in body or "switch" in body)


@pytest.mark.parametrize("carry", [False, True])
def test_a_big_table_in_a_loop_branches_through_block_addresses(carry):
    body = _run_ir(interpreter(N, carry))
    assert "indirectbr ptr" in body and "switch i32" not in body


def _optimized_run(index: str) -> str:
    ir = compiled_text(interpreter(N, False, index=index), opt_level=2)
    return next(body for body in function_irs(ir).values() if "indirectbr" in body)


def test_a_byte_index_needs_no_clamp_and_a_word_index_keeps_it():
    # The table has 256 entries, so LLVM knows that any index below 256 is inside it.
    # (The clamp's select of index or 255 is `umin` once InstCombine has run.)
    byte = _optimized_run("(i32.and (local.get $op) (i32.const 255))")
    assert "select" not in byte and "umin" not in byte
    assert re.search(r"@llvm\.umin\.i32\(i32 %[\w.]+, i32 255\)", _optimized_run("(local.get $op)"))


@pytest.mark.parametrize("n, in_loop", [(N - 1, True), (N, False)])
def test_smaller_tables_and_tables_outside_loops_stay_switches(n, in_loop):
    body = _run_ir(interpreter(n, False, in_loop))
    assert "switch i32" in body and "indirectbr" not in body


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize("carry", [False, True])
def test_every_index_takes_the_target_a_switch_takes(opt_level, carry):
    run = wa.compile(wat_bytes_to_wasm(interpreter(N, carry).encode()),
                     opt_level=opt_level).instantiate(EXIT).exports["run"]
    for op in INDICES:
        assert run(_signed(op)) % U32 == expected(op, N), op


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
@pytest.mark.parametrize("opt_level", [0, 2])
def test_dispatch_executables_agree_on_both_targets(tmp_path, target, opt_level):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    exe = tmp_path / "interp"
    build(wat_bytes_to_wasm(interpreter(N, True).encode()), exe,
          BuildOptions(opt_level=opt_level, target=target, cache=False))
    prefix = [QEMU] if target == "aarch64-linux" else []
    proc = subprocess.run([*prefix, str(exe)], capture_output=True, text=True, timeout=120,
                          check=False)
    # 0, or 1 + the position in INDICES of the first index whose result is wrong
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
