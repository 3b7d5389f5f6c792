"""Compilation tiers (codegen/partition.py): which functions are tiny, and that
a full-tier caller still inlines a tiny callee compiled in another partition."""

from __future__ import annotations

import re

import pytest

from wasmaot.codegen.module import lower_partition
from wasmaot.codegen.partition import is_tiny, split_tiers
from wasmaot.driver import llvm
from wasmaot.driver.compile import CompileRequest, frontend
from wasmaot.driver.targets import code_target
from wasmaot.driver.wat import wat_bytes_to_wasm

_WAT = """(module (memory 1)
  (func $tiny (param i32) (result i32) (i32.add (local.get 0) (i32.const 7)))
  (func $loops (param i32) (result i32)
    (loop $l (br_if $l (i32.eqz (local.get 0)))) (local.get 0))
  (func $big (export "big") (param i32) (result i32)
    (i32.store (local.get 0) (call $tiny (local.get 0)))
    (i32.store offset=4 (local.get 0) (call $tiny (i32.load (local.get 0))))
    (i32.store offset=8 (local.get 0) (call $tiny (i32.load offset=4 (local.get 0))))
    (call $tiny (i32.load offset=8 (local.get 0)))))"""


@pytest.fixture(scope="module")
def parsed():
    return frontend(wat_bytes_to_wasm(_WAT.encode()))


def test_tiny_means_short_and_loop_free(parsed):
    module, _ = parsed
    assert [is_tiny(module, i) for i in range(3)] == [True, False, False]
    assert split_tiers(module, [0, 1, 2]) == ([1, 2], [0])


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_a_tiny_callee_in_another_partition_is_inlined(parsed, target):
    module, ctx = parsed
    req = CompileRequest(target=target)
    options = req.codegen.__class__(**{**req.codegen.__dict__, "inline_copies": True})
    ir = lower_partition(module, ctx, options, [2], True)
    assert re.search(r"define available_externally hidden tailcc i32 @wasm_f0\(", ir)
    assert "declare hidden tailcc i32 @wasm_f0(" not in ir
    opt = llvm.compile_ir(ir, code_target(target), 2, output="llvm-ir").decode()
    body = opt[opt.index("@wasm_f2("):]
    body = body[:body.index("\n}")]
    assert "@wasm_f0" not in body  # all four calls inlined
    assert "define available_externally" not in opt  # and the copy is gone


def test_without_copies_the_callee_is_declared(parsed):
    module, ctx = parsed
    ir = lower_partition(module, ctx, CompileRequest().codegen, [2], True)
    assert "declare hidden tailcc i32 @wasm_f0(" in ir
    assert "available_externally" not in ir


def test_the_tiny_tier_compiles_to_an_object(parsed):
    module, ctx = parsed
    ir = lower_partition(module, ctx, CompileRequest().codegen, [0], False)
    obj = llvm.compile_ir(ir, code_target("x86_64-linux"), 2, tier=llvm.TINY)
    assert obj[:4] == b"\x7fELF"
