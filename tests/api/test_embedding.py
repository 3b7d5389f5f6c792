"""The Python embedding API: what a user of wasmtime-py would expect."""

from __future__ import annotations

import struct

import pytest

import wasmaot.api as wa
from wasmaot.errors import LinkError, Trap, WasmError
from wasmaot.driver.wat import wat_to_wasm


def compile_wat(tmp_path, text: str, **kw) -> wa.Module:
    path = tmp_path / "m.wat"
    path.write_text(text)
    return wa.compile(wat_to_wasm(path), **kw)


def test_exports_call_with_ints_floats_and_several_results(tmp_path):
    m = compile_wat(tmp_path, """(module
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
      (func (export "swap") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
      (func (export "half") (param f32) (result f32) (f32.mul (local.get 0) (f32.const 0.5))))""")
    ex = m.instantiate().exports
    assert ex["add"](2, 40) == 42
    assert ex["add"](2**31 - 1, 1) == -2**31  # i32 wraps, results are signed
    assert ex["swap"](-5, 2.5) == (2.5, -5)
    assert ex.half(3.0) == 1.5


def test_call_bits_passes_exact_nan_payloads(tmp_path):
    m = compile_wat(tmp_path, '(module (func (export "id") (param f32) (result f32) local.get 0))')
    signalling = 0x7FA00001
    assert m.instantiate().exports["id"].call_bits(signalling) == signalling


def test_trap_has_wasmtime_message_and_named_backtrace(tmp_path):
    # -O0: at -O2 LLVM may inline `inner` into `outer`, folding their frames.
    m = compile_wat(tmp_path, """(module
      (func $inner (export "inner") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func $outer (export "outer") (result i32) (call $inner (i32.const 0))))""", opt_level=0)
    inst = m.instantiate()
    with pytest.raises(Trap) as info:
        inst.exports["outer"]()
    assert str(info.value) == "integer divide by zero"
    names = [f.func_name for f in info.value.frames]
    assert names[:2] == ["inner", "outer"]
    assert inst.exports["inner"](2) == 0  # the instance is still usable


def test_python_exception_propagates_through_wasm_frames(tmp_path):
    m = compile_wat(tmp_path, """(module
      (import "env" "cb" (func $cb (param i32) (result i32)))
      (func (export "run") (param i32) (result i32) (i32.add (call $cb (local.get 0)) (i32.const 1))))""")

    class Boom(Exception):
        pass

    def cb(x):
        if x < 0:
            raise Boom(x)
        return x * 2

    inst = m.instantiate({"env": {"cb": wa.Func(["i32"], ["i32"], cb)}})
    assert inst.exports["run"](5) == 11
    with pytest.raises(Boom) as info:
        inst.exports["run"](-3)
    assert info.value.args == (-3,)
    assert inst.exports["run"](1) == 3


def test_instances_share_memories_tables_globals_and_functions(tmp_path):
    a = compile_wat(tmp_path, """(module
      (memory (export "mem") 1)
      (global (export "g") (mut i32) (i32.const 7))
      (table (export "tab") 2 funcref)
      (func $f (export "f") (result i32) (i32.const 99))
      (elem (i32.const 0) $f))""").instantiate()
    b = compile_wat(tmp_path, """(module
      (import "a" "mem" (memory 1))
      (import "a" "g" (global $g (mut i32)))
      (import "a" "tab" (table 2 funcref))
      (import "a" "f" (func $f (result i32)))
      (type $t (func (result i32)))
      (func (export "poke") (i32.store (i32.const 8) (i32.const 0x01020304)))
      (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1))))
      (func (export "via_table") (result i32) (call_indirect (type $t) (i32.const 0)))
      (func (export "direct") (result i32) (call $f)))""").instantiate(
        {"a": {"mem": a.exports["mem"], "g": a.exports["g"], "tab": a.exports["tab"],
               "f": a.exports["f"]}})
    b.exports["poke"]()
    assert a.exports["mem"].read(8, 12) == bytes([4, 3, 2, 1])
    b.exports["bump"]()
    assert a.exports["g"].get() == 8
    assert b.exports["via_table"]() == 99 and b.exports["direct"]() == 99


def test_host_made_memory_global_and_table(tmp_path):
    mem = wa.Memory(1, 2)
    glob = wa.Global("i64", True, 5)
    table = wa.Table("externref", 3)
    m = compile_wat(tmp_path, """(module
      (import "h" "mem" (memory 1 2))
      (import "h" "g" (global $g (mut i64)))
      (import "h" "t" (table 3 externref))
      (func (export "grow") (result i32) (memory.grow (i32.const 1)))
      (func (export "get") (result i64) (global.get $g))
      (func (export "ref") (param i32) (result externref) (table.get 0 (local.get 0))))""")
    inst = m.instantiate({"h": {"mem": mem, "g": glob, "t": table}})
    assert inst.exports["grow"]() == 1 and mem.size() == 2
    glob.set(-9)
    assert inst.exports["get"]() == -9
    marker = object()
    table.set(1, marker)
    assert inst.exports["ref"](1) is marker and inst.exports["ref"](0) is None


@pytest.mark.parametrize("imports, message", [
    ({}, "unknown import"),
    ({"env": {"f": wa.Func(["i64"], [], lambda x: None)}}, "incompatible import type"),
    ({"env": {"f": wa.Memory(1)}}, "incompatible import type"),
])
def test_link_errors_name_the_import(tmp_path, imports, message):
    m = compile_wat(tmp_path, '(module (import "env" "f" (func (param i32))))')
    with pytest.raises(LinkError) as info:
        m.instantiate(imports)
    assert message in str(info.value) and "env" in str(info.value)


def test_mutual_tail_calls_do_not_grow_the_stack(tmp_path):
    m = compile_wat(tmp_path, """(module
      (func $even (export "even") (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1))
          (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
      (func $odd (param i64) (result i32)
        (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 0))
          (else (return_call $even (i64.sub (local.get 0) (i64.const 1)))))))""")
    assert m.instantiate().exports["even"](1_000_000) == 1


def test_deep_recursion_traps_instead_of_crashing(tmp_path):
    m = compile_wat(tmp_path, """(module
      (func $r (export "r") (param i32) (result i32)
        (local f64 f64 f64 f64 f64 f64 f64 f64)
        (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))""")
    inst = m.instantiate()
    with pytest.raises(Trap, match="call stack exhausted"):
        inst.exports["r"](0)


@pytest.mark.parametrize("bounds_checks", ["guard", "explicit"])
def test_out_of_bounds_access_traps_with_either_bounds_check(tmp_path, bounds_checks):
    m = compile_wat(tmp_path, """(module (memory 1)
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "drop_load") (param i32) (drop (i64.load offset=8 (local.get 0)))))""",
                    bounds_checks=bounds_checks)
    ex = m.instantiate().exports
    assert ex["load"](65532) == 0
    for f, arg in (("load", 65533), ("load", -1), ("drop_load", 65530)):
        with pytest.raises(Trap, match="out of bounds memory access"):
            ex[f](arg)


def test_compiled_module_is_reused_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = '(module (func (export "f") (result i32) (i32.const 3)))'
    first = compile_wat(tmp_path, text)
    second = compile_wat(tmp_path, text)
    assert first.path == second.path and first.path.exists()
    assert second.instantiate().exports["f"]() == 3


def test_f32_global_bits_round_trip(tmp_path):
    bits = struct.unpack("<I", struct.pack("<f", 1.25))[0]
    g = wa.Global("f32", True, bits, bits=True)
    assert g.get() == 1.25 and g.get(bits=True) == bits


def test_a_shared_memory_fills_only_a_shared_import(tmp_path):
    with pytest.raises(WasmError, match="must have a maximum"):
        wa.Memory(1, shared=True)
    shared, plain = wa.Memory(1, 2, shared=True), wa.Memory(1, 2)
    wants_shared = compile_wat(tmp_path, '(module (import "h" "m" (memory 1 2 shared)))')
    wants_plain = compile_wat(tmp_path, '(module (import "h" "m" (memory 1 2)))')
    wants_shared.instantiate({"h": {"m": shared}})
    wants_plain.instantiate({"h": {"m": plain}})
    for module, memory in ((wants_shared, plain), (wants_plain, shared)):
        with pytest.raises(LinkError, match="shared flag mismatch"):
            module.instantiate({"h": {"m": memory}})
