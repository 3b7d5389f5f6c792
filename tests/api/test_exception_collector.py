"""The exception collector (runtime_c/exception.c), through the embedding API: exception
objects handed out as exnrefs (catch_ref, catch_all_ref) that nothing names any more are
freed, so a loop that throws and drops them runs in bounded memory; and every place an
exnref can live keeps its object alive across collections -- a local, a global, a table
slot, another exception's payload, the host's hands (an Exn, a host function's argument).

A missed root would be a use-after-free: the survival tests churn through thousands of
exceptions of the same tag (same size, other payloads) after stashing one, so a freed
object's memory is reused and its payload overwritten, then check the payload.  Each runs
at -O0 and -O2; `test_survival_with_a_collection_at_every_allocation` runs them all again
in a process where the collector runs at every allocation (WASMAOT_EXN_GC_STRESS=1)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

import wasmaot.api as wa
from exn_wat import EXN_FUNCS

from wasmaot._ffi import load_runtime
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import WasmException

# More than the collector's minimum budget (1024) several times over.
CHURN = 5000

MODULE = f"""(module
  (func $host_churn (import "env" "host_churn"))
  (tag $t (export "t") (param i64))
  (tag $w (param exnref))
  (global $g (export "g") (mut exnref) (ref.null exn))
  (global $outer (mut exnref) (ref.null exn))
  (table $tab (export "tab") 4 exnref)
{EXN_FUNCS}
  ;; the same with catch_all_ref
  (func (export "churn_all") (param $n i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (throw $t (i64.extend_i32_u (local.get $n))))
          (unreachable))
        (drop)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again))))

  ;; kept in a local (and nowhere else) across the churn
  (func (export "in_local") (param $v i64) (param $n i32) (result i64)
    (local $e exnref)
    (local.set $e (call $make (local.get $v)))
    (drop (call $churn (local.get $n)))
    (call $payload (local.get $e)))

  ;; kept in a local across a churn in a host function's nested call
  (func (export "in_local_across_host") (param $v i64) (result i64)
    (local $e exnref)
    (local.set $e (call $make (local.get $v)))
    (call $host_churn)
    (call $payload (local.get $e)))

  (func (export "throw_t") (param $v i64) (throw $t (local.get $v)))
  (func (export "to_global") (param $v i64) (global.set $g (call $make (local.get $v))))
  (func (export "from_global") (result i64) (call $payload (global.get $g)))
  (func (export "to_table") (param $i i32) (param $v i64)
    (table.set $tab (local.get $i) (call $make (local.get $v))))
  (func (export "from_table") (param $i i32) (result i64)
    (call $payload (table.get $tab (local.get $i))))

  ;; an exnref of $t inside the payload of an exception of $w, kept in a global
  (func (export "to_payload") (param $v i64)
    (block $h (result exnref exnref)
      (try_table (catch_ref $w $h) (throw $w (call $make (local.get $v))))
      (unreachable))
    (global.set $outer)
    (drop))
  (func (export "from_payload") (result i64)
    (block $h (result exnref)
      (try_table (catch $w $h) (throw_ref (global.get $outer)))
      (unreachable))
    (call $payload))
)"""


def live() -> int:
    return load_runtime().wasmaot_exceptions_live()


@pytest.fixture(params=[0, 2], ids=["O0", "O2"])
def inst(request):
    churns = []

    def host_churn():
        churns.append(inst.exports["churn"](CHURN))

    module = wa.compile(wat_bytes_to_wasm(MODULE.encode()), opt_level=request.param)
    inst = module.instantiate({"env": {"host_churn": wa.Func([], [], host_churn)}})
    inst.churns = churns
    return inst


def churned(inst) -> None:
    """CHURN dropped exnrefs; the collector must have run (else these tests prove nothing)."""
    before = live()
    assert inst.exports["churn"](CHURN) == CHURN * (CHURN + 1) // 2
    assert live() - before < CHURN // 2


@pytest.mark.parametrize("churn", ["churn", "churn_all"])
def test_dropped_exnrefs_are_freed_within_one_activation(inst, churn):
    """A million throws caught with catch_ref (and catch_all_ref) in one call: the
    objects do not pile up (before the collector, every one stayed: a million)."""
    before = live()
    inst.exports[churn](1_000_000 if churn == "churn" else 200_000)
    assert live() - before < 5000


def test_exnref_in_a_local_survives_collections(inst):
    assert inst.exports["in_local"](111, CHURN) == 111


def test_exnref_in_a_local_survives_collections_in_a_nested_call(inst):
    """The collection runs in an activation nested in a host callback: the outer
    activation's wasm frames are scanned too."""
    assert inst.exports["in_local_across_host"](112) == 112
    assert inst.churns == [CHURN * (CHURN + 1) // 2]


def test_exnref_in_a_global_survives_collections(inst):
    inst.exports["to_global"](222)
    churned(inst)
    assert inst.exports["from_global"]() == 222
    assert inst.exports["g"].get().values == (222,)


def test_exnref_in_a_table_survives_collections(inst):
    inst.exports["to_table"](3, 333)
    churned(inst)
    assert inst.exports["from_table"](3) == 333
    assert inst.exports["tab"].get(3).values == (333,)


def test_exnref_in_another_exceptions_payload_survives_collections(inst):
    inst.exports["to_payload"](444)
    churned(inst)
    assert inst.exports["from_payload"]() == 444


def test_exnref_held_by_python_survives_collections(inst):
    """An Exn pins its object: the result of a call, a global's value, a table's
    element, each after wasm dropped its own reference."""
    from_result = inst.exports["make"](555)
    inst.exports["to_global"](556)
    from_global = inst.exports["g"].get()
    inst.exports["to_table"](0, 557)
    from_table = inst.exports["tab"].get(0)
    inst.exports["to_global"](0)
    inst.exports["to_table"](0, 0)
    churned(inst)
    assert [inst.exports["payload"](e) for e in (from_result, from_global, from_table)] == \
        [555, 556, 557]


def test_an_escaped_exception_survives_collections(inst):
    """What escaped a call is the host's (the WasmException's Exn) until dropped."""
    with pytest.raises(WasmException) as escaped:
        inst.exports["throw_t"](666)
    churned(inst)
    assert escaped.value.values == (666,)
    assert inst.exports["payload"](escaped.value._exn) == 666


def test_exns_python_drops_are_freed(inst):
    """3000 Exn objects keep 3000 objects through collections, with their payloads;
    once Python drops them, the next collections free them."""
    before = live()
    held = [inst.exports["make"](i) for i in range(3000)]
    churned(inst)
    assert live() >= 3000
    assert [inst.exports["payload"](e) for e in held] == list(range(3000))
    del held
    gc.collect()
    churned(inst)
    assert live() - before < 3000


LEGACY = """(module
  (tag $t (param i64))
  (func $churn (param $n i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (try
          (do (throw $t (i64.extend_i32_u (local.get $n))))
          (catch $t (drop)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again))))
  (func (export "churn") (param $n i32) (call $churn (local.get $n)))
  ;; the caught exception is named only by the handler (for `rethrow`) during the churn
  (func (export "rethrow_after_churn") (param $v i64) (param $n i32) (result i64)
    (try (result i64)
      (do
        (try
          (do (throw $t (local.get $v)))
          (catch $t (drop) (call $churn (local.get $n)) (rethrow 0)))
        (i64.const -1))
      (catch $t))))"""


@pytest.fixture(params=[0, 2], ids=["O0", "O2"])
def legacy(request):
    from wasmaot.commands.legacy_wat import wabt_text_to_wasm

    return wa.compile(wabt_text_to_wasm(LEGACY.encode()), opt_level=request.param).instantiate()


def test_legacy_catches_are_freed_too(legacy):
    """A legacy `catch` may `rethrow`, so its exception counts as handed out."""
    before = live()
    legacy.exports["churn"](200_000)
    assert live() - before < 5000


def test_a_legacy_handlers_exception_survives_collections_until_rethrown(legacy):
    assert legacy.exports["rethrow_after_churn"](777, CHURN) == 777


def test_survival_with_a_collection_at_every_allocation():
    """The tests above, in a process whose collector runs at every allocation."""
    env = {**os.environ, "WASMAOT_EXN_GC_STRESS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "not every_allocation and not within_one_activation and not are_freed_too"],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
