"""Above -O0 every wasm function carries an entry count (`!prof`), so that LLVM's LoopSink
sinks loop-invariant values that LICM hoisted out of a loop back into the rare blocks
that use them (codegen/module.py, ModuleEmitter.function_prof).  The shape it is for:
shadow-stack addresses (`frame + c`) passed to a call on a rare path inside a
function-wide loop, as in wasi-libc's printf_core."""

from __future__ import annotations

import re

from wat_compile import compiled_text, function_irs

from wasmaot.codegen.module import ModuleEmitter

OFFSETS = (16, 32, 48, 64)


def _wat(depth: int) -> str:
    """A loop whose body calls $use with four frame addresses, `depth` equality tests
    deep: each test is an `eq`, which LLVM's static estimate takes 3 times in 8, so
    six of them make the call rarer than one per function call."""
    args = " ".join(f"(i32.add (local.get $fp) (i32.const {c}))" for c in OFFSETS)
    body = f"(local.set $acc (i32.add (local.get $acc) (call $use {args})))"
    for d in range(depth):
        body = (f"(if (i32.eq (i32.load offset={4 * d + 4} (local.get $fp)) (local.get $k))"
                f" (then {body}))")
    return f"""(module
      (import "env" "use" (func $use (param i32 i32 i32 i32) (result i32)))
      (memory 1)
      (global $sp (mut i32) (i32.const 65536))
      (func (export "f") (param $n i32) (param $k i32) (result i32)
        (local $fp i32) (local $acc i32)
        (local.set $fp (i32.sub (global.get $sp) (i32.const 256)))
        (global.set $sp (local.get $fp))
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $fp))))
          {body}
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (global.set $sp (i32.add (local.get $fp) (i32.const 256)))
        (local.get $acc)))"""


def _function_ir(opt_level: int, depth: int = 6) -> str:
    irs = function_irs(compiled_text(_wat(depth), opt_level=opt_level))
    return irs[max(irs)]  # the defined function (the import has no definition)


def _frame_adds_before_the_loop(ir: str) -> int:
    """How many of the four `frame + c` adds are computed before the loop header."""
    preheader = ir[:ir.index("\nloop")]
    return len(re.findall(r"= add i32 %\w+, -(?:240|224|208|192)\b", preheader))


def test_above_O0_wasm_functions_have_an_entry_count_and_at_O0_none():
    o2 = compiled_text(_wat(1), opt_level=2)
    assert re.search(r"^define .*@wasm_f1\(.*!prof !\d+ \{$", o2, re.M), o2
    assert '!{!"function_entry_count", i64 1000}' in o2
    o0 = compiled_text(_wat(1), opt_level=0)
    define = re.search(r"^define .*@wasm_f1\(.*$", o0, re.M).group(0)
    assert "!prof" not in define, define


def test_frame_addresses_used_only_on_a_rare_path_are_computed_there():
    ir = _function_ir(2)
    assert _frame_adds_before_the_loop(ir) == 0, ir
    call = ir.index("notail call")
    block = ir[ir.rindex(":", 0, call):call]
    assert len(re.findall(r"= add i32 %\w+, -(?:240|224|208|192)\b", block)) == 4, ir


def test_without_the_entry_count_licm_leaves_them_before_the_loop(monkeypatch):
    """The counter-check: the entry count is what makes the difference."""
    monkeypatch.setattr(ModuleEmitter, "function_prof", property(lambda self: ""))
    assert _frame_adds_before_the_loop(_function_ir(2)) == 4


def test_a_frequent_path_keeps_its_hoisted_addresses():
    """One test deep, the call runs on about a third of the iterations: computing the
    addresses once before the loop is cheaper, and LoopSink leaves them there."""
    assert _frame_adds_before_the_loop(_function_ir(2, depth=1)) == 4
