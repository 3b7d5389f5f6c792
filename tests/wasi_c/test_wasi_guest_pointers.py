"""Bad guest pointers: every pointer argument of every function is checked against
memory 0 before use.  Out-of-range pointers and lengths (at the end of memory, past
it, wrapping around 2^32, and an instance with no memory at all) give FAULT, change
nothing in guest memory, and touch no host memory (memory 0 lies between
inaccessible guard regions: a stray access would crash the test process)."""

import pytest
from wasic_harness import ALL_RIGHTS, GRANT, O_CREAT, Context, Guest, wasi_table

END = "END"  # placeholder: the last byte of memory


# For each function: a call with valid arguments except that the argument named by
# `bad` is replaced.  Pointers named *_ptr are result pointers.
def calls(g):
    path, plen = g.path("file")
    new, nlen = g.path("newname")
    iov, icnt = g.iovs([(g.alloc(16), 16)])
    sub = g.put(bytes(48))
    fd = 7  # opened by the fixture: grant/file, all rights
    return {
        "args_get": ({"argv": g.alloc(64), "argv_buf": g.alloc(64)}, ["argv", "argv_buf"]),
        "args_sizes_get": ({"argc_ptr": g.alloc(4), "argv_buf_size_ptr": g.alloc(4)},
                           ["argc_ptr", "argv_buf_size_ptr"]),
        "environ_get": ({"environ": g.alloc(64), "environ_buf": g.alloc(64)}, ["environ", "environ_buf"]),
        "environ_sizes_get": ({"environc_ptr": g.alloc(4), "environ_buf_size_ptr": g.alloc(4)},
                              ["environc_ptr", "environ_buf_size_ptr"]),
        "clock_res_get": ({"id": 1, "resolution_ptr": g.alloc(8)}, ["resolution_ptr"]),
        "clock_time_get": ({"id": 1, "precision": 0, "time_ptr": g.alloc(8)}, ["time_ptr"]),
        "fd_fdstat_get": ({"fd": fd, "fdstat_ptr": g.alloc(24)}, ["fdstat_ptr"]),
        "fd_filestat_get": ({"fd": fd, "filestat_ptr": g.alloc(64)}, ["filestat_ptr"]),
        "fd_pread": ({"fd": fd, "iovs": iov, "iovs_len": icnt, "offset": 0, "nread_ptr": g.alloc(4)},
                     ["iovs", "nread_ptr"]),
        "fd_prestat_get": ({"fd": GRANT, "prestat_ptr": g.alloc(8)}, ["prestat_ptr"]),
        "fd_prestat_dir_name": ({"fd": GRANT, "path": g.alloc(16), "path_len": 16}, ["path"]),
        "fd_pwrite": ({"fd": fd, "iovs": iov, "iovs_len": icnt, "offset": 0, "nwritten_ptr": g.alloc(4)},
                      ["iovs", "nwritten_ptr"]),
        "fd_read": ({"fd": fd, "iovs": iov, "iovs_len": icnt, "nread_ptr": g.alloc(4)}, ["iovs", "nread_ptr"]),
        "fd_readdir": ({"fd": GRANT, "buf": g.alloc(64), "buf_len": 64, "cookie": 0, "bufused_ptr": g.alloc(4)},
                       ["buf", "bufused_ptr"]),
        "fd_seek": ({"fd": fd, "offset": 0, "whence": 0, "newoffset_ptr": g.alloc(8)}, ["newoffset_ptr"]),
        "fd_tell": ({"fd": fd, "offset_ptr": g.alloc(8)}, ["offset_ptr"]),
        "fd_write": ({"fd": fd, "iovs": iov, "iovs_len": icnt, "nwritten_ptr": g.alloc(4)},
                     ["iovs", "nwritten_ptr"]),
        "path_create_directory": ({"fd": GRANT, "path": new, "path_len": nlen}, ["path"]),
        "path_filestat_get": ({"fd": GRANT, "flags": 1, "path": path, "path_len": plen,
                                   "filestat_ptr": g.alloc(64)}, ["path", "filestat_ptr"]),
        "path_filestat_set_times": ({"fd": GRANT, "flags": 1, "path": path, "path_len": plen, "atim": 0, "mtim": 0,
                                         "fst_flags": 2}, ["path"]),
        "path_link": ({"old_fd": GRANT, "old_flags": 0, "old_path": path, "old_path_len": plen, "new_fd": GRANT,
                           "new_path": new, "new_path_len": nlen}, ["old_path", "new_path"]),
        "path_open": ({"fd": GRANT, "dirflags": 1, "path": new, "path_len": nlen, "oflags": O_CREAT,
                           "fs_rights_base": ALL_RIGHTS, "fs_rights_inheriting": ALL_RIGHTS, "fdflags": 0,
                           "fd_ptr": g.alloc(4)}, ["path", "fd_ptr"]),
        "path_readlink": ({"fd": GRANT, "path": path, "path_len": plen, "buf": g.alloc(16), "buf_len": 16,
                               "bufused_ptr": g.alloc(4)}, ["path", "buf", "bufused_ptr"]),
        "path_remove_directory": ({"fd": GRANT, "path": path, "path_len": plen}, ["path"]),
        "path_rename": ({"fd": GRANT, "old_path": path, "old_path_len": plen, "new_fd": GRANT, "new_path": new,
                             "new_path_len": nlen}, ["old_path", "new_path"]),
        "path_symlink": ({"old_path": path, "old_path_len": plen, "fd": GRANT, "new_path": new,
                              "new_path_len": nlen}, ["old_path", "new_path"]),
        "path_unlink_file": ({"fd": GRANT, "path": path, "path_len": plen}, ["path"]),
        "poll_oneoff": (dict(**{"in": sub}, out=g.alloc(32), nsubscriptions=1, nevents_ptr=g.alloc(4)),
                        ["in", "out", "nevents_ptr"]),
        "random_get": ({"buf": g.alloc(16), "buf_len": 16}, ["buf"]),
        "sock_accept": ({"fd": 6, "flags": 0, "fd_ptr": g.alloc(4)}, ["fd_ptr"]),
        "sock_recv": ({"fd": 8, "ri_data": iov, "ri_data_len": icnt, "ri_flags": 0, "ro_datalen_ptr": g.alloc(4),
                           "ro_flags_ptr": g.alloc(4)}, ["ri_data", "ro_datalen_ptr", "ro_flags_ptr"]),
        "sock_send": ({"fd": 8, "si_data": iov, "si_data_len": icnt, "si_flags": 0,
                           "so_datalen_ptr": g.alloc(4)}, ["si_data", "so_datalen_ptr"]),
    }


LENGTH_OF = {"path": "path_len", "old_path": "old_path_len", "new_path": "new_path_len",
             "buf": "buf_len", "iovs": "iovs_len", "ri_data": "ri_data_len", "si_data": "si_data_len"}


@pytest.fixture
def setup(sb):
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    g = sb.g
    lib = sb.lib
    lib.wasmaot_wasi_shutdown()
    import os
    ctx = Context(lib, argv=("prog", "arg"), env=("A=1",),
                  preopens=[(sb.grant, "/sandbox"), (sb.ro, "/ro", True), (sb.other, "/other")],
                  listen=[os.dup(srv.fileno())])
    assert ctx.status == 0
    assert g.open(GRANT, "file", rights=ALL_RIGHTS) == 7  # fd 6 is the listener
    client = socket.create_connection(srv.getsockname())
    out = g.alloc(4)
    assert g.call("sock_accept", 6, 0, out) == 0 and g.u32(out) == 8
    yield sb
    client.close()
    srv.close()


def test_every_pointer_parameter_is_covered():
    """Every i32 parameter that is a pointer appears in `calls` (the functions not
    listed take no pointer)."""
    g_names = {f.name for f in wasi_table()}
    covered = set(calls(FakeGuest()))
    no_pointers = {"fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_set_flags",
                   "fd_fdstat_set_rights", "fd_filestat_set_size", "fd_filestat_set_times",
                   "fd_renumber", "fd_sync", "proc_exit", "proc_raise", "sched_yield",
                   "sock_shutdown"}
    assert covered | no_pointers == g_names and not covered & no_pointers


class FakeGuest:
    def alloc(self, n, align=8):
        return 0

    def put(self, data, align=8):
        return 0

    def path(self, p):
        return 0, 0

    def iovs(self, bufs):
        return 0, 0


def bad_values(g, name, kwargs, param):
    """(value for param, value for its length if it has one) pairs that must FAULT."""
    size = g.size
    length = LENGTH_OF.get(param)
    vals = [(size, None), (size - 1, None), (0xFFFFFFFF, None), (0x80000000, None)]
    if name in ("fd_prestat_dir_name",):
        vals = [(size - 3, None), (0xFFFFFFFE, None)]
    if length:
        n = kwargs[length]
        vals = [(v, None) for v, _ in vals if n > 0 or v > size]
        vals += [(size - 7 if name == "fd_prestat_dir_name" else size - 8, 64), (0xFFFFFFF0, 32)]
        if name.startswith(("path_",)):
            vals += [(10, 0xFFFFFFFF)]
    return vals


@pytest.mark.parametrize("name", sorted(set(calls(FakeGuest()))))
def test_bad_pointer_faults(setup, name):
    g = setup.g
    table = {f.name: f for f in wasi_table()}
    kwargs, pointers = calls(g)[name]
    for param in pointers:
        for value, length in bad_values(g, name, kwargs, param):
            args = dict(kwargs)
            args[param] = value
            if length is not None:
                args[LENGTH_OF[param]] = length
            if param in ("iovs", "ri_data", "si_data") and length is None:
                args[LENGTH_OF[param]] = 1
            before = bytes(g.mem)
            err = g.call(name, *(args[p] for _, p in table[name].params))
            assert err == 21, (name, param, hex(value), length, err)  # FAULT
            assert bytes(g.mem) == before, (name, param)
    assert not (setup.grant / "newname").exists()
    assert (setup.grant / "file").read_bytes() == b"hello"


def test_iovec_buffers_out_of_bounds(setup):
    """An iovec array inside memory whose buffer is not: FAULT, nothing transferred."""
    g = setup.g
    for buf, n in ((g.size - 4, 8), (0xFFFFFFF0, 0x20), (g.size, 1)):
        iov, cnt = g.iovs([(g.alloc(4), 4), (buf, n)])
        assert g.call("fd_write", 7, iov, cnt, g.alloc(4)) == 21
        assert g.call("fd_read", 7, iov, cnt, g.alloc(4)) == 21
    assert (setup.grant / "file").read_bytes() == b"hello"
    out = g.alloc(8)
    assert g.call("fd_tell", 7, out) == 0 and g.u64(out) == 0  # nothing was read


def test_no_memory_at_all(wasic_libs, tmp_path):
    """An instance without memory 0: every pointer is out of range."""
    lib = wasic_libs["openat2"]
    (tmp_path / "f").write_bytes(b"x")
    assert Context(lib, preopens=[(tmp_path, "/")]).status == 0
    g = Guest(lib, size=0)
    try:
        assert g.call("clock_time_get", 1, 0, 0) == 21
        assert g.call("args_sizes_get", 0, 0) == 21
        assert g.call("random_get", 0, 0) == 21
        assert g.call("path_open", 3, 1, 0, 1, 0, 0, 0, 0, 0) == 21
        assert g.call("sched_yield") == 0
        assert g.call("fd_close", 3) == 0  # takes no pointer
    finally:
        lib.wasmaot_wasi_shutdown()
        g.free()
