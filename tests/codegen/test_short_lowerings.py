"""The shorter IR the lowering writes for frequent shapes keeps their meaning.

Each shortcut (docs/notes/compile-speed.md, session 9) is pinned twice: the IR
at -O0 has the short form, and running the code at -O0 (where the IR runs as
written) and at -O2 gives the values the spec gives, on the operands where a
wrong shortcut would differ:
  - a shift by a constant count masks the count in Python (numeric.py);
  - br_if / if / select on a comparison branch on its i1 (FunctionEmitter.condition),
    also when the comparison's i32 is read again (local.tee);
  - an i32 address is zero-extended once where an earlier extension dominates,
    never across a block that other paths reach (FunctionEmitter.widened);
  - at -O0 the memarg offset is the second index of one GEP (memory.py);
  - f32/f64 loads and stores move the bits as they are (a NaN's payload too);
  - a block, loop or body that no branch targets ends in the block before it
    (FunctionEmitter.fall_through);
  - a local's store that a later store in the same basic block overwrites is
    dropped, never one that a branch or handler leaving the block may read.
br_table's direct targets are run by the spec suite's br_table.wast.
"""

from __future__ import annotations

import re

import pytest
from wat_compile import compiled_text, function_irs

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm

M32, M64 = (1 << 32) - 1, (1 << 64) - 1


def _wasm(wat: str) -> bytes:
    return wat_bytes_to_wasm(wat.encode())


def _ir(wat: str) -> str:
    """The -O0 IR of the module's defined functions."""
    return "\n".join(function_irs(compiled_text(wat, opt_level=0)).values())


def _exports(wat: str, opt_level: int):
    return wa.compile(_wasm(wat), opt_level=opt_level).instantiate({}).exports


def _u(value: int, mask: int) -> int:
    return value & mask


# --- shifts by constant counts ------------------------------------------------------

_COUNTS = (0, 1, 7, 31, 32, 33, 63, 64, 65, 100, -1, -31, -32, -33, -64, -65)
_SHIFT_OPS = ("shl", "shr_s", "shr_u")


def _shift_module() -> str:
    funcs = []
    for ty in ("i32", "i64"):
        for op in _SHIFT_OPS:
            for k, n in enumerate(_COUNTS):
                funcs.append(f'(func (export "{ty}.{op}.{k}") (param {ty}) (result {ty}) '
                             f'({ty}.{op} (local.get 0) ({ty}.const {n})))')
    return "(module " + "\n".join(funcs) + ")"


def _shift_reference(ty: str, op: str, x: int, n: int) -> int:
    bits = 32 if ty == "i32" else 64
    mask = (1 << bits) - 1
    x &= mask
    k = n & (bits - 1)  # the spec: the count modulo the width
    if op == "shl":
        return (x << k) & mask
    if op == "shr_u":
        return x >> k
    signed = x - (1 << bits) if x >> (bits - 1) else x
    return (signed >> k) & mask


def test_a_constant_shift_count_is_masked_at_compile_time():
    ir = _ir("(module (func (param i32 i64) (result i64) "
             "(i64.add (i64.extend_i32_u (i32.shl (local.get 0) (i32.const 33))) "
             "(i64.shr_s (local.get 1) (i64.const -1)))))")
    assert "shl i32 %p0, 1" in ir and "ashr i64 %p1, 63" in ir
    assert not re.search(r"= and i(32|64) -?\d+, -?\d+", ir)  # no `and` of two constants


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_shift_by_a_constant_count_takes_it_modulo_the_width(opt_level):
    exports = _exports(_shift_module(), opt_level)
    for ty, mask in (("i32", M32), ("i64", M64)):
        for x in (1, 0x8000_0001, -2, 0x1234_5678_9ABC_DEF0 & mask):
            for op in _SHIFT_OPS:
                for k, n in enumerate(_COUNTS):
                    got = _u(exports[f"{ty}.{op}.{k}"](x), mask)
                    assert got == _shift_reference(ty, op, x, n), (ty, op, x, n)


# --- branching on comparisons ---------------------------------------------------------

_BRANCHES = """(module
  (func (export "br_if") (param i32 i32) (result i32)
    (block $b (br_if $b (i32.lt_s (local.get 0) (local.get 1))) (return (i32.const 7)))
    (i32.const 9))
  (func (export "if") (param i32 i32) (result i32)
    (if (result i32) (i32.ge_u (local.get 0) (local.get 1))
      (then (i32.const 1)) (else (i32.const 2))))
  (func (export "select") (param i32 i32) (result i32)
    (select (i32.const 10) (i32.const 20) (i32.eq (local.get 0) (local.get 1))))
  (func (export "tee") (param i32 i32) (result i32) (local i32)
    (block $b (br_if $b (local.tee 2 (i32.gt_u (local.get 0) (local.get 1))))
      (return (i32.add (local.get 2) (i32.const 100))))
    (i32.add (local.get 2) (i32.const 200)))
  (func (export "twice") (param f64 f64) (result i32) (local i32)
    (local.set 2 (f64.lt (local.get 0) (local.get 1)))
    (if (result i32) (local.get 2)
      (then (i32.add (local.get 2) (i32.const 40))) (else (i32.sub (local.get 2) (i32.const 1))))))"""


def test_a_branch_on_a_comparison_tests_its_i1():
    ir = _ir(_BRANCHES)
    # The only `icmp ne ..., 0` left is none: each branch tests the comparison.
    assert not re.search(r"icmp ne i32 %t\d+, 0", ir), ir
    # The extensions nobody reads are gone; those tee'd into a local stay.
    assert len(re.findall(r"zext i1", ir)) == 2, ir


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_branch_on_a_comparison_goes_where_the_comparison_says(opt_level):
    e = _exports(_BRANCHES, opt_level)
    assert [e["br_if"](a, b) for a, b in ((1, 2), (2, 1), (-1, 0))] == [9, 7, 9]
    assert [e["if"](a, b) for a, b in ((1, 2), (2, 1), (-1, 0))] == [2, 1, 1]
    assert [e["select"](a, b) for a, b in ((1, 1), (1, 2))] == [10, 20]
    assert [e["tee"](a, b) for a, b in ((3, 2), (2, 3))] == [201, 100]
    assert [e["twice"](a, b) for a, b in ((1.0, 2.0), (2.0, 1.0), (float("nan"), 1.0))] \
        == [41, -1, -1]


# --- one zero extension per address ---------------------------------------------------

_ADDRESSES = """(module (memory 1)
  (func (export "f") (param i32 i32) (result i32) (local i32)
    (i32.store offset=4 (local.get 0) (i32.const 5))
    (i32.store offset=8 (local.get 0) (i32.add (i32.load offset=4 (local.get 0)) (i32.const 1)))
    (if (local.get 1) (then (local.set 0 (i32.add (local.get 0) (i32.const 16)))))
    ;; a block end other paths reach: local 0 may be another value here
    (i32.store offset=4 (local.get 0) (i32.const 3))
    (i32.add (i32.load offset=4 (local.get 0)) (i32.load (i32.const 8)))))"""


def test_an_address_used_twice_in_a_block_is_extended_once():
    ir = _ir(_ADDRESSES)
    assert len(re.findall(r"= zext i32 %p0 to i64", ir)) == 1, ir
    assert "getelementptr [1 x i8]" in ir and "add nuw" not in ir  # -O0: the offset in the GEP


@pytest.mark.parametrize("opt_level", [0, 2])
def test_an_address_reads_the_memory_where_the_local_points_on_each_path(opt_level):
    f = _exports(_ADDRESSES, opt_level)["f"]
    assert f(0, 0) == 3 + 6  # both stores to 4; the load of 8 sees 6
    assert f(0, 1) == 3 + 6  # the store went to 20 and 16 + 4 = 20
    assert f(100, 1) == 3 + 6


# --- floats through memory ---------------------------------------------------------

_FLOAT_BITS = """(module (memory 1)
  (func (export "f32") (param i32) (result i32)
    (f32.store offset=3 (i32.const 0) (f32.reinterpret_i32 (local.get 0)))
    (i32.reinterpret_f32 (f32.load offset=3 (i32.const 0))))
  (func (export "f64") (param i64) (result i64)
    (f64.store offset=5 (i32.const 0) (f64.reinterpret_i64 (local.get 0)))
    (i64.reinterpret_f64 (f64.load offset=5 (i32.const 0)))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_float_goes_through_memory_bit_for_bit(opt_level):
    e = _exports(_FLOAT_BITS, opt_level)
    for bits in (0x7FA0_0001, 0xFFC0_1234, 0x7F80_0000, 0x8000_0000, 0x3F80_0000):
        assert _u(e["f32"](bits), M32) == bits
    for bits in (0x7FF4_0000_0000_0001, 0xFFF8_0000_DEAD_BEEF, 0x8000_0000_0000_0000):
        assert _u(e["f64"](bits), M64) == bits


# --- ends no branch targets --------------------------------------------------------

_FALL_THROUGH = """(module
  (func (export "f") (param i32) (result i32) (local i32)
    (block (result i32)
      (loop (result i32)
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (block (result i32) (i32.mul (local.get 1) (i32.const 3)))))
    (block (param i32) (result i32) (i32.add (i32.const 1)))))"""


def test_an_end_no_branch_targets_starts_no_block():
    ir = _ir(_FALL_THROUGH)
    assert not re.search(r"^(end|ret)\d*:", ir, re.MULTILINE), ir


@pytest.mark.parametrize("opt_level", [0, 2])
def test_an_end_no_branch_targets_passes_its_results_on(opt_level):
    f = _exports(_FALL_THROUGH, opt_level)["f"]
    assert [f(x) for x in (0, 1, 5)] == [1, 4, 16]


# --- stores a later store overwrites -----------------------------------------------

_STORES = """(module
  (func (export "f") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 1))
    (local.set 1 (i32.add (local.get 1) (local.get 0)))
    (block $b
      (br_if $b (local.get 0))  ;; the taken edge reads the local at $b's end
      (local.set 1 (i32.const 50)))
    (local.get 1)))"""


def test_a_store_overwritten_in_its_block_is_dropped_and_one_a_branch_may_read_is_not():
    ir = _ir(_STORES)
    stores = re.findall(r"store i32 (\S+), ptr %l1", ir)
    # The zero of the prologue and the 1 are overwritten before any read; the sum
    # reaches $b's end along the br_if; the 50 along the fall-through.
    assert len(stores) == 2 and stores[0].startswith("%t") and stores[1] == "50", ir


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_local_holds_the_last_value_stored_on_each_path(opt_level):
    f = _exports(_STORES, opt_level)["f"]
    assert [f(0), f(1), f(7)] == [50, 2, 8]
