"""Issue 10 spike (NOT product code): wasm exceptions with LLVM zero-cost EH.

Generates LLVM IR shaped like wasmaot's (tailcc functions, ctx first, the
stack-limit check in every prologue, `notail` calls, a `musttail` call),
where calls inside a wasm try_table are `invoke`s whose landing pads compare
the exception's tag instance and catch or `resume`.  Compiles it with
llvmlite exactly as wasmaot does (wasmaot.driver.llvm.compile_ir, -O2), links
it with eh_rt.c (throw, personality, host entry) and zig's libunwind into
static musl executables for x86-64 and aarch64, runs the tests on both (aarch64
under qemu), the benchmarks on x86-64, and prints sizes.

    PYTHONPATH=<worktree> /work/main/.venv/bin/python spike/eh/spike.py [--no-bench]
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from wasmaot.driver.llvm import compile_ir
from wasmaot.driver.targets import CODE_TARGETS
from wasmaot.driver.toolchain import zig_command

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

# wasm functions that may throw: today's FUNC_ATTRS minus `nounwind`
# (a function that cannot throw keeps `nounwind` and gets no unwind info).
ATTRS = 'attributes #0 = { "frame-pointer"="all" "probe-stack"="inline-asm" }\n' \
        'attributes #1 = { noinline "frame-pointer"="all" "probe-stack"="inline-asm" }\n'

DECLS = """
declare void @wasmaot_rt_trap(ptr, i32) cold noreturn nounwind
declare void @wasmaot_rt_throw(ptr, ptr, i32, double) cold noreturn
declare void @wasmaot_rt_throw_ref(ptr) cold noreturn
declare void @wasmaot_rt_exn_free(ptr) nounwind
declare void @wasmaot_rt_escaped(ptr, ptr) nounwind
declare i32 @wasmaot_personality(...)
declare ptr @llvm.frameaddress.p0(i32 immarg)
"""

PERS = "personality ptr @wasmaot_personality"


def prologue() -> str:
    """wasmaot's stack-limit check (function.py prologue), then `body`."""
    return """entry:
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %cellp = load ptr, ptr %ctx, align 8, !invariant.load !0
  %lim = load i64, ptr %cellp, align 8
  %fai = ptrtoint ptr %fa to i64
  %low = icmp ult i64 %fai, %lim
  br i1 %low, label %stack_trap, label %body, !prof !1
stack_trap:
  call void @wasmaot_rt_trap(ptr %ctx, i32 10)
  unreachable
body:
"""


def tag(n: int, name: str) -> str:
    """Load tag instance n (vmctx slot 1+n): tag identity is a runtime pointer,
    the same for an imported tag and its exporter's."""
    return (f"  %{name}.p = getelementptr inbounds ptr, ptr %ctx, i64 {1 + n}\n"
            f"  %{name} = load ptr, ptr %{name}.p, align 8, !invariant.load !0\n")


def lpad(label: str) -> str:
    """A try_table's landing pad: a `cleanup` pad; the tag test is generated code."""
    return (f"{label}:\n"
            f"  %{label}.lp = landingpad {{ ptr, i32 }} cleanup\n"
            f"  %{label}.exn = extractvalue {{ ptr, i32 }} %{label}.lp, 0\n"
            f"  %{label}.tp = getelementptr inbounds i8, ptr %{label}.exn, i64 32\n"
            f"  %{label}.tag = load ptr, ptr %{label}.tp, align 8\n")


def payload(pre: str, exn: str) -> str:
    """The i32 and f64 payload values, read straight from the exception object."""
    return (f"  %{pre}.ip = getelementptr inbounds i8, ptr {exn}, i64 48\n"
            f"  %{pre}.i = load i32, ptr %{pre}.ip, align 8\n"
            f"  %{pre}.dp = getelementptr inbounds i8, ptr {exn}, i64 56\n"
            f"  %{pre}.d = load double, ptr %{pre}.dp, align 8\n"
            f"  %{pre}.d10 = fmul double %{pre}.d, 10.0\n"
            f"  %{pre}.di = fptosi double %{pre}.d10 to i32\n"
            f"  %{pre}.i10 = mul i32 %{pre}.i, 10\n"
            f"  %{pre}.sum = add i32 %{pre}.i10, %{pre}.di\n")


def module_ir() -> str:
    sa_params = ", ".join(f"i64 %a{i}" for i in range(1, 11))
    sa_args = ", ".join(f"i64 {i}" for i in range(1, 11))
    sa_sum = "".join(f"  %s{i} = add i64 %s{i - 1}, %a{i}\n" for i in range(1, 11))
    f = [DECLS]
    # which: 0/1/2 throw tag a/b/c, 3 unreachable, 4 guard-page load, else return v
    f.append(f"""define internal tailcc i32 @thrower(ptr %ctx, i32 %which, i32 %v, double %d) #1 {{
{prologue()}  switch i32 %which, label %ret [i32 0, label %t0
                                     i32 1, label %t1
                                     i32 2, label %t2
                                     i32 3, label %unr
                                     i32 4, label %oob]
t0:
{tag(0, "ta")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %ta, i32 %v, double %d)
  unreachable
t1:
{tag(1, "tb")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %tb, i32 %v, double %d)
  unreachable
t2:
{tag(2, "tc")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %tc, i32 %v, double %d)
  unreachable
unr:
  call void @wasmaot_rt_trap(ptr %ctx, i32 1)
  unreachable
oob:
  %gp = getelementptr inbounds ptr, ptr %ctx, i64 4
  %g = load ptr, ptr %gp, align 8
  %x = load volatile i32, ptr %g, align 4
  ret i32 %x
ret:
  ret i32 %v
}}
""")
    # A frame with stack-passed arguments (tailcc pops them in the callee) and no handler.
    f.append(f"""define internal tailcc i32 @stackargs(ptr %ctx, i32 %which, i32 %v, double %d, {sa_params}) #1 {{
{prologue()}  %r = notail call tailcc i32 @thrower(ptr %ctx, i32 %which, i32 %v, double %d)
  %s0 = add i64 0, -55
{sa_sum}  %st = trunc i64 %s10 to i32
  %r2 = add i32 %r, %st
  ret i32 %r2
}}

define internal tailcc i32 @mid(ptr %ctx, i32 %which, i32 %v, double %d) #1 {{
{prologue()}  %r = notail call tailcc i32 @stackargs(ptr %ctx, i32 %which, i32 %v, double %d, {sa_args})
  %r2 = add i32 %r, 1
  ret i32 %r2
}}

; wasm return_call: its frame is gone when the exception passes
define internal tailcc i32 @tailer(ptr %ctx, i32 %which, i32 %v, double %d) #1 {{
{prologue()}  %r = musttail call tailcc i32 @mid(ptr %ctx, i32 %which, i32 %v, double %d)
  ret i32 %r
}}

; (try_table (catch_ref $a) ... (call $tailer)): on $a return 100000 + payload,
; or throw_ref it when the i32 payload is 99
define internal tailcc i32 @catcher(ptr %ctx, i32 %which, i32 %v, double %d) #1 {PERS} {{
{prologue()}  %r = invoke tailcc i32 @tailer(ptr %ctx, i32 %which, i32 %v, double %d)
          to label %ok unwind label %lp
ok:
  ret i32 %r
{lpad("lp")}{tag(0, "ta")}  %m = icmp eq ptr %lp.tag, %ta
  br i1 %m, label %catch_a, label %resume
catch_a:
{payload("pa", "%lp.exn")}  %is99 = icmp eq i32 %pa.i, 99
  br i1 %is99, label %rethrow, label %consume
rethrow:
  call void @wasmaot_rt_throw_ref(ptr %lp.exn)
  unreachable
consume:
  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  %res = add i32 %pa.sum, 100000
  ret i32 %res
resume:
  resume {{ ptr, i32 }} %lp.lp
}}

; (try_table (catch $b) (catch $a) ... (call $catcher)): $b -> 200000 + payload, $a -> 300000 + payload
define internal tailcc i32 @outer(ptr %ctx, i32 %which, i32 %v, double %d) #1 {PERS} {{
{prologue()}  %r = invoke tailcc i32 @catcher(ptr %ctx, i32 %which, i32 %v, double %d)
          to label %ok unwind label %lp
ok:
  ret i32 %r
{lpad("lp")}{tag(1, "tb")}  %mb = icmp eq ptr %lp.tag, %tb
  br i1 %mb, label %catch_b, label %test_a
test_a:
{tag(0, "ta")}  %ma = icmp eq ptr %lp.tag, %ta
  br i1 %ma, label %catch_a, label %resume
catch_b:
{payload("pb", "%lp.exn")}  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  %rb = add i32 %pb.sum, 200000
  ret i32 %rb
catch_a:
{payload("pa", "%lp.exn")}  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  %ra = add i32 %pa.sum, 300000
  ret i32 %ra
resume:
  resume {{ ptr, i32 }} %lp.lp
}}
""")
    # Recursion: n == 0 throws $a; a negative n recurses until the stack limit.
    f.append(f"""define internal tailcc i32 @recurse(ptr %ctx, i32 %n) #1 {{
{prologue()}  %z = icmp eq i32 %n, 0
  br i1 %z, label %throw, label %rec
throw:
{tag(0, "ta")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %ta, i32 1, double 0.0)
  unreachable
rec:
  %n1 = sub i32 %n, 1
  %r = notail call tailcc i32 @recurse(ptr %ctx, i32 %n1)
  %r1 = add i32 %r, 1
  ret i32 %r1
}}

; (try_table (catch $a) (call $recurse (n))): returns n on $a
define internal tailcc i32 @rec_try(ptr %ctx, i32 %n) #1 {PERS} {{
{prologue()}  %r = invoke tailcc i32 @recurse(ptr %ctx, i32 %n) to label %ok unwind label %lp
ok:
  ret i32 %r
{lpad("lp")}{tag(0, "ta")}  %m = icmp eq ptr %lp.tag, %ta
  br i1 %m, label %caught, label %resume
caught:
  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  ret i32 %n
resume:
  resume {{ ptr, i32 }} %lp.lp
}}

; each frame: (try_table (catch $b) (call $mm (n-1))), which never matches $a
define internal tailcc i32 @mm(ptr %ctx, i32 %n) #1 {PERS} {{
{prologue()}  %z = icmp eq i32 %n, 0
  br i1 %z, label %throw, label %rec
throw:
{tag(0, "ta")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %ta, i32 1, double 0.0)
  unreachable
rec:
  %n1 = sub i32 %n, 1
  %r = invoke tailcc i32 @mm(ptr %ctx, i32 %n1) to label %ok unwind label %lp
ok:
  %r1 = add i32 %r, 1
  ret i32 %r1
{lpad("lp")}{tag(1, "tb")}  %m = icmp eq ptr %lp.tag, %tb
  br i1 %m, label %caught, label %resume
caught:
  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  ret i32 0
resume:
  resume {{ ptr, i32 }} %lp.lp
}}
""")
    # Throwing at the stack limit: recurse until the frame is within 2 KiB of
    # the limit, then throw; the unwinder runs in the margin below the limit.
    f.append(f"""define internal tailcc i32 @to_limit(ptr %ctx) #1 {{
{prologue()}  %near = add i64 %lim, 2048
  %at = icmp ult i64 %fai, %near
  br i1 %at, label %throw, label %rec
throw:
{tag(0, "ta")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %ta, i32 7, double 0.0)
  unreachable
rec:
  %r = notail call tailcc i32 @to_limit(ptr %ctx)
  %r1 = add i32 %r, 1
  ret i32 %r1
}}

define internal tailcc i32 @limit_try(ptr %ctx) #1 {PERS} {{
{prologue()}  %r = invoke tailcc i32 @to_limit(ptr %ctx) to label %ok unwind label %lp
ok:
  ret i32 %r
{lpad("lp")}{tag(0, "ta")}  %m = icmp eq ptr %lp.tag, %ta
  br i1 %m, label %caught, label %resume
caught:
{payload("pa", "%lp.exn")}  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  ret i32 %pa.i
resume:
  resume {{ ptr, i32 }} %lp.lp
}}

; A host import that runs wasm in a nested activation, gets its uncaught
; exception back and rethrows it into this activation: exceptions cross host
; frames only by being handed over, never by unwinding them.
declare void @host_reenter(ptr)

define internal tailcc i32 @host_try(ptr %ctx) #1 {PERS} {{
{prologue()}  invoke void @host_reenter(ptr %ctx) to label %ok unwind label %lp
ok:
  ret i32 0
{lpad("lp")}{tag(2, "tc")}  %m = icmp eq ptr %lp.tag, %tc
  br i1 %m, label %caught, label %resume
caught:
{payload("pc", "%lp.exn")}  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  %r = add i32 %pc.sum, 400000
  ret i32 %r
resume:
  resume {{ ptr, i32 }} %lp.lp
}}
""")
    # Benchmarks: `iters` throws across n frames (callee = @recurse or @mm).
    for name, callee in (("bench_throw", "recurse"), ("bench_throw_mismatch", "mm")):
        f.append(f"""define internal tailcc i32 @{name}(ptr %ctx, i32 %n, i32 %iters) #1 {PERS} {{
{prologue()}  %nm1 = sub i32 %n, 1
  br label %loop
loop:
  %i = phi i32 [ 0, %body ], [ %i1, %next ]
  %cnt = phi i32 [ 0, %body ], [ %cnt1, %next ]
  %c = icmp ult i32 %i, %iters
  br i1 %c, label %call, label %done
call:
  %x = invoke tailcc i32 @{callee}(ptr %ctx, i32 %nm1) to label %nothrow unwind label %lp
nothrow:
  br label %next
{lpad("lp")}{tag(0, "ta")}  %m = icmp eq ptr %lp.tag, %ta
  br i1 %m, label %caught, label %resume
caught:
  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  %cntp = add i32 %cnt, 1
  br label %next
next:
  %cnt1 = phi i32 [ %cnt, %nothrow ], [ %cntp, %caught ]
  %i1 = add i32 %i, 1
  br label %loop
done:
  ret i32 %cnt
resume:
  resume {{ ptr, i32 }} %lp.lp
}}
""")
    # No-throw cost: the same may-throw callee called in a loop, inside a try_table or not.
    f.append(f"""define internal tailcc i32 @small(ptr %ctx, i32 %x) #1 {{
{prologue()}  %bad = icmp eq i32 %x, -1
  br i1 %bad, label %throw, label %ok, !prof !1
throw:
{tag(0, "ta")}  call void @wasmaot_rt_throw(ptr %ctx, ptr %ta, i32 %x, double 0.0)
  unreachable
ok:
  %y = mul i32 %x, 3
  %z = add i32 %y, 1
  ret i32 %z
}}

define internal tailcc i32 @bench_loop_try(ptr %ctx, i32 %n) #0 {PERS} {{
{prologue()}  br label %loop
loop:
  %i = phi i32 [ 0, %body ], [ %i1, %next ]
  %acc = phi i32 [ 0, %body ], [ %acc1, %next ]
  %c = icmp ult i32 %i, %n
  br i1 %c, label %call, label %done
call:
  %x = invoke tailcc i32 @small(ptr %ctx, i32 %i) to label %ok unwind label %lp
ok:
  %accx = add i32 %acc, %x
  br label %next
{lpad("lp")}{tag(0, "ta")}  %m = icmp eq ptr %lp.tag, %ta
  br i1 %m, label %caught, label %resume
caught:
  call void @wasmaot_rt_exn_free(ptr %lp.exn)
  br label %next
next:
  %acc1 = phi i32 [ %accx, %ok ], [ %acc, %caught ]
  %i1 = add i32 %i, 1
  br label %loop
done:
  ret i32 %acc
resume:
  resume {{ ptr, i32 }} %lp.lp
}}

define internal tailcc i32 @bench_loop_plain(ptr %ctx, i32 %n) #0 {{
{prologue()}  br label %loop
loop:
  %i = phi i32 [ 0, %body ], [ %i1, %next ]
  %acc = phi i32 [ 0, %body ], [ %acc1, %next ]
  %c = icmp ult i32 %i, %n
  br i1 %c, label %call, label %done
call:
  %x = notail call tailcc i32 @small(ptr %ctx, i32 %i)
  br label %next
next:
  %acc1 = add i32 %acc, %x
  %i1 = add i32 %i, 1
  br label %loop
done:
  ret i32 %acc
}}
""")
    # Entry thunks (C ABI, like module.py's wasmaot_entry_*): the activation
    # boundary catches every wasmaot exception and hands it to the host.
    entries = (("entry_outer", "outer", "i32 %a0, i32 %a1, double %d"),
               ("entry_recurse", "rec_try", "i32 %a0"),
               ("entry_limit", "limit_try", ""),
               ("entry_host", "host_try", ""),
               ("entry_bench_throw", "bench_throw", "i32 %a0, i32 %a1"),
               ("entry_bench_throw_mismatch", "bench_throw_mismatch", "i32 %a0, i32 %a1"),
               ("entry_bench_loop_try", "bench_loop_try", "i32 %a0"),
               ("entry_bench_loop_plain", "bench_loop_plain", "i32 %a0"))
    for name, callee, args in entries:
        f.append(f"""define void @{name}(ptr %ctx, ptr %args, double %d, ptr %res) #0 {PERS} {{
entry:
  %a0 = load i32, ptr %args, align 4
  %a1p = getelementptr inbounds i32, ptr %args, i64 1
  %a1 = load i32, ptr %a1p, align 4
  %r = invoke tailcc i32 @{callee}(ptr %ctx{", " if args else ""}{args}) to label %ok unwind label %lp
ok:
  store i32 %r, ptr %res, align 4
  ret void
lp:
  %lp.lp = landingpad {{ ptr, i32 }} catch ptr null
  %lp.exn = extractvalue {{ ptr, i32 }} %lp.lp, 0
  call void @wasmaot_rt_escaped(ptr %ctx, ptr %lp.exn)
  ret void
}}
""")
    f.append(ATTRS + '!0 = !{}\n!1 = !{!"branch_weights", i32 1, i32 2000}\n')
    return "\n".join(f)


def zig() -> list:
    return zig_command()


def sh(cmd: list, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return p


def section_sizes(path: Path) -> dict:
    out = sh(["readelf", "-SW", str(path)]).stdout
    sizes = {}
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        sizes[m.group(1)] = sizes.get(m.group(1), 0) + int(m.group(2), 16)
    return sizes


PROBE = """
#include <stdio.h>
#include <unwind.h>
int main(void) {
#ifdef UNW
  /* every entry point the runtime would use */
  static void *volatile keep[] = {(void *)_Unwind_ForcedUnwind, (void *)_Unwind_RaiseException,
                                  (void *)_Unwind_Resume, (void *)_Unwind_GetLanguageSpecificData,
                                  (void *)_Unwind_GetIPInfo, (void *)_Unwind_GetRegionStart,
                                  (void *)_Unwind_SetGR, (void *)_Unwind_SetIP};
  printf("%p\\n", keep[0]);
#else
  printf("%p\\n", (void *)0);
#endif
  return 0;
}
"""


def unwinder_bytes(zt: str, d: Path) -> int:
    """What linking libunwind adds to a stripped static executable: the same
    small program with and without references to the _Unwind_* entry points."""
    (d / "probe.c").write_text(PROBE)
    sizes = []
    for defs in ([], ["-DUNW"]):
        exe = d / f"probe{len(defs)}"
        sh([*zig(), "cc", "-target", zt, "-O2", *defs, str(d / "probe.c"), "-o", str(exe), *LINK_FLAGS, "-s"])
        sizes.append(exe.stat().st_size)
    return sizes[1] - sizes[0]


ZIG_TARGETS = {"x86_64-linux": "x86_64-linux-musl", "aarch64-linux": "aarch64-linux-musl"}
# Exactly what links it (besides the objects): the unwinder is zig's LLVM libunwind.
LINK_FLAGS = ["-static", "-lunwind", "-Wl,--build-id=none", "-Wl,--gc-sections", "-lm"]
CFLAGS = ["-std=c11", "-O2", "-g0", "-fno-omit-frame-pointer", "-funwind-tables",
          "-fno-sanitize=all", "-Wall", "-Werror"]


def build(name: str, ir: str) -> Path:
    t = CODE_TARGETS[name]
    zt = ZIG_TARGETS[name]
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "spike.ll").write_text(ir)
    (d / "spike.o").write_bytes(compile_ir(ir, t, 2))
    (d / "spike.s").write_bytes(compile_ir(ir, t, 2, output="asm"))
    sh([*zig(), "cc", "-target", zt, *CFLAGS, "-c", str(HERE / "eh_rt.c"), "-o", str(d / "eh_rt.o")])
    exe = d / "spike"
    sh([*zig(), "cc", "-target", zt, "-o", str(exe), str(d / "spike.o"), str(d / "eh_rt.o"),
        *LINK_FLAGS, "-s"])
    return exe


def asm_function(asm: str, name: str, comment: str) -> list:
    """The instructions of one function in LLVM's assembly output."""
    lines, inside = [], False
    for line in asm.splitlines():
        if line.startswith(f"{name}:"):
            inside = True
            continue
        if inside:
            if line.startswith(".Lfunc_end"):
                break
            s = line.strip().split(comment)[0].strip()
            if s and not s.startswith(".") and not s.endswith(":"):
                # block and EH labels are numbered per module: compare without numbers
                lines.append(re.sub(r"\.(LBB|Ltmp)\d+_?\d*", r".\1", s))
    return lines


def run(exe: Path, name: str, args: list) -> int:
    cmd = [str(exe), *args]
    if name == "aarch64-linux":
        cmd = [shutil.which("qemu-aarch64-static") or "qemu-aarch64", *cmd]
    env = dict(os.environ)
    p = subprocess.run(["nice", *cmd], capture_output=True, text=True, env=env)
    sys.stdout.write(p.stdout + p.stderr)
    return p.returncode


def python_api_check() -> int:
    """The Python API's shape: the module and runtime as a shared object for
    x86_64-linux-gnu, zig's libunwind linked into it (not exported), loaded
    into this Python with ctypes, the tests run there."""
    d = OUT / "x86_64-linux"
    so = d / "libspike.so"
    sh([*zig(), "cc", "-target", "x86_64-linux-gnu", *CFLAGS, "-fPIC", "-c", str(HERE / "eh_rt.c"),
        "-o", str(d / "eh_rt_gnu.o")])
    sh([*zig(), "cc", "-target", "x86_64-linux-gnu", "-shared", "-o", str(so), str(d / "spike.o"),
        str(d / "eh_rt_gnu.o"), "-lunwind", "-Wl,-z,defs", "-Wl,--build-id=none"])
    exported = [l for l in sh(["nm", "-D", "--defined-only", str(so)]).stdout.splitlines() if "_Unwind" in l]
    print(f"=== x86_64-linux-gnu shared object in Python (ctypes); _Unwind_* exported: {len(exported)}")
    code = "import ctypes, sys; sys.exit(ctypes.CDLL(sys.argv[1]).main(0, None))"
    p = subprocess.run([sys.executable, "-c", code, str(so)], capture_output=True, text=True)
    sys.stdout.write(p.stdout + p.stderr)
    return p.returncode


WASMTIME = Path("/work/main/.venv/bin/wasmtime")


def wasmtime_bench() -> None:
    """The same throw+catch in wasmtime (wasmtime_throw.wat), CPU time of
    `iters` runs minus a run with none (process start, compilation excluded)."""
    import resource

    cwasm = OUT / "wasmtime_throw.cwasm"
    sh([str(WASMTIME), "compile", "-W", "exceptions=y", str(HERE / "wasmtime_throw.wat"), "-o", str(cwasm)])

    def cpu(n: int, iters: int) -> float:
        best = 1e9
        for _ in range(3):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            sh([str(WASMTIME), "run", "--allow-precompiled", "-W", "exceptions=y", "--invoke", "run",
                str(cwasm), str(n), str(iters)])
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            best = min(best, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        return best

    for n in (1, 10, 100):
        iters = 20000 if n >= 100 else 100000
        print(f"wasmtime throw+catch across {n:3d} frames: {(cpu(n, iters) - cpu(n, 0)) / iters * 1e6:.2f} us")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-bench", action="store_true")
    opts = ap.parse_args()
    ir = module_ir()
    status = 0
    for name in ("x86_64-linux", "aarch64-linux"):
        print(f"=== {name}: build")
        exe = build(name, ir)
        for mode_env in ({}, {"WASMAOT_EH_TWO_PHASE": "1"}):
            os.environ.pop("WASMAOT_EH_TWO_PHASE", None)
            os.environ.update(mode_env)
            bench = name == "x86_64-linux" and not opts.no_bench
            status |= run(exe, name, ["bench"] if bench else [])
        os.environ.pop("WASMAOT_EH_TWO_PHASE", None)
        d = OUT / name
        obj = section_sizes(d / "spike.o")
        nfuncs = len(re.findall(r"^define ", ir, re.M))
        npads = ir.count("landingpad")
        print(f"sizes ({name}): .eh_frame {obj.get('.eh_frame', 0)} B for {nfuncs} functions "
              f"({obj.get('.eh_frame', 0) / nfuncs:.0f} B/function), .gcc_except_table "
              f"{obj.get('.gcc_except_table', 0)} B for {npads} landing pads; "
              f"executable {exe.stat().st_size} B of which libunwind "
              f"{unwinder_bytes(ZIG_TARGETS[name], d)} B")
        asm = (d / "spike.s").read_text()
        comment = "#" if name.startswith("x86_64") else "//"
        # (@small and the loops are inlined into their entry thunks at -O2)
        try_body = asm_function(asm, "entry_bench_loop_try", comment)
        plain_body = asm_function(asm, "entry_bench_loop_plain", comment)
        diff = [l for l in difflib.unified_diff(plain_body, try_body, "without try_table",
                                                "inside try_table", n=1, lineterm="")]
        print(f"asm ({name}): the loop function is {len(plain_body)} instructions without a "
              f"try_table, {len(try_body)} with; the difference (see {d / 'spike.s'}):")
        print("\n".join("    " + l for l in diff[2:]))
    status |= python_api_check()
    if not opts.no_bench:  # (B) and (C) as C stand-ins, x86-64
        alt = OUT / "x86_64-linux" / "alternatives"
        sh([*zig(), "cc", "-target", "x86_64-linux-musl", "-O2", "-static", "-std=c11", "-Wall", "-Werror",
            str(HERE / "alternatives.c"), "-o", str(alt)])
        status |= run(alt, "x86_64-linux", [])
    if not opts.no_bench and WASMTIME.exists():
        wasmtime_bench()
    return status


if __name__ == "__main__":
    sys.exit(main())
