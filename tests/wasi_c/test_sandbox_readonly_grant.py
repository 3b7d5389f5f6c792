"""Escape vector: a read-only grant.  It refuses every write, create, truncate,
rename, link, unlink, symlink, mkdir, rmdir and set-times -- through its own fd,
through directories and files opened beneath it, and whatever rights the guest asks
for -- while reading works."""

import os
import struct
from pathlib import Path

import pytest
from wasic_harness import (
    ALL_RIGHTS,
    FST_MTIM,
    GRANT,
    O_CREAT,
    O_DIRECTORY,
    O_TRUNC,
    READ_RIGHTS,
    RIGHTS,
    RO,
)

# Everything a directory may be asked for but FD_WRITE (which a read-only grant
# refuses at the open, and a directory answers with ISDIR anywhere).
NO_WRITE = ALL_RIGHTS & ~RIGHTS["FD_WRITE"]


def snapshot(path):
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink,
                      Path(p).read_bytes() if os.path.isfile(p) else None)
    return out


@pytest.fixture
def ro(sb):
    before = snapshot(sb.ro)
    yield sb
    assert snapshot(sb.ro) == before, "the read-only grant changed"


def file_fd(g):
    return g.open(RO, "file", rights=ALL_RIGHTS & ~RIGHTS["FD_WRITE"])


WRITE_OPS = {
    "open_for_write": lambda g: g.open(RO, "file", rights=ALL_RIGHTS, expect="NOTCAPABLE"),
    "open_write_only": lambda g: g.open(RO, "file", rights=RIGHTS["FD_WRITE"], expect="NOTCAPABLE"),
    "create": lambda g: g.open(RO, "new", oflags=O_CREAT, rights=READ_RIGHTS, expect="NOTCAPABLE"),
    "truncate": lambda g: g.open(RO, "file", oflags=O_TRUNC, rights=READ_RIGHTS, expect="NOTCAPABLE"),
    "mkdir": lambda g: g.mkdir(RO, "newdir", expect="NOTCAPABLE"),
    "rmdir": lambda g: g.rmdir(RO, "sub", expect="NOTCAPABLE"),
    "unlink": lambda g: g.unlink(RO, "file", expect="NOTCAPABLE"),
    "rename_within": lambda g: g.rename(RO, "file", RO, "moved", expect="NOTCAPABLE"),
    "rename_out": lambda g: g.rename(RO, "file", GRANT, "moved", expect="NOTCAPABLE"),
    "rename_in": lambda g: g.rename(GRANT, "file", RO, "moved", expect="NOTCAPABLE"),
    "link_out": lambda g: g.link(RO, "file", GRANT, "writable", expect="NOTCAPABLE"),
    "link_in": lambda g: g.link(GRANT, "file", RO, "planted", expect="NOTCAPABLE"),
    "symlink": lambda g: g.symlink("file", RO, "link", expect="NOTCAPABLE"),
    "path_set_times": lambda g: g.set_times(RO, "file", 0, 5, FST_MTIM, expect="NOTCAPABLE"),
    "path_set_times_nofollow": lambda g: g.set_times(RO, "file", 0, 5, FST_MTIM, follow=False,
                                                     expect="NOTCAPABLE"),
    "fd_set_times_on_grant": lambda g: g._check(
        "fd_filestat_set_times", g.call("fd_filestat_set_times", RO, 0, 5, FST_MTIM), "NOTCAPABLE"),
    "fd_write": lambda g: g.write(file_fd(g), b"x", expect="NOTCAPABLE"),
    "fd_pwrite": lambda g: g._check("fd_pwrite", g.call("fd_pwrite", file_fd(g), *g.iovs(
        [(g.put(b"x"), 1)]), 0, g.alloc(4)), "NOTCAPABLE"),
    "fd_set_size": lambda g: g._check(
        "fd_filestat_set_size", g.call("fd_filestat_set_size", file_fd(g), 0), "NOTCAPABLE"),
    "fd_allocate": lambda g: g._check(
        "fd_allocate", g.call("fd_allocate", file_fd(g), 0, 100), "NOTCAPABLE"),
    "fd_file_set_times": lambda g: g._check(
        "fd_filestat_set_times", g.call("fd_filestat_set_times", file_fd(g), 0, 5, FST_MTIM),
        "NOTCAPABLE"),
    "regain_rights": lambda g: g._check(
        "fd_fdstat_set_rights", g.call("fd_fdstat_set_rights", RO, ALL_RIGHTS, ALL_RIGHTS),
        "NOTCAPABLE"),
    "subdir_create": lambda g: g.open(g.open(RO, "sub", oflags=O_DIRECTORY), "new",
                                      oflags=O_CREAT, rights=ALL_RIGHTS, expect="NOTCAPABLE"),
    "subdir_mkdir": lambda g: g.mkdir(g.open(RO, "sub", oflags=O_DIRECTORY, rights=NO_WRITE,
                                             inheriting=ALL_RIGHTS), "x", expect="NOTCAPABLE"),
    "opendir_for_writing": lambda g: g.open(RO, "sub", oflags=O_DIRECTORY, rights=ALL_RIGHTS,
                                            expect="NOTCAPABLE"),
    "subdir_write": lambda g: g.open(g.open(RO, "sub", oflags=O_DIRECTORY, inheriting=ALL_RIGHTS),
                                     "../file", rights=ALL_RIGHTS, expect="NOTCAPABLE"),
}


@pytest.mark.parametrize("op", sorted(WRITE_OPS))
def test_write_operation_refused(ro, op):
    WRITE_OPS[op](ro.g)


def test_reading_works(ro):
    g = ro.g
    fd = g.open(RO, "file")
    assert g.read(fd, 100) == b"ro data"
    assert g.stat(RO, "file")["size"] == 7
    assert sorted(g.readdir_names(RO)) == [".", "..", "file", "sub"]
    fdstat = g.fdstat(RO)
    assert fdstat["base"] & RIGHTS["PATH_OPEN"] and fdstat["base"] & RIGHTS["FD_READDIR"]
    assert not fdstat["base"] & RIGHTS["PATH_CREATE_FILE"]


def test_rights_reported_have_no_mutating_right(ro):
    mutating = sum(RIGHTS[n] for n in (
        "FD_WRITE", "FD_ALLOCATE", "FD_FILESTAT_SET_SIZE", "FD_FILESTAT_SET_TIMES",
        "PATH_CREATE_DIRECTORY", "PATH_CREATE_FILE", "PATH_LINK_SOURCE", "PATH_LINK_TARGET",
        "PATH_RENAME_SOURCE", "PATH_RENAME_TARGET", "PATH_FILESTAT_SET_SIZE",
        "PATH_FILESTAT_SET_TIMES", "PATH_SYMLINK", "PATH_REMOVE_DIRECTORY", "PATH_UNLINK_FILE"))
    g = ro.g
    for fd in (RO, g.open(RO, "sub", oflags=O_DIRECTORY, rights=NO_WRITE, inheriting=ALL_RIGHTS),
               g.open(RO, "file", rights=READ_RIGHTS)):
        assert g.fdstat(fd)["base"] & mutating == 0
    assert struct.calcsize("<Q") == 8
