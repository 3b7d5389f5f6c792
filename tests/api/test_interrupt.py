"""The API's deadline (issue 8, item 8): a module compiled with
interruptible=True, instantiated with a timeout, stops a runaway call with the
trap "interrupt" (wasmtime's text for epoch interruption); the instance stays
usable; calls that end in time are unaffected."""

from __future__ import annotations

import time

import pytest

import wasmaot.api as wa
from wasmaot.driver.wat import wat_to_wasm
from wasmaot.errors import Trap, WasmError

WAT = """(module
  (func (export "spin") (loop $l (br $l)))
  (func $tail (export "tail_spin") (return_call $tail))
  (func $a (return_call $b)) (func $b (return_call $a))
  (func (export "cycle_spin") (call $a))
  (func $deep (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
      (else (i32.const 0))))
  (func (export "count") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (call $deep (i32.const 10)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $l (local.get 0)))
    (local.get 1))
  (func (export "recurse") (call $deep (i32.const 100000)) drop))"""


def _module(tmp_path, **kw) -> wa.Module:
    src = tmp_path / "m.wat"
    src.write_text(WAT)
    return wa.compile(wat_to_wasm(src), **kw)


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("export", ["spin", "tail_spin", "cycle_spin"])
def test_a_runaway_call_traps_interrupt_after_the_timeout(tmp_path, opt_level, export):
    inst = _module(tmp_path, opt_level=opt_level, interruptible=True).instantiate(timeout=0.2)
    start = time.monotonic()
    with pytest.raises(Trap) as info:
        inst.exports[export]()
    assert str(info.value) == "interrupt"
    assert 0.2 <= time.monotonic() - start < 10
    # The instance is still usable, and the next call gets a fresh deadline.
    assert inst.exports["count"](1000) == 10


def test_calls_that_end_in_time_are_unaffected(tmp_path):
    inst = _module(tmp_path, interruptible=True).instantiate(timeout=30)
    assert inst.exports["count"](200_000) == 10
    with pytest.raises(Trap, match="call stack exhausted"):
        inst.exports["recurse"]()  # still exhaustion, not an interrupt


def test_the_timeout_can_be_changed_or_removed_on_an_instance(tmp_path):
    inst = _module(tmp_path, interruptible=True).instantiate()
    assert inst.exports["count"](1000) == 10  # no timeout: no deadline armed
    inst.timeout = 0.1
    with pytest.raises(Trap, match="^interrupt$"):
        inst.exports["spin"]()
    inst.timeout = None
    assert inst.exports["count"](1000) == 10


def test_a_timeout_needs_an_interruptible_module(tmp_path):
    inst = _module(tmp_path).instantiate()
    inst.timeout = 1.0
    with pytest.raises(WasmError, match="interruptible=True"):
        inst.exports["count"](1)
    with pytest.raises(WasmError, match="interruptible=True"):
        _module(tmp_path).instantiate(timeout=1.0)


def test_a_timeout_must_be_positive(tmp_path):
    inst = _module(tmp_path, interruptible=True).instantiate()
    inst.timeout = 0
    with pytest.raises(WasmError, match="positive"):
        inst.exports["count"](1)
