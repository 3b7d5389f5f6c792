"""Faults that are not wasm traps must still crash the process (each runs in a subprocess).

The fault handler turns a fault into a trap only while wasm runs on the thread, outside
host callbacks, and for an address it recognises; everything else is chained to the
previous handler.  A runtime that swallowed these would resume a broken process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).parent

PRELUDE = """
import sys
sys.path.insert(0, {here!r})
import cffi
from wasmaot import _ffi
from harness import Instance, HostFunc, CALL_HOST, CRASH_NULL, LOAD, OUTER, ffi
rt = _ffi.load_runtime()
module = _ffi.load_module_library({path!r})
helpers = cffi.FFI()
helpers.cdef("void fake_poke(void *addr); int fake_divide(int a, int b);")
native = helpers.dlopen({path!r})
"""

SCENARIOS = {
    # Control: a guest out-of-bounds access is a trap, and the process goes on.
    "guest-oob-is-a-trap": (
        ("inst = Instance(rt, module)\n"
         "try:\n    inst.call(OUTER, 2)\nexcept Exception as e:\n    print('trapped:', e)\n"),
        0),
    "segfault-outside-wasm": ("native.fake_poke(helpers.cast('void *', 16))", -signal.SIGSEGV),
    "sigfpe-outside-wasm": ("native.fake_divide(1, 0)", -signal.SIGFPE),
    # In wasm code, but at an address that is no memory's and not the stack's.
    "segfault-in-wasm-at-a-foreign-address": ("Instance(rt, module).call(CRASH_NULL, 1)", -signal.SIGSEGV),
    # A host callback's own bug, even inside a memory reservation, is the host's.
    "host-bug-inside-a-reservation": (
        ("def poke(x):\n"
         "    m = inst.memory\n"
         "    native.fake_poke(m.base + m.size + 4096)\n"
         "    return 0\n"
         "inst = Instance(rt, module, host=HostFunc(poke))\n"
         "inst.call(CALL_HOST, 1)\n"),
        -signal.SIGSEGV),
    # Another thread touching a reservation while no wasm runs there.
    "foreign-thread-inside-a-reservation": (
        ("import threading\n"
         "inst = Instance(rt, module)\n"
         "t = threading.Thread(target=lambda: native.fake_poke(inst.memory.base + 8 * 2**30))\n"
         "t.start(); t.join()\n"),
        -signal.SIGSEGV),
}


def run(tmp_path, fake_paths, body, *python_flags):
    script = tmp_path / "scenario.py"
    script.write_text(PRELUDE.format(here=str(HERE), path=str(fake_paths["plain"])) + body
                      + "\nprint('survived')\n")
    return subprocess.run([sys.executable, *python_flags, str(script)], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("name", SCENARIOS)
def test_fault_outcome(tmp_path, fake_paths, name):
    body, expected = SCENARIOS[name]
    proc = run(tmp_path, fake_paths, body)
    assert proc.returncode == expected, proc.stderr[-2000:]
    if expected == 0:
        assert "trapped: out of bounds memory access" in proc.stdout
        assert "survived" in proc.stdout
    else:
        assert "survived" not in proc.stdout


def test_chained_to_pythons_faulthandler(tmp_path, fake_paths):
    """faulthandler was installed first; our handler passes the crash on to it."""
    proc = run(tmp_path, fake_paths, "Instance(rt, module).call(CRASH_NULL, 1)", "-X", "faulthandler")
    assert proc.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in proc.stderr


def test_wasm_entered_without_invoke_aborts(tmp_path, fake_paths):
    """Outside an activation the stack limit is UINTPTR_MAX: the first prologue traps,
    and a trap with nowhere to go aborts with a message instead of running unbounded."""
    body = textwrap.dedent("""
        inst = Instance(rt, module)
        f = inst.func(LOAD)
        args = ffi.new("union wasmaot_value[1]")
        results = ffi.new("union wasmaot_value[1]")
        inst.desc.entry_thunks[1](f.code, f.vmctx, args, results)
    """)
    proc = run(tmp_path, fake_paths, body)
    assert proc.returncode == -signal.SIGABRT
    assert "wasmaot runtime: wasm trap (call stack exhausted) outside wasmaot_invoke" in proc.stderr
