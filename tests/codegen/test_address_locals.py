"""i32 locals that hold only addresses live zero-extended in i64 above -O0.

codegen/address_locals.py chooses them by a scan of the body; the lowering then
keeps them in i64 allocas, so that a loop's stepping pointer becomes an i64 phi
that no access re-extends (memcmp's loop: 8 instructions instead of 10).  The
representation must never change a value: pointers that step across 2^32 (up
and down), addresses with a constant added that wrap, stores through such a
local and traps in the middle of a loop give the spec's results and state at
every -O level, in process and in x86-64 and aarch64 executables.
"""

from __future__ import annotations

import re
import shutil

import pytest
from wat_compile import compiled_text, function_irs

from wasmaot.codegen.address_locals import address_locals
from wasmaot.commands.wast import run_file
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.wasm.decoder import decode_module
from wasmaot.wasm.instructions import validated_instructions
from wasmaot.wasm.reader import Reader

QEMU = shutil.which("qemu-aarch64-static")
U32 = 1 << 32

_CMP = """(func (export "cmp") (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $d i32)
    (block $done (loop $l
      (local.set $d (i32.sub (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
      (br_if $done (local.get $d))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (local.get $d))"""

# $p steps up by one; each access is at $p + 16 (a wrapped sum when $p is near 2^32).
_SUM = """(func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s)
        (i32.load8_u (i32.add (local.get $p) (i32.const 16)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $s))"""

# $p steps down by one through zero to 2^32 - 1; each step stores $n at $p.
_FILL = """(func (export "fill") (param $p i32) (param $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (i32.store8 (local.get $p) (local.get $n))
      (local.set $p (i32.add (local.get $p) (i32.const -1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))))"""

_DATA = "".join(f"\\{i + 1:02x}" for i in range(32))
MODULE = f"""(module (memory 1) (data (i32.const 0) "{_DATA}")
  {_CMP}
  {_SUM}
  {_FILL}
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))"""


def _chosen(func: str, local_types: list[str]) -> set:
    module = decode_module(wat_bytes_to_wasm(f"(module (memory 1) {func})".encode()))
    code = module.codes[0]
    body = list(validated_instructions(Reader(module.data, code.body_offset, code.end)))
    return address_locals(body, local_types)


# --- which locals ------------------------------------------------------------------

def test_stepping_pointers_are_chosen_and_a_counter_is_not():
    assert _chosen(_CMP, ["i32"] * 4) == {0, 1}  # $n is tested, $d subtracted
    assert _chosen(_SUM, ["i32"] * 3) == {0}  # $p + 16 addresses; $n, $s are values
    assert _chosen(_FILL, ["i32"] * 2) == {0}  # $p is a store address; $n is stored


def test_a_local_also_read_as_a_value_is_not_chosen():
    func = """(func (param $p i32) (result i32)
      (drop (i32.load (local.get $p)))
      (i32.add (local.get $p) (local.get $p)))"""
    assert _chosen(func, ["i32"]) == set()


def test_a_tee_into_a_load_is_an_address_and_other_tees_are_not():
    loads = "(func (param $p i32) (result i32) (i32.load (local.tee $p (i32.const 8))))"
    assert _chosen(loads, ["i32"]) == {0}
    value = "(func (param $p i32) (result i32) (local.tee $p (i32.const 8)))"
    assert _chosen(value, ["i32"]) == set()


def test_only_i32_locals_are_chosen():
    func = "(func (param $p i64) (result i32) (i32.load (i32.wrap_i64 (local.get $p))))"
    assert _chosen(func, ["i64"]) == set()
    func64 = "(func (param $p i32) (result i64) (i64.load (local.get $p)))"
    assert _chosen(func64, ["i64"]) == set()  # the types the emitter gives decide


# --- the code ----------------------------------------------------------------------

def _cmp_ir(opt_level: int) -> str:
    wat = f"(module (memory 1) {_CMP})"
    return next(iter(function_irs(compiled_text(wat, opt_level=opt_level)).values()))


def test_above_O0_the_loop_pointers_are_i64_phis_that_nothing_re_extends():
    ir = _cmp_ir(2)
    assert len(re.findall(r"= phi i64 ", ir)) == 2, ir
    loop = ir[ir.index("phi i64"):ir.index("ret i32")]
    assert "zext i32" not in loop, ir


def test_at_O0_every_local_keeps_its_i32_alloca():
    ir = _cmp_ir(0)
    assert set(re.findall(r"alloca (i\d+)", ir)) == {"i32"}, ir


# --- the values ----------------------------------------------------------------------

def _script() -> str:
    lines = [MODULE]

    def ret(call: str, value: int) -> None:
        lines.append(f"(assert_return (invoke {call}) (i32.const {value}))")

    ret('"cmp" (i32.const 0) (i32.const 0) (i32.const 32)', 0)
    ret('"cmp" (i32.const 0) (i32.const 1) (i32.const 4)', -1)
    ret('"cmp" (i32.const 5) (i32.const 2) (i32.const 4)', 3)
    ret(f'"sum" (i32.const {U32 - 16}) (i32.const 4)', 1 + 2 + 3 + 4)  # p + 16 wraps to 0
    ret(f'"sum" (i32.const {U32 - 20}) (i32.const 0)', 0)
    ret('"sum" (i32.const 0) (i32.const 16)', sum(range(17, 33)))
    lines.append(f'(assert_trap (invoke "sum" (i32.const {U32 - 17}) (i32.const 4)) '
                 '"out of bounds memory access")')  # 2^32 - 1: above the memory
    lines.append(f'(assert_trap (invoke "sum" (i32.const {65536 - 18}) (i32.const 4)) '
                 '"out of bounds memory access")')  # the third access is past the end
    lines.append('(assert_return (invoke "fill" (i32.const 3) (i32.const 4)))')
    for at, value in ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5)):
        ret(f'"peek" (i32.const {at})', value)
    # Down through 0 to 2^32 - 1, which traps after bytes 1 and 0 were written.
    lines.append('(assert_trap (invoke "fill" (i32.const 1) (i32.const 3)) '
                 '"out of bounds memory access")')
    ret('"peek" (i32.const 0)', 2)
    ret('"peek" (i32.const 1)', 3)
    ret('"peek" (i32.const 2)', 3)
    return "\n".join(lines) + "\n"


def _run(tmp_path, **request) -> None:
    path = tmp_path / "address_locals.wast"
    script = _script()
    path.write_text(script)
    result = run_file(path, **request)
    assert result.error is None, result.error
    failures = [f"{o.line}: {o.command}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert not failures, "\n".join(failures)
    assert result.passed == script.count("\n(assert_") + 1  # and the module


@pytest.mark.parametrize("opt", [0, 1, 2, 3])
def test_address_locals_keep_their_values_and_traps_in_process(tmp_path, opt):
    _run(tmp_path, opt_level=opt)


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_address_locals_keep_their_values_and_traps_in_executables(tmp_path, target):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    _run(tmp_path, opt_level=2, target=target)
