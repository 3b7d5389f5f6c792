"""The benchmark suite of real programs (issue 11): C sources fetched from package registries
at bench time, each built natively and to wasm32-wasi, run as native code, as a wasmaot
executable and in wasmtime (precompiled), outputs checked against native's, times compared.

Programs (bench/suite/<name>_main.c is our driver; the rest is the package's C):

  lua          interpreter loop: Lua 5.4 from the PyPI sdist of lupa (third-party/lua54);
               the driver runs an embedded script (recursion, sort, string formatting and
               patterns, hashing into tables, closures, a sieve, float math)
  sqlite       database: sqlite3.c from the npm tarball of better-sqlite3 (deps/sqlite3);
               an in-memory database filled, indexed, joined, grouped, updated, deleted from
  zstd         compressor: zstd.c (single-file library) from the PyPI sdist of zstandard;
               text-like data compressed at levels 1, 3, 9 and decompressed
  xxhash       hash: xxhash.h from the PyPI sdist of xxhash (deps/xxhash); XXH32, XXH64,
               XXH3-64/128 over a buffer and over millions of short keys
  polykernels  numeric kernels in the style of PolyBench (ours, bench/suite): gemm, syrk,
               2mm, atax, jacobi-2d, seidel-2d, floyd-warshall

Sources: `pip download --no-binary PKG --no-deps PKG==VERSION` or `npm pack PKG@VERSION` into
bench/.cache/sources/, the archive's sha256 checked against the pin below, then unpacked
there; a later run reuses the unpacked tree. Nothing fetched is committed.

Builds (C builds are cached in bench/.cache/suite-build/ by a key of the sources, flags and
compiler versions; the wasmaot and wasmtime builds are redone every run, so they measure the
compiler of this checkout):

  native zig   `python -m ziglang cc -target <arch>-linux-musl -O2 -static -s` (clang)
  native gcc   `gcc -O2 -s` (when gcc is installed)
  wasm         `python -m ziglang cc -target wasm32-wasi -O2 -msimd128 -U__wasm_simd128__`
               (--scalar-wasm: without the two flags)
  wasmaot      `wasmaot build -O2` (this checkout, run as `python -m wasmaot`), timed by the
               launcher below: wall, CPU and peak RSS of the whole build
  wasmtime     `wasmtime compile`, run with `wasmtime run --allow-precompiled`

Why the wasm is built with -msimd128: both native compilers vectorize loops at -O2 with
the target's baseline 128-bit SIMD (SSE2 on x86-64, NEON on aarch64); 128-bit SIMD is in
WebAssembly 2.0, and -msimd128 lets the same vectorizer work on the wasm build.  Every
program's own intrinsics stay off everywhere (XXH_VECTOR=0, ZSTD_NO_INTRINSICS), and
-U__wasm_simd128__ keeps the sources on their scalar paths in the wasm build too (xxhash.h
would otherwise include <arm_neon.h> for wasm): only the compilers vectorize, on every side.

Every candidate runs once and its stdout must equal native zig's byte for byte (the bench
stops otherwise). Then each is timed --repeat times, round-robin (one run of each per round,
the order rotated every round), exec-to-exit through bench/throughput.py's launcher; the
median is what is compared. "best native" is the faster of the native medians.

Usage:
    python bench/run.py                     # every program, 5 timed runs of each candidate
    python bench/run.py --only lua zstd --repeat 9
    python bench/run.py --quick             # CI smoke: tiny workloads, outputs only
    python bench/run.py --json out.json --md out.md
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SUITE = BENCH / "suite"
CACHE = BENCH / ".cache"
SOURCES = CACHE / "sources"
BUILDS = CACHE / "suite-build"
sys.path.insert(0, str(BENCH))  # bench/throughput.py and bench/startup.py: shared helpers

from startup import announce_wasmtime, spawn_env, zig_cc  # noqa: E402
from throughput import build_launcher, machine_info, timed_run  # noqa: E402


class BenchError(Exception):
    """A step of the bench failed: printed as one line, exit status 1."""


# --- what is benchmarked --------------------------------------------------------------------

@dataclass(frozen=True)
class Archive:
    """A source archive in a package registry, pinned by version and sha256."""
    registry: str  # "pypi" or "npm"
    package: str
    version: str
    sha256: str

    @property
    def key(self) -> str:
        return f"{self.registry}-{self.package}-{self.version}"


@dataclass(frozen=True)
class Program:
    name: str
    kind: str
    archive: Archive | None  # None: all of its C is in bench/suite
    src_dir: str  # inside the unpacked archive: the C files and headers
    c_files: tuple[str, ...]  # in src_dir; "*.c" for all
    exclude: tuple[str, ...] = ()  # file names that "*.c" leaves out
    defines: tuple[str, ...] = ()  # -D flags, the same for every build
    shim: str = ""  # a directory of bench/suite put first on the include path
    args: tuple[str, ...] = ()  # the timed workload
    quick_args: tuple[str, ...] = ()  # --quick: a tiny workload

    @property
    def driver(self) -> Path:
        return SUITE / f"{self.name}_main.c"


LUA_ARCHIVE = Archive("pypi", "lupa", "2.8",
                      "d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08")
PROGRAMS = (
    Program("lua", "interpreter", LUA_ARCHIVE, "lupa-2.8/third-party/lua54", ("*.c",),
            # the stand-alone programs, the test library, and the libraries that need a host
            # (io, os, package); linit.c opens all of them, so the driver opens its own
            exclude=("lua.c", "luac.c", "onelua.c", "ltests.c", "linit.c", "liolib.c",
                     "loslib.c", "loadlib.c"),
            # Errors abort instead of longjmp (no setjmp in wasm without the exception
            # proposal; the script raises none); a fixed hash seed (Lua's mixes in time() and
            # an address), so table traversal order, and the output, is the same everywhere;
            # l_signalT: sig_atomic_t is int, and wasi-libc has no <signal.h>.
            defines=("LUAI_THROW(L,c)=abort()", "LUAI_TRY(L,c,a)={ a }", "luai_jmpbuf=int",
                     "luai_makeseed(L)=0x5eedu", "l_signalT=int"),
            shim="lua_shim",  # an empty <setjmp.h>: see the file
            args=("20",), quick_args=("1",)),
    Program("sqlite", "database",
            Archive("npm", "better-sqlite3", "13.2.0",
                    "40487589df3496f2ee0079d22b73c63fccebe7db0e8ee9a2c42421861e321e0b"),
            "package/deps/sqlite3", ("sqlite3.c",),
            defines=("SQLITE_OS_OTHER=1", "SQLITE_THREADSAFE=0", "SQLITE_TEMP_STORE=3",
                     "SQLITE_OMIT_LOAD_EXTENSION", "SQLITE_OMIT_SHARED_CACHE"),
            args=("300000",), quick_args=("2000",)),
    Program("zstd", "compressor",
            Archive("pypi", "zstandard", "0.25.0",
                    "7713e1179d162cf5c7906da876ec2ccb9c3a9dcbdffef0cc7f70c3667a205f0b"),
            "zstandard-0.25.0/zstd", ("zstd.c",),
            # __EMSCRIPTEN__: the amalgamation's only switch to single-threaded (wasm32-wasi
            # has no threads); DYNAMIC_BMI2=0: no BMI2 variants that only native could pick;
            # ZSTD_NO_INTRINSICS: no SSE2/NEON row matching and 16-byte copies, which only
            # native could use (zstd has no wasm SIMD code)
            defines=("__EMSCRIPTEN__", "DYNAMIC_BMI2=0", "ZSTD_NO_INTRINSICS"),
            args=("16384",), quick_args=("64",)),
    Program("xxhash", "hash",
            Archive("pypi", "xxhash", "4.1.0",
                    "c9b288e4c1f5dae54417bc8a05e6f6daf505783d916b4783f4dd2f2e7d5db486"),
            "xxhash-4.1.0/deps/xxhash", (),
            # the source's scalar code everywhere (the compilers still vectorize loops).
            # XXH_FORCE_ALIGN_CHECK=0 is xxhash.h's own choice on x86-64 and aarch64; on
            # other targets (wasm32) it defaults to 1, which doubles XXH32/XXH64's bodies
            # (an aligned and an unaligned copy) so that the wasm compiler no longer inlines
            # XXH32 into the short-key loop: pinned, so every build runs the same C.
            defines=("XXH_VECTOR=0", "XXH_FORCE_ALIGN_CHECK=0"),
            args=("32768",), quick_args=("16",)),
    Program("polykernels", "numeric", None, "", (), args=("560",), quick_args=("24",)),
)
BY_NAME = {p.name: p for p in PROGRAMS}


# --- fetching -------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(a: Archive, into: Path) -> Path:
    """The archive, downloaded by the registry's own client into the empty directory `into`."""
    if a.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", a.package, "--no-deps",
               "--disable-pip-version-check", f"{a.package}=={a.version}", "-d", str(into)]
    elif a.registry == "npm":
        npm = shutil.which("npm")
        if not npm:
            raise BenchError(f"{a.key}: npm is not installed (it fetches {a.package})")
        cmd = [npm, "pack", "--silent", f"{a.package}@{a.version}", "--pack-destination",
               str(into)]
    else:
        raise BenchError(f"{a.key}: unknown registry {a.registry}")
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=into, check=False)
    files = [p for p in into.iterdir() if p.is_file()]
    if out.returncode != 0 or len(files) != 1:
        raise BenchError(f"fetching {a.key} failed ({' '.join(cmd)}): "
                         f"{(out.stderr or out.stdout).strip()[-1500:]}")
    return files[0]


def fetch(a: Archive) -> Path:
    """The unpacked archive, from bench/.cache/sources/ or fetched into it; the archive's
    sha256 must be the pinned one (a re-published or tampered file stops the bench)."""
    dest = SOURCES / a.key
    if (dest / ".complete").is_file():
        return dest
    SOURCES.mkdir(parents=True, exist_ok=True)
    print(f"fetching {a.package} {a.version} from {a.registry}...", flush=True)
    with tempfile.TemporaryDirectory(dir=SOURCES, prefix=f".{a.key}-") as tmp:
        into = Path(tmp) / "download"
        into.mkdir()
        got = download(a, into)
        digest = sha256_of(got)
        if digest != a.sha256:
            raise BenchError(f"{got.name}: sha256 {digest}, but {a.key} is pinned to {a.sha256}")
        unpacked = Path(tmp) / "unpacked"
        try:
            with tarfile.open(got) as tar:
                tar.extractall(unpacked, filter="data")  # no absolute paths, .., devices
        except (tarfile.TarError, OSError) as e:
            raise BenchError(f"unpacking {got.name}: {e}") from e
        shutil.copy2(got, unpacked / got.name)
        (unpacked / ".complete").write_text(f"{got.name} {digest}\n")
        if dest.exists():
            shutil.rmtree(dest)  # a partial earlier unpack
        os.replace(unpacked, dest)
    return dest


# --- building -------------------------------------------------------------------------------

@dataclass
class Built:
    """A program built every way; paths of the executables and the numbers of the builds."""
    native: dict[str, Path]  # "native zig", "native gcc"
    wasm: Path
    wasmaot: Path
    cwasm: Path | None
    wasm_code_bytes: int
    wasmaot_build: dict[str, float]  # wall_s, cpu_s, peak_rss_mib
    wasmtime_compile_s: float | None
    exe_bytes: int


def c_inputs(p: Program) -> tuple[list[str], list[str]]:
    """(the C files, the -I/-D flags) of p, its archive fetched."""
    flags = [f"-D{d}" for d in p.defines]
    if p.shim:
        flags.append(f"-I{SUITE / p.shim}")
    files = [str(p.driver)]
    if p.archive is not None:
        src = fetch(p.archive) / p.src_dir
        if not src.is_dir():
            raise BenchError(f"{p.name}: {p.src_dir} is not in {p.archive.key}")
        flags.append(f"-I{src}")
        for pattern in p.c_files:
            found = sorted(f for f in src.glob(pattern) if f.name not in p.exclude)
            if not found:
                raise BenchError(f"{p.name}: no {pattern} in {src}")
            files += map(str, found)
    return files, flags


def tool_version(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else ""


def cached_c_build(kind: str, cmd: list[str], files: list[str], version: str,
                   out_name: str, libs: tuple[str, ...] = ()) -> Path:
    """Runs the compile command `cmd + files + libs + [-o OUT]` unless its output is cached:
    the key hashes the command, the contents of every file and the compiler's version."""
    h = hashlib.sha256("\0".join([kind, version, *cmd, *libs]).encode())
    for f in files:
        h.update(Path(f).read_bytes())
    out_dir = BUILDS / h.hexdigest()[:16]
    out = out_dir / out_name
    if out.is_file():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{out_name}.tmp"
    proc = subprocess.run([*cmd, *files, *libs, "-o", str(tmp)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise BenchError(f"{kind} build failed: {proc.stderr.strip()[-3000:]}")
    os.replace(tmp, out)
    return out


def code_section_bytes(wasm: bytes) -> int:
    """The size of the module's code section (section id 10)."""
    pos = 8
    while pos < len(wasm):
        section_id = wasm[pos]
        pos += 1
        size = shift = 0
        while True:
            byte = wasm[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if section_id == 10:
            return size
        pos += size
    return 0


def wasmaot_env() -> dict[str, str]:
    """The environment of `python -m wasmaot build`: this checkout's wasmaot first."""
    env = spawn_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def wasmaot_build_argv(wasm: Path, exe: Path, *options: str) -> list[str]:
    """`wasmaot build -O2` of `wasm`, never from wasmaot's build cache (a timed build must
    compile)."""
    return [sys.executable, "-m", "wasmaot", "build", "-O2", "--no-cache", *options, str(wasm),
            "-o", str(exe)]


# The wasm build's counterpart of the natives' baseline SIMD (see the module docstring).
WASM_SIMD_FLAGS = ("-msimd128", "-U__wasm_simd128__")


def build_program(p: Program, work: Path, launcher: str, wasmtime: str | None,
                  versions: dict[str, str], wasm_flags: tuple[str, ...] = WASM_SIMD_FLAGS
                  ) -> Built:
    files, flags = c_inputs(p)
    arch = platform.machine()
    zig = [sys.executable, "-m", "ziglang", "cc"]
    native = {"native zig": cached_c_build(
        "native zig", [*zig, "-target", f"{arch}-linux-musl", "-O2", "-static", "-s", *flags],
        files, versions["zig"], f"{p.name}-zig", ("-lm",))}
    if versions.get("gcc"):
        native["native gcc"] = cached_c_build(
            "native gcc", ["gcc", "-O2", "-s", *flags], files, versions["gcc"],
            f"{p.name}-gcc", ("-lm",))
    wasm = cached_c_build("wasm", [*zig, "-target", "wasm32-wasi", "-O2", *wasm_flags, *flags],
                          files, versions["zig"], f"{p.name}.wasm")
    exe = work / f"{p.name}-wasmaot"
    cmd = wasmaot_build_argv(wasm, exe)
    try:
        wall, cpu, rss = timed_run(launcher, cmd, None, work, wasmaot_env())
    except SystemExit:  # the launcher only says that it failed: run again for the message
        proc = subprocess.run(cmd, capture_output=True, text=True, env=wasmaot_env(),
                              check=False)
        raise BenchError(f"{p.name}: wasmaot build failed: {proc.stderr.strip()[-3000:]}")
    cwasm, compile_s = None, None
    if wasmtime:
        cwasm = work / f"{p.name}.cwasm"
        t0 = time.perf_counter()
        subprocess.run([wasmtime, "compile", str(wasm), "-o", str(cwasm)], check=True)
        compile_s = time.perf_counter() - t0
    return Built(native, wasm, exe, cwasm, code_section_bytes(wasm.read_bytes()),
                 {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": rss}, compile_s,
                 exe.stat().st_size)


def check_aarch64(p: Program, b: Built, reference: tuple[str, list[str]], work: Path) -> None:
    """Issue 11: aarch64 builds match their x86-64 outputs.  Builds the program's wasm
    for aarch64-linux and checks that, under qemu, it prints what `reference` prints
    with the small workload (qemu is far too slow to time)."""
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    if not qemu:
        raise BenchError("--aarch64 needs qemu-aarch64-static (apt-get install -y "
                         "qemu-user-static; `make test` installs it)")
    exe = work / f"{p.name}-wasmaot-aarch64"
    cmd = wasmaot_build_argv(b.wasm, exe, "--target", "aarch64-linux")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=wasmaot_env(), check=False)
    if proc.returncode != 0:
        raise BenchError(f"{p.name}: wasmaot build --target aarch64-linux failed: "
                         f"{proc.stderr.strip()[-3000:]}")
    check_outputs(p, [reference, ("wasmaot aarch64", [qemu, str(exe)])], p.quick_args, work)
    print(f"ok {p.name}: the aarch64 build prints what {reference[0]} prints", flush=True)


def candidates(b: Built, wasmtime: str | None) -> list[tuple[str, list[str]]]:
    """(candidate, argv prefix) pairs, the reference (native zig) first."""
    out = [(name, [str(path)]) for name, path in b.native.items()]
    out.append(("wasmaot", [str(b.wasmaot)]))
    if wasmtime and b.cwasm:
        out.append(("wasmtime", [wasmtime, "run", "--allow-precompiled", str(b.cwasm)]))
    return out


# --- running --------------------------------------------------------------------------------

def stdout_of(argv: list[str], cwd: Path) -> bytes:
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd,
                          env=spawn_env(), timeout=600, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited with {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return proc.stdout


def check_outputs(p: Program, cands: list[tuple[str, list[str]]], args: tuple[str, ...],
                  cwd: Path) -> bytes:
    """Runs every candidate once; each stdout must equal the first's. Returns it."""
    want = stdout_of([*cands[0][1], *args], cwd)
    if not want.strip():
        raise BenchError(f"{p.name}: {cands[0][0]} printed nothing")
    for name, prefix in cands[1:]:
        got = stdout_of([*prefix, *args], cwd)
        if got != want:
            raise BenchError(f"{p.name}: {name}'s output differs from {cands[0][0]}'s:\n"
                             f"--- {cands[0][0]}\n{want.decode(errors='replace')}"
                             f"--- {name}\n{got.decode(errors='replace')}")
    return want


def time_candidates(cands: list[tuple[str, list[str]]], args: tuple[str, ...], repeat: int,
                    launcher: str, cwd: Path) -> dict[str, dict[str, list[float]]]:
    """{candidate: {"wall": [...], "cpu": [...], "rss": [...]}}: `repeat` rounds, one run of
    each candidate per round, the order rotated every round."""
    res = {name: {"wall": [], "cpu": [], "rss": []} for name, _ in cands}
    env = spawn_env()
    for i in range(repeat):
        k = i % len(cands)
        for name, prefix in cands[k:] + cands[:k]:
            wall, cpu, rss = timed_run(launcher, [*prefix, *args], None, cwd, env)
            res[name]["wall"].append(wall)
            res[name]["cpu"].append(cpu)
            res[name]["rss"].append(rss)
    return res


@dataclass
class Result:
    """One program's numbers (seconds are medians of wall time)."""
    name: str
    kind: str
    source: str
    args: list[str]
    seconds: dict[str, float]
    best_native: str
    ratios: dict[str, float]  # "wasmaot/native", "wasmtime/native", "wasmaot/wasmtime"
    wasm_code_kib: float
    exe_kib: float
    wasmaot_build: dict[str, float]
    wasmtime_compile_s: float | None
    runs: dict[str, dict[str, list[float]]] = field(repr=False)


def summarize(p: Program, b: Built, runs: dict[str, dict[str, list[float]]]) -> Result:
    med = {name: statistics.median(r["wall"]) for name, r in runs.items()}
    natives = {n: s for n, s in med.items() if n.startswith("native")}
    best = min(natives, key=natives.get)
    ratios = {"wasmaot/native": med["wasmaot"] / natives[best],
              "wasmaot/native paired": paired_ratio(runs["wasmaot"]["wall"], runs[best]["wall"])}
    if "wasmtime" in med:
        ratios["wasmtime/native"] = med["wasmtime"] / natives[best]
        ratios["wasmaot/wasmtime"] = med["wasmaot"] / med["wasmtime"]
    source = f"{p.archive.registry} {p.archive.package} {p.archive.version}" if p.archive \
        else "bench/suite"
    return Result(p.name, p.kind, source, list(p.args), med, best, ratios,
                  b.wasm_code_bytes / 1024, b.exe_bytes / 1024, b.wasmaot_build,
                  b.wasmtime_compile_s, runs)


def paired_ratio(a: list[float], b: list[float]) -> float:
    """The median over rounds of a's time over b's in the same round.  Both ran
    seconds apart (time_candidates), so a slow phase of a shared machine, which
    moved every time here by up to 2x within one run, slows both and cancels out
    of each round's ratio; the ratio of medians does not cancel it."""
    return statistics.median(x / y for x, y in zip(a, b))


def geomean(xs: list[float]) -> float:
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


RATIO_KEYS = ("wasmaot/native", "wasmaot/native paired", "wasmtime/native", "wasmaot/wasmtime")


def markdown(results: list[Result], header: str) -> str:
    lines = [header, "",
             "| program | kind | native zig s | native gcc s | wasmaot s | wasmtime s "
             "| wasmaot / best native | paired "
             "| wasmtime / best native | wasmaot / wasmtime | code KiB | wasmaot -O2 build s "
             "(CPU s) | build KiB/CPU-s | build peak MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        def ratio(key: str) -> str:
            return f"{r.ratios[key]:.2f}" if key in r.ratios else "-"
        def secs(candidate: str) -> str:
            s = r.seconds.get(candidate)
            best = "**" if candidate == r.best_native else ""
            return f"{best}{s:.3f}{best}" if s is not None else "-"
        b = r.wasmaot_build
        lines.append(
            f"| {r.name} | {r.kind} | {secs('native zig')} | {secs('native gcc')} | "
            f"{secs('wasmaot')} | {secs('wasmtime')} | "
            f"{ratio('wasmaot/native')} | {ratio('wasmaot/native paired')} | "
            f"{ratio('wasmtime/native')} | "
            f"{ratio('wasmaot/wasmtime')} | {r.wasm_code_kib:.0f} | {b['wall_s']:.1f} "
            f"({b['cpu_s']:.1f}) | {r.wasm_code_kib / b['cpu_s']:.1f} | "
            f"{b['peak_rss_mib']:.0f} |")
    geo = [geomean([r.ratios[k] for r in results if k in r.ratios]) for k in RATIO_KEYS]
    lines.append(f"| geomean | | | | | | {' | '.join(f'{g:.2f}' for g in geo)} | | | | |")
    lines += ["", "Seconds are median wall times; the best native of each program is in bold. "
              "Paired: the median over rounds of wasmaot's time over the best native's in "
              "the same round (bench/run.py paired_ratio)."]
    return "\n".join(lines) + "\n"


def print_result(r: Result) -> None:
    cells = "  ".join(f"{n} {s:.3f} s" for n, s in r.seconds.items())
    ratios = "  ".join(f"{k} {v:.2f}" for k, v in r.ratios.items())
    b = r.wasmaot_build
    wt = f", wasmtime compile {r.wasmtime_compile_s:.1f} s" if r.wasmtime_compile_s else ""
    print(f"{r.name} ({r.kind}, {r.source}): {cells}\n  best native: {r.best_native}; "
          f"{ratios}\n  code {r.wasm_code_kib:.0f} KiB, exe {r.exe_kib:.0f} KiB; wasmaot -O2 "
          f"build {b['wall_s']:.1f} s wall, {b['cpu_s']:.1f} CPU s "
          f"({r.wasm_code_kib / b['cpu_s']:.1f} KiB/CPU-s), peak RSS "
          f"{b['peak_rss_mib']:.0f} MiB{wt}", flush=True)


# --- main -----------------------------------------------------------------------------------

def compiler_versions() -> dict[str, str]:
    versions = {"zig": tool_version([sys.executable, "-m", "ziglang", "version"])}
    if shutil.which("gcc"):
        versions["gcc"] = tool_version(["gcc", "--version"])
    return versions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="the benchmark suite of real programs: native vs "
                                 "wasmaot vs wasmtime")
    ap.add_argument("--only", nargs="+", choices=list(BY_NAME), metavar="NAME",
                    help=f"only these programs: {', '.join(BY_NAME)}")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each candidate "
                    "(default 5)")
    ap.add_argument("--quick", action="store_true", help="CI smoke: build everything, run the "
                    "tiny workloads once, check outputs; no timings")
    ap.add_argument("--aarch64", action="store_true", help="also build each program for "
                    "aarch64-linux and check its output under qemu (small workload, untimed)")
    ap.add_argument("--scalar-wasm", action="store_true", help="build the wasm without "
                    "-msimd128 (the compiler's vectorizer off for wasm only, as before "
                    "session 12)")
    ap.add_argument("--json", type=Path, help="where to write the results (default "
                    "bench/.cache/run-<UTC date and time>.json)")
    ap.add_argument("--md", type=Path, help="also write the table as Markdown here")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    programs = [p for p in PROGRAMS if not args.only or p.name in args.only]
    try:
        return run(args, programs)
    except BenchError as e:
        print(f"bench/run.py: {e}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, programs: list[Program]) -> int:
    t_start = time.perf_counter()
    print(f"machine: {machine_info()}")
    wasmtime = announce_wasmtime()
    versions = compiler_versions()
    if "gcc" not in versions:
        print("gcc is not installed: no 'native gcc' candidate")
    results: list[Result] = []
    wasm_flags = () if args.scalar_wasm else WASM_SIMD_FLAGS
    with tempfile.TemporaryDirectory(prefix="wasmaot-suite-") as tmp:
        work = Path(tmp)
        launcher = build_launcher(work)
        for p in programs:
            t0 = time.perf_counter()
            built = build_program(p, work, launcher, wasmtime, versions, wasm_flags)
            cands = candidates(built, wasmtime)
            check_outputs(p, cands, p.quick_args if args.quick else p.args, work)
            if args.aarch64:
                check_aarch64(p, built, cands[0], work)
            if args.quick:
                print(f"ok {p.name}: {len(cands)} candidates ({', '.join(n for n, _ in cands)}) "
                      f"print the same ({time.perf_counter() - t0:.0f} s to build and check)",
                      flush=True)
                continue
            runs = time_candidates(cands, p.args, args.repeat, launcher, work)
            results.append(summarize(p, built, runs))
            print_result(results[-1])
    if args.quick:
        print(f"quick: {len(programs)} programs ok in {time.perf_counter() - t_start:.0f} s")
        return 0
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    header = (f"`bench/run.py --repeat {args.repeat}{' --scalar-wasm' * args.scalar_wasm}`, "
              f"{stamp} UTC; {machine_info()}; "
              f"{versions['zig'] and 'zig ' + versions['zig']}"
              f"{'; ' + versions['gcc'] if versions.get('gcc') else ''}")
    table = markdown(results, header)
    print("\n" + table)
    json_path = args.json or CACHE / f"run-{stamp}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"header": header, "versions": versions,
                                     "repeat": args.repeat,
                                     "results": [asdict(r) for r in results]}, indent=1) + "\n")
    print(f"wrote {json_path}")
    if args.md:
        args.md.write_text(table)
        print(f"wrote {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
