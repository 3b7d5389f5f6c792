"""Only functions that a funcref record or a return_call* can reach are `tailcc`.

On x86-64 a tailcc callee pops its (16n+8-byte padded) argument area: every call,
even one with no stack argument, was `ret $8` in the callee and `sub $8, %rsp` in
the caller after it.  Lua and SQLite make millions of direct calls to functions
that no record can reach; those are `fastcc` now (module.py call_conv).  These
tests pin which functions get which convention, and that calls of both kinds, and
return_call chains, still run.
"""

from __future__ import annotations

import re

import pytest
from wat_compile import compiled_text

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm

# $internal: only called directly.  $exported, $in_table, $by_ref_func, $start: a
# record reaches each of them.
MODULE = """(module
  (table 1 funcref) (elem (i32.const 0) $in_table)
  (global funcref (ref.func $by_ref_func))
  (func $internal (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $exported (export "f") (param i32) (result i32)
    (i32.add (call $internal (local.get 0))
             (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))
  (func $in_table (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $by_ref_func (param i32) (result i32) (local.get 0))
  (func $start)
  (start $start))"""


def _conventions(wat: str, opt_level: int) -> dict[int, str]:
    ir = compiled_text(wat, opt_level=opt_level)
    return {int(m.group(2)): m.group(1)
            for m in re.finditer(r"^define \w+ (\w+) [^@]*@wasm_f(\d+)\(", ir, re.M)}


@pytest.mark.parametrize("opt_level", [0, 2])
def test_only_record_reachable_functions_are_tailcc(opt_level):
    conv = _conventions(MODULE, opt_level)
    assert conv[0] == "fastcc"
    assert all(conv[i] == "tailcc" for i in (1, 2, 3, 4))


def test_any_return_call_keeps_every_function_tailcc():
    wat = MODULE.replace("(func $start)", "(func $start) (func $tail (return_call $start))")
    assert set(_conventions(wat, 2).values()) == {"tailcc"}


def test_a_direct_call_to_an_internal_function_pops_nothing():
    wat = """(module
      (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      (func $mid (param i32) (result i32) (call $leaf (i32.add (call $leaf (local.get 0)) (i32.const 1))))
      (func (export "f") (param i32) (result i32) (call $mid (local.get 0))))"""
    asm = compiled_text(wat, "asm", opt_level=2)
    bodies = dict(re.findall(r"^(wasm_f\d+):[^\n]*\n(.*?)\.Lfunc_end", asm, re.M | re.S))
    for internal in ("wasm_f0", "wasm_f1"):
        assert "ret\t$8" not in bodies[internal] and "retq\t$8" not in bodies[internal]
    assert re.search(r"retq?\t\$8", bodies["wasm_f2"])  # the exported one keeps tailcc


@pytest.mark.parametrize("opt_level", [0, 2])
def test_calls_of_both_conventions_run(opt_level):
    inst = wa.compile(wat_bytes_to_wasm(MODULE.encode()), opt_level=opt_level).instantiate()
    assert inst.exports["f"](5) == 15 + 6
    # deep recursion through an internal function still exhausts the stack
    rec = wa.compile(wat_bytes_to_wasm(b"""(module
      (func $down (param i32) (result i32) (i32.add (call $down (local.get 0)) (i32.const 1)))
      (func (export "go") (param i32) (result i32) (call $down (local.get 0))))"""),
        opt_level=opt_level).instantiate()
    with pytest.raises(wa.Trap, match="call stack exhausted"):
        rec.exports["go"](1)
    # return_call chains keep running in constant stack
    tail = wa.compile(wat_bytes_to_wasm(b"""(module
      (func $count (param i32 i64) (result i64)
        (if (result i64) (i32.eqz (local.get 0)) (then (local.get 1))
          (else (return_call $count (i32.sub (local.get 0) (i32.const 1))
                                    (i64.add (local.get 1) (i64.const 1))))))
      (func (export "go") (param i32) (result i64) (call $count (local.get 0) (i64.const 0))))"""),
        opt_level=opt_level).instantiate()
    assert tail.exports["go"](1_000_000) == 1_000_000
