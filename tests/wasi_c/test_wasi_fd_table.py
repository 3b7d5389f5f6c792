"""The fd table: numbering (as wasmtime), fd_close, fd_renumber, preopens
(fd_prestat_get / fd_prestat_dir_name), fd_fdstat_get / set_flags / set_rights."""

import os

import pytest
from wasic_harness import (
    ALL_RIGHTS,
    FD_APPEND,
    FD_DSYNC,
    FD_NONBLOCK,
    FT_DIR,
    FT_REG,
    GRANT,
    O_CREAT,
    O_DIRECTORY,
    OTHER,
    READ_RIGHTS,
    RIGHTS,
    RO,
)


def prestat(g, fd):
    out = g.alloc(8)
    err = g.call("fd_prestat_get", fd, out)
    return (err, None) if err else (0, (g.bytes(out, 1)[0], g.u32(out + 4)))


def dir_name(g, fd, n):
    buf = g.alloc(max(n, 1))
    err = g.call("fd_prestat_dir_name", fd, buf, n)
    return err, (g.bytes(buf, n) if err == 0 else None)


def test_preopens_at_3_and_on(sb):
    g = sb.g
    names = []
    fd = 3
    while True:  # as wasi-libc finds its preopens
        err, ps = prestat(g, fd)
        if err == 8:
            break
        assert err == 0 and ps[0] == 0
        names.append(dir_name(g, fd, ps[1])[1].decode())
        fd += 1
    assert names == ["/sandbox", "/ro", "/other"]
    assert dir_name(g, GRANT, 3)[0] == 37      # NAMETOOLONG
    assert prestat(g, 0)[0] == 8               # stdio: not a preopen
    sub = g.open(GRANT, "sub", oflags=O_DIRECTORY)
    assert prestat(g, sub)[0] == 8
    assert dir_name(g, sub, 10)[0] == 54       # NOTDIR, as wasmtime
    assert dir_name(g, 99, 10)[0] == 8


def test_numbering_like_wasmtime(sb):
    """New fds take the HIGHEST closed number first, else one past the highest open."""
    g = sb.g
    a, b, c = (g.open(GRANT, "file") for _ in range(3))
    assert (a, b, c) == (6, 7, 8)
    g.close(6)
    g.close(7)
    assert g.open(GRANT, "file") == 7
    assert g.open(GRANT, "file") == 6
    assert g.open(GRANT, "file") == 9
    g.close(9)
    g.close(8)
    assert g.open(GRANT, "file") == 9
    g.close(OTHER)
    assert g.open(GRANT, "file") == 8      # closed: 5 and 8, the highest first
    assert g.open(GRANT, "file") == OTHER
    g.close(99, expect="BADF")
    g.close(-1, expect="BADF")


def test_renumber(sb):
    g = sb.g
    a = g.open(GRANT, "file")
    b = g.open(GRANT, "sub/inner")
    host_b = sb.lib.harness_host_fd(b)
    assert g.call("fd_renumber", a, b) == 0
    assert g.read(b, 10) == b"hello"           # b is now what a was
    assert g.read(a, 10, expect="BADF") == b""
    with pytest.raises(OSError):
        os.fstat(host_b)                        # what b was is closed
    assert g.call("fd_renumber", b, 50) == 8   # the target must be open
    assert g.call("fd_renumber", 50, b) == 8
    assert g.call("fd_renumber", b, b) == 0
    assert g.open(GRANT, "file") == a          # the number renumbered away is free
    assert g.call("fd_renumber", GRANT, a) == 0
    assert prestat(g, a)[0] == 0               # the preopen moved, with its name
    assert prestat(g, GRANT)[0] == 8


def test_closing_stdio_keeps_the_host_fds(guest):
    g = guest
    g.close(1)
    g.write(1, b"x", expect="BADF")
    os.fstat(1)  # still open in the process
    assert g.call("fd_renumber", 2, 1) == 8


def test_fdstat(sb):
    g = sb.g
    st = g.fdstat(GRANT)
    assert st["filetype"] == FT_DIR and st["flags"] == 0
    assert st["base"] & RIGHTS["PATH_OPEN"] and st["inheriting"] & RIGHTS["FD_READ"]
    fd = g.open(GRANT, "file", rights=READ_RIGHTS)
    st = g.fdstat(fd)
    assert st["filetype"] == FT_REG
    assert st["base"] & RIGHTS["FD_READ"] and not st["base"] & RIGHTS["FD_WRITE"]
    assert not st["base"] & RIGHTS["PATH_OPEN"]  # a file has no directory rights
    for fd in (0, 1, 2):
        st = g.fdstat(fd)
        assert st["filetype"] in (0, 2) and st["flags"] == 0
        assert not st["base"] & (RIGHTS["FD_SEEK"] | RIGHTS["FD_TELL"])  # isatty() needs this
    g.fdstat(42, expect="BADF")
    assert g.call("fd_fdstat_get", GRANT, g.size - 8) == 21


def test_set_flags(sb):
    g = sb.g
    fd = g.open(GRANT, "file", rights=ALL_RIGHTS)
    assert g.call("fd_fdstat_set_flags", fd, FD_APPEND | FD_NONBLOCK) == 0
    assert g.fdstat(fd)["flags"] == FD_APPEND | FD_NONBLOCK
    g.write(fd, b"!")
    assert (sb.grant / "file").read_bytes() == b"hello!"
    assert g.call("fd_fdstat_set_flags", fd, 0) == 0
    assert g.fdstat(fd)["flags"] == 0
    assert g.call("fd_fdstat_set_flags", fd, FD_DSYNC) == 28    # INVAL
    assert g.call("fd_fdstat_set_flags", fd, 0x100) == 28
    assert g.call("fd_fdstat_set_flags", 1, FD_NONBLOCK) == 8  # stdio: BADF, as wasmtime
    assert g.call("fd_fdstat_set_flags", GRANT, 0) == 8        # a directory
    assert g.fdstat(g.open(GRANT, "app", oflags=O_CREAT, rights=ALL_RIGHTS,
                           fdflags=FD_APPEND))["flags"] == FD_APPEND


def test_set_rights_only_narrows(sb):
    g = sb.g
    fd = g.open(GRANT, "file", rights=READ_RIGHTS)
    base = g.fdstat(fd)["base"]
    assert g.call("fd_fdstat_set_rights", fd, base & ~RIGHTS["FD_READ"], 0) == 0
    assert g.fdstat(fd)["base"] == base & ~RIGHTS["FD_READ"]
    g.read(fd, 1, expect="NOTCAPABLE")
    assert g.call("fd_fdstat_set_rights", fd, base, 0) == 76   # cannot regain
    assert g.call("fd_fdstat_set_rights", fd, 1 << 40, 0) == 28
    # a directory that lost PATH_CREATE_FILE can no longer create
    st = g.fdstat(OTHER)
    assert g.call("fd_fdstat_set_rights", OTHER, st["base"] & ~RIGHTS["PATH_CREATE_FILE"],
                  st["inheriting"]) == 0
    g.open(OTHER, "new", oflags=O_CREAT, rights=ALL_RIGHTS, expect="NOTCAPABLE")
    assert not (sb.other / "new").exists()
    g.fdstat(RO)


def test_sync_advise_allocate(sb):
    g = sb.g
    fd = g.open(GRANT, "file", rights=ALL_RIGHTS)
    assert g.call("fd_sync", fd) == 0
    assert g.call("fd_datasync", fd) == 0
    assert g.call("fd_advise", fd, 0, 100, 1) == 0
    assert g.call("fd_advise", fd, 0, 100, 6) == 28
    assert g.call("fd_allocate", fd, 0, 10000) == 0
    assert os.path.getsize(sb.grant / "file") == 10000
    assert g.call("fd_allocate", fd, 0, 0) == 28
    assert g.call("fd_advise", GRANT, 0, 0, 0) == 8       # a directory
    assert g.call("fd_allocate", 1, 0, 10) == 8           # stdio
    assert g.call("fd_sync", 0) == 8
    assert g.call("fd_sync", GRANT) == 76                 # a preopen has no FD_SYNC
    sub = g.open(GRANT, "sub", oflags=O_DIRECTORY)
    assert g.call("fd_sync", sub) == 0                    # directories opened by path_open do
