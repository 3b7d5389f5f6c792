"""The stack-limit check traps without a call, so that LLVM can shrink-wrap
(docs/notes/hot-loops.md, "The stack-limit check").

A failed check stores to the byte before the limit cell, in a page the runtime
keeps PROT_NONE; the signal handler makes that fault "call stack exhausted", or
"interrupt" once a deadline has poisoned the limit.  The check sits at the head
of each block that calls, so a path that calls nothing needs no frame.  These
tests pin the IR shape (no call on the failure path), the machine code (a fast
path returns before any register is saved, on both targets), and that the
traps are still the right ones: deep recursion at every -O level and on
aarch64, a frame larger than the runtime's margin, a deadline during recursion.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
from wat_compile import compiled_text

import wasmaot.api as wa
from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.compile import frontend
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import Trap

QEMU = shutil.which("qemu-aarch64-static")
EXHAUSTED = "call stack exhausted"

# $lt: a type test on the fast path (as Lua's luaV_lessthan), a call on the slow one.
FAST_EXIT = """(module (memory 1)
  (func $slow (param i32 i32) (result i32) (call $slower (i32.add (local.get 0) (local.get 1))))
  (func $slower (param i32) (result i32) (call $slow (i32.load (local.get 0)) (local.get 0)))
  (func $lt (param i32 i32) (result i32)
    (if (i32.eq (i32.load8_u (local.get 0)) (i32.load8_u (local.get 1)))
      (then (return (i32.lt_s (i32.load offset=8 (local.get 0))
                              (i32.load offset=8 (local.get 1))))))
    (call $slow (local.get 0) (local.get 1)))
  (func (export "f") (param i32) (result i32)
    (i32.add (call $lt (local.get 0) (i32.const 8)) (call $lt (local.get 0) (i32.const 16)))))"""
LT = "wasm_f2"


def _compile(wat: str, output: str, opt_level: int = 2, target: str = "x86_64-linux") -> str:
    return compiled_text(wat, output, opt_level=opt_level, target=target)


def _function(text: str, symbol: str, asm: bool) -> str:
    if asm:
        m = re.search(rf"^{symbol}:[^\n]*\n(.*?)^\.Lfunc_end", text, re.M | re.S)
    else:
        m = re.search(rf"^define [^@]*@{symbol}\(.*?^}}", text, re.M | re.S)
    assert m, symbol
    return m.group(0 if not asm else 1)


@pytest.mark.parametrize("opt_level", [0, 2])
def test_the_failure_path_of_the_stack_check_makes_no_call(opt_level):
    ir = _compile(FAST_EXIT, "llvm-ir", opt_level)
    body = _function(ir, LT, asm=False)
    assert "@llvm.frameaddress" in body  # it is checked
    assert "@wasmaot_rt_trap" not in body  # and nothing in it calls the trap routine
    # The failure block stores below the cell and goes on to the call it guards.
    assert re.search(r"store volatile i8 0, ptr %\w+, align 1\n\s+br label %", body)


def _instructions(asm_body: str) -> list[str]:
    return [line.split()[0] for line in asm_body.splitlines()
            if line.startswith("\t") and not line.lstrip().startswith(".")]


@pytest.mark.parametrize("target, frame_pointer, saves", [
    ("x86_64-linux", "pushq\t%rbp", ("pushq",)),
    ("aarch64-linux", "stp\tx29, x30", ("stp", "str", "sub")),
])
def test_a_fast_path_that_calls_nothing_saves_no_callee_saved_register(
        target, frame_pointer, saves):
    """$lt's fast path (two loads, a compare) returns having saved at most the frame
    pointer: the callee-saved registers the calling path needs are saved there only
    (the stack check sits in the calling block).  The frame pointer itself is set up
    at entry since the vmctx arrives in a callee-saved register (swiftself: r13,
    x20), whose read there keeps LLVM from shrink-wrapping the prologue (RATIONALE,
    "Why tailcc"); the calling path saves more."""
    asm = _compile(FAST_EXIT, "asm", 2, target)
    lines = [line.strip() for line in _function(asm, LT, asm=True).splitlines()
             if line.startswith("\t") and not line.lstrip().startswith(".")]
    first_ret = next(i for i, line in enumerate(lines) if line.split()[0] in ("retq", "ret"))
    fast = [line for line in lines[:first_ret]
            if line.split()[0] in saves and not line.startswith(frame_pointer)]
    assert not fast, lines
    assert "@llvm.frameaddress" not in _entry_block(_function(_lowered(FAST_EXIT, 2), LT, asm=False))


RECURSE = """(module
  (func $down (param i64) (result i64)
    (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "_start") (drop (call $down (i64.const 0)))))"""


def _run_exe(tmp_path, wat: str, opt_level: int, target: str, **opts):
    exe = tmp_path / f"prog-{opt_level}-{target}"
    build(wat_bytes_to_wasm(wat.encode()), exe, BuildOptions(opt_level=opt_level, target=target,
                                                             **opts))
    prefix = [QEMU] if target == "aarch64-linux" else []
    return subprocess.run([*prefix, str(exe)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
def test_deep_recursion_exits_134_call_stack_exhausted(tmp_path, opt_level, target):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    proc = _run_exe(tmp_path, RECURSE, opt_level, target)
    assert proc.returncode == 134, proc.stderr
    assert proc.stderr.startswith(f"wasm trap: {EXHAUSTED}\n"), proc.stderr
    # The backtrace starts at the faulting function: the check runs in its own frame.
    assert "  0: down\n" in proc.stderr or "  0: wasm function" in proc.stderr, proc.stderr


# Each level's frame is over 256 KiB (the runtime's margin below the limit) at -O0:
# 40,000 i64 locals kept in memory.  Such a frame steps past the stack's bottom before
# any check of its own; the probes fault in the guard area, which is exhaustion too.
HUGE_FRAME = """(module
  (func $big (param i32) (result i32) (local {locals})
    (local.set 39999 (i64.extend_i32_u (local.get 0)))
    (i32.add (call $big (i32.add (local.get 0) (i32.const 1)))
             (i32.wrap_i64 (local.get 39999))))
  (func (export "_start") (drop (call $big (i32.const 0)))))""".replace("{locals}", " i64" * 40000)


def test_recursion_with_frames_larger_than_the_margin_traps_call_stack_exhausted(tmp_path):
    proc = _run_exe(tmp_path, HUGE_FRAME, 0, "x86_64-linux")
    assert proc.returncode == 134, proc.stderr
    assert proc.stderr.startswith(f"wasm trap: {EXHAUSTED}\n"), proc.stderr


# No loop anywhere: only the stack checks before calls can see the deadline.
FIB = """(module
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
      (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2))))))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_deadline_during_recursion_traps_interrupt(opt_level):
    """The watchdog poisons the limit cell: the next check's fault is reported as
    "interrupt", not as exhaustion."""
    inst = wa.compile(wat_bytes_to_wasm(FIB.encode()), opt_level=opt_level,
                      interruptible=True).instantiate(timeout=0.2)
    start = time.monotonic()
    with pytest.raises(Trap) as info:
        inst.exports["fib"](90)
    assert str(info.value) == "interrupt"
    assert 0.2 <= time.monotonic() - start < 10
    assert inst.exports["fib"](20) == 6765  # usable, with a fresh deadline


LOOP_CALLS = """(module
  (func $g (param i32) (result i32) (call $g (local.get 0)))
  (func (export "f") (param i32) (result i32)
    (loop $l (br_if $l (call $g (local.get 0)))) (local.get 0)))"""


# $cmp: a loop that calls nothing (a byte compare, as SQLite's vdbeSorterCompareInt)
# on one path, a call on another; $down recurses through it.
LOOP_NO_CALLS = """(module (memory 1)
  (func $cmp (param $a i32) (param $b i32) (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (call $cmp (local.get $b) (local.get $a)
                                                          (i32.load (local.get $a))))))
    (block $done
      (loop $l
        (br_if $done (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (i32.sub (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
  (func $down (param i64) (result i64)
    (drop (call $cmp (i32.const 0) (i32.const 64) (i32.const 8)))
    (i64.add (call $down (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "_start") (drop (call $down (i64.const 0)))))"""


def _lowered(wat: str, opt_level: int) -> str:
    """The IR as the lowering generates it (before LLVM's passes)."""
    return lower_module(*frontend(wat_bytes_to_wasm(wat.encode())),
                        CodegenOptions(opt_level=opt_level))


def _entry_block(body: str) -> str:
    return re.split(r"\n[\w.]+:", body.split("\nentry:", 1)[1], maxsplit=1)[0]


def test_a_loop_that_calls_nothing_leaves_the_checks_in_the_calling_blocks():
    """Only a call inside a loop would run its check at every iteration: $cmp's
    loop calls nothing, so its check guards the block that calls, and the entry
    reads no frame address (-O2)."""
    body = _function(_lowered(LOOP_NO_CALLS, 2), "wasm_f0", asm=False)
    assert "@llvm.frameaddress" not in _entry_block(body), body
    assert body.count("@llvm.frameaddress") == 1, body


@pytest.mark.parametrize("wat", [LOOP_NO_CALLS, FAST_EXIT])
def test_at_O0_a_function_that_calls_checks_once_at_its_entry(wat):
    """-O0 code is not made for speed: one check per calling function is less IR
    for the code generator than one per calling block."""
    ir = _lowered(wat, 0)
    for symbol in re.findall(r"^define [^@]*@(wasm_f\d+)\(", ir, re.M):
        body = _function(ir, symbol, asm=False)
        if "notail call" in body or "tail call" in body:
            assert body.count("@llvm.frameaddress") == 1, body
            assert "@llvm.frameaddress" in _entry_block(body), body


@pytest.mark.parametrize("opt_level", [0, 2])
def test_recursion_through_a_function_whose_loop_calls_nothing_traps(tmp_path, opt_level):
    proc = _run_exe(tmp_path, LOOP_NO_CALLS, opt_level, "x86_64-linux")
    assert proc.returncode == 134, proc.stderr
    assert proc.stderr.startswith(f"wasm trap: {EXHAUSTED}\n"), proc.stderr


def test_a_function_with_a_loop_checks_once_at_its_entry():
    """A function whose loop calls checks at its entry, not before each call in the
    loop: that check would run at every iteration
    (zstd's compression loops lost 1.4% to it; docs/notes/hot-loops.md).  The IR
    as generated (-O0: not optimized)."""
    body = _function(_compile(LOOP_CALLS, "llvm-ir", 0), "wasm_f1", asm=False)
    entry = body.split("\nentry:\n", 1)[1].split(".sf:", 1)[0]
    assert "@llvm.frameaddress" in entry and body.count("@llvm.frameaddress") == 1
