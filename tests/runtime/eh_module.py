"""A hand-written stand-in for a compiled module that throws and catches wasm exceptions,
to test the runtime's side of exception handling (runtime_c/exception.c) before the
code generator lowers try_table.

The functions are LLVM IR in the shape docs/RATIONALE.md ("Exceptions") gives the
lowering: tailcc, vmctx first, the stack-limit check in every prologue, `notail`
calls, calls inside a try region are `invoke`s whose `cleanup` landing pads compare
the exception's tag instance with vmctx.tags[i] and take it or `resume`, every entry
thunk `invoke`s the function with a pad that catches every wasm exception and hands
it to wasmaot_rt_exception_escaped.  Offsets come from codegen/abi.py.  The
descriptor and names are C (eh_module.c), linked into the same object.

    types  0 [i32] -> [i32]   1 [i32 i32] -> [i32]   2 [i32 i64] -> []   3 [i32] -> []
           4 [] -> []
    tags   0 type 2 (imported "env" "tag" with -DEH_IMPORT_TAG)   1 type 3   2 type 2
    funcs  0 host (import "env" "host", type 0)
           1 thrower(which, v): 0/1/2 throw tag 0/1/2 with payload (v, v * 1000) (tag 1: v);
             3 unreachable; 4 return host(v); 5 throw_ref null; 6 throw_ref global 0;
             7 call deep; 8 call to_limit; else return v
           2 mid(which, v) = thrower(which, v) + 1          (no handler)
           3 catch0(which, v): try_table (catch tag 0) mid(which, v)
                  -> 100000 + payload0 + payload1
           4 outer(which, v): try_table (catch tag 1) (catch_ref tag 2 if payload0 == 7)
                  catch0(which, v) -> 200000 + payload0 | 300000 + payload0 (exnref kept
                  in global 0)
           5 deep(which, v): try_table (catch_all) deep(which, v): recursion to the
                  stack limit with a landing pad in every frame
           6 start(): the executable's _start: checks outer(1, 5), outer(0, 3),
                  outer(9, 4) and outer(8, 6) (a wrong result is `unreachable`), then
                  outer(2, 8), which nobody catches
           7 to_limit(which, v): recursion to within 2 KiB of the stack limit, then
                  throws tag 1 with payload v
    global 0: an exnref cell
    entry_thunks[2] (type 2 is a tag's type, no function has it): a thunk for type 1
           WITHOUT the catch pad, to test that the runtime refuses to unwind past it
"""

from __future__ import annotations

from pathlib import Path

from wasmaot.codegen import abi
from wasmaot.driver import toolchain
from wasmaot.driver.llvm import compile_ir
from wasmaot.driver.targets import CODE_TARGETS

HERE = Path(__file__).parent
DESCRIPTOR_SOURCE = HERE / "eh_module.c"

HOST, THROWER, MID, CATCH0, OUTER, DEEP, START, TO_LIMIT = range(8)
NAMES = ("host", "thrower", "mid", "catch0", "outer", "deep", "start", "to_limit")
TYPE_OF_TAG = (2, 3, 2)
NUM_TYPES = 5

VM_STACK_LIMIT = abi.VMCTX.offset("stack_limit")
VM_GLOBALS = abi.VMCTX.offset("globals")
VM_FUNCS = abi.VMCTX.offset("funcs")
VM_TAGS = abi.VMCTX.offset("tags")
FUNCREF_SIZE = abi.FUNCREF.size
FUNCREF_VMCTX = abi.FUNCREF.offset("vmctx")
EXN_TAG = abi.EXCEPTION.offset("tag")
EXN_REFERENCED = abi.EXCEPTION.offset("referenced")
CELL0 = abi.EXCEPTION_VALUES
CELL1 = abi.EXCEPTION_VALUES + abi.VALUE_SIZE
TRAP = abi.TRAP_CODES

PERS = f"personality ptr @{abi.PERSONALITY}"


def _decls() -> str:
    return f"""
declare void @wasmaot_rt_trap(ptr, i32) cold noreturn nounwind
declare ptr @wasmaot_rt_exception_new(ptr, i32) nounwind
declare void @wasmaot_rt_throw(ptr, ptr) cold noreturn
declare void @wasmaot_rt_exception_free(ptr, ptr) nounwind
declare void @wasmaot_rt_exception_escaped(ptr, ptr) cold noreturn nounwind
declare void @wasmaot_rt_host_call(ptr, ptr, ptr)
declare i32 @{abi.PERSONALITY}(...)
declare ptr @llvm.frameaddress.p0(i32 immarg)

; Functions that may throw: today's attributes without `nounwind`.
attributes #0 = {{ noinline "frame-pointer"="all" "probe-stack"="inline-asm" }}
!0 = !{{}}
"""


def _prologue() -> str:
    """The stack-limit check of every generated prologue (codegen/function.py)."""
    return f"""entry:
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %limp = getelementptr inbounds i8, ptr %ctx, i64 {VM_STACK_LIMIT}
  %cellp = load ptr, ptr %limp, align 8, !invariant.load !0
  %lim = load i64, ptr %cellp, align 8
  %fai = ptrtoint ptr %fa to i64
  %low = icmp ult i64 %fai, %lim
  br i1 %low, label %stack_trap, label %body
stack_trap:
  call void @wasmaot_rt_trap(ptr %ctx, i32 {TRAP["STACK_EXHAUSTED"]})
  unreachable
body:
"""


def _tag(n: int, name: str) -> str:
    """%name = vmctx.tags[n]: the tag instance (an import's is the exporter's)."""
    return (f"  %{name}.a = getelementptr inbounds i8, ptr %ctx, i64 {VM_TAGS}\n"
            f"  %{name}.t = load ptr, ptr %{name}.a, align 8, !invariant.load !0\n"
            f"  %{name}.p = getelementptr inbounds ptr, ptr %{name}.t, i64 {n}\n"
            f"  %{name} = load ptr, ptr %{name}.p, align 8, !invariant.load !0\n")


def _global0(name: str) -> str:
    """%name = the address of global 0's cell."""
    return (f"  %{name}.a = getelementptr inbounds i8, ptr %ctx, i64 {VM_GLOBALS}\n"
            f"  %{name}.g = load ptr, ptr %{name}.a, align 8\n"
            f"  %{name} = load ptr, ptr %{name}.g, align 8\n")


def _throw(label: str, tag: int, two_values: bool) -> str:
    second = (f"  %{label}.c1 = getelementptr inbounds i8, ptr %{label}.e, i64 {CELL1}\n"
              f"  %{label}.w = mul i64 %v64, 1000\n"
              f"  store i64 %{label}.w, ptr %{label}.c1, align 16\n") if two_values else ""
    return f"""{label}:
  %{label}.e = call ptr @wasmaot_rt_exception_new(ptr %ctx, i32 {tag})
  %{label}.c0 = getelementptr inbounds i8, ptr %{label}.e, i64 {CELL0}
  store i32 %v, ptr %{label}.c0, align 16
{second}  call void @wasmaot_rt_throw(ptr %ctx, ptr %{label}.e)
  unreachable
"""


def _landing_pad() -> str:
    return f"""lp:
  %lpv = landingpad {{ ptr, i32 }} cleanup
  %exn = extractvalue {{ ptr, i32 }} %lpv, 0
  %exn.tp = getelementptr inbounds i8, ptr %exn, i64 {EXN_TAG}
  %exn.tag = load ptr, ptr %exn.tp, align 8
  %exn.c0 = getelementptr inbounds i8, ptr %exn, i64 {CELL0}
  %p0 = load i32, ptr %exn.c0, align 16
"""


def _thunk(name: str, call: str) -> str:
    """An entry thunk: the activation boundary catches every wasm exception."""
    return f"""define hidden void @{name}(ptr %code, ptr %ctx, ptr %args, ptr %res) {PERS} {{
entry:
{call}
lp:
  %lpv = landingpad {{ ptr, i32 }} catch ptr null
  %exn = extractvalue {{ ptr, i32 }} %lpv, 0
  call void @wasmaot_rt_exception_escaped(ptr %ctx, ptr %exn)
  unreachable
}}
"""


def module_ir() -> str:
    f = [_decls()]
    f.append(f"""define hidden tailcc i32 @eh_thrower(ptr %ctx, i32 %which, i32 %v) #0 {{
{_prologue()}  %v64 = sext i32 %v to i64
  switch i32 %which, label %ret [i32 0, label %t0
                                 i32 1, label %t1
                                 i32 2, label %t2
                                 i32 3, label %unr
                                 i32 4, label %host
                                 i32 5, label %tnull
                                 i32 6, label %tref
                                 i32 7, label %deep
                                 i32 8, label %limit]
{_throw("t0", 0, True)}{_throw("t1", 1, False)}{_throw("t2", 2, True)}unr:
  call void @wasmaot_rt_trap(ptr %ctx, i32 {TRAP["UNREACHABLE"]})
  unreachable
host:
  %fa.a = getelementptr inbounds i8, ptr %ctx, i64 {VM_FUNCS}
  %fs = load ptr, ptr %fa.a, align 8, !invariant.load !0
  %hcode = load ptr, ptr %fs, align 8
  %hvp = getelementptr inbounds i8, ptr %fs, i64 {FUNCREF_VMCTX}
  %hvm = load ptr, ptr %hvp, align 8
  %hr = notail call tailcc i32 %hcode(ptr %hvm, i32 %v)
  ret i32 %hr
tnull:
  call void @wasmaot_rt_throw(ptr %ctx, ptr null)
  unreachable
tref:
{_global0("g")}  %gv = load ptr, ptr %g, align 16
  call void @wasmaot_rt_throw(ptr %ctx, ptr %gv)
  unreachable
deep:
  %dr = notail call tailcc i32 @eh_deep(ptr %ctx, i32 %which, i32 %v)
  ret i32 %dr
limit:
  %lr = notail call tailcc i32 @eh_to_limit(ptr %ctx, i32 %which, i32 %v)
  ret i32 %lr
ret:
  ret i32 %v
}}

define hidden tailcc i32 @eh_mid(ptr %ctx, i32 %which, i32 %v) #0 {{
{_prologue()}  %r = notail call tailcc i32 @eh_thrower(ptr %ctx, i32 %which, i32 %v)
  %r1 = add i32 %r, 1
  ret i32 %r1
}}

define hidden tailcc i32 @eh_catch0(ptr %ctx, i32 %which, i32 %v) #0 {PERS} {{
{_prologue()}  %r = invoke tailcc i32 @eh_mid(ptr %ctx, i32 %which, i32 %v) to label %ok unwind label %lp
ok:
  ret i32 %r
{_landing_pad()}{_tag(0, "t0")}  %m = icmp eq ptr %exn.tag, %t0
  br i1 %m, label %caught, label %resume
caught:
  %c1 = getelementptr inbounds i8, ptr %exn, i64 {CELL1}
  %p1 = load i64, ptr %c1, align 16
  call void @wasmaot_rt_exception_free(ptr %ctx, ptr %exn)
  %p1t = trunc i64 %p1 to i32
  %s = add i32 %p0, %p1t
  %res = add i32 %s, 100000
  ret i32 %res
resume:
  resume {{ ptr, i32 }} %lpv
}}

define hidden tailcc i32 @eh_outer(ptr %ctx, i32 %which, i32 %v) #0 {PERS} {{
{_prologue()}  %r = invoke tailcc i32 @eh_catch0(ptr %ctx, i32 %which, i32 %v) to label %ok unwind label %lp
ok:
  ret i32 %r
{_landing_pad()}{_tag(1, "t1")}  %m1 = icmp eq ptr %exn.tag, %t1
  br i1 %m1, label %catch1, label %test2
catch1:
  call void @wasmaot_rt_exception_free(ptr %ctx, ptr %exn)
  %r1 = add i32 %p0, 200000
  ret i32 %r1
test2:
{_tag(2, "t2")}  %m2 = icmp eq ptr %exn.tag, %t2
  %is7 = icmp eq i32 %p0, 7
  %m27 = and i1 %m2, %is7
  br i1 %m27, label %catch2, label %resume
catch2:
  %refp = getelementptr inbounds i8, ptr %exn, i64 {EXN_REFERENCED}
  store i64 1, ptr %refp, align 8
{_global0("g")}  store ptr %exn, ptr %g, align 16
  %r2 = add i32 %p0, 300000
  ret i32 %r2
resume:
  resume {{ ptr, i32 }} %lpv
}}

define hidden tailcc i32 @eh_deep(ptr %ctx, i32 %which, i32 %v) #0 {PERS} {{
{_prologue()}  %r = invoke tailcc i32 @eh_deep(ptr %ctx, i32 %which, i32 %v) to label %ok unwind label %lp
ok:
  %r1 = add i32 %r, 1
  ret i32 %r1
lp:
  %lpv = landingpad {{ ptr, i32 }} cleanup
  %exn = extractvalue {{ ptr, i32 }} %lpv, 0
  call void @wasmaot_rt_exception_free(ptr %ctx, ptr %exn)
  ret i32 -1
}}

; Recursion until the frame is within 2 KiB of the stack limit, then throw tag 1:
; the unwinder runs in the margin below the limit.
define hidden tailcc i32 @eh_to_limit(ptr %ctx, i32 %which, i32 %v) #0 {{
{_prologue()}  %near = add i64 %lim, 2048
  %at = icmp ult i64 %fai, %near
  br i1 %at, label %t1, label %rec
{_throw("t1", 1, False)}rec:
  %r = notail call tailcc i32 @eh_to_limit(ptr %ctx, i32 %which, i32 %v)
  %r1 = add i32 %r, 1
  ret i32 %r1
}}

define hidden tailcc void @eh_start(ptr %ctx) #0 {{
{_prologue()}  %a = notail call tailcc i32 @eh_outer(ptr %ctx, i32 1, i32 5)
  %a.ok = icmp eq i32 %a, 200005
  br i1 %a.ok, label %b, label %bad
b:
  %b.r = notail call tailcc i32 @eh_outer(ptr %ctx, i32 0, i32 3)
  %b.ok = icmp eq i32 %b.r, 103003
  br i1 %b.ok, label %c, label %bad
c:
  %c.r = notail call tailcc i32 @eh_outer(ptr %ctx, i32 9, i32 4)
  %c.ok = icmp eq i32 %c.r, 5
  br i1 %c.ok, label %d, label %bad
d:
  %d.r = notail call tailcc i32 @eh_outer(ptr %ctx, i32 8, i32 6)
  %d.ok = icmp eq i32 %d.r, 200006
  br i1 %d.ok, label %escape, label %bad
escape:
  %e.r = notail call tailcc i32 @eh_outer(ptr %ctx, i32 2, i32 8)
  ret void
bad:
  call void @wasmaot_rt_trap(ptr %ctx, i32 {TRAP["UNREACHABLE"]})
  unreachable
}}

; The host adapter of an [i32] -> [i32] import: %ctx is the host record.  It may
; throw (wasmaot_rt_host_call throws what the host gave it).
define hidden tailcc i32 @eh_adapter0(ptr %ctx, i32 %x) #0 {{
entry:
  %args = alloca [1 x i128], align 16
  %res = alloca [1 x i128], align 16
  store i128 0, ptr %args, align 16
  store i128 0, ptr %res, align 16
  store i32 %x, ptr %args, align 16
  call void @wasmaot_rt_host_call(ptr %ctx, ptr %args, ptr %res)
  %r = load i32, ptr %res, align 16
  ret i32 %r
}}
""")
    f.append(_thunk("eh_thunk1", """  %a0 = load i32, ptr %args, align 16
  %a1p = getelementptr inbounds i8, ptr %args, i64 16
  %a1 = load i32, ptr %a1p, align 16
  %r = invoke tailcc i32 %code(ptr %ctx, i32 %a0, i32 %a1) to label %ok unwind label %lp
ok:
  store i32 %r, ptr %res, align 16
  ret void"""))
    # A broken entry thunk, without the catch pad: as if wasm were entered without one.
    f.append("""define hidden void @eh_thunk1_nocatch(ptr %code, ptr %ctx, ptr %args, ptr %res) {
entry:
  %a0 = load i32, ptr %args, align 16
  %a1p = getelementptr inbounds i8, ptr %args, i64 16
  %a1 = load i32, ptr %a1p, align 16
  %r = call tailcc i32 %code(ptr %ctx, i32 %a0, i32 %a1)
  store i32 %r, ptr %res, align 16
  ret void
}
""")
    f.append(_thunk("eh_thunk4", """  invoke tailcc void %code(ptr %ctx) to label %ok unwind label %lp
ok:
  ret void"""))
    return "\n".join(f)


def build_objects(out: Path, target: str, code_target: str, defines: tuple = ()) -> list[Path]:
    """The IR's object and the descriptor's, for zig target `target`."""
    out.mkdir(parents=True, exist_ok=True)
    ir_obj = out / "eh_code.o"
    ir_obj.write_bytes(compile_ir(module_ir(), CODE_TARGETS[code_target], 2))
    desc_obj = out / "eh_desc.o"
    build = toolchain.runtime_build(target)
    toolchain.compile_object(DESCRIPTOR_SOURCE, desc_obj, target, include_dirs=build.include_dirs,
                             extra_flags=defines)
    return [ir_obj, desc_obj]
