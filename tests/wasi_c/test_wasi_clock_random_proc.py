"""clock_res_get / clock_time_get (all four clocks), random_get, sched_yield,
proc_raise, proc_exit (in child processes: it ends the process)."""

import subprocess
import sys
import time

import pytest

REALTIME, MONOTONIC, PROCESS, THREAD = range(4)


def now(g, clock):
    out = g.alloc(8)
    assert g.call("clock_time_get", clock, 1, out) == 0
    return g.u64(out)


def test_realtime_is_the_wall_clock(guest):
    t = now(guest, REALTIME)
    assert abs(t - time.time_ns()) < 5 * 10**9


def test_monotonic_advances(guest):
    a = now(guest, MONOTONIC)
    time.sleep(0.01)
    b = now(guest, MONOTONIC)
    assert b - a >= 10**7
    assert abs(a - time.monotonic_ns()) < 5 * 10**9


@pytest.mark.parametrize("clock", [PROCESS, THREAD])
def test_cputime_clocks(guest, clock):
    a = now(guest, clock)
    x = 0
    for i in range(200000):
        x += i
    assert now(guest, clock) > a > 0


@pytest.mark.parametrize("clock", [REALTIME, MONOTONIC, PROCESS, THREAD])
def test_resolution(guest, clock):
    out = guest.alloc(8)
    assert guest.call("clock_res_get", clock, out) == 0
    assert 0 < guest.u64(out) <= 10**7


def test_bad_clock_and_pointer(guest):
    out = guest.alloc(8)
    assert guest.call("clock_time_get", 4, 0, out) == 28  # INVAL
    assert guest.call("clock_res_get", -1, out) == 28
    assert guest.call("clock_time_get", MONOTONIC, 0, guest.size - 4) == 21  # FAULT
    assert guest.call("clock_res_get", MONOTONIC, guest.size) == 21


def test_random(guest):
    a, b = guest.alloc(4096), guest.alloc(4096)
    assert guest.call("random_get", a, 4096) == 0
    assert guest.call("random_get", b, 4096) == 0
    ra, rb = guest.bytes(a, 4096), guest.bytes(b, 4096)
    assert ra != rb and len(set(ra)) > 200
    assert guest.call("random_get", guest.size, 0) == 0  # empty, at the very end
    snapshot = bytes(guest.mem)
    assert guest.call("random_get", guest.size - 10, 11) == 21
    assert guest.call("random_get", 0xFFFFFFFF, 2) == 21
    assert bytes(guest.mem) == snapshot


def test_random_large(guest):
    big = 512 * 1024
    assert guest.call("random_get", 0, big) == 0
    assert guest.bytes(0, big).count(0) < big // 100


def test_sched_yield_and_proc_raise(guest):
    assert guest.call("sched_yield") == 0
    assert guest.call("proc_raise", 9) == 58  # NOTSUP, as wasmtime


CHILD_CDEF = """
struct wasmaot_wasi_config { size_t argc; const char *const *argv; size_t envc;
  const char *const *env; size_t npreopens; const void *preopens; size_t nlisten;
  const void *listen; void (*exit_hook)(void *vmctx, int32_t code); };
int wasmaot_wasi_init(const struct wasmaot_wasi_config *config, char *errbuf, size_t errlen);
int32_t wasmaot_wasi_fd_write(void *vmctx, int32_t fd, int32_t iovs, int32_t n, int32_t out);
void wasmaot_wasi_proc_exit(void *vmctx, int32_t code);
void *harness_new(uint64_t size);
void *harness_vmctx(void *h);
uint8_t *harness_base(void *h);
"""


def run_child(lib_path, body, tmp_path):
    """Runs `body` in a fresh Python with the library loaded as `lib`, a context
    made from `cfg` (set hook= first to give an exit hook) and a guest `vmctx`
    whose memory holds "before exit\\n" at 64 with an iovec for it at 0."""
    script = f"""
import cffi, struct
ffi = cffi.FFI()
ffi.cdef({CHILD_CDEF!r})
lib = ffi.dlopen({str(lib_path)!r})
hook = None
{body}
"""
    return subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


SETUP = """
cfg = ffi.new("struct wasmaot_wasi_config *")
if hook is not None:
    cfg.exit_hook = hook
assert lib.wasmaot_wasi_init(cfg, ffi.NULL, 0) == 0
h = lib.harness_new(65536)
vmctx = lib.harness_vmctx(h)
mem = ffi.buffer(lib.harness_base(h), 65536)
mem[64:76] = b"before exit\\n"
mem[0:8] = struct.pack("<II", 64, 12)
assert lib.wasmaot_wasi_fd_write(vmctx, 1, 0, 1, 16) == 0
"""


@pytest.mark.parametrize("code", [0, 1, 7, 42, 125, 255])
def test_proc_exit_code(wasic_paths, tmp_path, code):
    body = SETUP + f"""
lib.wasmaot_wasi_proc_exit(vmctx, {code})
print("still running")
"""
    proc = run_child(wasic_paths["openat2"], body, tmp_path)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == "before exit\n"


def test_proc_exit_hook(wasic_paths, tmp_path):
    body = """
@ffi.callback("void(void *, int32_t)")
def hook(vmctx, code):
    print("hook", code, flush=True)
""" + SETUP + """
lib.wasmaot_wasi_proc_exit(vmctx, 3)
"""
    proc = run_child(wasic_paths["openat2"], body, tmp_path)
    assert proc.stdout == "before exit\nhook 3\n", proc.stderr
    assert proc.returncode == 3  # the hook returned: the process still exits
