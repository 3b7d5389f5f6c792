"""Address folding, design A (codegen/memory.py, docs/notes/address-folding.md).

`i32.add X, c` with -64 KiB <= c < 0 feeding an access with memarg offset 0 becomes
base + zext(X) + c, which is below the base exactly when wasm's X + c wraps.  That
is sound only with the runtime's 64 KiB low guard and its 65535-page cap, so the
tests pin: results, traps and memory after every access equal wasmtime's for every
width and around every edge (folded and not), in child processes (without the low
guard a folded access that wraps reads or writes whatever lies below the base, or
the process dies of SIGSEGV); the IR folds exactly where it may; growth stops at the
cap; a memory that is not fold-safe is refused by folding code; on aarch64 a folded
store probes its first byte.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import wasmtime
from address_matrix import _INT_OF, _const, _invoke, _signed, access_body, memarg_rows
from wat_compile import compiled_text, function_irs

import wasmaot.api as wa
from wasmaot.codegen import abi
from wasmaot.commands.wast import run_file
from wasmaot.driver.wat import wat_bytes_to_wasm

QEMU = shutil.which("qemu-aarch64-static")
PAGE = 65536
U32 = 1 << 32
K = abi.FOLD_MAX_CONSTANT
OOB = "out of bounds memory access"
FOLDED = (-1, -4, -13, -K)
NOT_FOLDED = (-K - 1, -(1 << 31), 4)
# (name, constant, memarg offset) of each access function made per instruction.
SHAPES = [(f"c={c}", c, 0) for c in FOLDED + NOT_FOLDED] + [("c=-4 offset=4", -4, 4)]

# The hash of the first and last page (a 4 GiB memory is not hashed whole): every
# access below lands in one of them or traps.
_HASH = """  (func $window (param $i i32) (param $h i64) (result i64) (local $end i32)
    (local.set $end (i32.add (local.get $i) (i32.const 65536)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load (local.get $i)))
                             (i64.const 0x100000001b3)))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $next)))
    (local.get $h))
  (func (export "hash") (result i64)
    (if (result i64) (i32.eqz (memory.size))
      (then (i64.const 0))
      (else (call $window (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536))
                          (call $window (i32.const 0) (i64.const 0xcbf29ce484222325))))))
  (func $fold (param v128) (result i64)
    (i64.xor (i64x2.extract_lane 0 (local.get 0))
             (i64.rotl (i64x2.extract_lane 1 (local.get 0)) (i64.const 29))))"""


def _access_func(op, shape) -> tuple[str, str]:
    """(export name, func): `op` at X + c through a local, as C compilers emit it."""
    label, c, offset = shape
    name = f"{op.name} {label}"
    body, results = access_body(op, "(local.get $p)", offset)
    return name, (f'  (func (export "{name}") (param i32){results} (local $p i32) '
                  f"(local.set $p (i32.add (local.get 0) (i32.const {c}))) {body})")


def _addresses(c: int, width: int, size: int) -> list[int]:
    """X at the wrap (0, 1, k - 1, k, k + 1), the top of the index space, and where
    X + c reaches the end of the memory."""
    k = abs(c)
    xs = [0, 1, k - 1, k, k + 1, 1 << 31, U32 - 1, U32 - k]
    xs += [size - c - width + d for d in (-1, 0, 1)] + [size - c]
    return sorted({x % U32 for x in xs})


def fold_script(pages: int, ops) -> tuple[str, int]:
    """A .wast script: a memory of `pages` pages with a few bytes set at both ends,
    the access functions of `ops`, and a call per shape and address with wasmtime's
    result or trap as the expectation (and the hash after every store)."""
    size = pages * PAGE
    funcs, calls = [], []
    for op in ops:
        for shape in SHAPES:
            name, text = _access_func(op, shape)
            funcs.append(text)
            calls += [(name, x, not op.results) for x in _addresses(shape[1], op.width, size)]
    data = ""
    if pages:
        data = ('  (data (i32.const 0) "\\00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f")\n'
                f'  (data (i32.const {size - 16}) "\\f0\\f1\\f2\\f3\\f4\\f5\\f6\\f7\\f8\\f9\\fa\\fb'
                '\\fc\\fd\\fe\\ff")\n')
    text = f"(module (memory {pages})\n{data}{_HASH}\n" + "\n".join(funcs) + ")"
    store = wasmtime.Store(wasmtime.Engine())
    exports = wasmtime.Instance(store, wasmtime.Module(store.engine, text), []).exports(store)
    lines = [text]
    for name, x, mutates in calls:
        invoke = _invoke(name, (x,), ("i32",))
        try:
            result = exports[name](store, _signed(x, "i32"))
        except wasmtime.Trap as e:
            assert OOB in str(e), f"wasmtime: {name} {x}: {e}"
            lines.append(f'(assert_trap {invoke} "{OOB}")')
        else:
            expect = "" if result is None else " " + _const(_INT_OF_RESULT[name], result)
            lines.append(f"(assert_return {invoke}{expect})")
        if mutates:
            lines.append(f'(assert_return (invoke "hash") {_const("i64", exports["hash"](store))})')
    return "\n".join(lines) + "\n", len(lines) - 1


_ROWS = memarg_rows()
_INT_OF_RESULT = {f"{op.name} {label}": _INT_OF[op.results[0]] for op in _ROWS if op.results
                  for label, _, _ in SHAPES}
# Every width and kind once: the plain loads and stores of each type, the narrow
# ones, and the v128 shapes (lane, splat, extend).
_SOME = ("i32.load", "i64.load", "f32.load", "f64.load", "i32.load8_u", "i64.load16_s",
         "i64.load32_u", "i32.store", "i64.store", "f32.store", "f64.store", "i32.store8",
         "i32.store16", "i64.store32", "v128.load", "v128.store", "v128.load32_splat",
         "v128.load16x4_s", "v128.load64_lane", "v128.store16_lane")
SOME_ROWS = [op for op in _ROWS if op.name in _SOME]


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    """pages -> (path, assertions); every instruction at 1 page, a subset elsewhere
    (65535 pages: the largest fold-safe memory; 65536: not fold-safe, not folded)."""
    out = {}
    for pages in (0, 1, abi.FOLD_MAX_PAGES, abi.FOLD_MAX_PAGES + 1):
        text, n = fold_script(pages, _ROWS if pages == 1 else SOME_ROWS)
        path = tmp_path_factory.mktemp("fold") / f"fold_{pages}.wast"
        path.write_text(text)
        out[pages] = path, n
    return out


def _expect_all_passed(output: str, assertions: int) -> None:
    m = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", output, re.MULTILINE)
    assert m, output[-3000:]
    # Every assertion passes, plus the module definition.
    assert tuple(map(int, m.groups())) == (assertions + 1, 0, 0), output[-3000:]


def test_the_scripts_cover_the_wrap_and_the_end_of_memory(scripts):
    text = scripts[1][0].read_text()
    assert '(assert_trap (invoke "i32.load c=-4" (i32.const 3)) "out of bounds memory access")' in text
    assert '(assert_return (invoke "i32.load c=-4" (i32.const 4)) (i32.const 50462976))' in text
    assert '(invoke "v128.store c=-65536" (i32.const 65535))' in text
    assert '(assert_trap (invoke "i64.store c=-1" (i32.const 65537)) "out of bounds memory access")' in text


@pytest.mark.parametrize("opt", [0, 2])
@pytest.mark.parametrize("pages", [0, 1, abi.FOLD_MAX_PAGES, abi.FOLD_MAX_PAGES + 1])
def test_folded_accesses_match_wasmtime_in_process(scripts, pages, opt):
    path, assertions = scripts[pages]
    proc = subprocess.run([sys.executable, "-m", "wasmaot", "wast", f"-O{opt}", "-v", str(path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    _expect_all_passed(proc.stdout, assertions)


@pytest.mark.parametrize("opt", [1, 3])
def test_folded_accesses_match_wasmtime_at_other_levels(scripts, opt):
    test_folded_accesses_match_wasmtime_in_process(scripts, 1, opt)


@pytest.mark.parametrize("opt", [0, 2])
@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_folded_accesses_match_wasmtime_in_executables(scripts, target, opt):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    path, assertions = scripts[1]
    result = run_file(path, opt_level=opt, target=target)
    assert result.error is None, result.error
    failures = [f"{o.line}: {o.command}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert not failures, "\n".join(failures[:20])
    assert result.passed == assertions + 1


# --- where the fold is made -----------------------------------------------------------

# The -O0 shape of a folded address: one GEP whose second index is the constant.
_FOLDED_GEP = re.compile(r"getelementptr \[1 x i8\], ptr %\w+, i64 %\w+, i64 (-\d+)\n")


def _folds(wat: str, **request) -> list[int]:
    """The constants folded in the module's functions, in order (-O0 IR)."""
    ir = compiled_text(wat, opt_level=0, **request)
    return [int(c) for f in function_irs(ir).values() for c in _FOLDED_GEP.findall(f + "\n")]


def _one_access(memory: str, c: int, access: str = "i32.load") -> str:
    return (f"(module {memory} (func (export \"f\") (param i32) (result i32) "
            f"({access} (i32.add (local.get 0) (i32.const {c})))))")


def test_the_ir_folds_exactly_the_small_negative_constants_at_offset_0():
    assert [c for c in FOLDED + NOT_FOLDED if _folds(_one_access("(memory 1)", c))] == list(FOLDED)
    funcs = "\n".join(_access_func(op, shape)[1] for op in SOME_ROWS for shape in SHAPES)
    folded = _folds(f"(module (memory 1)\n{_HASH}\n{funcs})")
    assert folded == [c for _ in SOME_ROWS for _, c, offset in SHAPES if c in FOLDED and not offset]


def test_the_constant_may_be_either_operand_and_come_through_a_local():
    wat = """(module (memory 1)
      (func (export "f") (param i32) (result i32) (local $p i32)
        (local.set $p (i32.add (i32.const -3) (local.get 0)))
        (i32.load (local.get $p))))"""
    assert _folds(wat) == [-3]
    # Not across blocks: the local's value there is whatever the edges bring.
    across = wat.replace("(i32.load (local.get $p))",
                         "(block) (loop (i32.load (local.get $p)) drop) (i32.const 0)")
    assert _folds(across) == []


_MEMORY64 = ('(module (memory i64 1) (func (export "f") (param i64) (result i32) '
             "(i32.load (i64.add (local.get 0) (i64.const -3)))))")


@pytest.mark.parametrize("wat", [
    _MEMORY64,                                                  # explicit checks
    _one_access("(memory 65536)", -3),                          # min above the cap
    _one_access('(import "m" "mem" (memory 65536))', -3),
    _one_access("(memory 1 1 shared)", -3),                     # shared: left alone
    _one_access("(memory 1 (pagesize 1))", -3),                 # explicit checks
])
def test_memories_that_are_not_fold_safe_are_not_folded(wat):
    assert re.search(r"= load (volatile )?i32, ptr %t", compiled_text(wat, opt_level=0))  # the access
    assert _folds(wat) == []


def test_explicit_bounds_checks_do_not_fold():
    assert _folds(_one_access("(memory 1)", -3), explicit_bounds_checks=True) == []


def test_the_descriptor_says_which_memories_fold():
    wat = '(module (import "m" "a" (memory 2)) (import "m" "b" (memory 65536)) (memory 65535) (memory i64 1))'
    ir = compiled_text(wat, opt_level=0)
    rows = re.findall(r"\{ i64 (\d+), i64 -?\d+, i64 \d, i64 16, i64 0, i64 (\d), i64 (\d) \}", ir)
    assert rows == [("2", "0", "1"), ("65536", "0", "0"), ("65535", "0", "1"), ("1", "1", "0")]


def test_a_folded_aarch64_store_probes_its_first_byte():
    wat = """(module (memory 1)
      (func (export "f") (param i32) (i64.store (i32.add (local.get 0) (i32.const -3)) (i64.const 1)))
      (func (export "g") (param i32) (i64.store (local.get 0) (i64.const 1))))"""
    fs = function_irs(compiled_text(wat, opt_level=0, target="aarch64-linux"))
    folded, plain = fs["wasm_f0"], fs["wasm_f1"]
    first = re.search(r"(%\w+) = getelementptr \[1 x i8\], ptr %\w+, i64 %\w+, i64 -3\n"
                      r"  %\w+ = load volatile i8, ptr \1, align 1\n"
                      r"  (%\w+) = getelementptr i8, ptr \1, i64 7\n"
                      r"  %\w+ = load volatile i8, ptr \2, align 1\n"
                      r"  store volatile i64 1, ptr \1", folded)
    assert first, folded
    assert plain.count("load volatile i8") == 1  # only the last byte, as before
    # And at -O2 both probes survive into the machine code (ldrb before the str).
    asm = compiled_text(wat, output="asm", opt_level=2, target="aarch64-linux")
    body = asm[asm.index("wasm_f0:"):asm.index("wasm_f1:")]
    assert re.findall(r"\bldu?rb\s+wzr, \[x\d+, #(-?\d+)\]", body) == ["-3", "4"], body


# --- the runtime's side ----------------------------------------------------------------

_GROW = """(module (memory (export "mem") {min})
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))"""


def _instance(wat: str, imports=None, opt_level: int = 0):
    return wa.compile(wat_bytes_to_wasm(wat.encode()), opt_level=opt_level).instantiate(imports)


def test_growth_stops_at_the_cap_from_code_and_from_the_host():
    inst = _instance(_GROW.format(min=abi.FOLD_MAX_PAGES - 2))
    grow, size, mem = inst.exports["grow"], inst.exports["size"], inst.exports["mem"]
    assert grow(2) == abi.FOLD_MAX_PAGES - 2
    assert grow(1) == -1 and size() == abi.FOLD_MAX_PAGES  # wasmtime would give 65536 pages
    with pytest.raises(wa.WasmError, match="failed to grow memory"):
        mem.grow(1)
    assert _instance(_GROW.format(min=0)).exports["grow"](abi.FOLD_MAX_PAGES + 1) == -1
    host = wa.Memory(0)
    assert host.grow(abi.FOLD_MAX_PAGES) == 0
    with pytest.raises(wa.WasmError, match="failed to grow memory"):
        host.grow(1)


def test_a_shared_memory_is_not_capped_since_no_code_folds_into_it():
    host = wa.Memory(0, 65536, shared=True)
    assert host.grow(abi.FOLD_MAX_PAGES) == 0
    assert host.grow(1) == abi.FOLD_MAX_PAGES
    grow = _instance(_GROW.format(min="0 65536 shared")).exports["grow"]
    assert grow(abi.FOLD_MAX_PAGES + 1) == 0


def test_a_memory_of_65536_pages_is_not_capped_and_works():
    rw = """  (func (export "rw") (param i32) (result i32)
    (i32.store (i32.add (local.get 0) (i32.const -4)) (i32.const 0x01020304))
    (i32.load (i32.add (local.get 0) (i32.const -4))))"""
    wat = _GROW.format(min=abi.FOLD_MAX_PAGES + 1)
    inst = _instance(wat[:-1] + "\n" + rw + ")")
    assert inst.exports["size"]() == 65536
    assert inst.exports["rw"](U32 - 4 + 4) == 0x01020304  # the last 4 bytes of 4 GiB
    with pytest.raises(wa.Trap, match=OOB):
        inst.exports["rw"](3)


_IMPORTS_MEMORY = """(module (import "m" "mem" (memory 1))
  (func (export "f") (param i32) (result i32) (i32.load (i32.add (local.get 0) (i32.const -4)))))"""


def test_an_uncapped_memory_is_refused_by_folding_code():
    with pytest.raises(wa.WasmError, match="the module folds address constants but the memory "
                                           "has no low guard and page cap"):
        _instance(_IMPORTS_MEMORY, {"m": {"mem": wa.Memory(abi.FOLD_MAX_PAGES + 1)}})


def test_host_made_and_exported_memories_are_fold_safe():
    host = wa.Memory(1)
    host.write(b"\x01\x02\x03\x04", 8)
    f = _instance(_IMPORTS_MEMORY, {"m": {"mem": host}}).exports["f"]
    assert f(12) == 0x04030201
    with pytest.raises(wa.Trap, match=OOB):
        f(3)
    exporter = _instance(_GROW.format(min=1))
    g = _instance(_IMPORTS_MEMORY, {"m": {"mem": exporter.exports["mem"]}}).exports["f"]
    with pytest.raises(wa.Trap, match=OOB):
        g(0)
