"""The exception collector (runtime_c/exception.c) in executables, on x86-64 and aarch64
(under qemu): a _start that throws and catches with catch_ref a million times, dropping
each exnref, runs in bounded memory (before the collector every object stayed: ~125 MB
for a million), and exnrefs kept in a local, a global and a table survive the collections
with their payloads.  tests/api/test_exception_collector.py has the other roots; the
example programs run with a collection at every allocation in
test_exception_examples.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from wasi_run import TARGETS, build_exe, exe_command

from exn_wat import EXN_FUNCS

from wasmaot.driver.wat import wat_bytes_to_wasm

# proc_exit(code) tells what went wrong: 3 the sum of payloads, 4.. a stashed payload.
LOOP = f"""(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (tag $t (param i64))
  (memory (export "memory") 1)
  (global $g (mut exnref) (ref.null exn))
  (table $tab 2 exnref){EXN_FUNCS}  (func (export "_start")
    (local $kept exnref)
    (local.set $kept (call $make (i64.const 111)))
    (global.set $g (call $make (i64.const 222)))
    (table.set $tab (i32.const 1) (call $make (i64.const 333)))
    (if (i64.ne (call $churn (i32.const N)) (i64.const SUM))
      (then (call $exit (i32.const 3))))
    (if (i64.ne (call $payload (local.get $kept)) (i64.const 111))
      (then (call $exit (i32.const 4))))
    (if (i64.ne (call $payload (global.get $g)) (i64.const 222))
      (then (call $exit (i32.const 5))))
    (if (i64.ne (call $payload (table.get $tab (i32.const 1))) (i64.const 333))
      (then (call $exit (i32.const 6))))))"""

# Throws per target (qemu is ~10x slower), and the peak RSS growth allowed between a
# run of 1000 throws and one of that many: far below what keeping every object took.
THROWS = {"x86_64-linux": 1_000_000, "aarch64-linux": 200_000}
GROWTH_LIMIT_KB = 8 * 1024


def loop_wasm(n: int) -> bytes:
    text = LOOP.replace("(i32.const N)", f"(i32.const {n})").replace(
        "(i64.const SUM)", f"(i64.const {n * (n + 1) // 2})")
    return wat_bytes_to_wasm(text.encode())


# Runs argv[1:] and prints its exit code and peak RSS.  A small process of its own: a
# child's peak RSS starts at its parent's (fork, and exec records the old image's peak),
# and pytest's is ~100 MB.
MEASURE = ("import os, sys; pid = os.spawnv(os.P_NOWAIT, sys.argv[1], sys.argv[1:]); "
           "_, status, usage = os.wait4(pid, 0); "
           "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)")


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, int]:
    """(exit code, peak RSS in KiB) of the command (qemu included)."""
    out = subprocess.run([sys.executable, "-S", "-c", MEASURE, *cmd], check=True,
                         capture_output=True, text=True, timeout=300,
                         env={"PATH": os.environ.get("PATH", ""), **(env or {})}).stdout
    code, rss = out.split()
    return int(code), int(rss)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("opt_level", [0, 2], ids=["O0", "O2"])
def test_a_million_dropped_exnrefs_run_in_bounded_memory(tmp_path, target, opt_level):
    from wasmaot.commands.build import BuildOptions, build

    exes = {n: build(loop_wasm(n), tmp_path / f"loop{n}", BuildOptions(target=target,
                                                                      opt_level=opt_level))
            for n in (1000, THROWS[target])}
    code_small, rss_small = run_measured(exe_command(exes[1000], target))
    code_big, rss_big = run_measured(exe_command(exes[THROWS[target]], target))
    assert (code_small, code_big) == (0, 0)
    assert rss_big - rss_small < GROWTH_LIMIT_KB, (rss_small, rss_big)


@pytest.mark.parametrize("target", TARGETS)
def test_kept_exnrefs_survive_a_collection_at_every_allocation(tmp_path, target):
    exe = build_exe(loop_wasm(3000), tmp_path / "loop", target)
    code, _ = run_measured(exe_command(exe, target), env={"WASMAOT_EXN_GC_STRESS": "1"})
    assert code == 0
