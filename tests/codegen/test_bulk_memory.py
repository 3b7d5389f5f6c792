"""memory.fill and memory.copy, lowered inline (codegen/memory.py): both ranges
are checked before any byte is written, without wrap-around, for 32- and 64-bit
memories, with guard pages and with explicit bounds checks, across memories."""

from __future__ import annotations

import pytest

import wasmaot.api as wa
from wasmaot.driver.wat import wat_to_wasm
from wasmaot.errors import Trap

PAGE = 65536
OOB = "out of bounds memory access"


def _module(tmp_path, addr: str, bounds_checks: str):
    src = tmp_path / f"bulk-{addr}.wat"
    src.write_text(f"""(module
      (memory $a (export "a") {addr} 1 1)
      (memory $b (export "b") {addr} 1 1)
      (data (memory $a) ({addr}.const 0) "hello")
      (func (export "fill") (param $d {addr}) (param $v i32) (param $n {addr})
        (memory.fill $a (local.get $d) (local.get $v) (local.get $n)))
      (func (export "copy") (param $d {addr}) (param $s {addr}) (param $n {addr})
        (memory.copy $a $a (local.get $d) (local.get $s) (local.get $n)))
      (func (export "copy_to_b") (param $d {addr}) (param $s {addr}) (param $n {addr})
        (memory.copy $b $a (local.get $d) (local.get $s) (local.get $n)))
      (func (export "copy4") (param $d {addr}) (param $s {addr})
        (memory.copy $a $a (local.get $d) (local.get $s) ({addr}.const 4))))""")
    return wa.compile(wat_to_wasm(src), bounds_checks=bounds_checks).instantiate({})


@pytest.fixture(params=[(a, b) for a in ("i32", "i64") for b in ("guard", "explicit")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def inst(request, tmp_path):
    return _module(tmp_path, *request.param)


def test_fill_writes_the_low_byte_and_checks_the_whole_range_first(inst):
    fill, mem = inst.exports["fill"], inst.exports["a"]
    fill(10, 0x1AB, 4)
    assert mem.read(8, 16) == b"\0\0\xab\xab\xab\xab\0\0"
    with pytest.raises(Trap, match=OOB):
        fill(PAGE - 4, 0xCD, 5)
    assert mem.read(PAGE - 4, PAGE) == b"\0" * 4  # nothing written
    fill(PAGE, 0xCD, 0)  # empty at the end: fine
    with pytest.raises(Trap, match=OOB):
        fill(PAGE + 1, 0xCD, 0)  # empty but past the end: traps


def test_fill_length_that_wraps_around_traps(inst):
    with pytest.raises(Trap, match=OOB):
        inst.exports["fill"](16, 0, -8)  # n = 2^32 - 8 or 2^64 - 8


def test_copy_is_a_memmove_and_checks_both_ranges_first(inst):
    copy, mem = inst.exports["copy"], inst.exports["a"]
    copy(2, 0, 5)  # overlapping, forwards
    assert mem.read(0, 8) == b"hehello\0"
    copy(0, 2, 5)  # overlapping, backwards
    assert mem.read(0, 8) == b"hellolo\0"
    before = mem.read(PAGE - 16, PAGE)
    with pytest.raises(Trap, match=OOB):
        copy(PAGE - 3, 0, 5)
    with pytest.raises(Trap, match=OOB):
        copy(0, PAGE - 3, 5)
    assert mem.read(PAGE - 16, PAGE) == before and mem.read(0, 5) == b"hello"
    copy(PAGE, PAGE, 0)
    with pytest.raises(Trap, match=OOB):
        copy(0, 0, -1)


def test_constant_length_copy_is_checked(inst):
    copy4 = inst.exports["copy4"]
    copy4(8, 0)
    assert inst.exports["a"].read(8, 12) == b"hell"
    with pytest.raises(Trap, match=OOB):
        copy4(PAGE - 3, 0)
    with pytest.raises(Trap, match=OOB):
        copy4(0, PAGE - 3)


def test_copy_between_memories(inst):
    inst.exports["copy_to_b"](PAGE - 5, 0, 5)
    assert inst.exports["b"].read(PAGE - 5, PAGE) == b"hello"
    with pytest.raises(Trap, match=OOB):
        inst.exports["copy_to_b"](PAGE - 4, 0, 5)
