"""Memory 0's base and global 0's cell come from the vmctx's copies: one load each.

Every function that touches memory 0 loads its base at entry.  Through the memory
record that was vmctx -> memories array -> memory -> base, three dependent loads
on the way into every call (Lua's interpreter and SQLite's B-tree make millions of
calls).  The runtime copies the base into vmctx.memory0_base before any code runs
(a memory's base never moves); other memories keep the record's field.  The
copy must be right for defined and imported memories alike, in every instance.
Global 0 (the shadow stack pointer of C code, read and written by every function
with a stack frame) likewise: vmctx.global0_cell, not vmctx -> globals -> cell.
"""

from __future__ import annotations

import re

import pytest
from wat_compile import compiled_text, function_irs

import wasmaot.api as wa
from wasmaot.codegen import abi
from wasmaot.driver.wat import wat_bytes_to_wasm

TWO_MEMORIES = """(module (memory 1) (memory 1)
  (func (export "m0") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "m1") (param i32) (result i32) (i32.load 1 (local.get 0))))"""


def _functions_ir(wat: str, opt_level: int) -> dict[str, str]:
    return function_irs(compiled_text(wat, opt_level=opt_level))


def _ctx_offsets_read(body: str) -> set[int]:
    return {int(k) for k in re.findall(r"getelementptr [a-z ]*i8, ptr %ctx, i64 (\d+)", body)}


@pytest.mark.parametrize("opt_level", [0, 2])
def test_memory0_base_is_one_load_from_the_vmctx(opt_level):
    fns = _functions_ir(TWO_MEMORIES, opt_level)
    m0, m1 = fns["wasm_f0"], fns["wasm_f1"]
    base0, memories = abi.VMCTX.offset("memory0_base"), abi.VMCTX.offset("memories")
    assert base0 in _ctx_offsets_read(m0)
    assert memories not in _ctx_offsets_read(m0)  # no walk through the memory record
    # another memory still goes through its record
    assert memories in _ctx_offsets_read(m1) and base0 not in _ctx_offsets_read(m1)
    if opt_level == 2:  # the base feeds the access directly: one load, then the access
        assert len(re.findall(r"= load ", m0)) == 2


@pytest.mark.parametrize("bounds_checks", ["guard", "explicit"])
def test_memory0_base_copy_is_right_for_defined_and_imported_memories(bounds_checks):
    """An instance that defines memory 0 and two that import it: every instance reads
    and writes the same bytes, so each one's copy of the base is the memory's."""
    owner = wa.compile(wat_bytes_to_wasm(b"""(module
      (memory (export "mem") 1)
      (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
      (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"""),
        bounds_checks=bounds_checks).instantiate()
    user = wa.compile(wat_bytes_to_wasm(b"""(module
      (import "m" "mem" (memory 1))
      (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
      (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"""),
        bounds_checks=bounds_checks)
    users = [user.instantiate({"m": {"mem": owner.exports["mem"]}}) for _ in range(2)]
    owner.exports["poke"](8, 11)
    users[0].exports["poke"](16, 22)
    users[1].exports["poke"](24, 33)
    for inst in (owner, *users):
        assert [inst.exports["peek"](a) for a in (8, 16, 24)] == [11, 22, 33]


TWO_GLOBALS = """(module (global (mut i32) (i32.const 1)) (global (mut i32) (i32.const 2))
  (func (export "g0") (result i32) (global.set 0 (i32.const 5)) (global.get 0))
  (func (export "g1") (result i32) (global.set 1 (i32.const 5)) (global.get 1)))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_global0_cell_is_one_load_from_the_vmctx(opt_level):
    fns = _functions_ir(TWO_GLOBALS, opt_level)
    g0, g1 = fns["wasm_f0"], fns["wasm_f1"]
    cell0, globals_ = abi.VMCTX.offset("global0_cell"), abi.VMCTX.offset("globals")
    assert cell0 in _ctx_offsets_read(g0) and globals_ not in _ctx_offsets_read(g0)
    assert globals_ in _ctx_offsets_read(g1) and cell0 not in _ctx_offsets_read(g1)


def test_global0_cell_copy_is_right_for_defined_and_imported_globals():
    owner = wa.compile(wat_bytes_to_wasm(b"""(module
      (global (export "sp") (mut i32) (i32.const 100))
      (func (export "bump") (param i32) (global.set 0 (i32.add (global.get 0) (local.get 0))))
      (func (export "get") (result i32) (global.get 0)))""")).instantiate()
    user = wa.compile(wat_bytes_to_wasm(b"""(module
      (import "m" "sp" (global (mut i32)))
      (func (export "bump") (param i32) (global.set 0 (i32.add (global.get 0) (local.get 0))))
      (func (export "get") (result i32) (global.get 0)))"""))
    users = [user.instantiate({"m": {"sp": owner.exports["sp"]}}) for _ in range(2)]
    owner.exports["bump"](1)
    users[0].exports["bump"](10)
    users[1].exports["bump"](100)
    assert [inst.exports["get"]() for inst in (owner, *users)] == [211, 211, 211]
