"""sock_accept / sock_recv / sock_send / sock_shutdown on granted listeners, and
fd_read / fd_write on the connections (wasmtime's --tcplisten model)."""

import os
import socket
import struct
import threading

import pytest
from wasic_harness import FD_NONBLOCK, FT_STREAM, RIGHTS, Context, Guest


@pytest.fixture
def net(wasic_libs, tmp_path):
    lib = wasic_libs["openat2"]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    (tmp_path / "d").mkdir()
    ctx = Context(lib, preopens=[(tmp_path / "d", "/d")],
                  listen=[os.dup(srv.fileno()), "127.0.0.1:0"])
    assert ctx.status == 0, ctx.error
    g = Guest(lib)
    yield g, srv.getsockname(), lib
    lib.wasmaot_wasi_shutdown()
    g.free()
    srv.close()


def accept(g, fd=4, flags=0, expect=0):
    out = g.alloc(4)
    err = g.call("sock_accept", fd, flags, out)
    assert err == expect
    return g.u32(out) if err == 0 else None


def test_listeners_follow_the_preopens(net):
    g, _, lib = net
    assert g.fdstat(4)["filetype"] == FT_STREAM and g.fdstat(5)["filetype"] == FT_STREAM
    assert g.fdstat(4)["base"] & RIGHTS["SOCK_ACCEPT"]
    out = g.alloc(8)
    assert g.call("fd_prestat_get", 4, out) == 8  # wasi-libc's preopen scan stops here
    bound = socket.socket(fileno=os.dup(lib.harness_host_fd(5)))
    assert bound.getsockname()[0] == "127.0.0.1" and bound.getsockname()[1] > 0
    bound.detach()


def test_accept_recv_send_shutdown(net):
    g, addr, _ = net
    client = socket.create_connection(addr)
    conn = accept(g)
    assert g.fdstat(conn)["filetype"] == FT_STREAM
    client.sendall(b"ping!")
    buf = g.alloc(16)
    iov, n = g.iovs([(buf, 2), (buf + 8, 3)])
    dlen, flags = g.alloc(4), g.alloc(4)
    assert g.call("sock_recv", conn, iov, n, 2, dlen, flags) == 0  # RECV_WAITALL: all 5
    assert g.u32(dlen) == 5 and g.bytes(buf, 2) + g.bytes(buf + 8, 3) == b"ping!"
    assert g.u16(flags) == 0
    data = g.put(b"pong")
    iov, n = g.iovs([(data, 4)])
    assert g.call("sock_send", conn, iov, n, 0, dlen) == 0 and g.u32(dlen) == 4
    assert client.recv(10) == b"pong"
    assert g.write(conn, b" via fd_write") == 13
    assert client.recv(100) == b" via fd_write"
    client.sendall(b"peek")
    iov, n = g.iovs([(buf, 16)])
    assert g.call("sock_recv", conn, iov, n, 1, dlen, flags) == 0 and g.u32(dlen) == 4  # PEEK
    assert g.read(conn, 16) == b"peek"
    assert g.call("sock_shutdown", conn, 2) == 0  # WR
    assert client.recv(10) == b""
    assert g.call("sock_shutdown", conn, 0) == 28
    assert g.call("sock_shutdown", conn, 4) == 28
    client.close()
    assert g.call("sock_recv", conn, iov, n, 0, dlen, flags) == 0 and g.u32(dlen) == 0  # EOF
    g.close(conn)


def test_nonblocking(net):
    g, addr, _ = net
    assert g.call("fd_fdstat_set_flags", 4, FD_NONBLOCK) == 0
    accept(g, expect=6)  # AGAIN: nobody is connecting
    client = socket.create_connection(addr)
    conn = None
    for _ in range(100):
        out = g.alloc(4)
        if g.call("sock_accept", 4, FD_NONBLOCK, out) == 0:
            conn = g.u32(out)
            break
        threading.Event().wait(0.01)
    assert conn is not None
    assert g.fdstat(conn)["flags"] & FD_NONBLOCK
    iov, n = g.iovs([(g.alloc(8), 8)])
    assert g.call("sock_recv", conn, iov, n, 0, g.alloc(4), g.alloc(4)) == 6  # AGAIN
    client.close()


def test_errors(net):
    g, addr, _ = net
    accept(g, fd=3, expect=57)          # a directory: NOTSOCK
    accept(g, fd=1, expect=57)
    accept(g, fd=99, expect=8)
    accept(g, flags=1, expect=28)       # only NONBLOCK is allowed
    iov, n = g.iovs([(g.alloc(8), 8)])
    assert g.call("sock_recv", 4, iov, n, 0, g.alloc(4), g.alloc(4)) == 53  # a listener: NOTCONN
    assert g.call("sock_send", 1, iov, n, 0, g.alloc(4)) == 57
    assert g.call("sock_shutdown", 0, 3) == 57
    client = socket.create_connection(addr)
    conn = accept(g)
    assert g.call("sock_recv", conn, iov, n, 4, g.alloc(4), g.alloc(4)) == 28  # flags
    assert g.call("sock_send", conn, iov, n, 1, g.alloc(4)) == 28
    client.close()


def test_bad_listen_grants(wasic_libs):
    lib = wasic_libs["openat2"]
    # (no host names: resolving one would need DNS)
    for bad, msg in (("nonsense", "HOST:PORT"), (":80", "HOST:PORT"), ("127.0.0.1:", "HOST:PORT"),
                     ("192.0.2.1:80", "cannot listen")):
        ctx = Context(lib, listen=[bad])
        assert ctx.status == -1 and msg in ctx.error, ctx.error
    r, w = os.pipe()
    ctx = Context(lib, listen=[r])
    assert ctx.status == -1 and "not a listening socket" in ctx.error
    os.close(r)
    os.close(w)
    ctx = Context(lib, preopens=[("/nonexistent/dir", "/x")])
    assert ctx.status == -1 and "/nonexistent/dir" in ctx.error
    lib.wasmaot_wasi_shutdown()
    assert struct.calcsize("<I") == 4


def test_ipv6_listen(wasic_libs):
    lib = wasic_libs["openat2"]
    ctx = Context(lib, listen=["[::1]:0"])
    if ctx.status != 0:
        pytest.skip(f"no IPv6 loopback here: {ctx.error}")
    g = Guest(lib)
    try:
        assert g.fdstat(3)["filetype"] == FT_STREAM
    finally:
        lib.wasmaot_wasi_shutdown()
        g.free()
