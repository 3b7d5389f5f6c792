"""Random funcref tables called through call_indirect, against wasmtime.

The diff farm's modules export every table, so none of them is sealed
(codegen/sealed.py); these are made for it: overlapping active segments with nulls,
functions of several types, tables of 0-24 elements, 32- and 64-bit, and some
tables that are exported or changed by table.set (not sealed, as a control).  Every
index from 0 past the end, and 2^31, 2^32-1 (and for table64 2^32, 2^63, 2^64-1), is
called with every type: the result or the trap message must be wasmtime's, at -O0
and -O2.
"""

from __future__ import annotations

import random

import pytest
import wasmtime

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm

MODULES = 40
TRAPS = ("undefined element", "uninitialized element", "indirect call type mismatch")
# Function types: (param i32) (result i32) in three rec-free shapes wasm tells apart.
TYPES = ("(param i32) (result i32)", "(param i32) (result i64)", "(param i64) (result i32)")


def _random_module(rng: random.Random) -> tuple[str, str, int]:
    """(WAT, address type, table size)."""
    addr = rng.choice(("i32", "i64"))
    size = rng.choice((0, 1, 2, 5, 17, 24))
    funcs = []
    for i in range(rng.randrange(1, 7)):
        t = rng.randrange(len(TYPES))
        arg = "(local.get 0)" if t != 2 else "(i32.wrap_i64 (local.get 0))"
        body = f"(i32.add {arg} (i32.const {100 * (i + 1)}))"
        if t == 1:
            body = f"(i64.extend_i32_u {body})"
        funcs.append((t, f"(func $f{i} (type $t{t}) {body})"))
    segments = []
    for _ in range(rng.randrange(0, 4)):
        n = rng.randrange(0, size + 1)
        offset = rng.randrange(0, size - n + 1)
        items = " ".join("(ref.null func)" if rng.random() < 0.2 else
                         f"(ref.func $f{rng.randrange(len(funcs))})" for _ in range(n))
        segments.append(f"(elem (table 0) ({addr}.const {offset}) funcref {items})")
    export = ' (export "t")' if rng.random() < 0.15 else ""
    change = ""
    if size and rng.random() < 0.15:
        change = f"(table.set 0 ({addr}.const {rng.randrange(size)}) (ref.func $f0))"
    callers = "\n".join(
        f"""(func (export "call{t}") (param {addr}) (result i64)
              {change}
              {_call(t, addr)})""" for t in range(len(TYPES)))
    types = "\n".join(f"(type $t{t} (func {sig}))" for t, sig in enumerate(TYPES))
    wat = f"""(module {types}
      (table{export} {addr} {size} {size} funcref)
      {" ".join(segments)} (elem declare func $f0)
      {" ".join(f for _, f in funcs)}
      {callers})"""
    return wat, addr, size


def _call(t: int, addr: str) -> str:
    arg = "(i64.const 7)" if t == 2 else "(i32.const 7)"
    call = f"(call_indirect (type $t{t}) {arg} (local.get 0))"
    return call if t == 1 else f"(i64.extend_i32_u {call})"


def _indices(addr: str, size: int) -> list[int]:
    extremes = [2**31, 2**32 - 1] + ([2**32, 2**63, 2**64 - 1] if addr == "i64" else [])
    return list(range(size + 2)) + extremes


def _outcome(call, index: int) -> str:
    try:
        return str(call(index))
    except (wa.Trap, wasmtime.Trap) as e:
        found = [m for m in TRAPS if m in str(e)]
        assert len(found) == 1, str(e)
        return f"trap: {found[0]}"


def _wasmtime_calls(wat: str, addr: str):
    config = wasmtime.Config()
    config.wasm_memory64 = True  # table64
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, wat), [])
    exports = inst.exports(store)

    def caller(t):
        f = exports[f"call{t}"]
        # wasmtime-py takes signed integers for i32/i64 parameters
        bits = 32 if addr == "i32" else 64
        return lambda i: f(store, i - (1 << bits) if i >= 1 << (bits - 1) else i)
    return caller


@pytest.mark.parametrize("seed", range(MODULES))
def test_random_tables_call_like_wasmtime(seed):
    rng = random.Random(seed)
    wat, addr, size = _random_module(rng)
    reference = _wasmtime_calls(wat, addr)
    data = wat_bytes_to_wasm(wat.encode())
    for opt_level in (0, 2):
        exports = wa.compile(data, opt_level=opt_level).instantiate().exports
        for t in range(len(TYPES)):
            ours, theirs = exports[f"call{t}"], reference(t)
            for index in _indices(addr, size):
                expected = _outcome(theirs, index)
                assert _outcome(ours, index) == expected, (
                    f"-O{opt_level} call{t}({index}): wasmaot {_outcome(ours, index)}, "
                    f"wasmtime {expected}\n{wat}")
