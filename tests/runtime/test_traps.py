"""Traps: explicit and from faults, backtraces, host failures, nesting, stack exhaustion,
and the instance staying usable afterwards."""

from __future__ import annotations

import os
import threading

import pytest
from harness import (
    CALL_HOST,
    DIV,
    LOAD,
    MEM_GROW,
    OUTER,
    READ_GLOBAL,
    RECURSE,
    RECURSE_BIG,
    TRAP,
    HostFunc,
    ffi,
)

from wasmaot import _ffi
from wasmaot.codegen import abi
from wasmaot.errors import Trap


def names(exc):
    return [f.func_name for f in exc.frames]


def test_explicit_trap_has_message_code_and_backtrace(make_instance):
    inst = make_instance()
    with pytest.raises(Trap) as e:
        inst.call(OUTER, 1)
    assert str(e.value) == "wasm `unreachable` instruction executed"
    assert e.value.trap_code == 1
    assert names(e.value) == ["inner", "middle", "outer"]
    assert e.value.total_frames == 3
    assert inst.call(OUTER, 7) == 7  # still usable


def test_out_of_bounds_load_traps_through_the_signal_handler(make_instance):
    inst = make_instance()
    with pytest.raises(Trap, match="^out of bounds memory access$") as e:
        inst.call(OUTER, 2)
    # The fault's own pc gives the innermost frame; the rest come from the frame chain.
    assert names(e.value) == ["load", "inner", "middle", "outer"]
    assert inst.call(LOAD, 0) == int.from_bytes(b"hell", "little")


def test_every_trap_code_reports_its_message(make_instance):
    inst = make_instance()
    for code, _, message in abi.TRAPS:
        with pytest.raises(Trap) as e:
            inst.op(TRAP, code)
        assert (e.value.trap_code, str(e.value)) == (code, message)
        assert names(e.value) == ["op"]


def test_integer_division_by_zero_in_wasm_code_is_a_trap(make_instance):
    inst = make_instance()
    assert inst.call(DIV, 7, 2) == 3
    with pytest.raises(Trap, match="^integer divide by zero$") as e:
        inst.call(DIV, 7, 0)
    assert names(e.value) == ["div"]


def test_host_failure_unwinds_wasm_frames_and_reraises_the_hosts_error(make_instance):
    def fail(x):
        raise KeyError("from the host")

    inst = make_instance(host=HostFunc(fail))
    with pytest.raises(KeyError, match="from the host"):
        inst.call(OUTER, 3)
    assert inst.trap_info.code == 11
    assert ffi.string(inst.trap_info.message) == b"host function failed"
    # Adapter and runtime frames are not wasm: skipped.
    trap = _ffi.make_trap(11, inst.trap_info)
    assert names(trap) == ["call_host", "inner", "middle", "outer"]
    assert inst.call(OUTER, 5) == 5


def test_nested_invokes_host_wasm_host_wasm(make_instance):
    depth = []

    def host(x):
        depth.append(x)
        if x > 0:
            return inst.call(CALL_HOST, x - 1) + 1  # wasm -> host -> wasm -> host ...
        return 100

    inst = make_instance(host=HostFunc(host))
    assert inst.call(CALL_HOST, 3) == 103
    assert depth == [3, 2, 1, 0]


def test_trap_in_a_nested_invoke_unwinds_only_to_the_inner_activation(make_instance):
    seen = []

    def host(x):
        with pytest.raises(Trap) as e:
            inst.call(OUTER, 1)  # traps inside the callback
        seen.append(names(e.value))
        return inst.call(OUTER, 9) + x  # the inner activation is gone; the outer still runs

    inst = make_instance(host=HostFunc(host))
    assert inst.call(CALL_HOST, 1) == 10
    assert seen == [["inner", "middle", "outer"]]


def test_trap_in_a_nested_invoke_propagates_as_an_exception(make_instance):
    inst = make_instance(host=HostFunc(lambda x: inst.call(OUTER, 1)))
    with pytest.raises(Trap, match="unreachable") as e:
        inst.call(CALL_HOST, 0)
    assert names(e.value) == ["inner", "middle", "outer"]


def test_deep_recursion_traps_call_stack_exhausted(make_instance):
    inst = make_instance()
    with pytest.raises(Trap, match="^call stack exhausted$") as e:
        inst.call(RECURSE, 10**8)
    assert e.value.total_frames > 1000
    assert len(e.value.frames) == 64 and set(names(e.value)) == {"recurse"}
    assert inst.call(RECURSE, 1000) == 1000


def test_recursion_with_large_frames_traps_call_stack_exhausted(make_instance):
    inst = make_instance()
    with pytest.raises(Trap, match="^call stack exhausted$"):
        inst.call(RECURSE_BIG, 1000)  # 1 MiB frames
    assert inst.call(RECURSE_BIG, 0) == 0


def run_in_thread(fn, stack_size=None):
    box = {}

    def body():
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    old = threading.stack_size(stack_size) if stack_size else None
    try:
        t = threading.Thread(target=body)
        t.start()
    finally:
        if stack_size:
            threading.stack_size(old)
    t.join()
    return box


@pytest.mark.parametrize("func", [RECURSE, RECURSE_BIG], ids=["small-frames", "1MiB-frames"])
def test_stack_exhaustion_on_a_thread_with_a_small_stack(make_instance, func):
    """The limit is clamped above the thread's real stack bottom; a 1 MiB frame steps
    past it before its prologue check and faults in the guard page: still a trap."""
    inst = make_instance()
    box = run_in_thread(lambda: inst.call(func, 10**6), stack_size=1 << 20)
    assert isinstance(box.get("error"), Trap), box
    assert str(box["error"]) == "call stack exhausted"
    assert inst.call(RECURSE, 10) == 10


def test_max_wasm_stack_is_configurable(make_instance, rt):
    inst = make_instance()

    def depth():
        with pytest.raises(Trap) as e:
            inst.call(RECURSE, 10**8)
        return e.value.total_frames

    default = depth()
    rt.wasmaot_runtime_init(ffi.new("struct wasmaot_config *", {"max_wasm_stack": 64 * 1024}))
    try:
        small = depth()
    finally:
        rt.wasmaot_runtime_init(ffi.new("struct wasmaot_config *", {"max_wasm_stack": 0}))
    assert small * 4 < default
    assert depth() == default


def test_traps_on_other_threads(make_instance):
    inst = make_instance()
    results = [run_in_thread(lambda i=i: inst.call(OUTER, 1 if i % 2 else 2)) for i in range(4)]
    assert [str(r["error"]) for r in results] == ["out of bounds memory access",
                                                  "wasm `unreachable` instruction executed"] * 2


def test_concurrent_threads_each_get_their_own_results(make_instance):
    inst = make_instance()
    out = {}

    def worker(k):
        got = []
        for i in range(200):
            try:
                got.append(inst.call(OUTER, 100 + k))
            except Trap:
                got.append("trap")
            if i % 3 == 0:
                try:
                    inst.call(OUTER, 2)
                except Trap as e:
                    got.append(str(e))
        out[k] = got

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(3):
        assert set(out[k]) == {100 + k, "out of bounds memory access"}


def test_trap_during_instantiation_keeps_earlier_segment_writes(make_instance, rt):
    mem = rt.wasmaot_memory_new(ffi.new("struct wasmaot_memory_desc *", {"min": 1, "max": 4,
                                                                          "page_size_log2": 16}),
                                ffi.NULL, ffi.NULL, 0)
    try:
        inst = make_instance("init_oob", memory=mem, init=False)
        with pytest.raises(Trap, match="^out of bounds memory access$"):
            inst.init()
        assert bytes(ffi.buffer(mem.base, 5)) == b"hello"  # the first active segment stays
        assert bytes(ffi.buffer(mem.base + 65534, 2)) == b"\0\0"  # the failing one wrote nothing
    finally:
        rt.wasmaot_memory_release(mem)


def test_start_function_runs_after_init(make_instance):
    inst = make_instance("start")
    assert inst.mem_bytes(100, 1) == b"\x5a"
    assert inst.call(READ_GLOBAL, 0) == 43


def _rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_ten_thousand_traps_leave_rss_and_fds_flat(make_instance):
    inst = make_instance(host=HostFunc(lambda x: 1 // 0))
    kinds = [(OUTER, 1), (OUTER, 2), (OUTER, 3), (DIV, 0)]

    def burst(n):
        for i in range(n):
            func, arg = kinds[i % 4]
            try:
                inst.call(func, *((arg,) if func != DIV else (1, arg)))
            except (Trap, ZeroDivisionError):
                pass
            else:
                raise AssertionError("no trap")

    burst(1000)  # warm up allocators and caches
    rss, fds = _rss_kib(), len(os.listdir("/proc/self/fd"))
    burst(10_000)
    assert len(os.listdir("/proc/self/fd")) == fds
    assert _rss_kib() - rss < 2048, "RSS grew by more than 2 MiB over 10,000 traps"
    assert inst.op(MEM_GROW, 0) == 1
