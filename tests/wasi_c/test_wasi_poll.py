"""poll_oneoff: clock subscriptions (relative, absolute, both clocks), fd
subscriptions (files always ready, pipes and sockets when they are), timeouts."""

import os
import socket
import struct
import time

from wasic_harness import ALL_RIGHTS, GRANT, O_CREAT, Context, Guest

REALTIME, MONOTONIC = 0, 1
CLOCK, FD_READ, FD_WRITE = 0, 1, 2


def clock_sub(userdata, timeout, clock=MONOTONIC, abstime=False):
    return struct.pack("<QB7xIxxxxQQH6x", userdata, CLOCK, clock, timeout, 0, 1 if abstime else 0)


def fd_sub(userdata, tag, fd):
    return struct.pack("<QB7xI28x", userdata, tag, fd)


def poll(g, subs, expect=0):
    data = b"".join(subs)
    assert len(data) == 48 * len(subs)
    sp = g.put(data)
    ev = g.alloc(32 * max(len(subs), 1))
    nev = g.alloc(4)
    err = g.call("poll_oneoff", sp, ev, len(subs), nev)
    assert err == expect
    if err:
        return None
    out = []
    for k in range(g.u32(nev)):
        userdata, error, typ, nbytes, flags = struct.unpack_from("<QHB5xQH6x", g.mem, ev + 32 * k)
        out.append({"userdata": userdata, "error": error, "type": typ, "nbytes": nbytes,
                    "flags": flags})
    return out


def test_relative_timeout(guest):
    t = time.monotonic()
    events = poll(guest, [clock_sub(7, 50_000_000)])
    assert time.monotonic() - t >= 0.05
    assert events == [{"userdata": 7, "error": 0, "type": CLOCK, "nbytes": 0, "flags": 0}]


def test_earliest_clock_wins(guest):
    t = time.monotonic()
    events = poll(guest, [clock_sub(1, 2_000_000_000), clock_sub(2, 30_000_000),
                          clock_sub(3, 40_000_000, clock=REALTIME)])
    elapsed = time.monotonic() - t
    assert 0.03 <= elapsed < 1.5
    assert [e["userdata"] for e in events] == [2]


def test_absolute_deadlines(guest):
    t = time.monotonic()
    now_mono = time.monotonic_ns()
    events = poll(guest, [clock_sub(1, now_mono + 40_000_000, abstime=True)])
    assert time.monotonic() - t >= 0.035 and events[0]["userdata"] == 1
    t = time.monotonic()
    events = poll(guest, [clock_sub(2, time.time_ns() + 40_000_000, REALTIME, abstime=True)])
    assert time.monotonic() - t >= 0.03 and events[0]["userdata"] == 2
    events = poll(guest, [clock_sub(3, 0, abstime=True)])  # in the past: at once
    assert events[0]["userdata"] == 3


def test_zero_timeout_returns_at_once(guest):
    t = time.monotonic()
    assert poll(guest, [clock_sub(9, 0)])[0]["userdata"] == 9
    assert time.monotonic() - t < 0.5


def test_regular_files_are_always_ready(sb):
    g = sb.g
    fd = g.open(GRANT, "file")
    t = time.monotonic()
    events = poll(g, [clock_sub(1, 5_000_000_000), fd_sub(2, FD_READ, fd)])
    assert time.monotonic() - t < 1
    assert [(e["userdata"], e["type"], e["nbytes"], e["flags"]) for e in events] == [(2, FD_READ, 1, 0)]
    g.read(fd, 100)  # at the end now: HANGUP, as wasmtime
    assert poll(g, [fd_sub(2, FD_READ, fd)])[0]["flags"] == 1
    w = g.open(GRANT, "w", oflags=O_CREAT, rights=ALL_RIGHTS)
    assert poll(g, [fd_sub(3, FD_WRITE, w)])[0]["type"] == FD_WRITE


def test_stdin_pipe_and_stdout(guest):
    r, w = os.pipe()
    saved = os.dup(0)
    try:
        os.dup2(r, 0)
        t = time.monotonic()
        events = poll(guest, [fd_sub(1, FD_READ, 0), clock_sub(2, 50_000_000)])
        assert time.monotonic() - t >= 0.045
        assert [e["userdata"] for e in events] == [2]  # nothing to read: the clock fired
        os.write(w, b"x")
        events = poll(guest, [fd_sub(1, FD_READ, 0), clock_sub(2, 5_000_000_000)])
        assert [e["userdata"] for e in events] == [1]
        os.close(w)
        guest.read(0, 1)
        events = poll(guest, [fd_sub(1, FD_READ, 0)])
        assert events[0]["flags"] == 1  # writer gone: HANGUP
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(r)


def test_errors(sb):
    g = sb.g
    assert poll(g, [], expect=28) is None                      # nothing to wait for
    assert poll(g, [fd_sub(1, FD_READ, 77)], expect=8) is None  # not open
    assert poll(g, [fd_sub(1, FD_READ, GRANT)], expect=8) is None  # a directory
    assert poll(g, [fd_sub(1, FD_WRITE, 0)], expect=8) is None  # stdin for writing
    assert poll(g, [clock_sub(1, 0, clock=2)], expect=28) is None  # a CPU-time clock
    assert poll(g, [struct.pack("<QB39x", 1, 3)], expect=28) is None  # unknown tag
    assert poll(g, [struct.pack("<QB7xIxxxxQQH6x", 1, 0, 1, 0, 0, 2)], expect=28) is None
    snapshot = bytes(g.mem)
    assert g.call("poll_oneoff", g.size - 40, 0, 1, 100) == 21
    assert g.call("poll_oneoff", 0, g.size - 20, 1, 100) == 21
    assert g.call("poll_oneoff", 0, 100, 1, g.size - 2) == 21
    assert g.call("poll_oneoff", 0, 100, 0x7FFFFFFF, 200) == 21
    assert bytes(g.mem) == snapshot


def test_socket_readiness(wasic_libs):
    lib = wasic_libs["openat2"]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    ctx = Context(lib, listen=[os.dup(srv.fileno())])
    assert ctx.status == 0, ctx.error
    g = Guest(lib)
    try:
        events = poll(g, [fd_sub(1, FD_READ, 3), clock_sub(2, 20_000_000)])
        assert [e["userdata"] for e in events] == [2]  # nobody connecting
        client = socket.create_connection(srv.getsockname())
        events = poll(g, [fd_sub(1, FD_READ, 3), clock_sub(2, 5_000_000_000)])
        assert [e["userdata"] for e in events] == [1]
        out = g.alloc(4)
        assert g.call("sock_accept", 3, 0, out) == 0
        conn = g.u32(out)
        events = poll(g, [fd_sub(1, FD_READ, conn), fd_sub(2, FD_WRITE, conn)])
        assert [e["userdata"] for e in events] == [2]
        client.sendall(b"12345")
        time.sleep(0.01)
        events = poll(g, [fd_sub(1, FD_READ, conn)])
        assert events[0]["nbytes"] == 5
        client.close()
    finally:
        lib.wasmaot_wasi_shutdown()
        g.free()
        srv.close()
