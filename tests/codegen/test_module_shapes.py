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

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import wasmaot.api as wa
from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.driver.compile import CompileRequest, compile_module
from wasmaot.driver.wat import wat_to_wasm
from wasmaot.errors import InvalidModule, MalformedModule, Trap
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


CHECKS = r"""(module
  (memory 1)
  (table $t 8 funcref)
  (type $v (func (result i32)))
  (func $seven (result i32) (i32.const 7))
  (global $g i64 (i64.const 0x1122334455667788))
  (global $f f64 (f64.const 0.5))
  (global $r funcref (ref.func $seven))
  (elem (table $t) (i32.const 2) func $seven $seven)
  (data (i32.const 16) "\de\ad\be\ef")
  (data (i32.const 100) "tail")
  (func (export "_start")
    (if (i32.ne (i32.load (i32.const 16)) (i32.const 0xefbeadde)) (then unreachable))
    (if (i32.ne (i32.load (i32.const 100)) (i32.const 0x6c696174)) (then unreachable))
    (if (i64.ne (global.get $g) (i64.const 0x1122334455667788)) (then unreachable))
    (if (f64.ne (global.get $f) (f64.const 0.5)) (then unreachable))
    (if (i32.ne (call_indirect (type $v) (i32.const 3)) (i32.const 7)) (then unreachable))
    (if (ref.is_null (global.get $r)) (then unreachable))
    (if (i32.eqz (ref.is_null (table.get $t (i32.const 4)))) (then unreachable))))
"""


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_executable_links_the_image_object_and_initializes_from_it(tmp_path, target):
    from wasmaot.commands.build import BuildOptions, build

    src = tmp_path / "checks.wat"
    src.write_text(CHECKS)
    exe = build(wat_to_wasm(src), tmp_path / "checks", BuildOptions(target=target, opt_level=0))
    prefix = []
    if target == "aarch64-linux":
        qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
        assert qemu, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
        prefix = [qemu]
    proc = subprocess.run([*prefix, str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_raw_object_headers_name_the_machine_and_a_hidden_sized_symbol():
    from wasmaot.driver.rawobject import data_object
    for arch, machine in (("x86_64", 62), ("aarch64", 183)):
        obj = data_object("m_image", [b"abc", b"de"], arch)
        assert obj[:4] == b"\x7fELF" and struct.unpack_from("<H", obj, 18)[0] == machine
        assert obj[64:69] == b"abcde"
        shoff, = struct.unpack_from("<Q", obj, 40)
        symtab = struct.unpack_from("<IIQQQQIIQQ", obj, shoff + 2 * 64)
        sym = struct.unpack_from("<IBBHQQ", obj, symtab[4] + 24)
        assert sym[1:] == ((1 << 4) | 1, 2, 1, 0, 5)  # global object, hidden, section 1, 5 bytes


def test_many_tiny_functions_are_spread_over_partitions():
    from wasmaot.codegen.partition import function_weight, partition_functions
    from wasmaot.driver.compile import PARTITION_BYTES, frontend
    module, ctx = frontend(shapes.many_funcs(60_000))  # 60,000 tiny functions in 540 KB of code
    parts = partition_functions(module, ctx, PARTITION_BYTES)
    assert len(parts) >= 4
    first = module.num_imported_funcs
    assert sorted(f for p in parts for f in p) == list(range(first, first + 60_001))  # and _start
    for part in parts[:-1]:
        weight = sum(function_weight(module, ctx, f - first) for f in part)
        assert PARTITION_BYTES // 4 <= weight <= 2 * PARTITION_BYTES + 100


# --- the bulk fast paths read what the general decoder reads --------------------------


def _elem_module(indices: list[int], nfuncs: int) -> bytes:
    """`nfuncs` functions and a funcref table with an active segment of `indices` as
    function indices."""
    p = shapes.Parts([shapes.VOID_FUNC], [0] * nfuncs, [shapes.body(b"\x00", b"")] * nfuncs, 0)
    p.table = b"\x70\x00" + shapes.uleb(len(indices))
    p.elems = [b"\x00" + shapes.i32_const(0) + shapes.END + shapes.vec(
        [shapes.uleb(i) for i in indices])]
    return p.encode()


@pytest.mark.parametrize("indices, message", [
    ([0, 1, 2, 1, 0] * 40, None),                   # every index one LEB byte: the fast path
    ([0, 1, 200, 1], None),                          # 200 takes two bytes: the general path
    ([0, 1, 3, 7, 1], "unknown function 3"),         # the first unknown one is reported
    ([0, 1, 300, 7], "unknown function 300"),
])
def test_function_index_items_are_checked_in_order(indices, message):
    data = _elem_module(indices, 201 if 200 in indices else 3)
    m = decode_module(data)
    items = m.elems[0].init
    assert list(items.indices) == indices
    offsets = [items[j][0].offset for j in range(len(indices))]
    assert offsets[0] > 0 and all(a < b for a, b in zip(offsets, offsets[1:]))
    if message is None:
        validate_module(m)
        return
    with pytest.raises(InvalidModule, match=message) as e:
        validate_module(m)
    bad = next(j for j, x in enumerate(indices) if x >= 3)
    assert e.value.offset == offsets[bad]


@pytest.mark.parametrize("mutability, message", [(0, None), (1, None), (2, "malformed mutability")])
def test_number_globals_decode_like_the_general_path(mutability, message):
    p = shapes.Parts([shapes.VOID_FUNC], [0], [shapes.body(b"\x00", b"")], 0,
                     globals=[bytes([shapes.I32, mutability]) + shapes.i32_const(5) + shapes.END])
    data = p.encode()
    if message:
        with pytest.raises(MalformedModule, match=message):
            decode_module(data)
        return
    g = decode_module(data).globals[0]
    assert (g.type.valtype, g.type.mutable) == ("i32", bool(mutability))
    assert g.init[0].imms == (5,)
