"""Escape vector: the preopen's parent.  The directory holding a grant is outside
it: unreachable by `..`, by a symlink pointing up (whether the host or the guest
made it), and invisible in listings (the ".." entry reports the grant itself)."""

import os

import pytest
from wasic_harness import GRANT, O_DIRECTORY


@pytest.mark.parametrize("path", ["..", "../", "../grant", "../grant/file", "../ro/file",
                                  "./..", "sub/../.."])
def test_parent_unreachable(sb, path):
    g = sb.g
    g.open(GRANT, path, oflags=O_DIRECTORY if not path.endswith("file") else 0,
           expect="NOTCAPABLE")
    g.stat(GRANT, path, expect="NOTCAPABLE")
    g.stat(GRANT, path, follow=False, expect="NOTCAPABLE")


def test_operations_on_parent_refused(sb):
    g = sb.g
    g.mkdir(GRANT, "..", expect="NOTCAPABLE")
    g.rmdir(GRANT, "..", expect="NOTCAPABLE")
    g.unlink(GRANT, "..", expect="NOTCAPABLE")
    g.rename(GRANT, "..", GRANT, "x", expect="NOTCAPABLE")
    g.set_times(GRANT, "..", 0, 0, 2 | 8, expect="NOTCAPABLE")
    g.set_times(GRANT, "..", 0, 0, 2 | 8, follow=False, expect="NOTCAPABLE")
    g.readlink(GRANT, "..", expect="NOTCAPABLE")
    g.link(GRANT, "file", GRANT, "../planted", expect="NOTCAPABLE")
    assert not (sb.root / "planted").exists()


def test_host_made_link_up_refused(sb):
    os.symlink("..", sb.grant / "up")
    os.symlink("../..", sb.grant / "sub" / "up2")
    g = sb.g
    g.open(GRANT, "up/outside/secret", expect="NOTCAPABLE")
    g.open(GRANT, "sub/up2/outside/secret", expect="NOTCAPABLE")
    g.open(GRANT, "up", oflags=O_DIRECTORY, expect="NOTCAPABLE")


def test_guest_cannot_make_a_link_up(sb):
    g = sb.g
    g.symlink("..", GRANT, "up", expect="NOTCAPABLE")
    g.symlink("../..", GRANT, "sub/up", expect="NOTCAPABLE")
    assert not os.path.lexists(sb.grant / "up") and not os.path.lexists(sb.grant / "sub" / "up")


def test_listing_shows_no_parent(sb):
    """fd_readdir's ".." entry carries the grant's own inode, not its parent's."""
    import struct
    g = sb.g
    buf, used = g.alloc(4096), g.alloc(4)
    assert g.call("fd_readdir", GRANT, buf, 4096, 0, used) == 0
    entries = {}
    data, off = g.bytes(buf, g.u32(used)), 0
    while off < len(data):
        _next, ino, namlen, _t = struct.unpack_from("<QQIB", data, off)
        entries[data[off + 24:off + 24 + namlen].decode()] = ino
        off += 24 + namlen
    own = os.stat(sb.grant).st_ino
    assert entries["."] == own and entries[".."] == own
    assert os.stat(sb.root).st_ino not in entries.values()
