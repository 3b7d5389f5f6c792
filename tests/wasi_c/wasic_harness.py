"""Helpers for the C-level WASI and sandbox tests (no wasm involved).

The WASI and sandbox sources of runtime_c/ are built with harness.c into one shared
object per sandbox variant -- "openat2" (the fast path) and "fallback" (built with
WASMAOT_RT_SANDBOX_FORCE_FALLBACK: the manual resolver) -- both with
WASMAOT_RT_PARANOID, and loaded with cffi.  A `Guest` is a fake instance whose memory
0 lies between inaccessible guard regions; tests put arguments into it and call the
`wasmaot_wasi_*` functions exactly as generated code would (vmctx first, then i32/i64).

The cffi declarations of the 46 functions are generated from the table in
runtime_c/include/wasmaot_wasi.h, parsed the way the header documents -- so these
tests also check that the table is machine-readable as promised.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cffi

from wasmaot.codegen import abi
from wasmaot.driver import toolchain
from wasmaot.driver.cache import cache_root
from wasmaot.driver.targets import resolve_target

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNTIME = ROOT / "runtime_c"
HEADER = RUNTIME / "include" / "wasmaot_wasi.h"
HARNESS_C = HERE / "harness.c"
SOURCES = sorted((RUNTIME / "wasi").glob("*.c")) + sorted((RUNTIME / "sandbox").glob("*.c"))

VARIANTS = {"openat2": (), "fallback": ("-DWASMAOT_RT_SANDBOX_FORCE_FALLBACK",)}
MEMORY_SIZE = 1 << 20  # the fake instance's memory 0 (16 pages)
GRANT, RO, OTHER = 3, 4, 5  # the fds of conftest's grants

# --- the function table, parsed as wasmaot_wasi.h documents ----------------------------

ROW = re.compile(r"^\s*X\((\w+),\s*(ERRNO|NORETURN),(.*)\)\s*\\?$")
PARAM = re.compile(r"(I32|I64)\((\w+)\)")


@dataclass(frozen=True)
class WasiFunction:
    name: str
    result: str  # "ERRNO" or "NORETURN"
    params: tuple  # ((type, name), ...) with type "I32" / "I64"


def _macro_body(text: str, head: str) -> list[str]:
    lines = text[text.index(head):].splitlines()[1:]
    body = []
    for line in lines:
        body.append(line)
        if not line.rstrip().endswith("\\"):
            break
    return body


def wasi_table() -> list[WasiFunction]:
    rows = []
    for line in _macro_body(HEADER.read_text(), "#define WASMAOT_WASI_FUNCTIONS(X, I32, I64)"):
        m = ROW.match(line)
        assert m, f"not a table row: {line!r}"
        rows.append(WasiFunction(m[1], m[2], tuple(PARAM.findall(m[3]))))
    return rows


def _pairs(head: str) -> dict[str, int]:
    body = " ".join(_macro_body(HEADER.read_text(), head))
    return {name: int(value) for name, value in re.findall(r"X\((\w+), (\d+)\)", body)}


ERRNO = _pairs("#define WASMAOT_WASI_ERRNOS(X)")
RIGHT_BITS = _pairs("#define WASMAOT_WASI_RIGHTS(X)")
RIGHTS = {name: 1 << bit for name, bit in RIGHT_BITS.items()}
ALL_RIGHTS = (1 << 30) - 1
# What wasi-libc's open(O_RDONLY) asks for: everything but the write-mode rights.
READ_RIGHTS = ALL_RIGHTS & ~(RIGHTS["FD_WRITE"] | RIGHTS["FD_DATASYNC"] | RIGHTS["FD_ALLOCATE"]
                             | RIGHTS["FD_FILESTAT_SET_SIZE"])
ERRNO_NAME = {v: k for k, v in ERRNO.items()}

# Flag values (witx), for readability in tests.
FOLLOW = 1
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
FD_APPEND, FD_DSYNC, FD_NONBLOCK, FD_RSYNC, FD_SYNC = 1, 2, 4, 8, 16
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8
FT_UNKNOWN, FT_BLOCK, FT_CHAR, FT_DIR, FT_REG, FT_DGRAM, FT_STREAM, FT_SYMLINK = range(8)

# --- building and loading -------------------------------------------------------------------


def cdef() -> str:
    out = [
        "struct wasmaot_wasi_preopen { const char *host_path; const char *guest_path; int readonly; };",
        "struct wasmaot_wasi_listen { int fd; const char *address; };",
        ("struct wasmaot_wasi_config { size_t argc; const char *const *argv; size_t envc;"
         " const char *const *env; size_t npreopens; const struct wasmaot_wasi_preopen *preopens;"
         " size_t nlisten; const struct wasmaot_wasi_listen *listen;"
         " void (*exit_hook)(void *vmctx, int32_t code); };"),
        "int wasmaot_wasi_init(const struct wasmaot_wasi_config *config, char *errbuf, size_t errlen);",
        "void wasmaot_wasi_shutdown(void);",
        "void *harness_new(uint64_t size);",
        "void *harness_vmctx(void *h);",
        "uint8_t *harness_base(void *h);",
        "void harness_free(void *h);",
        "void harness_sandbox_stats(uint64_t out[2]);",
        "int harness_sandbox_open(int start, const char *path, int flags, int mode);",
        "int harness_fd_is_beneath(int start, int fd);",
        "void harness_paranoid_check(int start, int fd);",
        "int harness_host_fd(int32_t fd);",
        "int harness_paranoid(void);",
        "int harness_force_fallback(void);",
    ]
    for f in wasi_table():
        params = "".join(f", {'int32_t' if t == 'I32' else 'int64_t'} {n}" for t, n in f.params)
        result = "int32_t" if f.result == "ERRNO" else "void"
        out.append(f"{result} wasmaot_wasi_{f.name}(void *vmctx{params});")
    return "\n".join(out)


FFI = cffi.FFI()
FFI.cdef(cdef())


def abi_include_dir(out_dir: Path) -> Path:
    """A directory holding the generated wasmaot_abi.h.  It lives in the cache under a
    name from the header's hash, so compiler command lines -- and zig's cache -- stay
    the same from one session to the next."""
    text = abi.c_header()
    include = cache_root() / "tests-wasi-c" / hashlib.sha256(text.encode()).hexdigest()[:16]
    header = include / toolchain.ABI_HEADER_NAME
    if not header.is_file() or header.read_text() != text:
        include.mkdir(parents=True, exist_ok=True)
        tmp = include / f".{os.getpid()}.tmp"
        tmp.write_text(text)
        os.replace(tmp, header)  # atomic: racing sessions write the same bytes
    return include


def build(out_dir: Path, variant: str) -> Path:
    """The harness shared object for `variant`, built with the runtime's flags."""
    include = abi_include_dir(out_dir)
    target = resolve_target("host")
    so = out_dir / f"libwasic_{variant}.so"
    cmd = [*toolchain.zig_command(), "cc", "-target", target.zig_target, f"-mcpu={target.cpu}",
           *toolchain.CFLAGS, "-DWASMAOT_RT_PARANOID", *VARIANTS[variant],
           "-I", str(RUNTIME / "include"), "-I", str(include),
           "-shared", "-Wl,-Bsymbolic", "-o", str(so), *map(str, SOURCES), str(HARNESS_C)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return so


def load(so: Path):
    return FFI.dlopen(str(so))


# --- a fake instance ---------------------------------------------------------------------------

M32 = (1 << 32) - 1


def i32(x: int) -> int:
    """An unsigned 32-bit value as the int32_t the C signature takes."""
    x &= M32
    return x - (1 << 32) if x >= 1 << 31 else x


def i64(x: int) -> int:
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


class Guest:
    """Memory 0 of a fake instance, a bump allocator in it, and calls into WASI."""

    def __init__(self, lib, size: int = MEMORY_SIZE):
        self.lib = lib
        self.size = size
        self.h = lib.harness_new(size)
        assert self.h != FFI.NULL
        self.vmctx = lib.harness_vmctx(self.h)
        self.mem = FFI.buffer(lib.harness_base(self.h), size) if size else None
        self.top = 1024
        self._sig = {f.name: f for f in wasi_table()}

    def free(self):
        if self.h is not None:
            self.lib.harness_free(self.h)
            self.h = None

    # memory
    def alloc(self, n: int, align: int = 8) -> int:
        self.top = (self.top + align - 1) // align * align
        addr = self.top
        self.top += max(n, 1)
        assert self.top <= self.size, "guest memory exhausted"
        return addr

    def put(self, data: bytes, align: int = 8) -> int:
        addr = self.alloc(len(data), align)
        self.mem[addr:addr + len(data)] = data
        return addr

    def bytes(self, addr: int, n: int) -> bytes:
        return bytes(self.mem[addr:addr + n])

    def u16(self, addr: int) -> int:
        return struct.unpack_from("<H", self.mem, addr)[0]

    def u32(self, addr: int) -> int:
        return struct.unpack_from("<I", self.mem, addr)[0]

    def u64(self, addr: int) -> int:
        return struct.unpack_from("<Q", self.mem, addr)[0]

    def path(self, p: str | bytes) -> tuple[int, int]:
        b = p.encode() if isinstance(p, str) else p
        return self.put(b, 1), len(b)

    def iovs(self, bufs: list[tuple[int, int]]) -> tuple[int, int]:
        data = b"".join(struct.pack("<II", a, n) for a, n in bufs)
        return self.put(data, 4), len(bufs)

    # calls
    def call(self, name: str, *args: int) -> int:
        f = self._sig[name]
        assert len(args) == len(f.params), f"{name} takes {len(f.params)} arguments"
        conv = [i32(a) if t == "I32" else i64(a) for a, (t, _) in zip(args, f.params)]
        return getattr(self.lib, f"wasmaot_wasi_{name}")(self.vmctx, *conv)

    # conveniences (each asserts success unless `expect` is given)
    def _check(self, name, err, expect):
        if expect is None:
            assert err == 0, f"{name}: {ERRNO_NAME.get(err, err)}"
        else:
            want = ERRNO[expect] if isinstance(expect, str) else expect
            assert err == want, f"{name}: {ERRNO_NAME.get(err, err)}, expected {ERRNO_NAME.get(want, want)}"
        return err

    def open(self, dirfd: int, path, *, oflags=0, rights=READ_RIGHTS, inheriting=ALL_RIGHTS,
             fdflags=0, follow=True, expect=None) -> int:
        p, n = self.path(path)
        out = self.alloc(4, 4)
        err = self.call("path_open", dirfd, FOLLOW if follow else 0, p, n, oflags, rights,
                        inheriting, fdflags, out)
        self._check("path_open", err, expect)
        return self.u32(out) if err == 0 else -err

    def write(self, fd: int, data: bytes, expect=None) -> int:
        buf = self.put(data, 1)
        iov, cnt = self.iovs([(buf, len(data))])
        out = self.alloc(4, 4)
        err = self.call("fd_write", fd, iov, cnt, out)
        self._check("fd_write", err, expect)
        return self.u32(out) if err == 0 else -err

    def read(self, fd: int, n: int, expect=None) -> bytes:
        buf = self.alloc(n, 1)
        iov, cnt = self.iovs([(buf, n)])
        out = self.alloc(4, 4)
        err = self.call("fd_read", fd, iov, cnt, out)
        self._check("fd_read", err, expect)
        return self.bytes(buf, self.u32(out)) if err == 0 else b""

    def close(self, fd: int, expect=None) -> int:
        return self._check("fd_close", self.call("fd_close", fd), expect)

    def path_call(self, name: str, dirfd: int, path, *rest, expect=None) -> int:
        """A path_* function whose arguments are (fd, path, path_len, *rest)."""
        p, n = self.path(path)
        return self._check(name, self.call(name, dirfd, p, n, *rest), expect)

    def mkdir(self, dirfd, path, expect=None):
        return self.path_call("path_create_directory", dirfd, path, expect=expect)

    def unlink(self, dirfd, path, expect=None):
        return self.path_call("path_unlink_file", dirfd, path, expect=expect)

    def rmdir(self, dirfd, path, expect=None):
        return self.path_call("path_remove_directory", dirfd, path, expect=expect)

    def rename(self, fd1, p1, fd2, p2, expect=None):
        a, an = self.path(p1)
        b, bn = self.path(p2)
        return self._check("path_rename", self.call("path_rename", fd1, a, an, fd2, b, bn), expect)

    def link(self, fd1, p1, fd2, p2, flags=0, expect=None):
        a, an = self.path(p1)
        b, bn = self.path(p2)
        return self._check("path_link", self.call("path_link", fd1, flags, a, an, fd2, b, bn), expect)

    def symlink(self, target, dirfd, path, expect=None):
        a, an = self.path(target)
        b, bn = self.path(path)
        return self._check("path_symlink", self.call("path_symlink", a, an, dirfd, b, bn), expect)

    def readlink(self, dirfd, path, size=256, expect=None):
        p, n = self.path(path)
        buf = self.alloc(size, 1)
        used = self.alloc(4, 4)
        err = self.call("path_readlink", dirfd, p, n, buf, size, used)
        self._check("path_readlink", err, expect)
        return self.bytes(buf, self.u32(used)) if err == 0 else None

    def stat(self, dirfd, path, follow=True, expect=None) -> dict | None:
        p, n = self.path(path)
        out = self.alloc(64)
        err = self.call("path_filestat_get", dirfd, FOLLOW if follow else 0, p, n, out)
        self._check("path_filestat_get", err, expect)
        return filestat(self.bytes(out, 64)) if err == 0 else None

    def fstat(self, fd, expect=None) -> dict | None:
        out = self.alloc(64)
        err = self.call("fd_filestat_get", fd, out)
        self._check("fd_filestat_get", err, expect)
        return filestat(self.bytes(out, 64)) if err == 0 else None

    def fdstat(self, fd, expect=None) -> dict | None:
        out = self.alloc(24)
        err = self.call("fd_fdstat_get", fd, out)
        self._check("fd_fdstat_get", err, expect)
        if err:
            return None
        ft, flags, base, inh = struct.unpack_from("<BxHxxxxQQ", self.mem, out)
        return {"filetype": ft, "flags": flags, "base": base, "inheriting": inh}

    def set_times(self, dirfd, path, atim, mtim, fst, follow=True, expect=None):
        p, n = self.path(path)
        err = self.call("path_filestat_set_times", dirfd, FOLLOW if follow else 0, p, n, atim, mtim, fst)
        return self._check("path_filestat_set_times", err, expect)

    def seek(self, fd, offset, whence, expect=None) -> int:
        out = self.alloc(8)
        err = self.call("fd_seek", fd, offset, whence, out)
        self._check("fd_seek", err, expect)
        return self.u64(out) if err == 0 else -err

    def readdir_names(self, fd, buf_len=4096) -> list[str]:
        """Every entry name, paging with cookies through a buffer of buf_len bytes."""
        names, cookie = [], 0
        buf = self.alloc(buf_len)
        used_p = self.alloc(4, 4)
        while True:
            err = self.call("fd_readdir", fd, buf, buf_len, cookie, used_p)
            assert err == 0, ERRNO_NAME.get(err)
            used = self.u32(used_p)
            data = self.bytes(buf, used)
            off, progressed = 0, False
            while off + 24 <= used:
                d_next, _ino, namlen, _typ = struct.unpack_from("<QQIB", data, off)
                if off + 24 + namlen > used:
                    break  # cut off: ask again from its cookie
                names.append(data[off + 24:off + 24 + namlen].decode())
                cookie, off, progressed = d_next, off + 24 + namlen, True
            if used < buf_len:
                return names
            assert progressed, "buffer too small for one entry"


def filestat(b: bytes) -> dict:
    dev, ino, ft, nlink, size, atim, mtim, ctim = struct.unpack("<QQBxxxxxxxQQQQQ", b)
    return {"dev": dev, "ino": ino, "filetype": ft, "nlink": nlink, "size": size,
            "atim": atim, "mtim": mtim, "ctim": ctim}


class Context:
    """wasmaot_wasi_init's argument, kept alive while the context uses nothing of it
    (init copies), but holding the cffi objects until the call returns."""

    def __init__(self, lib, *, argv=("prog",), env=(), preopens=(), listen=(), exit_hook=None):
        keep = []

        def cstr(s):
            b = FFI.new("char[]", s.encode() if isinstance(s, str) else s)
            keep.append(b)
            return b

        cfg = FFI.new("struct wasmaot_wasi_config *")
        argv_c = FFI.new("char *[]", [cstr(a) for a in argv] or 1)
        env_c = FFI.new("char *[]", [cstr(e) for e in env] or 1)
        pre = FFI.new("struct wasmaot_wasi_preopen[]", max(len(preopens), 1))
        for k, p in enumerate(preopens):
            host, guest, ro = (p + (False,))[:3] if isinstance(p, tuple) else (p, ".", False)
            pre[k].host_path = cstr(os.fspath(host))
            pre[k].guest_path = cstr(guest)
            pre[k].readonly = 1 if ro else 0
        lis = FFI.new("struct wasmaot_wasi_listen[]", max(len(listen), 1))
        for k, l in enumerate(listen):
            if isinstance(l, int):
                lis[k].fd, lis[k].address = l, FFI.NULL
            else:
                lis[k].fd, lis[k].address = -1, cstr(l)
        cfg.argc, cfg.argv = len(argv), argv_c
        cfg.envc, cfg.env = len(env), env_c
        cfg.npreopens, cfg.preopens = len(preopens), pre
        cfg.nlisten, cfg.listen = len(listen), lis
        if exit_hook is not None:
            cfg.exit_hook = exit_hook
        err = FFI.new("char[256]")
        self.status = lib.wasmaot_wasi_init(cfg, err, 256)
        self.error = FFI.string(err).decode()
        self._keep = (keep, cfg, argv_c, env_c, pre, lis)
