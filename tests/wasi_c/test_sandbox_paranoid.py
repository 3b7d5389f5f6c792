"""The builds the sandbox tests use, and the paranoid cross-check itself.

Every test of this directory runs on libraries built with WASMAOT_RT_PARANOID: an
fd the resolver opened outside its start directory aborts the process.  Here: the
switches are really on, each variant really uses its resolver, and the check
catches an fd outside (in a child process, since it aborts)."""

import os
import signal
import subprocess
import sys

import pytest
from wasic_harness import FFI, GRANT, HERE, ROOT


def test_builds_are_paranoid(wasic_libs):
    assert wasic_libs["openat2"].harness_paranoid() == 1
    assert wasic_libs["fallback"].harness_paranoid() == 1
    assert wasic_libs["openat2"].harness_force_fallback() == 0
    assert wasic_libs["fallback"].harness_force_fallback() == 1


def kernel_has_openat2() -> bool:
    """openat2 works here (Linux >= 5.6, and no seccomp filter refusing it)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    how = (ctypes.c_uint64 * 3)(os.O_PATH, 0, 0x08)  # flags, mode, RESOLVE_BENEATH
    fd = libc.syscall(437, -100, b".", ctypes.byref(how), 24)  # AT_FDCWD
    if fd >= 0:
        os.close(fd)
    return fd >= 0


def test_each_variant_uses_its_resolver(sb):
    if sb.variant == "openat2" and not kernel_has_openat2():
        pytest.skip("this kernel (or its seccomp filter) has no openat2: the fallback answers")
    stats = FFI.new("uint64_t[2]")
    sb.lib.harness_sandbox_stats(stats)
    before = (stats[0], stats[1])
    for path in ("file", "sub/inner", "../outside/secret", "sub/../file"):
        sb.g.call("path_open", GRANT, 1, *sb.g.path(path), 0, 2, 2, 0, sb.g.alloc(4))
    sb.lib.harness_sandbox_stats(stats)
    used = (stats[0] - before[0], stats[1] - before[1])
    if sb.variant == "openat2":
        assert used == (4, 0)  # this kernel has openat2: the fallback never ran
    else:
        assert used == (0, 4)


def test_beneath_check(sb):
    lib = sb.lib
    grant = os.open(sb.grant, os.O_PATH)
    inner = os.open(sb.grant / "sub" / "inner", os.O_RDONLY)
    secret = os.open(sb.outside / "secret", os.O_RDONLY)
    os.mkdir(sb.root / "grant2")   # a sibling sharing the grant's name as a prefix
    sibling = os.open(sb.root / "grant2", os.O_PATH)
    try:
        assert lib.harness_fd_is_beneath(grant, grant) == 1
        assert lib.harness_fd_is_beneath(grant, inner) == 1
        assert lib.harness_fd_is_beneath(grant, secret) == 0
        assert lib.harness_fd_is_beneath(grant, sibling) == 0
        lib.harness_paranoid_check(grant, inner)  # returns
    finally:
        for fd in (grant, inner, secret, sibling):
            os.close(fd)


def test_paranoid_check_aborts_on_an_outside_fd(wasic_paths, tmp_path):
    (tmp_path / "grant").mkdir()
    (tmp_path / "secret").write_bytes(b"x")
    script = f"""
import os, sys
sys.path[:0] = [{str(HERE)!r}, {str(ROOT)!r}]
from wasic_harness import load
lib = load(__import__("pathlib").Path({str(wasic_paths["openat2"])!r}))
start = os.open({str(tmp_path / "grant")!r}, os.O_PATH)
fd = os.open({str(tmp_path / "secret")!r}, os.O_RDONLY)
lib.harness_paranoid_check(start, fd)
print("not aborted")
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGABRT, (proc.returncode, proc.stdout, proc.stderr)
    assert "wasmaot sandbox (paranoid)" in proc.stderr
    assert "not beneath" in proc.stderr
