"""fd_read / fd_write / fd_pread / fd_pwrite / fd_seek / fd_tell, append mode,
large files (offsets past 4 GiB on a sparse file), and stdio as streams."""

import os
import struct

from wasic_harness import ALL_RIGHTS, FD_APPEND, GRANT, O_CREAT, O_DIRECTORY, O_TRUNC

SET, CUR, END = 0, 1, 2


def new_file(sb, name="f", data=b"", fdflags=0):
    fd = sb.g.open(GRANT, name, oflags=O_CREAT | O_TRUNC, rights=ALL_RIGHTS, fdflags=fdflags)
    if data:
        assert sb.g.write(fd, data) == len(data)
    return fd


def test_write_read_seek_tell(sb):
    g = sb.g
    fd = new_file(sb, data=b"hello world")
    assert g.seek(fd, 0, CUR) == 11
    assert g.seek(fd, 6, SET) == 6
    assert g.read(fd, 100) == b"world"
    assert g.read(fd, 100) == b""  # end of file
    assert g.seek(fd, -5, END) == 6
    out = g.alloc(8)
    assert g.call("fd_tell", fd, out) == 0 and g.u64(out) == 6
    assert g.seek(fd, -100, CUR, expect="INVAL") == -28  # before the start
    assert g.seek(fd, 0, 3, expect="INVAL") == -28       # unknown whence
    assert (sb.grant / "f").read_bytes() == b"hello world"


def test_vectored(sb):
    g = sb.g
    fd = new_file(sb)
    a, b = g.put(b"abc"), g.put(b"defgh")
    iov, n = g.iovs([(a, 3), (b, 0), (b, 5)])
    out = g.alloc(4)
    assert g.call("fd_write", fd, iov, n, out) == 0 and g.u32(out) == 8
    g.seek(fd, 0, SET)
    x, y = g.alloc(2), g.alloc(10)
    iov, n = g.iovs([(x, 2), (y, 10)])
    assert g.call("fd_read", fd, iov, n, out) == 0 and g.u32(out) == 8
    assert g.bytes(x, 2) + g.bytes(y, 6) == b"abcdefgh"
    assert g.call("fd_read", fd, iov, 0, out) == 0 and g.u32(out) == 0  # no buffers


def test_pread_pwrite_keep_the_position(sb):
    g = sb.g
    fd = new_file(sb, data=b"0123456789")
    g.seek(fd, 2, SET)
    buf = g.alloc(4)
    iov, n = g.iovs([(buf, 4)])
    out = g.alloc(4)
    assert g.call("fd_pread", fd, iov, n, 5, out) == 0 and g.bytes(buf, 4) == b"5678"
    data = g.put(b"XY")
    iov, n = g.iovs([(data, 2)])
    assert g.call("fd_pwrite", fd, iov, n, 8, out) == 0 and g.u32(out) == 2
    assert g.seek(fd, 0, CUR) == 2
    assert (sb.grant / "f").read_bytes() == b"01234567XY"
    assert g.call("fd_pread", fd, iov, n, -1, out) == 28  # offset >= 2^63


def test_append(sb):
    g = sb.g
    fd = new_file(sb, data=b"start", fdflags=FD_APPEND)
    g.seek(fd, 0, SET)
    g.write(fd, b"+end")
    data = g.put(b"!")
    iov, n = g.iovs([(data, 1)])
    assert g.call("fd_pwrite", fd, iov, n, 0, g.alloc(4)) == 0  # appends (Linux pwrite)
    assert (sb.grant / "f").read_bytes() == b"start+end!"


def test_large_offsets_past_4gib(sb):
    """A sparse file with data past 5 GiB: positions and pread/pwrite offsets are 64-bit."""
    g = sb.g
    fd = new_file(sb)
    off = 5 * 2**30 + 123
    data = g.put(b"far away")
    iov, n = g.iovs([(data, 8)])
    out = g.alloc(4)
    assert g.call("fd_pwrite", fd, iov, n, off, out) == 0 and g.u32(out) == 8
    assert os.path.getsize(sb.grant / "f") == off + 8
    assert g.fstat(fd)["size"] == off + 8
    assert g.seek(fd, off + 4, SET) == off + 4
    assert g.read(fd, 100) == b"away"
    t = g.alloc(8)
    assert g.call("fd_tell", fd, t) == 0 and g.u64(t) == off + 8
    buf = g.alloc(8)
    iov, n = g.iovs([(buf, 8)])
    assert g.call("fd_pread", fd, iov, n, off, out) == 0 and g.bytes(buf, 8) == b"far away"
    assert g.seek(fd, -8, END) == off
    assert g.call("fd_filestat_set_size", fd, 2**33) == 0
    assert g.stat(GRANT, "f")["size"] == 2**33


def test_stdio_is_a_stream(guest):
    g = guest
    assert g.seek(0, 0, CUR, expect="SPIPE") == -70
    assert g.seek(1, 0, SET, expect="SPIPE") == -70
    assert g.call("fd_tell", 2, g.alloc(8)) == 70
    iov, n = g.iovs([(g.alloc(4), 4)])
    assert g.call("fd_pread", 0, iov, n, 0, g.alloc(4)) == 70
    assert g.call("fd_pwrite", 1, iov, n, 0, g.alloc(4)) == 70
    assert g.call("fd_write", 0, iov, n, g.alloc(4)) == 8   # BADF: stdin is not writable
    assert g.call("fd_read", 1, iov, n, g.alloc(4)) == 8    # nor stdout readable


def test_stdout_write_reaches_the_host(guest, capfd):
    assert guest.write(1, b"to stdout\n") == 10
    assert guest.write(2, b"to stderr\n") == 10
    out, err = capfd.readouterr()
    assert out == "to stdout\n" and err == "to stderr\n"


def test_stdin_from_a_pipe(guest):
    r, w = os.pipe()
    saved = os.dup(0)
    try:
        os.dup2(r, 0)
        os.write(w, b"piped input")
        os.close(w)
        assert guest.read(0, 5) == b"piped"
        assert guest.read(0, 100) == b" input"
        assert guest.read(0, 100) == b""
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(r)


def test_directories_are_not_files(sb):
    g = sb.g
    d = g.open(GRANT, "sub", oflags=O_DIRECTORY)
    iov, n = g.iovs([(g.alloc(4), 4)])
    assert g.call("fd_read", d, iov, n, g.alloc(4)) == 8    # BADF
    assert g.call("fd_write", d, iov, n, g.alloc(4)) == 8
    assert g.seek(d, 0, SET, expect="BADF") == -8
    assert g.call("fd_read", 99, iov, n, g.alloc(4)) == 8


def test_rights_are_enforced(sb):
    g = sb.g
    fd = g.open(GRANT, "file")  # read rights only: host fd O_RDONLY
    assert g.write(fd, b"x", expect="NOTCAPABLE") == -76
    assert (sb.grant / "file").read_bytes() == b"hello"
    assert struct.calcsize("<Q") == 8
