"""fd_readdir: cookies that survive partial reads, over a directory of more than a
thousand entries read through tiny buffers."""

import os
import struct

import pytest
from wasic_harness import FT_DIR, FT_REG, FT_SYMLINK, GRANT, O_DIRECTORY

N = 1100


@pytest.fixture
def big(sb):
    d = sb.grant / "big"
    d.mkdir()
    for i in range(N):
        (d / f"entry-{i:05d}-{'x' * (i % 37)}").write_bytes(b"")
    return sb, sb.g.open(GRANT, "big", oflags=O_DIRECTORY)


def expected(path):
    return sorted([".", ".."] + os.listdir(path))


@pytest.mark.parametrize("buf_len", [24 + 48, 100, 128, 4096, 1 << 16])  # 72: the longest entry
def test_every_entry_once(big, buf_len):
    sb, fd = big
    names = sb.g.readdir_names(fd, buf_len=buf_len)
    assert sorted(names) == expected(sb.grant / "big")
    assert len(names) == N + 2 and names[:2] == [".", ".."]


def test_resume_from_any_cookie(big):
    """Cookie k lists from entry k on, whatever was read before."""
    sb, fd = big
    g = sb.g
    full = g.readdir_names(fd, buf_len=1 << 16)
    buf, used = g.alloc(4096), g.alloc(4)
    for cookie in (1, 2, 500, N, N + 1):
        assert g.call("fd_readdir", fd, buf, 4096, cookie, used) == 0
        name_len = struct.unpack_from("<I", g.bytes(buf + 16, 4))[0]
        assert g.bytes(buf + 24, name_len).decode() == full[cookie]
        d_next = g.u64(buf)
        assert d_next == cookie + 1
    assert g.call("fd_readdir", fd, buf, 4096, N + 2, used) == 0 and g.u32(used) == 0
    assert g.call("fd_readdir", fd, buf, 4096, 10**12, used) == 0 and g.u32(used) == 0


def test_truncated_entry_then_retry(big):
    """A buffer that ends inside an entry returns buf_len; the entry comes whole when
    asked again with the previous d_next."""
    sb, fd = big
    g = sb.g
    buf, used = g.alloc(4096), g.alloc(4)
    assert g.call("fd_readdir", fd, buf, 30, 2, used) == 0 and g.u32(used) == 30
    assert g.call("fd_readdir", fd, buf, 4096, 2, used) == 0
    name_len = struct.unpack_from("<I", g.bytes(buf + 16, 4))[0]
    assert name_len > 6


def parse(data):
    """(name, d_next) of each whole entry."""
    out, off = [], 0
    while off + 24 <= len(data):
        d_next, _, nl, _ = struct.unpack_from("<QQIB", data, off)
        if off + 24 + nl > len(data):
            break
        out.append((data[off + 24:off + 24 + nl], d_next))
        off += 24 + nl
    return out


def test_listing_is_stable_while_the_directory_changes(big):
    """Cookies index the listing taken when it started (cookie 0): deleting entries
    half-way does not shift them."""
    sb, fd = big
    g = sb.g
    buf, used = g.alloc(4096), g.alloc(4)
    assert g.call("fd_readdir", fd, buf, 300, 0, used) == 0
    first = parse(g.bytes(buf, g.u32(used)))
    names, cookie = [n for n, _ in first], first[-1][1]
    for name in sorted(os.listdir(sb.grant / "big"))[:50]:
        os.unlink(sb.grant / "big" / name)
    while True:
        assert g.call("fd_readdir", fd, buf, 4096, cookie, used) == 0
        entries = parse(g.bytes(buf, g.u32(used)))
        names += [n for n, _ in entries]
        if g.u32(used) < 4096:
            break
        cookie = entries[-1][1]
    assert len(names) == len(set(names)) == N + 2


def test_types_and_inodes(sb):
    os.symlink("file", sb.grant / "link")
    g = sb.g
    buf, used = g.alloc(4096), g.alloc(4)
    assert g.call("fd_readdir", GRANT, buf, 4096, 0, used) == 0
    data, off, seen = g.bytes(buf, g.u32(used)), 0, {}
    while off < len(data):
        _, ino, nl, typ = struct.unpack_from("<QQIB", data, off)
        seen[data[off + 24:off + 24 + nl].decode()] = (typ, ino)
        off += 24 + nl
    assert seen["file"] == (FT_REG, os.lstat(sb.grant / "file").st_ino)
    assert seen["sub"] == (FT_DIR, os.lstat(sb.grant / "sub").st_ino)
    assert seen["link"][0] == FT_SYMLINK
    assert seen["."][0] == FT_DIR


def test_errors(sb):
    g = sb.g
    fd = g.open(GRANT, "file")
    buf, used = g.alloc(64), g.alloc(4)
    assert g.call("fd_readdir", fd, buf, 64, 0, used) == 8      # BADF: a file
    assert g.call("fd_readdir", 1, buf, 64, 0, used) == 8
    snapshot = bytes(g.mem)
    assert g.call("fd_readdir", GRANT, g.size - 10, 64, 0, used) == 21
    assert g.call("fd_readdir", GRANT, buf, 64, 0, g.size - 1) == 21
    assert bytes(g.mem) == snapshot
