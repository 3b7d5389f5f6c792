"""Small leaf functions have no stack-limit check; everything else keeps it.

A leaf (no calls but to the trap routine and LLVM intrinsics) with a frame
under abi.LEAF_FRAME_BYTES cannot recurse, and its frame fits the runtime's
margin below the limit (runtime_c/stack.c), so the check is dead weight: at
-O2 it was 40% of the compile time of a module of many small functions, and
one compare and branch per call at run time.  These tests pin which functions
lose it, and that recursion through leaves still traps.
"""

from __future__ import annotations

import pytest
from wat_compile import compiled_text, function_irs

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import Trap

EXHAUSTED = "call stack exhausted"


def _checked_functions(wat: str, opt_level: int) -> dict[str, bool]:
    """wasm function symbol -> whether its IR reads the frame address (the check)."""
    functions = function_irs(compiled_text(wat, opt_level=opt_level))
    return {name: "@llvm.frameaddress" in body for name, body in functions.items()}


_BIG_BODY = "(drop (i32.add (local.get 0) (i32.const 1)))\n" * 1000 + "(local.get 0)"


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("body, checked", [
    ("(i32.add (local.get 0) (i32.const 7))", False),
    ("(i32.load (local.get 0))", False),  # a trap is not a call
    ("(local.set 1 (i64.const 1)) (local.get 0)", False),
    ("(call $other (local.get 0))", False),  # a callee that calls nothing: no cycle
    ("(call $calls (local.get 0))", True),
    ("(call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))", True),
    ("(memory.grow (local.get 0))", True),  # a runtime call
    # llvm.memset after the bounds check: C code that never reaches wasm
    ("(memory.fill (local.get 0) (i32.const 0) (i32.const 1)) (local.get 0)", False),
    ("(table.grow (ref.null func) (local.get 0))", True),  # a runtime call
    (_BIG_BODY, True),  # past the frame bound
])
def test_only_small_leaves_lose_the_stack_check(body, checked, opt_level):
    # The table is exported: a sealed one (codegen/sealed.py) holds only null here,
    # and LLVM then sees that the call_indirect always traps and never calls.
    wat = f"""(module (memory 1) (table (export "t") 1 funcref)
      (type $t (func (param i32) (result i32)))
      (func $subject (export "f") (param i32) (result i32) (local i64) {body})
      (func $other (param i32) (result i32) (local.get 0))
      (func $calls (param i32) (result i32) (call $other (local.get 0))))"""
    assert _checked_functions(wat, opt_level)["wasm_f0"] is checked


@pytest.mark.parametrize("opt_level", [0, 2])
def test_many_locals_keep_the_check(opt_level):
    """Locals cost frame bytes without body bytes: 5,000 of them at -O0 would be
    40 KB of allocas, over the bound."""
    wat = f"""(module (func (export "f") (param i32) (result i32) (local {" i64" * 5000})
      (local.set 4999 (i64.const 1)) (local.get 0)))"""
    assert _checked_functions(wat, opt_level)["wasm_f0"] is True


# Each level of the recursion calls a leaf with a sizeable frame: the leaves run
# below the limit when the recursion reaches it, and the next checked prologue traps.
_RECURSE_THROUGH_LEAVES = """(module
  (func $leaf (param i64) (result i64) (local i64 i64 i64 i64 i64 i64 i64 i64 v128 v128 v128)
    (local.set 1 (i64.mul (local.get 0) (i64.const 3)))
    (local.set 2 (i64.add (local.get 1) (local.get 0)))
    (local.set 9 (v128.const i64x2 1 2))
    (i64.add (local.get 2) (i64x2.extract_lane 1 (local.get 9))))
  (func $down (export "down") (param i64) (result i64)
    (i64.add (call $leaf (local.get 0)) (call $down (i64.add (local.get 0) (i64.const 1))))))"""


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
def test_recursion_through_leaves_still_traps(opt_level):
    inst = wa.compile(wat_bytes_to_wasm(_RECURSE_THROUGH_LEAVES.encode()),
                      opt_level=opt_level).instantiate({})
    with pytest.raises(Trap, match=EXHAUSTED):
        inst.exports["down"](0)


_CALL_KINDS = """(module
  (type $t (func))
  (table 1 funcref)
  (elem declare func $leaf)
  (func $leaf (drop (i32.const 16)) (drop (i32.const 0x15)))  ;; call opcodes as immediates
  (func (call $leaf))
  (func (call_indirect (type $t) (i32.const 0)))
  (func (return_call $leaf))
  (func (return_call_indirect (type $t) (i32.const 0)))
  (func (call_ref $t (ref.func $leaf)))
  (func (return_call_ref $t (ref.func $leaf)))
  (func (return) (call $leaf))  ;; a call in dead code still counts
  (func (i64.store offset=0x10 (i32.const 0) (i64.const 0x1112131415)) (memory.size) (drop))
  (memory 1))"""


def test_the_validators_calling_set_is_the_bodies_that_have_a_call():
    """codegen reads a callee's leafness from validation (ModuleContext.calling)
    where it decoded the body again (calls_nothing): both must say the same."""
    from wasmaot.codegen.function import calls_nothing
    from wasmaot.driver.compile import frontend

    module, ctx = frontend(wat_bytes_to_wasm(_CALL_KINDS.encode()))
    by_scan = {module.num_imported_funcs + i for i, code in enumerate(module.codes)
               if not calls_nothing(module, code)}
    assert ctx.calling == by_scan == set(range(1, 8))
