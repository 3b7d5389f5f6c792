"""fd_filestat_get / path_filestat_get / fd_filestat_set_size / *_set_times."""

import os
import time

from wasic_harness import (
    ALL_RIGHTS,
    FST_ATIM,
    FST_ATIM_NOW,
    FST_MTIM,
    FST_MTIM_NOW,
    FT_CHAR,
    FT_DIR,
    FT_REG,
    FT_SYMLINK,
    FT_UNKNOWN,
    GRANT,
    O_DIRECTORY,
)


def same(st, host):
    assert st["dev"] == host.st_dev and st["ino"] == host.st_ino
    assert st["nlink"] == host.st_nlink and st["size"] == host.st_size
    assert st["mtim"] == host.st_mtime_ns and st["atim"] == host.st_atime_ns
    assert st["ctim"] == host.st_ctime_ns


def test_fd_and_path_filestat(sb):
    g = sb.g
    fd = g.open(GRANT, "file")
    same(g.fstat(fd), os.stat(sb.grant / "file"))
    assert g.fstat(fd)["filetype"] == FT_REG
    same(g.stat(GRANT, "file"), os.stat(sb.grant / "file"))
    same(g.stat(GRANT, "sub"), os.stat(sb.grant / "sub"))
    assert g.stat(GRANT, "sub")["filetype"] == FT_DIR
    assert g.fstat(GRANT)["filetype"] == FT_DIR
    same(g.fstat(GRANT), os.stat(sb.grant))
    same(g.stat(GRANT, "."), os.stat(sb.grant))


def test_symlinks(sb):
    os.symlink("file", sb.grant / "link")
    g = sb.g
    assert g.stat(GRANT, "link", follow=False)["filetype"] == FT_SYMLINK
    same(g.stat(GRANT, "link", follow=False), os.lstat(sb.grant / "link"))
    same(g.stat(GRANT, "link"), os.stat(sb.grant / "file"))
    g.stat(GRANT, "missing", expect="NOENT")
    g.stat(GRANT, "file/x", expect="NOTDIR")
    g.stat(GRANT, "", expect="NOENT")
    assert g.call("path_filestat_get", GRANT, 2, *g.path("file"), g.alloc(64)) == 28  # flags


def test_stdio_filestat(guest):
    st = guest.fstat(1)
    assert st["filetype"] in (FT_UNKNOWN, FT_CHAR)
    assert (st["dev"], st["ino"], st["size"], st["mtim"]) == (0, 0, 0, 0)


def test_set_size(sb):
    g = sb.g
    fd = g.open(GRANT, "file", rights=ALL_RIGHTS)
    assert g.call("fd_filestat_set_size", fd, 2) == 0
    assert (sb.grant / "file").read_bytes() == b"he"
    assert g.call("fd_filestat_set_size", fd, 5) == 0
    assert (sb.grant / "file").read_bytes() == b"he\0\0\0"
    assert g.call("fd_filestat_set_size", fd, -1) == 28
    assert g.call("fd_filestat_set_size", GRANT, 0) == 8
    ro = g.open(GRANT, "file")
    assert g.call("fd_filestat_set_size", ro, 0) == 76  # no right


def test_set_times(sb):
    g = sb.g
    fd = g.open(GRANT, "file", rights=ALL_RIGHTS)
    assert g.call("fd_filestat_set_times", fd, 1_000_000_123, 2_000_000_456, FST_ATIM | FST_MTIM) == 0
    st = os.stat(sb.grant / "file")
    assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_123, 2_000_000_456)
    assert g.call("fd_filestat_set_times", fd, 0, 0, FST_MTIM_NOW) == 0
    st = os.stat(sb.grant / "file")
    assert st.st_atime_ns == 1_000_000_123 and abs(st.st_mtime_ns - time.time_ns()) < 5 * 10**9
    assert g.call("fd_filestat_set_times", fd, 0, 0, FST_ATIM | FST_ATIM_NOW) == 28
    assert g.call("fd_filestat_set_times", fd, 0, 0, 0x10) == 28
    g.set_times(GRANT, "sub", 5, 6, FST_ATIM | FST_MTIM)
    st = os.stat(sb.grant / "sub")
    assert (st.st_atime_ns, st.st_mtime_ns) == (5, 6)
    # the preopen itself (an O_PATH handle)
    assert g.call("fd_filestat_set_times", GRANT, 7, 8, FST_ATIM | FST_MTIM) == 0
    assert os.stat(sb.grant).st_mtime_ns == 8
    d = g.open(GRANT, "empty", oflags=O_DIRECTORY)
    assert g.call("fd_filestat_set_times", d, 9, 10, FST_ATIM | FST_MTIM) == 0
    assert os.stat(sb.grant / "empty").st_mtime_ns == 10


def test_set_times_on_links(sb):
    os.symlink("file", sb.grant / "link")
    g = sb.g
    g.set_times(GRANT, "link", 0, 3_000_000_000, FST_MTIM, follow=False)
    assert os.lstat(sb.grant / "link").st_mtime_ns == 3_000_000_000
    assert os.stat(sb.grant / "file").st_mtime_ns != 3_000_000_000
    g.set_times(GRANT, "link", 0, 4_000_000_000, FST_MTIM)
    assert os.stat(sb.grant / "file").st_mtime_ns == 4_000_000_000
