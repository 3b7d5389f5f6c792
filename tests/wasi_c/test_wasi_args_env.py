"""args_get / args_sizes_get / environ_get / environ_sizes_get."""

import struct

import pytest
from wasic_harness import Context, Guest


@pytest.fixture
def with_ctx(wasic_libs):
    lib = wasic_libs["openat2"]
    made = []

    def make(**kw):
        ctx = Context(lib, **kw)
        assert ctx.status == 0, ctx.error
        g = Guest(lib)
        made.append(g)
        return g

    yield make
    lib.wasmaot_wasi_shutdown()
    for g in made:
        g.free()


def strings(g, sizes_fn, get_fn):
    cnt, size = g.alloc(4), g.alloc(4)
    assert g.call(sizes_fn, cnt, size) == 0
    n, total = g.u32(cnt), g.u32(size)
    vec, buf = g.alloc(4 * n, 4), g.alloc(total, 1)
    assert g.call(get_fn, vec, buf) == 0
    out = []
    for k in range(n):
        p = g.u32(vec + 4 * k)
        assert buf <= p < buf + total
        end = bytes(g.mem[p:buf + total]).index(b"\0")
        out.append(bytes(g.mem[p:p + end]).decode())
    return out, total


ARGV = ["prog", "héllo wörld", "", "日本語", "emoji 🎉", "a=b"]


def test_args_with_unicode(with_ctx):
    g = with_ctx(argv=ARGV)
    got, total = strings(g, "args_sizes_get", "args_get")
    assert got == ARGV
    assert total == sum(len(a.encode()) + 1 for a in ARGV)


def test_environment(with_ctx):
    env = ["HOME=/home/guest", "EMPTY=", "UNICODE=ünï", "NOEQUALS"]
    g = with_ctx(env=env)
    assert strings(g, "environ_sizes_get", "environ_get")[0] == env


def test_empty(with_ctx):
    g = with_ctx(argv=(), env=())
    assert strings(g, "args_sizes_get", "args_get") == ([], 0)
    assert strings(g, "environ_sizes_get", "environ_get") == ([], 0)


def test_uninitialised_context_has_no_args(wasic_libs):
    lib = wasic_libs["openat2"]
    lib.wasmaot_wasi_shutdown()
    g = Guest(lib)
    try:
        assert strings(g, "args_sizes_get", "args_get") == ([], 0)
    finally:
        g.free()


@pytest.mark.parametrize("fn", ["args_get", "environ_get"])
def test_bad_pointers_write_nothing(with_ctx, fn):
    g = with_ctx(argv=ARGV, env=["A=1", "B=2"])
    snapshot = bytes(g.mem)
    for vec, buf in ((g.size - 2, 100), (100, g.size - 3), (0xFFFFFFFF, 100), (100, 0xFFFFFFF0)):
        assert g.call(fn, vec, buf) == 21  # FAULT
    assert bytes(g.mem) == snapshot


@pytest.mark.parametrize("fn", ["args_sizes_get", "environ_sizes_get"])
def test_sizes_bad_pointers(with_ctx, fn):
    g = with_ctx(argv=ARGV)
    snapshot = bytes(g.mem)
    assert g.call(fn, g.size - 2, 100) == 21
    assert g.call(fn, 100, g.size) == 21
    assert bytes(g.mem) == snapshot
    assert struct.calcsize("<I") == 4
