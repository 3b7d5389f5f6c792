"""path_* functions doing their ordinary work, and their ordinary errors."""

import os

from wasic_harness import (
    ALL_RIGHTS,
    FT_DIR,
    GRANT,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_TRUNC,
    OTHER,
    READ_RIGHTS,
    RIGHTS,
)


def test_open_create_exclusive_truncate(sb):
    g = sb.g
    fd = g.open(GRANT, "new", oflags=O_CREAT | O_EXCL, rights=ALL_RIGHTS)
    g.write(fd, b"data")
    assert (sb.grant / "new").read_bytes() == b"data"
    assert oct(os.stat(sb.grant / "new").st_mode & 0o777) == oct(0o666 & ~current_umask())
    g.open(GRANT, "new", oflags=O_CREAT | O_EXCL, rights=ALL_RIGHTS, expect="EXIST")
    g.open(GRANT, "new", oflags=O_TRUNC, rights=ALL_RIGHTS)
    assert (sb.grant / "new").read_bytes() == b""
    g.open(GRANT, "missing", expect="NOENT")
    g.open(GRANT, "file", oflags=O_DIRECTORY, expect="NOTDIR")
    g.open(GRANT, "sub", rights=ALL_RIGHTS, expect="ISDIR")  # write access to a directory
    # ... with O_DIRECTORY too (wasi-testsuite path_open_preopen); nothing is opened.
    g.open(GRANT, "sub", oflags=O_DIRECTORY, rights=ALL_RIGHTS, expect="ISDIR")
    g.open(GRANT, "sub", oflags=O_DIRECTORY, rights=RIGHTS["FD_WRITE"], expect="ISDIR")
    g.open(GRANT, "sub", oflags=O_DIRECTORY | O_CREAT, expect="INVAL")
    assert g.fdstat(g.open(GRANT, "sub", rights=READ_RIGHTS))["filetype"] == FT_DIR


def current_umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_open_argument_errors(sb):
    g = sb.g
    fd = g.open(GRANT, "file")
    g.open(fd, "x", expect="NOTDIR")          # not a directory fd
    g.open(1, "x", expect="BADF")
    g.open(99, "x", expect="BADF")
    g.open(GRANT, b"\xff\xfe", expect="ILSEQ")  # not UTF-8
    g.open(GRANT, b"fi\0le", expect="INVAL")   # a NUL inside
    g.open(GRANT, "a" * 5000, expect="NAMETOOLONG")
    g.open(GRANT, "", expect="NOENT")
    g.open(GRANT, "x" * 300, expect="NAMETOOLONG")  # one component > NAME_MAX
    p, n = g.path("file")
    out = g.alloc(4)
    assert g.call("path_open", GRANT, 2, p, n, 0, 0, 0, 0, out) == 28       # lookupflags
    assert g.call("path_open", GRANT, 1, p, n, 0x10, 0, 0, 0, out) == 28    # oflags
    assert g.call("path_open", GRANT, 1, p, n, 0, 0, 0, 0x20, out) == 28    # fdflags
    assert g.call("path_open", GRANT, 1, p, n, 0, 0, 0, 0, g.size - 3) == 21
    assert sb.lib.harness_host_fd(g.open(GRANT, "é🎉", oflags=O_CREAT, rights=ALL_RIGHTS)) >= 0
    assert (sb.grant / "é🎉").exists()


def test_mkdir_rmdir(sb):
    g = sb.g
    g.mkdir(GRANT, "d")
    g.mkdir(GRANT, "d/e")
    g.mkdir(GRANT, "d", expect="EXIST")
    g.mkdir(GRANT, ".", expect="EXIST")
    g.mkdir(GRANT, "x/y", expect="NOENT")
    g.rmdir(GRANT, "d", expect="NOTEMPTY")
    g.rmdir(GRANT, "d/e")
    g.rmdir(GRANT, "d")
    g.rmdir(GRANT, "file", expect="NOTDIR")
    g.rmdir(GRANT, ".", expect="INVAL")
    assert not (sb.grant / "d").exists()


def test_unlink(sb):
    g = sb.g
    os.symlink("file", sb.grant / "link")
    g.unlink(GRANT, "link")
    assert (sb.grant / "file").exists() and not os.path.lexists(sb.grant / "link")
    g.unlink(GRANT, "sub", expect="ISDIR")
    g.unlink(GRANT, "missing", expect="NOENT")
    g.unlink(GRANT, "file")
    assert not (sb.grant / "file").exists()


def test_rename(sb):
    g = sb.g
    g.rename(GRANT, "file", GRANT, "sub/moved")
    assert (sb.grant / "sub" / "moved").read_bytes() == b"hello"
    g.rename(GRANT, "sub/moved", GRANT, "sub/inner")  # replaces a file
    assert (sb.grant / "sub" / "inner").read_bytes() == b"hello"
    g.rename(GRANT, "empty", GRANT, "sub", expect="NOTEMPTY")
    g.rename(GRANT, "empty", GRANT, "sub/inner", expect="NOTDIR")
    g.mkdir(GRANT, "e2")
    g.rename(GRANT, "e2", GRANT, "empty")  # replaces an empty directory
    assert not (sb.grant / "e2").exists()
    g.rename(GRANT, "missing", GRANT, "x", expect="NOENT")
    g.rename(GRANT, "sub", GRANT, "sub/inside", expect="INVAL")  # into itself


def test_link(sb):
    g = sb.g
    g.link(GRANT, "file", GRANT, "sub/hard")
    assert os.path.samefile(sb.grant / "file", sb.grant / "sub" / "hard")
    assert g.stat(GRANT, "file")["nlink"] == 2
    g.link(GRANT, "file", GRANT, "sub/hard", expect="EXIST")
    g.link(GRANT, "sub", GRANT, "dirlink", expect="PERM")
    g.link(GRANT, "file", OTHER, "x")


def test_symlink_readlink(sb):
    g = sb.g
    g.symlink("sub/inner", GRANT, "l")
    assert g.readlink(GRANT, "l") == b"sub/inner"
    assert g.read(g.open(GRANT, "l"), 10) == b"inner"
    assert g.readlink(GRANT, "l", size=3) == b"sub"     # cut at the buffer, as wasmtime
    g.readlink(GRANT, "file", expect="INVAL")
    g.readlink(GRANT, ".", expect="INVAL")
    g.readlink(GRANT, "missing", expect="NOENT")
    g.symlink("x", GRANT, "l", expect="EXIST")
    p, n = g.path("l")
    assert g.call("path_readlink", GRANT, p, n, g.size - 2, 10, g.alloc(4)) == 21


def test_paths_from_subdirectory_fds(sb):
    g = sb.g
    sub = g.open(GRANT, "sub", oflags=O_DIRECTORY)
    assert g.read(g.open(sub, "inner"), 10) == b"inner"
    g.mkdir(sub, "made")
    assert (sb.grant / "sub" / "made").is_dir()
    assert sorted(g.readdir_names(sub)) == [".", "..", "inner", "made"]
