"""v128 values cross the embedding API as wasmtime-py's do: an int (the 128-bit
little-endian value) comes back; an int (taken modulo 2^128) or 16 bytes in
memory order go in; anything else is one WasmError."""

from __future__ import annotations

import pytest

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import WasmError

WAT = b"""(module
  (import "host" "v" (func $v (param v128) (result v128)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (func (export "id") (param v128) (result v128) (local.get 0))
  (func (export "lane") (param v128) (result i32) (i8x16.extract_lane_u 0 (local.get 0)))
  (func (export "add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
  (func (export "via_host") (param v128) (result v128) (call $v (local.get 0))))"""

TOP = (1 << 128) - 1


@pytest.fixture(scope="module")
def instance():
    swap = wa.Func(["v128"], ["v128"], lambda v: ((v >> 64) | (v << 64)) & TOP)
    return wa.compile(wat_bytes_to_wasm(WAT)).instantiate({"host": {"v": swap}})


@pytest.mark.parametrize("value", [0, 1, 1 << 63, 1 << 64, TOP, 0x0102030405060708090A0B0C0D0E0F10])
def test_v128_round_trips_as_an_unsigned_int(instance, value):
    assert instance.exports["id"](value) == value


def test_v128_from_bytes_is_in_memory_order(instance):
    assert instance.exports["lane"](bytes([0xAB] + [0] * 15)) == 0xAB
    assert instance.exports["id"](bytes(range(16))) == int.from_bytes(bytes(range(16)), "little")


def test_negative_int_is_taken_modulo_2_to_the_128(instance):
    assert instance.exports["id"](-1) == TOP


def test_lanes_are_little_endian(instance):
    a = sum(k << (32 * k) for k in range(4))  # i32x4 0 1 2 3
    assert instance.exports["add"](a, a) == sum((2 * k) << (32 * k) for k in range(4))


def test_v128_global_reads_as_int(instance):
    assert instance.exports["g"].get() == sum((k + 1) << (32 * k) for k in range(4))


def test_host_function_takes_and_returns_v128(instance):
    assert instance.exports["via_host"](1) == 1 << 64


@pytest.mark.parametrize("bad", [b"short", 1.5, "x", None])
def test_a_value_that_is_not_a_v128_is_one_wasm_error(instance, bad):
    with pytest.raises(WasmError, match="v128"):
        instance.exports["id"](bad)
