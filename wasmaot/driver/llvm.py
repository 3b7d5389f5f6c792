"""LLVM: parse generated IR, optimize, emit an object file for a target
(targets.CodeTarget: the triple and the CPU), by zig's clang; llvmlite
answers what LLVM knows of this machine's CPU (--cpu native)."""

from __future__ import annotations

import subprocess
import threading
import time

from ..errors import ToolchainError
from .cpu import FEATURES, NATIVE, CpuChoice, resolve
from .targets import CodeTarget, host_code_target
from .toolchain import zig_command, zig_version

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


# Compilation tiers (codegen/partition.py says which functions are tiny).
FULL = "full"
TINY = "tiny"


# The IR pipeline for each -O level.  -O2 runs LLVM's O1 IR pipeline: the wasm
# was already optimized by its own compiler, and O2's extra IR passes cost 6-14 %
# of LLVM's CPU for no run-time gain on the suite (docs/notes/pipeline.md).
# Code generation stays at the -O level.
IR_SPEED_LEVEL = {1: 1, 2: 1, 3: 3}

# Loop passes of the IR pipeline, as clang -O2 has them but for SLP: the loop
# vectorizer, the unroller and interleaving (`-funroll-loops` turns on both).
LOOP_TUNING = ("-vectorize-loops", "-funroll-loops")

# The input is verified once, as clang reads it; not again inside its pipelines.
NO_REVERIFY = "-disable-llvm-verifier"


def steps(opt_level: int, tier: str = FULL) -> tuple[tuple[str, ...], ...]:
    """The `clang -cc1` levels of each step.  Above -O0, the IR pipeline makes
    bitcode, then the code generator runs alone (`-disable-llvm-passes`), so that
    each runs at its own level.  At -O0, and for the tiny tier, one step: no IR
    passes and the fast code generator.  A tiny function is at most 32 bytes of
    loop-free wasm: the O1 pipeline on them cost 65 % more CPU for a module of
    100,000, and SQLite (seven partitions, both tiers) ran the same number of
    instructions to 0.01 % without it (RATIONALE, partitions)."""
    # clang verifies IR as it reads it (`invalid LLVM IR input`, whatever the flags);
    # without -disable-llvm-verifier its pipelines verify the same module up to three
    # times more (the IR pipeline's ends, the code generator's start and its
    # instruction selection): 11 % of the instructions of lua's -O0 step, for the
    # same bytes out.
    if opt_level == 0 or tier == TINY:
        return (("-O0", NO_REVERIFY),)
    return ((f"-O{IR_SPEED_LEVEL[opt_level]}", *LOOP_TUNING, NO_REVERIFY),
            (f"-O{opt_level}", "-disable-llvm-passes", NO_REVERIFY))


def machine(target: CodeTarget) -> tuple[str, ...]:
    """What besides the IR decides the code LLVM makes: the target machine and the
    LLVM in use, zig's (driver/reuse.py keys objects by it)."""
    return (target.triple, target.cpu, target.features, f"ziglang {zig_version()}")


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


def compile_ir(ir_text: str, target: CodeTarget, opt_level: int, *, output: str = "obj",
               timings: dict | None = None, tier: str = FULL) -> bytes:
    """IR text to the bytes of an ELF object file (or assembly text, or the
    optimized IR, with `output` "asm" / "llvm-ir"), by `steps`.  Adds the
    seconds of each step to `timings`, if given: "optimize" (parsing the text,
    the IR pipeline) and "codegen" (at -O0 the parsing too).  The IR is
    verified as it is parsed: a lowering bug is an error, not a crash."""
    plan = steps(opt_level, tier)
    if output == "llvm-ir":  # the IR as the code generator receives it
        plan = plan[:1]
    data = ir_text.encode()
    for i, levels in enumerate(plan):
        last = i == len(plan) - 1
        emit = _EMIT[output] if last else ("-emit-llvm-bc",)
        t0 = time.perf_counter()
        data = _cc1(target, (*levels, *emit), data)
        if timings is not None:
            stage = "codegen" if last and output != "llvm-ir" else "optimize"
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0
    return data


_EMIT = {"obj": ("-emit-obj",), "asm": ("-S",), "llvm-ir": ("-emit-llvm",)}


def _cc1(target: CodeTarget, args: tuple[str, ...], data: bytes) -> bytes:
    """One run of zig's clang on IR (text or bitcode) from stdin: its output.

    zig's clang, not llvmlite's in-process LLVM: the same LLVM release, built
    without assertions, took 32-42 % less CPU for the same code (RATIONALE: "Why
    does zig's clang, not llvmlite, compile the IR?")."""
    features = [a for f in target.features.split(",") if f for a in ("-target-feature", f)]
    cmd = [*zig_command(), "clang", "-cc1", "-triple", target.triple, "-target-cpu", target.cpu,
           *features, "-mrelocation-model", "pic", "-pic-level", "2", "-Wno-override-module",
           *args, "-x", "ir", "-", "-o", "-"]
    try:
        done = subprocess.run(cmd, input=data, capture_output=True)
    except OSError as e:
        raise ToolchainError(f"cannot run zig's clang: {e}") from None
    if done.returncode != 0:
        raise ToolchainError(_failure(done.returncode, done.stderr))
    return done.stdout


def _failure(returncode: int, stderr: bytes) -> str:
    """One line for a failed clang run: its first error (without the `<stdin>:L:C:
    error: ` prefix) if it reported one, else how it ended (a crash, a kill)."""
    lines = stderr.decode("utf-8", "replace").splitlines()
    for line in lines:
        if "error:" in line:
            return f"LLVM rejected the generated IR: {line.split('error:', 1)[1].strip()}"
    how = f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
    first = next((line.strip() for line in lines if line.strip()), "no message")
    return f"zig's clang failed ({how}): {first}"
