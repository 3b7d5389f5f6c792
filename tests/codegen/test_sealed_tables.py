"""call_indirect through a sealed table (codegen/sealed.py) behaves as the run-time checks do.

A table that only its active segments can set is read at compile time: its calls load
the callee from a constant array per type, and every other case (an index out of
bounds, a null element, a function of another type) must still trap with wasmtime's
message.  The tests pin each condition of sealing: a table the module may change, or
that another module or the host may reach, or whose contents are not known here, must
keep the run-time checks, or a call would reach a stale or wrong function.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from wat_compile import compiled_text

import wasmaot.api as wa
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver import compile as compile_mod
from wasmaot.driver.compile import CompileRequest, compile_module
from wasmaot.driver.wat import wat_bytes_to_wasm

QEMU = shutil.which("qemu-aarch64-static")
OOB = "undefined element: out of bounds table access"
NULL = "uninitialized element"
TYPE = "indirect call type mismatch"

# Elements 0-4: $inc $dbl $nop null $inc (the second segment overwrites element 2's
# $inc with $nop, and sets element 4).
SEALED = """(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (table {addr} 5 5 funcref)
  (elem (table 0) ({addr}.const 0) func $inc $dbl $inc)
  (elem (table 0) ({addr}.const 2) func $nop)
  (elem (table 0) ({addr}.const 4) func $inc)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $nop (type $v))
  (func (export "call") (param {addr} i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func (export "tail") (param {addr} i32) (result i32)
    (return_call_indirect (type $ii) (local.get 1) (local.get 0))))"""


def _ir(wat: str, opt_level: int = 0) -> str:
    return compiled_text(wat, opt_level=opt_level)


def _instance(wat: str, opt_level: int):
    return wa.compile(wat_bytes_to_wasm(wat.encode()), opt_level=opt_level).instantiate()


def _trap_message(f, *args) -> str:
    with pytest.raises(wa.Trap) as e:
        f(*args)
    return str(e.value)


@pytest.mark.parametrize("addr", ["i32", "i64"])
def test_a_table_only_its_segments_set_is_read_from_a_constant_array(addr):
    ir = _ir(SEALED.format(addr=addr))
    assert "@wasmaot_dispatch_t0_c0 = internal unnamed_addr constant [5 x ptr]" in ir
    assert "type_ids" not in ir  # no run-time type check is left


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize("export", ["call", "tail"])
def test_sealed_calls_reach_each_element_and_trap_like_the_checks(opt_level, export):
    f = _instance(SEALED.format(addr="i32"), opt_level).exports[export]
    assert [f(0, 10), f(1, 10), f(4, 10)] == [11, 20, 11]
    assert _trap_message(f, 2, 10) == TYPE  # $nop, written over $inc by a later segment
    assert _trap_message(f, 3, 10) == NULL
    for index in (5, 2**31, 2**32 - 1):
        assert _trap_message(f, index, 10) == OOB


@pytest.mark.parametrize("opt_level", [0, 2])
def test_sealed_table64_calls_trap_at_every_extreme_index(opt_level):
    f = _instance(SEALED.format(addr="i64"), opt_level).exports["call"]
    assert [f(0, 10), f(1, 10)] == [11, 20]
    assert _trap_message(f, 3, 1) == NULL
    for index in (5, 2**32, 2**32 + 1, 2**63, 2**64 - 1):
        assert _trap_message(f, index, 10) == OOB


# Each changes element 0 from $inc to $dbl before the call (or grows the table and
# calls the new element 5), so a call read from the segments would give 11, not 20.
CHANGES = {
    "table.set": "(table.set 0 (i32.const 0) (ref.func $dbl))",
    "table.fill": "(table.fill 0 (i32.const 0) (ref.func $dbl) (i32.const 1))",
    "table.copy": "(table.copy 0 0 (i32.const 0) (i32.const 1) (i32.const 1))",
    "table.init": "(table.init 0 $later (i32.const 0) (i32.const 0) (i32.const 1))",
    "table.grow": "(drop (table.grow 0 (ref.func $dbl) (i32.const 1))) "
                  "(local.set 0 (i32.const 5))",
}
CHANGING = """(module
  (type $ii (func (param i32) (result i32)))
  (table 5 10 funcref)
  (elem (i32.const 0) func $inc $dbl)
  (elem $later func $dbl)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "change_then_call") (param i32) (result i32)
    {change}
    (call_indirect (type $ii) (i32.const 10) (local.get 0))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_table_the_module_may_change_keeps_the_run_time_checks(change, opt_level):
    wat = CHANGING.format(change=CHANGES[change])
    assert "wasmaot_dispatch" not in _ir(wat)
    assert _instance(wat, opt_level).exports["change_then_call"](0) == 20


# Tables whose contents are not known when the module is compiled.
UNSEALED = {
    "exported": """(module (type $ii (func (param i32) (result i32)))
      (table (export "t") 1 funcref) (elem (i32.const 0) $f)
      (func $f (type $ii) (local.get 0))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 7) (local.get 0))))""",
    "imported": """(module (type $ii (func (param i32) (result i32)))
      (import "env" "t" (table 1 funcref)) (elem (i32.const 0) $f)
      (func $f (type $ii) (local.get 0))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 7) (local.get 0))))""",
    "offset from a global": """(module (type $ii (func (param i32) (result i32)))
      (import "env" "g" (global i32))
      (table 4 funcref) (elem (global.get 0) $f)
      (func $f (type $ii) (local.get 0))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 7) (local.get 0))))""",
    "imported function": """(module (type $ii (func (param i32) (result i32)))
      (import "env" "f" (func $f (type $ii)))
      (table 1 funcref) (elem (i32.const 0) $f)
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 7) (local.get 0))))""",
    "type with subtypes": """(module (type $ii (sub (func (param i32) (result i32))))
      (table 1 funcref) (elem (i32.const 0) $f)
      (func $f (type $ii) (local.get 0))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 7) (local.get 0))))""",
    "segment out of bounds": """(module (type $ii (func (param i32) (result i32)))
      (table 1 funcref) (elem (i32.const 1) $f)
      (func $f (type $ii) (local.get 0))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 7) (local.get 0))))""",
}


@pytest.mark.parametrize("case", sorted(UNSEALED))
def test_a_table_not_known_at_compile_time_keeps_the_run_time_checks(case):
    assert "wasmaot_dispatch" not in _ir(UNSEALED[case])


def test_an_exported_table_changed_by_the_host_is_called_as_changed():
    inst = _instance("""(module (type $ii (func (param i32) (result i32)))
      (table (export "t") 2 funcref) (elem (i32.const 0) $inc $dbl)
      (func $inc (export "inc") (type $ii) (i32.add (local.get 0) (i32.const 1)))
      (func $dbl (export "dbl") (type $ii) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "call") (param i32) (result i32)
        (call_indirect (type $ii) (i32.const 10) (local.get 0))))""", 2)
    inst.exports["t"].set(0, inst.exports["dbl"])
    assert inst.exports["call"](0) == 20


# Many functions, each calling through the table with an index known only at run
# time, so that a small partition size spreads callers and callees over several
# objects: each object defines the arrays it uses (linkonce_odr), and the link keeps
# one of each.  Element 0 is $leaf (7); element i > 0, called with i, adds i to what
# element i - 1 returns.
def _chain(n: int) -> str:
    funcs = "\n".join(f"(func $f{i} (param i32) (result i32) (i32.add (local.get 0) "
                      f"(call_indirect (param i32) (result i32) "
                      f"(i32.sub (local.get 0) (i32.const 1)) "
                      f"(i32.sub (local.get 0) (i32.const 1)))))" for i in range(1, n))
    names = " ".join(f"$f{i}" for i in range(1, n))
    return f"""(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (table {n} {n} funcref) (elem (i32.const 0) $leaf {names})
      (func $leaf (param i32) (result i32) (i32.const 7))
      {funcs}
      (func $start (export "_start")
        (call $exit (call $run (i32.const {n - 1}))))
      (func $run (param i32) (result i32)
        (call_indirect (param i32) (result i32) (local.get 0) (local.get 0))))"""


def _chain_result(n: int) -> int:
    return 7 + sum(range(1, n))


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_sealed_calls_link_across_partitions(tmp_path, monkeypatch, target):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    monkeypatch.setattr(compile_mod, "PARTITION_BYTES", 512)
    n = 60
    objs, _ = compile_module(wat_bytes_to_wasm(_chain(n).encode()),
                             CompileRequest(opt_level=2, output="llvm-ir"), jobs=1)
    defining = [o for o in objs if re.search(rb"^\$wasmaot_dispatch_t0_c\d+ = comdat any$", o, re.MULTILINE)]
    assert len(defining) >= 2
    exe = tmp_path / "chain"
    build(wat_bytes_to_wasm(_chain(n).encode()), exe,
          BuildOptions(opt_level=2, target=target, cache=False))
    prefix = [QEMU] if target == "aarch64-linux" else []
    proc = subprocess.run([*prefix, str(exe)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == _chain_result(n) % 256, proc.stderr


# A sealed call inside a try_table is an invoke: an exception the callee throws
# reaches the handler, and one it does not catch leaves the export.
THROWING = """(module
  (tag $e (param i32))
  (type $ii (func (param i32) (result i32)))
  (table 2 2 funcref)
  (elem (i32.const 0) $thrower $plain)
  (func $thrower (type $ii) (throw $e (i32.add (local.get 0) (i32.const 1))))
  (func $plain (type $ii) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "catching") (param i32 i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call_indirect (type $ii) (local.get 1) (local.get 0)))))
  (func (export "not_catching") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_an_exception_from_a_sealed_call_reaches_the_handler(opt_level):
    assert "wasmaot_dispatch" in _ir(THROWING, opt_level)
    exports = _instance(THROWING, opt_level).exports
    assert exports["catching"](0, 41) == 42  # thrown with 41 + 1, caught
    assert exports["catching"](1, 5) == 15
    assert _trap_message(exports["catching"], 2, 5) == OOB
    with pytest.raises(wa.WasmException):
        exports["not_catching"](0, 1)
