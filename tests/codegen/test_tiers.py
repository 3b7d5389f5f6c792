"""Compilation tiers (codegen/partition.py): a tiny function that nothing calls
directly is compiled in the cheap tier; everything else, in the full one."""

from __future__ import annotations

import pytest

from wasmaot.codegen.module import lower_partition
from wasmaot.codegen.partition import is_tiny, split_tiers
from wasmaot.driver import llvm
from wasmaot.driver.compile import CompileRequest, frontend
from wasmaot.driver.targets import code_target
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.wasm import decode_module
from wasmaot.wasm.validate_module import declarations_context

_WAT = """(module (memory 1) (table 2 funcref) (elem (i32.const 0) $indirect $called)
  (func $indirect (param i32) (result i32) (i32.add (local.get 0) (i32.const 7)))
  (func $called (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $loops (param i32) (result i32)
    (loop $l (br_if $l (i32.eqz (local.get 0)))) (local.get 0))
  (func $tail (param i32) (result i32) (return_call $loops (local.get 0)))
  (func $big (export "big") (param i32) (result i32)
    (i32.store (local.get 0) (call $called (local.get 0)))
    (i32.store offset=4 (local.get 0) (call $called (i32.load (local.get 0))))
    (i32.store offset=8 (local.get 0) (call $called (i32.load offset=4 (local.get 0))))
    (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))"""


@pytest.fixture(scope="module")
def parsed():
    return frontend(wat_bytes_to_wasm(_WAT.encode()))


def test_tiny_means_short_loop_free_and_never_called_directly(parsed):
    module, ctx = parsed
    # $indirect: only through the table; $called and $loops (return_call): directly;
    # $tail: tiny, and nothing calls it; $big: too long.
    assert [is_tiny(module, ctx, i) for i in range(5)] == [True, False, False, True, False]
    assert split_tiers(module, ctx, [0, 1, 2, 3, 4]) == ([1, 2, 4], [0, 3])


def test_without_the_direct_callees_nothing_is_tiny(parsed):
    """A context that did not validate the bodies cannot know who is called."""
    module, _ = parsed
    ctx = declarations_context(decode_module(wat_bytes_to_wasm(_WAT.encode())))
    assert not any(is_tiny(module, ctx, i) for i in range(5))


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_the_tiny_tier_compiles_to_an_object(parsed, target):
    module, ctx = parsed
    ir = lower_partition(module, ctx, CompileRequest(target=target).codegen, [0, 3], False)
    obj = llvm.compile_ir(ir, code_target(target), 2, tier=llvm.TINY)
    assert obj[:4] == b"\x7fELF"
