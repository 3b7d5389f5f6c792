"""A local.get reuses the local's value where it is known, and only there.

function.py forwards a local's value (as last set, tee'd or loaded) to later
`local.get`s in the same basic block, into blocks only that block reaches (after
a br_if, a trap check, into an if's arms), and into a block end where every
incoming edge carries the same value; every other block start reloads.  The IR
tests pin that the loads are gone; the run tests pin, at -O0 (where LLVM promotes
nothing and the IR runs as written) and at -O2, that every way a block can be
reached with another value of a local reads that value.
"""

from __future__ import annotations

import re

import pytest
from wat_compile import compiled_text, function_irs

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm


def _function_ir(wat: str) -> str:
    """The unoptimized IR of the module's first function."""
    return function_irs(compiled_text(wat, opt_level=0))["wasm_f0"]


def _loads_of(ir: str, local: int) -> int:
    return len(re.findall(rf"= load \S+, ptr %l{local}\b", ir))


def test_a_local_read_after_its_set_in_the_same_block_is_not_loaded():
    ir = _function_ir("""(module (func (param i32) (result i32) (local i32)
      (local.set 1 (i32.add (local.get 0) (i32.const 1)))
      (i32.mul (local.get 1) (local.tee 1 (i32.add (local.get 1) (local.get 1))))))""")
    assert _loads_of(ir, 1) == 0
    assert _loads_of(ir, 0) == 0  # the parameter's value is known from the entry


def test_a_local_loaded_in_a_loop_is_reused_where_only_that_block_leads():
    ir = _function_ir("""(module (memory 1) (func (param i32) (result i32)
      (i32.store (local.get 0) (i32.const 1))
      (loop $l (br_if $l (i32.eqz (i32.load (local.get 0)))))
      (i32.add (local.get 0) (local.get 0))))""")
    # The loop header loads (its back edge may bring another value), and the
    # loop's end, reached only from the header's block, reuses that load.
    assert _loads_of(ir, 0) == 1


def test_a_loop_header_reloads_the_local():
    ir = _function_ir("""(module (func (param i32) (result i32)
      (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
      (local.get 0)))""")
    header = next(b for b in ir.split("\n\n") if b.startswith("loop"))
    assert _loads_of(header, 0) == 1


def test_a_block_end_reached_with_two_values_reloads_the_local():
    ir = _function_ir("""(module (func (param i32) (result i32) (local i32)
      (if (local.get 0) (then (local.set 1 (i32.const 7))) (else (local.set 1 (i32.const 3))))
      (local.get 1)))""")
    assert _loads_of(ir, 1) == 1


@pytest.mark.parametrize("arms", ["(then (nop)) (else (local.set 0 (i32.const 3)))",
                                  "(then (local.set 0 (i32.const 3)))"])
def test_a_block_end_reached_with_one_value_keeps_it(arms):
    ir = _function_ir(f"""(module (func (param i32) (result i32) (local i32)
      (local.set 1 (i32.const 7))
      (if (local.get 0) {arms})
      (local.get 1)))""")
    assert _loads_of(ir, 1) == 0


# (name, function body over (param i32) (local i32 i32), [(argument, result), ...]).
# Each is a way of reaching a block with a value of local 1 that differs from
# one known earlier: reusing the earlier value gives another result.
_RUN_CASES = [
    ("loop_with_tee_counts_down", """
      (local.set 1 (i32.const 0))
      (block $done (loop $l
        (call $tick)
        (br_if $done (i32.eqz (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
      (local.get 1)""", [(0, 0), (1, 1), (4, 10), (100, 5050)]),
    ("then_arm_set_seen_after_the_if", """
      (local.set 1 (i32.const 3))
      (if (local.get 0) (then (local.set 1 (i32.const 7))))
      (local.get 1)""", [(0, 3), (1, 7)]),
    ("else_arm_starts_from_the_value_before_the_if", """
      (local.set 1 (i32.const 3))
      (if (local.get 0)
        (then (local.set 1 (i32.const 7)) (local.set 2 (local.get 1)))
        (else (local.set 2 (local.get 1))))
      (i32.add (i32.mul (local.get 2) (i32.const 10)) (local.get 1))""", [(0, 33), (1, 77)]),
    ("br_if_carries_the_value_set_before_it", """
      (block $b
        (local.set 1 (i32.const 5))
        (br_if $b (local.get 0))
        (local.set 1 (i32.const 9)))
      (local.get 1)""", [(0, 9), (1, 5)]),
    ("value_after_br_if_is_the_one_set_before_it", """
      (local.set 1 (i32.const 5))
      (block $b (br_if $b (i32.eqz (local.get 0))) (local.set 1 (i32.add (local.get 1) (i32.const 1))))
      (local.get 1)""", [(0, 5), (1, 6)]),
    ("br_table_targets_see_their_own_values", """
      (block $a
        (block $b
          (local.set 1 (i32.const 1))
          (br_table $a $b $a (local.get 0)))
        (local.set 1 (i32.const 2)))
      (local.get 1)""", [(0, 1), (1, 2), (2, 1), (7, 1)]),
    ("br_table_landing_reads_the_switch_blocks_value", """
      (local.set 1 (i32.add (local.get 0) (i32.const 40)))
      (block $a (block $b (br_table $a $b (local.get 0)))
        (local.set 2 (local.get 1)) (br 0))
      (i32.add (local.get 1) (local.get 2))""", [(0, 40), (1, 82)]),
    ("tee_in_a_loop_is_read_after_the_loop", """
      (local.set 1 (i32.const 1))
      (loop $l (call $tick) (br_if $l (i32.lt_u (local.tee 1 (i32.shl (local.get 1) (i32.const 1))) (local.get 0))))
      (local.get 1)""", [(0, 2), (5, 8), (1000, 1024)]),
    ("loop_exit_by_br_if_sees_the_iterations_value", """
      (block $out (loop $l
        (call $tick)
        (local.set 1 (i32.add (local.get 1) (i32.const 3)))
        (br_if $out (i32.ge_u (local.get 1) (local.get 0)))
        (br $l)))
      (local.get 1)""", [(0, 3), (7, 9), (9, 9)]),
    ("value_set_in_a_trapping_checks_continuation", """
      (local.set 1 (i32.const 100))
      (local.set 1 (i32.div_u (local.get 1) (i32.add (local.get 0) (i32.const 1))))
      (i32.add (local.get 1) (local.get 1))""", [(0, 200), (3, 50)]),
]


def _module(body: str) -> bytes:
    """`$tick` in each loop traps after 100,000 iterations, so that a loop reading
    a stale counter fails the test rather than hang it."""
    return wat_bytes_to_wasm(f"""(module
      (global $fuel (mut i32) (i32.const 100000))
      (func $tick
        (global.set $fuel (i32.sub (global.get $fuel) (i32.const 1)))
        (if (i32.eqz (global.get $fuel)) (then unreachable)))
      (func (export "f") (param i32) (result i32) (local i32 i32) {body}))""".encode())


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("name, body, cases", _RUN_CASES, ids=[c[0] for c in _RUN_CASES])
def test_a_local_read_gives_the_value_on_every_path(name, body, cases, opt_level):
    f = wa.compile(_module(body), opt_level=opt_level).instantiate({}).exports["f"]
    assert [f(a) for a, _ in cases] == [r for _, r in cases]


_HANDLER_READS_LOCAL = """(module
  (tag $e)
  (func $thrower (param i32) (if (local.get 0) (then (throw $e))))
  (func (export "f") (param i32) (result i32) (local i32)
    (local.set 1 (i32.const 4))
    (block $h
      (try_table (catch_all $h)
        (local.set 1 (i32.const 6))
        (call $thrower (local.get 0))
        (local.set 1 (i32.const 8))))
    (local.get 1)))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_catch_handler_reads_the_value_set_before_the_throw(opt_level):
    f = wa.compile(wat_bytes_to_wasm(_HANDLER_READS_LOCAL.encode()),
                   opt_level=opt_level).instantiate({}).exports["f"]
    assert (f(1), f(0)) == (6, 8)


_ZERO_LOCALS = """(module
  (func (export "f") (param i32) (result f64) (local i64 f32 f64 v128 funcref)
    (f64.add
      (f64.add (f64.convert_i64_s (local.get 1)) (f64.promote_f32 (local.get 2)))
      (f64.add (local.get 3)
        (f64.add (f64.convert_i64_s (i64x2.extract_lane 1 (local.get 4)))
                 (f64.convert_i32_s (ref.is_null (local.get 5))))))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_locals_read_before_any_set_are_zero(opt_level):
    f = wa.compile(wat_bytes_to_wasm(_ZERO_LOCALS.encode()),
                   opt_level=opt_level).instantiate({}).exports["f"]
    assert f(0) == 1.0


def test_a_local_never_loaded_has_no_alloca_and_no_stores():
    ir = _function_ir("""(module (func (param i32) (result i32) (local i32 i32)
      (local.set 1 (i32.add (local.get 0) (i32.const 1)))
      (local.set 2 (local.get 1))
      (local.set 0 (i32.mul (local.get 1) (local.get 2)))
      (loop $l (br_if $l (local.tee 2 (i32.sub (local.get 2) (i32.const 1)))))
      (local.get 0)))""")
    # Local 1 is read only where its value is known; local 2 is loaded in the
    # loop header, local 0 after the loop.
    assert "%l1 = alloca" not in ir and "ptr %l1" not in ir
    assert "%l2 = alloca" in ir and "%l0 = alloca" in ir and ir.count("store i32") >= 3
