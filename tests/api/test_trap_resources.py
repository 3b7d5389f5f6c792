"""10,000 traps from Python leave the process's memory and file descriptors flat.

A trap unwinds out of native code through the runtime's signal handler (or its trap
call) back to `wasmaot_invoke`; whatever that path allocates (trap info, backtrace
frames, message strings, alternate signal stacks, guard-page state) must be freed
or reused.  The calls mix the kinds of trap: `unreachable`, integer division by
zero, an out-of-bounds load (a guard-page fault) and, every 100th call, stack
exhaustion (a fault on the stack guard after deep recursion).

RSS (resident pages, /proc/self/statm) and the open fds (/proc/self/fd) are read after
a warm-up of 500 calls and again after the 10,000: RSS may grow by RSS_SLACK_BYTES
at most (the allocator's and Python's own noise), the fd count not at all.  The
instance must still work afterwards.
"""

from __future__ import annotations

import gc
import os

import pytest

from wasmaot import api
from wasmaot.errors import Trap

WAT = """
(module
  (memory (export "mem") 1)
  (global $depth (mut i32) (i32.const 0))
  (func (export "unreachable") unreachable)
  (func (export "div") (param i32) (result i32)
    (i32.div_s (i32.const 7) (local.get 0)))
  (func (export "load") (param i32) (result i32)
    (i32.load (local.get 0)))
  (func $recurse (export "recurse") (param i64) (result i64)
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (i64.add (call $recurse (i64.add (local.get 0) (i64.const 1))) (local.get 0)))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
)
"""

WARMUP = 500
CALLS = 10_000
RSS_SLACK_BYTES = 8 << 20

EXPECTED = {
    "unreachable": "wasm `unreachable` instruction executed",
    "div": "integer divide by zero",
    "load": "out of bounds memory access",
    "recurse": "call stack exhausted",
}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    path = tmp_path_factory.mktemp("traps") / "traps.wat"
    path.write_text(WAT)
    return api.compile(path).instantiate({})


def trap_once(exports, i: int) -> str:
    """Call number `i` of the mix; returns the trap's message."""
    if i % 100 == 99:
        name, args = "recurse", (0,)
    else:
        name, args = (("unreachable", ()), ("div", (0,)), ("load", (0x7FFF_FFF0,)))[i % 3]
    try:
        exports[name](*args)
    except Trap as t:
        assert t.message == EXPECTED[name], (name, t.message)
        return t.message
    raise AssertionError(f"call {i} ({name}) did not trap")


def test_ten_thousand_traps_leave_rss_and_fds_flat(instance):
    exports = instance.exports
    for i in range(WARMUP):
        trap_once(exports, i)
    gc.collect()
    rss0, fds0 = rss_bytes(), open_fds()

    seen = set()
    for i in range(CALLS):
        seen.add(trap_once(exports, i))
    gc.collect()
    rss1, fds1 = rss_bytes(), open_fds()

    assert seen == set(EXPECTED.values())
    grown = rss1 - rss0
    assert grown <= RSS_SLACK_BYTES, (
        f"RSS grew by {grown / 2**20:.1f} MiB over {CALLS} traps "
        f"({rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB)")
    assert fds1 <= fds0, f"open fds went from {fds0} to {fds1} over {CALLS} traps"

    # Still usable: calls return, memory reads and writes work.
    assert exports["add"](2, 3) == 5
    exports["mem"].write(b"\x2a\0\0\0", 16)
    assert exports["load"](16) == 42
    assert exports["div"](7) == 1
    print(f"\n{CALLS} traps: RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB, fds {fds0} -> {fds1}")
