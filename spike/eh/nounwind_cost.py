"""Issue 10 spike: what `nounwind` is worth on real programs, and what (C), a
pending-exception flag tested after every call, would cost instead.

Under zero-cost EH the lowering must drop `nounwind` from every wasm function
that may throw (it then gets .eh_frame CFI; no code of its own).  The worst
case is a module where every function may throw.  This builds two examples/
programs (compress, sha256sum) with today's attributes and with `nounwind`
removed from every generated function, and compares .text, .eh_frame and run
time on the throughput bench's input.  The (C) variant tests a flag after every
wasm call (a volatile load, so LLVM keeps every test, as when every callee may
throw) and branches out of line when it is set.

    PYTHONPATH=<worktree> /work/main/.venv/bin/python spike/eh/nounwind_cost.py [--rounds N]
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import wasmaot.codegen.module as cg_module
import wasmaot.codegen.table as cg_table
import wasmaot.commands.build as build_mod
from wasmaot.commands.build import BuildOptions, Grant, build
from wasmaot.driver.targets import host_code_target
from wasmaot.driver.toolchain import zig_command

REPO = Path(__file__).resolve().parents[2]
TODAY = cg_module.FUNC_ATTRS
MAY_THROW = TODAY.replace(" nounwind", "")
PROGRAMS = {  # argv after the program, stdin
    "compress": ([], "input.txt"),
    "sha256sum": (["input.txt"], None),
}


def data_dir() -> Path:
    for root in (REPO / "bench/.cache", Path("/work/main/bench/.cache")):
        found = sorted(root.glob("throughput-*mb-*/input.txt"))
        if found:
            return found[0].parent
    sys.exit("no bench input: run bench/throughput.py once (it generates bench/.cache/throughput-*)")


def sections(data: bytes, names: tuple) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".o") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["readelf", "-SW", f.name], capture_output=True, text=True).stdout
    sizes = dict.fromkeys(names, 0)
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        if m.group(1) in sizes:
            sizes[m.group(1)] += int(m.group(2), 16)
    return sizes


FLAG = "@spike_exn_pending = internal global i32 0"


def emit_call_with_flag(fx, functype, callee, callee_ctx, *, tail):
    """(C): after a call that returns, test the pending-exception flag; the
    taken branch goes out of line (a trap block stands in for the handler
    dispatch or the early return: the no-throw path is the same)."""
    _orig_emit_call(fx, functype, callee, callee_ctx, tail=tail)
    if tail or fx.dead:
        return
    fx.mod.declare(FLAG)
    flag, pending = fx.tmp(), fx.tmp()
    fx.emit(f"{flag} = load volatile i32, ptr @spike_exn_pending, align 4")
    fx.emit(f"{pending} = icmp ne i32 {flag}, 0")
    fx.trap_if(pending, "UNREACHABLE")


_orig_emit_call = cg_table._emit_call


def build_variant(wasm: bytes, exe: Path, attrs: str, data: Path, pad: int = 0,
                  flag: bool = False) -> dict:
    """`pad` bytes of read-only data linked in: moves the code as the
    .eh_frame of the may-throw build does, to tell layout effects from code."""
    cg_module.FUNC_ATTRS = attrs
    if flag:
        cg_table._emit_call = emit_call_with_flag
    try:
        opts = dict(target=host_code_target().name, opt_level=2, dirs=(Grant(str(data), "."),))
        if pad:  # an extra object in the link command (build.py's _run)
            c = exe.with_suffix(".pad.c")
            c.write_text(f"__attribute__((retain, used)) const char wasmaot_pad[{pad}] = {{1}};\n")
            subprocess.run([*zig_command(), "cc", "-target", f"{host_code_target().arch}-linux-musl",
                            "-c", str(c), "-o", str(c.with_suffix(".o"))], check=True)
            run = build_mod._run
            build_mod._run = lambda cmd, *a, **k: run(
                [*cmd, str(c.with_suffix(".o"))] if "-static" in cmd else cmd, *a, **k)
        try:
            build(wasm, exe, BuildOptions(**opts))
        finally:
            if pad:
                build_mod._run = run
        obj = exe.with_suffix(".o")
        build(wasm, obj, BuildOptions(**opts, emit="obj"))
        out = sections(obj.read_bytes(), (".text", ".eh_frame"))
        text = subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), "/dev/stdout"],
                              capture_output=True, check=True).stdout
        out["text bytes"] = text
        frames = subprocess.run(["readelf", "--debug-dump=frames", str(obj)], capture_output=True,
                                text=True).stdout
        out["fdes"] = frames.count(" FDE ")
        syms = subprocess.run(["readelf", "-sW", str(obj)], capture_output=True, text=True).stdout
        out["funcs"] = sum(1 for line in syms.splitlines() if " FUNC " in line and " UND " not in line)
        return out
    finally:
        cg_module.FUNC_ATTRS = TODAY
        cg_table._emit_call = _orig_emit_call


def text_address(exe: Path) -> int:
    out = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True).stdout
    return int(re.search(r"\s\.text\s+PROGBITS\s+([0-9a-f]+)", out).group(1), 16)


def time_run(exe: Path, args: list, stdin: str | None, data: Path) -> float:
    """CPU seconds (user + system) of one run: on a shared machine wall time
    mostly measures the other jobs."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(data / stdin, "rb") if stdin else open("/dev/null", "rb") as inp:
        subprocess.run([str(exe), *args], stdin=inp, stdout=subprocess.DEVNULL,
                       cwd=data, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    opts = ap.parse_args()
    data = data_dir()
    work = Path(__file__).resolve().parent / "out" / "nounwind"
    work.mkdir(parents=True, exist_ok=True)
    if True:
        for prog, (args, stdin) in PROGRAMS.items():
            wasm = work / f"{prog}.wasm"
            subprocess.run([*zig_command(), "cc", "-target", "wasm32-wasi", "-O2",
                            str(REPO / "examples" / prog / f"{prog}.c"), "-o", str(wasm)], check=True)
            exes, sizes = {}, {}
            for name, attrs in (("nounwind", TODAY), ("may-throw", MAY_THROW)):
                exes[name] = work / f"{prog}-{name}"
                sizes[name] = build_variant(wasm.read_bytes(), exes[name], attrs, data)
            exes["flag"] = work / f"{prog}-flag"
            sizes["flag"] = build_variant(wasm.read_bytes(), exes["flag"], TODAY, data, flag=True)
            # Control: today's code at the may-throw build's address.
            exes["nounwind+pad"] = work / f"{prog}-pad"
            pad = text_address(exes["may-throw"]) - text_address(exes["nounwind"])
            for _ in range(3):  # rodata alignment may round the first guess
                build_variant(wasm.read_bytes(), exes["nounwind+pad"], TODAY, data, pad=pad)
                miss = text_address(exes["may-throw"]) - text_address(exes["nounwind+pad"])
                if miss == 0:
                    break
                pad += miss
            if miss:
                print(f"{prog}: the control's .text is {miss} B off")
            best = dict.fromkeys(exes, 1e9)
            for _ in range(opts.rounds):  # alternate, keep the best of each
                for name, exe in exes.items():
                    best[name] = min(best[name], time_run(exe, args, stdin, data))
            a, b = "nounwind", "may-throw"
            same = "identical" if sizes[a]["text bytes"] == sizes[b]["text bytes"] else "DIFFERENT"
            print(f"{prog}: .text {sizes[a]['.text']} -> {sizes[b]['.text']} B ({same} bytes), .eh_frame "
                  f"{sizes[a]['.eh_frame']} -> {sizes[b]['.eh_frame']} B ({sizes[b]['fdes']} FDEs for "
                  f"{sizes[b]['funcs']} functions); CPU time {best[a]:.3f} s -> "
                  f"{best[b]:.3f} s ({(best[b] / best[a] - 1) * 100:+.1f}%); control: today's "
                  f"code at the same address ({pad} B of rodata padding): {best['nounwind+pad']:.3f} s "
                  f"({(best['nounwind+pad'] / best[a] - 1) * 100:+.1f}%); best of {opts.rounds}")
            print(f"{prog}: (C) flag after every call: .text {sizes['flag']['.text']} B "
                  f"({(sizes['flag']['.text'] / sizes[a]['.text'] - 1) * 100:+.1f}%), CPU time "
                  f"{best['flag']:.3f} s ({(best['flag'] / best[a] - 1) * 100:+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
