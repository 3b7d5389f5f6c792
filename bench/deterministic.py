"""What `--deterministic` costs at run time (issue 9, item 4).

The flag adds a canonical-NaN select after every float operation that can make a
NaN (codegen/numeric.py, simd.py), so its cost shows in float-heavy code and is
zero elsewhere (the examples/ programs of bench/throughput.py have no float
arithmetic in their loops; `throughput.py --deterministic` times them too).

bench/programs/floatkernels.c has three kernels, each run as its own workload:

  nbody     5 bodies in double: add/sub/mul/div/sqrt on a dependency chain
  simd      f32x4 over 64 KB arrays: relaxed madd, mul, sqrt, div, add, min
  convert   f32 <-> f64 promote/demote, floor and nearest in a reduction

It is built with `zig cc -target wasm32-wasi -O2 -msimd128 -mrelaxed-simd`, then by
wasmaot for this machine at -O2 with and without --deterministic.  Both must print the
same checksums (no NaN arises, and relaxed madd is unfused on x86-64 baseline either
way).  Each is timed --repeat times, taking turns; the cost is the ratio of the
minimum CPU times (user+sys, from wait4: steadier than wall time on a shared machine)
and of the minimum wall times, exec to exit.

Usage:
    python bench/deterministic.py               # 7 timed runs of each build
    python bench/deterministic.py --repeat 15 --target aarch64-linux   # (under qemu: slow, only a check)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not

from startup import spawn_env, zig_cc  # bench/startup.py

from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.targets import host_code_target

SOURCE = ROOT / "bench" / "programs" / "floatkernels.c"
KERNELS = ("nbody", "simd", "convert")


def build_both(work: Path, target: str) -> dict[str, Path]:
    wasm = work / "floatkernels.wasm"
    zig_cc("-target", "wasm32-wasi", "-O2", "-s", "-msimd128", "-mrelaxed-simd", str(SOURCE),
           "-o", str(wasm), "-lm")
    data = wasm.read_bytes()
    return {name: build(data, work / f"floatkernels-{name}",
                        BuildOptions(target=target, opt_level=2, deterministic=det))
            for name, det in (("wasmaot", False), ("wasmaot --deterministic", True))}


def command(exe: Path, target: str) -> list[str]:
    if target.startswith(platform.machine()):
        return [str(exe)]
    qemu = shutil.which("qemu-aarch64-static")
    if qemu is None:
        sys.exit("bench/deterministic.py: a foreign --target needs qemu-aarch64-static")
    return [qemu, str(exe)]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, user+sys CPU) seconds of one exec-to-exit of argv, output to /dev/null.
    CPU time is the steadier of the two on a loaded machine."""
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench/deterministic.py: {' '.join(argv)} exited with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description="run-time cost of --deterministic")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of each build (default 7)")
    ap.add_argument("--scale", type=int, default=1, help="work per kernel (default 1)")
    ap.add_argument("--target", default=host_code_target().name)
    args = ap.parse_args()
    env = spawn_env()
    with tempfile.TemporaryDirectory(prefix="wasmaot-det-") as tmp:
        exes = build_both(Path(tmp), args.target)
        print(f"{'':10}{'plain cpu s':>12}{'det. cpu s':>12}{'cost cpu':>10}"
              f"{'plain wall s':>14}{'det. wall s':>13}{'cost wall':>11}   (minimum of each)")
        for kernel in KERNELS:
            argvs = {name: [*command(exe, args.target), kernel, str(args.scale)]
                     for name, exe in exes.items()}
            outputs = {subprocess.run(a, capture_output=True, check=True).stdout
                       for a in argvs.values()}
            if len(outputs) != 1:
                sys.exit(f"bench/deterministic.py: {kernel}: the two builds print different "
                         f"results: {outputs}")
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in argvs}
            order = list(argvs)
            for i in range(args.repeat):  # taking turns, the order swapped every round
                for name in order[i % 2:] + order[:i % 2]:
                    runs[name].append(timed(argvs[name], env))
            plain, det = runs["wasmaot"], runs["wasmaot --deterministic"]
            cells = []
            for k in (1, 0):  # CPU, then wall
                p, d = min(r[k] for r in plain), min(r[k] for r in det)
                cells.append(f"{p:>{12 + 2 * (1 - k)}.3f}{d:>{12 + (1 - k)}.3f}"
                             f"{d / p - 1:>+{10 + (1 - k)}.0%}")
            print(f"{kernel:10}{''.join(cells)}")


if __name__ == "__main__":
    main()
