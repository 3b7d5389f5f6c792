"""LLVM through llvmlite: parse generated IR, optimize, emit an object file
for a target (targets.CodeTarget: the triple and the CPU)."""

from __future__ import annotations

import threading
import time

from ..errors import ToolchainError
from .cpu import FEATURES, NATIVE, CpuChoice, resolve
from .targets import CodeTarget, host_code_target

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


def target_machine(target: CodeTarget, opt_level: int):
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


# Compilation tiers (codegen/partition.py says which functions are tiny).
FULL = "full"
TINY = "tiny"


# The IR pipeline for each -O level.  -O2 runs LLVM's O1 IR pipeline (the
# tuning options keep the loop vectorizer on): the wasm was already optimized
# by its own compiler, and O2's extra IR passes cost 6-14 % of LLVM's CPU for
# no run-time gain on the suite (docs/notes/pipeline.md, branch i11-pipeline).
# Code generation stays at the -O level.
IR_SPEED_LEVEL = {1: 1, 2: 1, 3: 3}


def optimize(mod, tm, opt_level: int, tier: str = FULL) -> None:
    """LLVM's pipeline for `opt_level`; for the tiny tier, only what turns
    generated IR into plain code (locals to registers, folding, merging
    blocks): the rest of -O2 finds nothing more in a function that small."""
    if opt_level == 0:
        return
    llvm = _llvm()
    pto = llvm.create_pipeline_tuning_options(speed_level=IR_SPEED_LEVEL[opt_level])
    pb = llvm.create_pass_builder(tm, pto)
    if tier == TINY:
        pm = llvm.create_new_module_pass_manager()
        pm.add_sroa_pass()
        pm.add_instruction_combine_pass()
        pm.add_simplify_cfg_pass()
    else:
        pm = pb.getModulePassManager()
    pm.run(mod, pb)


def machine(target: CodeTarget) -> tuple[str, ...]:
    """What besides the IR decides the code LLVM makes: the target machine and the
    LLVM in use (driver/reuse.py keys objects by it)."""
    import llvmlite

    version = ".".join(map(str, _llvm().llvm_version_info))
    return (target.triple, target.cpu, target.features, f"llvmlite {llvmlite.__version__}",
            f"LLVM {version}")


def cpu_choice(target: CodeTarget, cpu: str) -> CpuChoice:
    """The --cpu level `cpu` (driver/cpu.py) for `target`; ToolchainError if
    there is no such level there (or `native` for a foreign target)."""
    host = host_code_target()
    native = None
    if cpu == NATIVE and host.arch == target.arch:
        llvm = _llvm()
        native = (llvm.get_host_cpu_name(), dict(llvm.get_host_cpu_features()))
    return resolve(target.arch, cpu, target_name=target.name, host_arch=host.arch, host=native)


def check_host_has(cpu: str) -> CpuChoice:
    """The level `cpu` of this machine's architecture; ToolchainError unless
    this CPU has every feature of it (code for this process must run here)."""
    host = host_code_target()
    choice = cpu_choice(host, cpu)
    if not choice.requires:
        return choice
    have = dict(_llvm().get_host_cpu_features())
    by_name = {f.name: f for f in FEATURES[host.arch]}
    lacks = [n for n in choice.requires if not have.get(by_name[n].llvm)]
    if lacks:
        raise ToolchainError(f"--cpu {cpu}: this CPU lacks {', '.join(lacks)}")
    return choice


def with_cpu(target: CodeTarget, cpu: str) -> CodeTarget:
    """`target` with the CPU and features of the --cpu level `cpu`."""
    choice = cpu_choice(target, cpu)
    return CodeTarget(target.name, target.triple, choice.llvm_cpu, choice.llvm_features)


def compile_ir(ir_text: str, target: CodeTarget, opt_level: int, *, verify: bool = True,
               output: str = "obj", timings: dict | None = None, tier: str = FULL) -> bytes:
    """IR text to the bytes of an ELF object file (or assembly text, or the
    optimized IR, with `output` "asm" / "llvm-ir").  Adds the seconds spent
    in "parse", "optimize" and "codegen" to `timings`, if given.  The tiny
    tier's code generator is LLVM's fast one (-O0's)."""
    t0 = time.perf_counter()
    tm = target_machine(target, 0 if tier == TINY else opt_level)
    mod = parse(ir_text, verify=verify)
    mod.triple = target.triple
    mod.data_layout = str(tm.target_data)
    t1 = time.perf_counter()
    optimize(mod, tm, opt_level, tier)
    t2 = time.perf_counter()
    if output == "asm":
        out = tm.emit_assembly(mod).encode()
    elif output == "llvm-ir":
        out = str(mod).encode()
    else:
        out = tm.emit_object(mod)
    if timings is not None:
        for stage, seconds in (("parse", t1 - t0), ("optimize", t2 - t1),
                               ("codegen", time.perf_counter() - t2)):
            timings[stage] = timings.get(stage, 0.0) + seconds
    return out
