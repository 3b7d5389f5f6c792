"""Sums that cannot wrap (memory.py, "Sums that cannot wrap").

Past an access of a fold-safe memory at index p (on every path), p + o + w <= size
<= 2^32 - 64 KiB, so p + c with 0 < c <= 64 KiB cannot wrap.  Two uses: an address
local (address_locals.py) stores its step `p + c` as `P + c` in i64 with no mask
(function.py _wide_value), and an access at `p + c` addresses zext(p) + c, which
LLVM folds into the addressing mode (memory.py unwrapped_sum, for both).  The tests
pin where each applies (the raw IR) and that no case changes a value or a trap:
the sound cases and each near miss run at indices where p + c wraps to a valid
address (where a wrong fold traps) and at the end of the memory, against wasmtime,
in process and in x86-64 and aarch64 executables.
"""

from __future__ import annotations

import re
import shutil

import pytest
import wasmtime
from address_matrix import _signed

from wasmaot.codegen import abi
from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.commands.wast import run_file
from wasmaot.driver.compile import frontend
from wasmaot.driver.wat import wat_bytes_to_wasm

QEMU = shutil.which("qemu-aarch64-static")
PAGE = 65536
U32 = 1 << 32
K = abi.FOLD_MAX_CONSTANT
OOB = "out of bounds memory access"
SOUND_ACCESS = "(drop (i32.load8_u offset={o} (local.get $p)))"

# $step: `access` (by default a load at $p), then $p += c, then the byte at $p.
# $peek: `access`, then the byte at $p + c (offset 1), plus whether $p is 0 (so that
# $p is no address local there).  $sum: n bytes from $p, a load then a step of 1 at
# a time (a loop's pointer).  With `after`, the access at $p comes after the other.
_MODULE = """(module (memory {memory})
  (data (i32.const 0) "\\01\\02\\03\\04\\05\\06\\07\\08")
  (data (i32.const {last}) "\\2a")
  (func (export "step") (param $p i32) (param $q i32) (result i32)
    {access}
    (local.set $p (i32.add (local.get $p) (i32.const {c})))
    {access_after}
    (i32.load8_u (local.get $p)))
  (func (export "peek") (param $p i32) (param $q i32) (result i32)
    {access}
    (i32.add (i32.add (i32.load8_u offset=1 (i32.add (local.get $p) (i32.const {c})))
                      {load_after})
             (i32.eqz (local.get $p))))
  (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $acc)))"""


def _module(pages: int = 1, c: int = 4, o: int = 0, memory: str = "",
            access: str = SOUND_ACCESS, after: bool = False) -> str:
    access = access.format(o=o)
    return _MODULE.format(memory=memory or str(pages), last=max(pages * PAGE - 1, 8), c=c,
                          access="" if after else access,
                          access_after=access if after else "",
                          load_after="(i32.load8_u (local.get $p))" if after else "(i32.const 0)")


# Each near miss keeps the mask: a constant past what the cap leaves room for, a
# negative one, memories with no cap (65536 pages, shared), explicit checks, an
# access on one path only, the access after the step.
NEAR_MISSES = {  # name -> (module, CodegenOptions fields, c, pages)
    "c=K+1": (_module(abi.FOLD_MAX_PAGES, c=K + 1), {}, K + 1, abi.FOLD_MAX_PAGES),
    "c=-4": (_module(c=-4), {}, -4, 1),
    "65536 pages": (_module(memory="65536"), {}, 4, 65536),
    "shared": (_module(memory="1 1 shared"), {}, 4, 1),
    "explicit checks": (_module(), {"explicit_bounds_checks": True}, 4, 1),
    "access on one path": (_module(access="(if (local.get $q) (then " + SOUND_ACCESS + "))"),
                           {}, 4, 1),
    "access after": (_module(after=True), {}, 4, 1),
}
MEMORIES_WITH_NO_CAP = ("65536 pages", "shared", "explicit checks")


def _raw_ir(wat: str, **options) -> str:
    return lower_module(*frontend(wat_bytes_to_wasm(wat.encode())), CodegenOptions(**options))


def _unwrapped_sums(wat: str, func: str = "wasm_f0", **options) -> list[str]:
    """The constants of `func`'s unwrapped i64 sums in the IR as lowered (-O2)."""
    ir = _raw_ir(wat, **options)
    body = ir[ir.index(f"@{func}("):]
    body = body[:body.index("\n}")]
    return re.findall(r"= add nuw nsw i64 %\w+, (\d+)", body)


def test_a_step_after_an_access_of_the_pointer_is_unmasked():
    assert _unwrapped_sums(_module(c=4)) == ["4"]  # the store's, which the load reuses
    assert _unwrapped_sums(_module(c=K, o=100)) == [str(K)]
    assert _unwrapped_sums(_module(), func="wasm_f2") == ["1"]  # the loop's pointer
    assert "and i64" not in _raw_ir(_module(c=4)).split("@wasm_f1(")[0]


def test_an_access_at_a_sum_after_an_access_of_its_operand_addresses_the_sum_in_i64():
    peek = _raw_ir(_module(c=4)).split("@wasm_f1(")[1].split("\n}")[0]
    assert re.findall(r"= add nuw nsw i64 %\w+, (\d+)", peek) == ["4"]
    assert not re.search(r"zext i32 %\w+ to i64", peek.split("add nuw nsw")[1]), peek


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_sums_that_might_wrap_keep_their_mask_and_their_i32_add(name):
    wat, options, _, _ = NEAR_MISSES[name]
    assert _unwrapped_sums(wat, **options) == []
    assert _unwrapped_sums(wat, func="wasm_f1", **options) == []
    if name in MEMORIES_WITH_NO_CAP:  # the loop's step too
        assert _unwrapped_sums(wat, func="wasm_f2", **options) == []


# --- values and traps, against wasmtime ----------------------------------------------

def _calls(pages: int, c: int) -> list[tuple]:
    """(export, args): steps and peeks where p + c wraps to the start of the
    memory, at its end and past it; sums across the end and at the top of the
    index space."""
    size = pages * PAGE
    ps = {0, 1, size - 8, size - 1, size, U32 - 1, U32 - 2, (U32 - c) % U32, (U32 - c + 3) % U32}
    calls = [(f, (p, q)) for f in ("step", "peek") for p in sorted(ps) for q in (0, 1)]
    calls += [("sum", (p, n)) for p, n in ((0, 8), (size - 3, 3), (size - 3, 4), (U32 - 2, 3),
                                            (size, 1), (U32 - 1, 2))]
    return calls


def _script(wat: str, pages: int, c: int) -> tuple[str, int]:
    """A wast script of `wat` whose assertions are wasmtime's results."""
    config = wasmtime.Config()
    config.wasm_threads = config.shared_memory = True  # the shared near miss
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    exports = wasmtime.Instance(store, wasmtime.Module(engine, wat), []).exports(store)
    lines = [wat]
    for name, args in _calls(pages, c):
        invoke = f'(invoke "{name}" ' + " ".join(f"(i32.const {_signed(a, 'i32')})" for a in args) + ")"
        try:
            result = exports[name](store, *(_signed(a, "i32") for a in args))
        except wasmtime.Trap as e:
            assert OOB in str(e), f"wasmtime: {invoke}: {e}"
            lines.append(f'(assert_trap {invoke} "{OOB}")')
        else:
            lines.append(f"(assert_return {invoke} (i32.const {result}))")
    return "\n".join(lines) + "\n", len(lines) - 1


def _run(tmp_path, wat: str, pages: int, c: int, **request) -> None:
    text, assertions = _script(wat, pages, c)
    assert "assert_return" in text and ("assert_trap" in text or pages == 65536)
    path = tmp_path / "steps.wast"
    path.write_text(text)
    result = run_file(path, **request)
    assert result.error is None, result.error
    failures = [f"{o.line}: {o.command}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert not failures, "\n".join(failures)
    assert result.passed == assertions + 1  # and the module


@pytest.mark.parametrize("opt", [0, 1, 2, 3])
@pytest.mark.parametrize("c", [4, K])
def test_unwrapped_sums_keep_wasm_values_and_traps(tmp_path, opt, c):
    _run(tmp_path, _module(c=c, o=3), 1, c, opt_level=opt)


def test_unwrapped_sums_at_the_largest_fold_safe_memory(tmp_path):
    # p + K of the last accessible p is 2^32 - 8 or so: no wrap, and none assumed.
    _run(tmp_path, _module(abi.FOLD_MAX_PAGES, c=K), abi.FOLD_MAX_PAGES, K, opt_level=2)


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_misses_keep_wasm_values_and_traps(tmp_path, name):
    wat, options, c, pages = NEAR_MISSES[name]
    _run(tmp_path, wat, pages, c % U32, opt_level=2, **options)


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_unwrapped_sums_keep_wasm_values_and_traps_in_executables(tmp_path, target):
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
    _run(tmp_path, _module(c=4), 1, 4, opt_level=2, target=target)
