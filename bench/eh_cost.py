"""What exception handling costs programs that never throw (issue 10: < 1%).

A module without tags can never throw or catch, so an executable's functions keep
`nounwind` and get no unwind tables (codegen/module.py `unwinds`).  The Python API
cannot know that (another module or the host may throw through its frames), so there
every function may unwind: no `nounwind`, unwind tables, and an entry thunk that
catches what escapes.  This bench measures both, on the existing examples of
bench/throughput.py that have no exceptions, in three builds of the same wasm:

  main          `wasmaot build` of the git ref --base (default main): before exceptions
  this          `wasmaot build` of this checkout
  api codegen   this checkout, but the functions compiled as the API compiles them
                (CompileRequest.standalone=False), linked into the same executable, so
                the API's code runs the same WASI program

It first compares their assembly (`--emit asm`), function by function with the CFI
directives and exception-table labels left out (unwind tables are data the code never
executes), then times them taking turns, as throughput.py does.

Usage:
    python bench/eh_cost.py                       # sha256sum, compress, wc; 7 runs each
    python bench/eh_cost.py --only compress --repeat 11 --base 62d5c3e
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

from throughput import (
    EXAMPLES,
    ROOT,
    WORKLOADS,
    build_launcher,
    inputs,
    machine_info,
    run_checked,
    spawn_env,
    timed_run,
    zig_cc,
)

import wasmaot.commands.build as build_cmd
import wasmaot.driver.compile as compile_mod
from wasmaot.commands.build import BuildOptions, Grant
from wasmaot.driver.targets import host_code_target

NAMES = ("sha256sum", "compress", "wc")
BUILDS = ("main", "this", "api codegen")
# Lines that are unwind-table bookkeeping, not instructions.
NOT_CODE = re.compile(r"\s*(\.cfi_|\.L(tmp|func_begin|func_end|exception|cst_)|\.uleb128)")


def base_checkout(ref: str, into: Path) -> Path:
    """The tree of `ref` (a clean copy: no worktree of anyone else is touched)."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def build_with(builder: str, wasm: Path, out: Path, data: Path, base: Path, emit: str) -> None:
    """One of BUILDS, at -O2 for this machine, the data directory granted as '.'."""
    target = host_code_target().name
    if builder == "main":
        wasm, out, data = wasm.resolve(), out.resolve(), data.resolve()
        subprocess.run([sys.executable, "-m", "wasmaot", "build", "-O", "2", "--target", target,
                        "--dir", f"{data}::.", "--emit", emit, str(wasm), "-o", str(out)],
                       check=True, env={**os.environ, "PYTHONPATH": str(base)},
                       cwd=base)  # `-m` puts the cwd first on sys.path
        return
    # No cache: "api" differs from "this" only by the patch below, which no key sees.
    opts = BuildOptions(target=target, opt_level=2, dirs=(Grant(str(data), "."),), emit=emit,
                        cache=False)
    if builder == "this":
        build_cmd.build(wasm.read_bytes(), out, opts)
        return
    real = compile_mod.CompileRequest

    def as_the_api(*args, **kwargs):
        return real(*args, **{**kwargs, "standalone": False})
    with mock.patch.object(compile_mod, "CompileRequest", as_the_api):
        build_cmd.build(wasm.read_bytes(), out, opts)


def functions(asm: Path) -> dict[str, list[str]]:
    """Each function's lines, unwind bookkeeping left out."""
    out: dict[str, list[str]] = {}
    name = None
    for line in asm.read_text().splitlines():
        if NOT_CODE.match(line):
            continue
        m = re.match(r"\s*\.type\s+([^,]+),@function", line)
        if m:
            name = m.group(1)
            out[name] = []
        elif name is not None:
            if re.match(rf"\s*\.size\s+{re.escape(name)},", line):
                name = None
            else:
                out[name].append(line)
    return out


def compare_asm(name: str, a_name: str, a: Path, b_name: str, b: Path) -> None:
    fa, fb = functions(a), functions(b)
    differ = sorted(f for f in fa if fb.get(f) != fa[f])
    kinds = sorted({re.sub(r"\d+", "N", f) for f in differ})
    changed = sum(1 for d in difflib.unified_diff(a.read_text().splitlines(),
                                                  b.read_text().splitlines(), n=0)
                  if d[:1] in "+-" and d[:3] not in ("+++", "---"))
    print(f"{name}: {a_name} vs {b_name}: {len(fa)} functions, {len(fa) - len(differ)} "
          f"identical instruction for instruction; differ: {kinds or 'none'}; "
          f"whole .s file: {changed} lines changed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", action="append", choices=NAMES)
    ap.add_argument("--base", default="main", help="git ref built as 'main' (default main)")
    ap.add_argument("--size", type=int, default=32)
    args = ap.parse_args()
    workloads = [w for w in WORKLOADS if w.name in (args.only or NAMES)]
    print(f"machine: {machine_info()}")
    data = inputs(args.size, 1, False)
    env = spawn_env()
    with tempfile.TemporaryDirectory(prefix="wasmaot-eh-cost-") as tmp:
        work = Path(tmp)
        base = base_checkout(args.base, work / "base")
        launcher = build_launcher(work)
        exes: dict[str, dict[str, Path]] = {}
        for w in workloads:
            wasm = work / f"{w.name}.wasm"
            zig_cc("-target", "wasm32-wasi", "-O2", str(EXAMPLES / w.program / f"{w.program}.c"),
                   "-o", str(wasm))
            exes[w.name] = {}
            asm = {}
            for b in BUILDS:
                tag = b.replace(" ", "-")
                exes[w.name][b] = work / f"{w.name}-{tag}"
                build_with(b, wasm, exes[w.name][b], data, base, "exe")
                asm[b] = work / f"{w.name}-{tag}.s"
                build_with(b, wasm, asm[b], data, base, "asm")
            compare_asm(w.name, "main", asm["main"], "this", asm["this"])
            compare_asm(w.name, "this", asm["this"], "api codegen", asm["api codegen"])
            sizes = ", ".join(f"{b} {exes[w.name][b].stat().st_size:,}" for b in BUILDS)
            print(f"{w.name}: executable bytes: {sizes}")
        print(f"\n{args.repeat} timed runs of each build, taking turns; seconds exec-to-exit")
        print(f"{'':24}{'min wall':>9}{'med wall':>9}{'min cpu':>9}{'med cpu':>9}"
              f"{'cost min cpu':>14}{'cost med cpu':>14}")
        for w in workloads:
            stdin = data / w.stdin if w.stdin else None
            argvs = [(b, [str(exes[w.name][b]), *w.args]) for b in BUILDS]
            want = run_checked(argvs[0][1], stdin, data, env)
            for b, argv in argvs[1:]:
                if run_checked(argv, stdin, data, env) != want:
                    sys.exit(f"bench/eh_cost.py: {w.name}: {b}'s stdout differs from main's")
            res = {b: ([], []) for b in BUILDS}
            for i in range(args.repeat):
                k = i % len(argvs)
                for b, argv in argvs[k:] + argvs[:k]:
                    wall, cpu, _ = timed_run(launcher, argv, stdin, data, env)
                    res[b][0].append(wall)
                    res[b][1].append(cpu)
            ref_min, ref_med = min(res["main"][1]), statistics.median(res["main"][1])
            for b in BUILDS:
                wall, cpu = res[b]
                print(f"{w.name + ' ' + b:24}{min(wall):>9.3f}{statistics.median(wall):>9.3f}"
                      f"{min(cpu):>9.3f}{statistics.median(cpu):>9.3f}"
                      f"{(min(cpu) / ref_min - 1) * 100:>+13.1f}%"
                      f"{(statistics.median(cpu) / ref_med - 1) * 100:>+13.1f}%")
    print("cost: CPU time (user+sys) over main's, minus 1.")


if __name__ == "__main__":
    main()
