"""Compile speed of wasmaot: where the time goes, from module bytes to a linked .so.

The input is the big C program of `bench/frontend.py` (about 2.3 MB of code section),
built once and cached under `bench/.cache/`; `--input FILE` benches any other module.
For each opt level (-O0 and -O2 unless `--opt` says otherwise) it runs the real
compile path, `compile_module(data, CompileRequest(target, opt), jobs=...)`, which
splits a large module into partitions compiled in parallel worker processes, then
links the objects into a shared object with `toolchain.link_module_shared`.  Stages:

  frontend  decode + validate (in the parent, before the workers start)
  emit      lowering to LLVM IR text (in the workers)
  llvm      parse + optimize + codegen (in the workers)
  link      zig linking the objects with the runtime into a .so

`emit` and `llvm` are wall time, split between the two in proportion to the CPU time
the workers spent in each (that is how `CompileStats` reports them).  `KB/s` is the
code section (1 KB = 1000 bytes) divided by the total wall time, link included;
`front %` is the frontend's share of that total.  `CPU s` is user + system CPU of the
whole run (this process, the workers and zig) and `KB/CPU-s` the code section divided
by it: issue 11's throughput measure, which parallelism does not change.

The `opt/cg` column splits the LLVM stage into its two steps (driver/llvm.py `steps`:
zig's clang parsing the IR and running the IR pipeline, then the code generator; at -O0
one step, all codegen), in percent of the seconds spent in each, summed over partitions
(`CompileStats.per_stage`: a share, not a wall time of the parallel run).

Usage:
    python bench/compile.py                     # -O0 and -O2, jobs = CPUs
    python bench/compile.py --jobs 1            # no worker parallelism
    python bench/compile.py --opt 2 --input x.wasm --target aarch64-linux
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not
sys.path.insert(0, str(ROOT / "bench"))

# bench/frontend.py: the bigc input, its build and cache, the section-size reader.
import frontend

from wasmaot.driver import toolchain
from wasmaot.driver.targets import CODE_TARGETS, host_code_target
from wasmaot.driver.compile import CompileRequest, compile_module


def cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have ended (the
    partition workers and zig are reaped before a run returns)."""
    return sum(u.ru_utime + u.ru_stime for u in
               (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed_compile(data: bytes, target: str, opt: int, jobs: int | None) -> dict:
    """One run of the real path; stage times in seconds."""
    gc.collect()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    objects, stats = compile_module(data, CompileRequest(target, opt), jobs=jobs)
    compiled = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="wasmaot-bench-") as tmp:
        paths = []
        for i, obj in enumerate(objects):
            p = Path(tmp) / f"part{i}.o"
            p.write_bytes(obj)
            paths.append(p)
        t1 = time.perf_counter()
        toolchain.link_module_shared(paths[0], Path(tmp) / "module.so", f"{target}-gnu",
                                     extra_inputs=tuple(paths[1:]))
        link = time.perf_counter() - t1
    cpu = cpu_seconds() - cpu0
    # Peak RSS of this process and of the largest worker (ru_maxrss: KiB on Linux).
    rss = max(resource.getrusage(who).ru_maxrss for who in
              (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    return {"frontend": stats.frontend, "emit": stats.emit, "llvm": stats.llvm, "link": link,
            "rss_mb": rss,
            "total": compiled + link, "cpu": cpu, "code": stats.code_bytes, "partitions": stats.partitions,
            "object_bytes": sum(map(len, objects)), "split": stats.per_stage}


def main() -> None:
    ap = argparse.ArgumentParser(description="wasmaot compile time by stage")
    ap.add_argument("--input", type=Path, help="bench this module instead of the generated C program")
    ap.add_argument("--funcs", type=int, default=4400, help="generated C functions (default 4400, ~2.3 MB of code)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached input")
    ap.add_argument("--opt", type=int, nargs="+", default=[0, 2], help="opt levels (default 0 2)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per CPU)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per opt level; the best is shown")
    ap.add_argument("--target", default=host_code_target().name, choices=sorted(CODE_TARGETS))
    args = ap.parse_args()

    path = args.input if args.input else frontend.build_bigc(args.funcs, args.seed, args.rebuild)
    data = path.read_bytes()
    code = frontend.section_sizes(data).get(10, 0)
    rel = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    jobs = args.jobs or os.cpu_count() or 1
    toolchain.runtime_build(f"{args.target}-gnu")  # built and cached before any timing
    print(f"input: {rel}: {len(data) / 1e6:.2f} MB module, {code / 1e6:.2f} MB code section; "
          f"target {args.target}, {jobs} jobs on {os.cpu_count()} CPUs")

    rows = []
    for opt in args.opt:
        runs = [timed_compile(data, args.target, opt, args.jobs) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["total"])
        rows.append((opt, best, best["split"]))
    print(f"\n{'':4}{'frontend':>9}{'emit':>7}{'llvm':>7}{'opt/cg':>14}{'link':>6}"
          f"{'total s':>9}{'KB/s':>7}{'CPU s':>7}{'KB/CPU-s':>9}{'front %':>8}{'peak MB':>8}")
    for opt, r, split in rows:
        if split:
            parts = [split.get(k, 0.0) for k in ("optimize", "codegen")]
            shares = "/".join(f"{100 * t / sum(parts):.0f}" for t in parts)
        else:
            shares = "-"
        print(f"-O{opt:<2}{r['frontend']:>9.2f}{r['emit']:>7.2f}{r['llvm']:>7.2f}{shares + ' %':>14}"
              f"{r['link']:>6.2f}{r['total']:>9.2f}{code / 1e3 / r['total']:>7.0f}"
              f"{r['cpu']:>7.1f}{code / 1e3 / r['cpu']:>9.0f}"
              f"{100 * r['frontend'] / r['total']:>7.0f}%{r['rss_mb']:>8.0f}")
    print(f"({rows[0][1]['partitions']} partitions; opt/cg: the LLVM stage's split, "
          f"in wall time of its steps summed over the partitions; peak MB: the larger of this process's "
          f"and the largest worker's peak RSS so far)" if rows else "")

if __name__ == "__main__":
    main()
