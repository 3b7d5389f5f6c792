"""Only functions that a return_call* can reach, or a funcref record that may cross
modules, are `tailcc`.

On x86-64 a tailcc callee pops its (16n+8-byte padded) argument area: every call,
even one with no stack argument, was `ret $8` in the callee and `sub $8, %rsp` in
the caller after it.  Lua and SQLite make millions of direct calls to functions
that no record can reach; those are `fastcc` now (module.py call_conv).  In an
executable (its module alone in the process) records are `fastcc` too, unless the
module has a return_call* (module.py record_conv).  These tests pin which functions
get which convention, and that calls of both kinds, and return_call chains, still run.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from wat_compile import compiled_text

import wasmaot.api as wa
from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.compile import frontend
from wasmaot.driver.wat import wat_bytes_to_wasm

QEMU = shutil.which("qemu-aarch64-static")

# $internal: only called directly.  $exported, $in_table, $by_ref_func, $start: a
# record reaches each of them.
MODULE = """(module
  (table 1 funcref) (elem (i32.const 0) $in_table)
  (global funcref (ref.func $by_ref_func))
  (func $internal (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func $exported (export "f") (param i32) (result i32)
    (i32.add (call $internal (local.get 0))
             (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))
  (func $in_table (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $by_ref_func (param i32) (result i32) (local.get 0))
  (func $start)
  (start $start))"""


def _conventions(wat: str, opt_level: int, **request) -> dict[int, str]:
    ir = compiled_text(wat, opt_level=opt_level, **request)
    return {int(m.group(2)): m.group(1)
            for m in re.finditer(r"^define \w+ (\w+) [^@]*@wasm_f(\d+)\(", ir, re.M)}


@pytest.mark.parametrize("opt_level", [0, 2])
def test_only_record_reachable_functions_are_tailcc(opt_level):
    conv = _conventions(MODULE, opt_level)
    assert conv[0] == "fastcc"
    assert all(conv[i] == "tailcc" for i in (1, 2, 3, 4))


def test_any_return_call_keeps_every_function_tailcc():
    wat = MODULE.replace("(func $start)", "(func $start) (func $tail (return_call $start))")
    assert set(_conventions(wat, 2).values()) == {"tailcc"}


def test_a_direct_call_to_an_internal_function_pops_nothing():
    wat = """(module
      (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      (func $mid (param i32) (result i32) (call $leaf (i32.add (call $leaf (local.get 0)) (i32.const 1))))
      (func (export "f") (param i32) (result i32) (call $mid (local.get 0))))"""
    asm = compiled_text(wat, "asm", opt_level=2)
    bodies = dict(re.findall(r"^(wasm_f\d+):[^\n]*\n(.*?)\.Lfunc_end", asm, re.M | re.S))
    for internal in ("wasm_f0", "wasm_f1"):
        assert "ret\t$8" not in bodies[internal] and "retq\t$8" not in bodies[internal]
    assert re.search(r"retq?\t\$8", bodies["wasm_f2"])  # the exported one keeps tailcc


@pytest.mark.parametrize("opt_level", [0, 2])
def test_calls_of_both_conventions_run(opt_level):
    inst = wa.compile(wat_bytes_to_wasm(MODULE.encode()), opt_level=opt_level).instantiate()
    assert inst.exports["f"](5) == 15 + 6
    # deep recursion through an internal function still exhausts the stack
    rec = wa.compile(wat_bytes_to_wasm(b"""(module
      (func $down (param i32) (result i32) (i32.add (call $down (local.get 0)) (i32.const 1)))
      (func (export "go") (param i32) (result i32) (call $down (local.get 0))))"""),
        opt_level=opt_level).instantiate()
    with pytest.raises(wa.Trap, match="call stack exhausted"):
        rec.exports["go"](1)
    # return_call chains keep running in constant stack
    tail = wa.compile(wat_bytes_to_wasm(b"""(module
      (func $count (param i32 i64) (result i64)
        (if (result i64) (i32.eqz (local.get 0)) (then (local.get 1))
          (else (return_call $count (i32.sub (local.get 0) (i32.const 1))
                                    (i64.add (local.get 1) (i64.const 1))))))
      (func (export "go") (param i32) (result i64) (call $count (local.get 0) (i64.const 0))))"""),
        opt_level=opt_level).instantiate()
    assert tail.exports["go"](1_000_000) == 1_000_000


# An executable's module: an import called directly and through the table, defined
# functions through the table and a typed funcref, the entry thunk of _start.
EXE = """(module
  (type $write (func (param i32 i32 i32 i32) (result i32)))
  (type $ii (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (type $write)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\\n")
  (table 3 funcref) (elem (i32.const 0) $fd_write $inc $dbl)
  (elem declare func $dbl)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call_indirect (type $write) (i32.const 1) (i32.const 0) (i32.const 1)
                                       (i32.const 8) (i32.const 0)))
    (call $exit (call_ref $ii (call_indirect (type $ii) (i32.const 20) (i32.const 1))
                              (ref.func $dbl)))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_an_executables_records_are_fastcc_without_return_call(opt_level):
    ir = compiled_text(EXE, opt_level=opt_level, standalone=True)
    assert set(_conventions(EXE, opt_level, standalone=True).values()) == {"fastcc"}
    assert "tailcc" not in ir  # adapters, entry thunks, every call through a record
    adapters = re.findall(r"^define internal (\w+) .*@wasmaot_(?:native_f|host_t)\d+\(", ir, re.M)
    assert adapters and set(adapters) == {"fastcc"}  # an import's record leads to one
    assert re.search(r"notail call fastcc \w+ %code\(", ir)  # the entry thunk
    # The same module for the embedding API: records may cross modules.
    assert _conventions(EXE, opt_level) == {2: "tailcc", 3: "tailcc", 4: "tailcc"}
    with_tail = EXE.replace("(elem declare func $dbl)",
                            "(elem declare func $dbl) (func $t (result i32) (return_call $inc (i32.const 0)))")
    assert set(_conventions(with_tail, opt_level, standalone=True).values()) == {"tailcc"}


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
@pytest.mark.parametrize("opt_level", [0, 2])
def test_an_executable_calls_through_fastcc_records(tmp_path, target, opt_level):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    exe = build(wat_bytes_to_wasm(EXE.encode()), tmp_path / "exe",
                BuildOptions(target=target, opt_level=opt_level, cache=False))
    prefix = [QEMU] if target == "aarch64-linux" else []
    proc = subprocess.run([*prefix, str(exe)], capture_output=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (42, b"ok\nok\n"), proc.stderr


# --- the vmctx in a register of its own (abi.VMCTX_PARAM) ------------------------------

_WASM_CONV = re.compile(r"^(?:define|declare)[^@\n]*\b(?:fastcc|tailcc)\b[^@\n]*@[\w.]+\(([^)]*)\)", re.M)
_WASM_CALL = re.compile(r"\b(?:call|invoke) (?:fastcc|tailcc) [^(\n]*\(([^)]*)\)")


_WASM_FUNC = re.compile(r"^(?:define|declare)[^@\n]*\b(fastcc|tailcc)\b[^@\n]*@[\w.]+\(([^)]*)\)", re.M)
_WASM_CALL = re.compile(r"\b(?:call|invoke) (fastcc|tailcc) [^(\n]*\(([^)]*)\)")


@pytest.mark.parametrize("standalone", [False, True])
@pytest.mark.parametrize("wat", [MODULE, EXE])
def test_fastcc_functions_and_calls_pass_the_vmctx_as_swiftself_and_tailcc_ones_do_not(
        wat, standalone):
    found = _wasm_params(wat, 2, standalone)
    assert found and (standalone or wat == EXE or {c for c, _ in found} == {"fastcc", "tailcc"})
    for conv, params in found:
        want = "ptr swiftself %" if conv == "fastcc" else "ptr %"
        assert params.startswith(want), (conv, params)


@pytest.mark.parametrize("standalone", [False, True])
def test_at_O0_no_vmctx_is_swiftself(standalone):
    found = _wasm_params(MODULE, 0, standalone)
    assert found and all(params.startswith("ptr %") for _, params in found), found


def _wasm_params(wat: str, opt_level: int, standalone: bool) -> list:
    """(convention, parameters or arguments) of every wasm-convention function and
    call in the IR as lowered."""
    ir = lower_module(*frontend(wat_bytes_to_wasm(wat.encode())),
                      CodegenOptions(opt_level=opt_level, standalone=standalone))
    return _WASM_FUNC.findall(ir) + _WASM_CALL.findall(ir)


# A return_call to a function of another vmctx: an import from another instance (it
# reads its own global) and one from the host.
_EXPORTER = """(module (global $g (mut i32) (i32.const 40))
  (func (export "get") (param i32) (result i32) (i32.add (global.get $g) (local.get 0))))"""
_TAIL_CALLER = """(module
  (import "a" "get" (func $get (param i32) (result i32)))
  (import "h" "inc" (func $inc (param i32) (result i32)))
  (global $g (mut i32) (i32.const 1000))
  (func (export "get") (param i32) (result i32) (return_call $get (local.get 0)))
  (func (export "inc") (param i32) (result i32) (return_call $inc (local.get 0))))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_return_call_into_another_instance_or_the_host_passes_the_callees_vmctx(opt_level):
    exporter = wa.compile(wat_bytes_to_wasm(_EXPORTER.encode()), opt_level=opt_level).instantiate()
    inc = wa.Func(["i32"], ["i32"], lambda x: x + 1)
    caller = wa.compile(wat_bytes_to_wasm(_TAIL_CALLER.encode()), opt_level=opt_level).instantiate(
        {"a": {"get": exporter.exports["get"]}, "h": {"inc": inc}})
    assert caller.exports["get"](2) == 42
    assert caller.exports["inc"](5) == 6


# $g takes six i32s and recurses (never inlined); f passes its six params on.  As an
# executable's module every function is fastcc (the API's exports are tailcc).
SIX = """(module
  (func $g (param i32 i32 i32 i32 i32 i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (local.get 5))
      (else (call $g (i32.sub (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
                     (local.get 3) (local.get 4) (i32.add (local.get 5) (local.get 1))))))
  (func (export "f") (param i32 i32 i32 i32 i32 i32) (result i32)
    (call $g (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
             (local.get 5)))
  (memory 1)
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"""


def _bodies(asm: str) -> dict:
    return dict(re.findall(r"^(wasm_f\d+):[^\n]*\n(.*?)\.Lfunc_end", asm, re.M | re.S))


def test_six_wasm_params_go_in_registers_and_the_vmctx_in_r13_on_x86_64():
    bodies = _bodies(compiled_text(SIX, "asm", opt_level=2, standalone=True))
    assert "(%rsp)" not in bodies["wasm_f0"] + bodies["wasm_f1"]  # no stack arguments
    assert "%r13" in bodies["wasm_f2"]  # peek reads the memory base through the vmctx


def test_the_vmctx_is_x20_on_aarch64():
    bodies = _bodies(compiled_text(SIX, "asm", opt_level=2, target="aarch64-linux",
                                   standalone=True))
    assert "x20" in bodies["wasm_f2"], bodies["wasm_f2"]


@pytest.mark.parametrize("opt_level", [0, 2])
def test_six_params_and_the_vmctx_arrive(opt_level):
    inst = wa.compile(wat_bytes_to_wasm(SIX.encode()), opt_level=opt_level).instantiate()
    assert inst.exports["f"](3, 10, 20, 30, 40, 5) == 35
