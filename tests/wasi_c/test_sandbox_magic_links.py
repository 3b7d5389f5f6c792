"""Escape vector: /proc-style magic links.  If a grant contains /proc, its
`self/fd/N`, `self/cwd` and `self/root` links jump to any open file or to the host's
root regardless of the tree.  openat2 refuses them (RESOLVE_NO_MAGICLINKS); the
manual resolver reads them as text, which is absolute (refused) or names nothing."""

import os

import pytest
from wasic_harness import GRANT, O_DIRECTORY, Context, Guest


@pytest.fixture
def proc_grant(lib, tmp_path):
    (tmp_path / "secret").write_bytes(b"SECRET")
    ctx = Context(lib, preopens=[("/proc/self", "/p")])
    assert ctx.status == 0, ctx.error
    g = Guest(lib)
    yield g, tmp_path
    lib.wasmaot_wasi_shutdown()
    g.free()


def test_fd_links_refused(proc_grant):
    g, tmp = proc_grant
    outside = os.open(tmp / "secret", os.O_RDONLY)
    try:
        code = g.call("path_open", GRANT, 1, *g.path(f"fd/{outside}"), 0, 2, 2, 0, g.alloc(4))
        assert code in (32, 76, 44), code  # LOOP (openat2), NOTCAPABLE / NOENT (manual)
    finally:
        os.close(outside)


@pytest.mark.parametrize("path", ["root/etc/passwd", "cwd", "root", "exe"])
def test_root_cwd_exe_refused(proc_grant, path):
    g, _ = proc_grant
    code = g.call("path_open", GRANT, 1, *g.path(path), 0, 2, 2, 0, g.alloc(4))
    assert code in (32, 76), code  # LOOP (openat2) or NOTCAPABLE (absolute target)
    code = g.call("path_open", GRANT, 1, *g.path(path), O_DIRECTORY, 2, 2, 0, g.alloc(4))
    assert code in (32, 76), code


def test_plain_files_in_proc_readable(proc_grant):
    g, _ = proc_grant
    fd = g.open(GRANT, "status")
    assert g.read(fd, 5) == b"Name:"
