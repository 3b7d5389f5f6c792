"""Module shapes with many items compile in linear time (issue 8, item 10).

The initializer does not grow with the number of globals, data segments or
element items (codegen/image.py: loops over a block of bytes), entry thunks
exist per signature rather than per type, and data bytes never become IR when
the image goes into its own object.  These tests pin that down by counting IR
(lines and bytes per item are constant, whatever N), which cannot be flaky the
way timing is; `bench/shapes.py` measures the times.  The image's contents are
checked end to end through the API (its own object) and `wasmaot wast` (an IR
constant)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

import wasmaot.api as wa
from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.driver.compile import CompileRequest, compile_module
from wasmaot.driver.wat import wat_to_wasm
from wasmaot.errors import Trap
from wasmaot.wasm import decode_module, validate_module

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import shapes  # noqa: E402  (bench/shapes.py: the generators)


def _ir(data: bytes, **kw) -> str:
    m = decode_module(data)
    return lower_module(m, validate_module(m), CodegenOptions(**kw))


@pytest.mark.parametrize("shape", ["datas", "elem", "globals", "types", "recs", "bigdata"])
def test_ir_lines_do_not_grow_with_the_number_of_items(shape):
    make = next(s for s in shapes.SHAPES if s.name == shape).make
    small, big = (_ir(make(n), external_image=True) for n in (256, 1000))  # same width of type digits
    assert small.count("\n") == big.count("\n"), shape
    # What does grow: descriptor tables, about 100 bytes per item at most (a data segment: its image address and length).
    assert len(big) - len(small) < 744 * 120, shape


def test_ir_lines_grow_by_a_constant_per_function():
    lines = [_ir(shapes.many_funcs(n)).count("\n") for n in (100, 200, 400)]
    assert lines[2] - lines[1] == 2 * (lines[1] - lines[0])


def test_data_bytes_are_not_ir_when_the_image_is_external():
    data = shapes.big_data(1_000_000)
    assert len(_ir(data, external_image=True)) < 20_000
    inline = _ir(data)
    assert 3_000_000 < len(inline) < 3_100_000  # every byte escaped: \xx


def test_split_compile_adds_the_image_as_a_raw_object():
    objects, _ = compile_module(shapes.big_data(100_000), CompileRequest(opt_level=0))
    assert len(objects) == 2 and objects[1][:4] == b"\x7fELF"
    assert len(objects[1]) < 100_000 + 1000


WAT = r"""(module
  (import "env" "base" (global $base i32))
  (import "env" "wide" (global $wide i64))
  (memory (export "mem") 1)
  (table $t (export "t") 16 funcref)
  (type $v (func (result i32)))
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (global (export "g_i32") i32 (i32.const -5))
  (global (export "g_i64") (mut i64) (i64.const -1))
  (global (export "g_f32") f32 (f32.const 1.5))
  (global (export "g_f64") f64 (f64.const -2.25))
  (global (export "g_get") i32 (global.get $base))
  (global (export "g_sum") i32 (i32.add (global.get $base) (i32.const 10)))
  (global $gref (export "g_ref") funcref (ref.func $two))
  (global (export "g_null") funcref (ref.null func))
  (elem (table $t) (i32.const 0) func $one $two $one)
  (elem (table $t) (global.get $base) funcref (ref.func $two) (ref.null func) (ref.func $one))
  (elem (table $t) (i32.add (global.get $base) (i32.const 3)) funcref (global.get $gref))
  (elem $passive funcref (ref.func $two) (ref.null func))
  (elem declare func $one)
  (data (i32.const 0) "abc")
  (data (global.get $base) "xyz")
  (data (i32.add (global.get $base) (i32.const 8)) "ext")
  (data $p "passive")
  (func (export "call") (param i32) (result i32) (call_indirect (type $v) (local.get 0)))
  (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "init_passive") (table.init $t $passive (i32.const 12) (i32.const 0) (i32.const 2)))
  (func (export "init_data") (memory.init $p (i32.const 100) (i32.const 0) (i32.const 7))))
"""


def _check_instance(inst, mem_read):
    ex = inst.exports
    assert [ex["call"](i) for i in (0, 1, 2, 4, 6, 7)] == [1, 2, 1, 2, 1, 2]
    assert ex["is_null"](5) == 1 and ex["is_null"](3) == 1
    ex["init_passive"]()
    assert ex["call"](12) == 2 and ex["is_null"](13) == 1
    ex["init_data"]()
    assert mem_read(0, 3) == b"abc" and mem_read(4, 7) == b"xyz" and mem_read(12, 15) == b"ext"
    assert mem_read(100, 107) == b"passive"


def test_image_initializes_every_kind_of_item_through_the_api(tmp_path):
    src = tmp_path / "init.wat"
    src.write_text(WAT)
    module = wa.compile(wat_to_wasm(src))
    base = wa.Global("i32", False, 4)
    wide = wa.Global("i64", False, 0)
    inst = module.instantiate({"env": {"base": base, "wide": wide}})
    ex = inst.exports
    assert ex["g_i32"].get() == -5 and ex["g_i64"].get() == -1
    assert ex["g_f32"].get() == 1.5 and ex["g_f64"].get() == -2.25
    assert ex["g_get"].get() == 4 and ex["g_sum"].get() == 14
    assert ex["g_null"].get() is None and ex["g_ref"].get() is not None
    _check_instance(inst, lambda a, b: ex["mem"].read(a, b))


def test_image_segment_out_of_bounds_traps_after_the_earlier_ones(tmp_path):
    src = tmp_path / "oob.wat"
    src.write_text("""(module (memory (export "mem") 1)
      (data (i32.const 0) "first") (data (i32.const 65534) "past the end") (data (i32.const 8) "never"))""")
    module = wa.compile(wat_to_wasm(src))
    with pytest.raises(Trap, match="out of bounds memory access"):
        module.instantiate({})
