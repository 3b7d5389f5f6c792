"""LLVM through llvmlite: parse generated IR, optimize, emit an object file
for a target.

Targets are named by wasmaot (`x86_64-linux`, `aarch64-linux`); each maps to
an LLVM triple and a CPU baseline.  The baseline is portable on purpose: a
binary must run on any machine of its architecture.  x86-64-v2 (SSE4.2,
2009 and later) is the floor because WebAssembly's `nearest`, `ceil`,
`floor` and `trunc` then lower to single instructions instead of libm calls.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..errors import ToolchainError


@dataclass(frozen=True)
class Target:
    name: str
    triple: str
    cpu: str
    features: str = ""


TARGETS = {
    "x86_64-linux": Target("x86_64-linux", "x86_64-unknown-linux-gnu", "x86-64-v2"),
    "aarch64-linux": Target("aarch64-linux", "aarch64-unknown-linux-gnu", "generic"),
}

_init_lock = threading.Lock()
_initialized = False


def _llvm():
    global _initialized
    import llvmlite.binding as llvm

    with _init_lock:
        if not _initialized:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _initialized = True
    return llvm


def host_target() -> Target:
    import platform

    machine = platform.machine()
    if machine in ("x86_64", "AMD64"):
        return TARGETS["x86_64-linux"]
    if machine in ("aarch64", "arm64"):
        return TARGETS["aarch64-linux"]
    raise ToolchainError(f"unsupported host architecture: {machine}")


def target_machine(target: Target, opt_level: int):
    llvm = _llvm()
    t = llvm.Target.from_triple(target.triple)
    return t.create_target_machine(cpu=target.cpu, features=target.features, opt=opt_level,
                                   reloc="pic", codemodel="default")


def parse(ir_text: str, *, verify: bool = True):
    llvm = _llvm()
    try:
        mod = llvm.parse_assembly(ir_text)
        if verify:
            mod.verify()
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "unknown error"
        raise ToolchainError(f"LLVM rejected the generated IR: {first}") from None
    return mod


def optimize(mod, tm, opt_level: int) -> None:
    if opt_level == 0:
        return
    llvm = _llvm()
    pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
    pb = llvm.create_pass_builder(tm, pto)
    pm = pb.getModulePassManager()
    pm.run(mod, pb)


def with_cpu(target: Target, cpu: str) -> Target:
    """`cpu`: "baseline" (the portable default) or "native" (this machine's CPU,
    which must then be of the target's architecture)."""
    if cpu == "baseline":
        return target
    if cpu != "native":
        raise ToolchainError(f"unknown --cpu {cpu!r} (baseline or native)")
    if host_target().name != target.name:
        raise ToolchainError(f"--cpu native needs a {target.name} host")
    llvm = _llvm()
    features = llvm.get_host_cpu_features().flatten()
    return Target(target.name, target.triple, llvm.get_host_cpu_name(), features)


def compile_ir(ir_text: str, target: Target, opt_level: int, *, verify: bool = True,
               output: str = "obj") -> bytes:
    """IR text to the bytes of an ELF object file (or assembly text, or the
    optimized IR, with `output` "asm" / "llvm-ir")."""
    tm = target_machine(target, opt_level)
    mod = parse(ir_text, verify=verify)
    mod.triple = target.triple
    mod.data_layout = str(tm.target_data)
    optimize(mod, tm, opt_level)
    if output == "asm":
        return tm.emit_assembly(mod).encode()
    if output == "llvm-ir":
        return str(mod).encode()
    return tm.emit_object(mod)
