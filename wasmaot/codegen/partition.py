"""How a large module's functions are split for compilation: partitions (runs of
consecutive functions, cut where the code says) that worker processes compile in
parallel, and within each partition two tiers.

Tiers.  LLVM's -O2 pipelines cost about half a millisecond per function
whatever its size (pass-manager bookkeeping for some 200 passes), as much as
60 bytes of code; Cranelift spends a twentieth of that.  A *tiny* function
(TINY_BODY_BYTES of code at most, no loop) that no function calls directly is
compiled apart from the others, with three IR passes and LLVM's fast
instruction selector and register allocator (driver/llvm.py, TINY): about a
quarter of the cost.  Nothing calls it directly, so no caller could have
inlined it: its out-of-line code is all there is, and for straight-line code
that small the cheap pipeline's is nearly the same.  Tiny functions that are
called directly stay in the full tier, beside their callers where the
partitioning put them together, so that inlining is what it was.  A loop is
never tiny: the fast register allocator keeps no value in a register across
blocks, which would cost in a loop what it saves at compile time.
"""

from __future__ import annotations

import zlib

from ..wasm.module import Module
from ..wasm.validate_module import ModuleContext

# What LLVM spends on a function whatever its size (its pass pipelines run once
# per function), as bytes of code that cost as much: about 1 ms at -O2, as much
# as 60 bytes of code.  Partitions weigh size + this per function, so that
# 100,000 tiny functions are spread over the workers like 6 MB of code.
FUNCTION_WEIGHT = 64

TINY_BODY_BYTES = 32
# A tiny function costs about this fraction of a full-tier one (measured on
# 5,000 of them: 0.15 ms against 0.6 ms each).
TINY_COST_DIVISOR = 4
_LOOP = 0x03  # the `loop` opcode


def is_tiny(module: Module, ctx: ModuleContext, i: int) -> bool:
    """Whether defined function i (an index into module.codes) is compiled in
    the tiny tier.  Any 0x03 byte counts as a loop, an immediate's included:
    the test may only err toward the full tier, as does a context that does
    not know the direct callees."""
    code = module.codes[i]
    return (code.end - code.body_offset <= TINY_BODY_BYTES
            and ctx.called is not None and module.num_imported_funcs + i not in ctx.called
            and _LOOP not in module.data[code.body_offset:code.end])


def function_weight(module: Module, ctx: ModuleContext, i: int) -> int:
    weight = module.codes[i].size + FUNCTION_WEIGHT
    return weight // TINY_COST_DIVISOR if is_tiny(module, ctx, i) else weight


def partition_functions(module: Module, ctx: ModuleContext,
                        chunk_weight: int) -> list[list[int]]:
    """Defined functions (absolute indices) as runs of consecutive functions of
    about `chunk_weight` each; one run if the module weighs less than two.

    Runs are cut at places of their own, not by counting from the start (as in
    content-defined chunking): after a function whose index hashes below its share
    of a run's weight (so that runs average `chunk_weight`), once a run has a
    quarter of that, and always once it has twice that.  An edit to one function
    therefore changes the run it is in and seldom the next ones, never one before
    it, so that a rebuild compiles only those again (driver/reuse.py); an edit
    that keeps the function's size changes no cut at all.  Consecutive functions are those of one
    source file, which keeps callers beside their callees for the inliner.  The
    cut depends on the module alone, never on the machine: the same objects
    everywhere."""
    first = module.num_imported_funcs
    weights = [function_weight(module, ctx, i) for i in range(len(module.codes))]
    if sum(weights) < 2 * chunk_weight:
        return [list(range(first, first + len(module.codes)))]
    least, most = chunk_weight // 4, 2 * chunk_weight
    rate = chunk_weight - least  # after `least`, a cut per `rate` of weight on average
    runs: list[list[int]] = [[]]
    weight = 0
    for i in range(len(module.codes)):
        runs[-1].append(first + i)
        weight += weights[i]
        h = zlib.crc32(i.to_bytes(4, "little"))
        if weight >= most or (weight >= least and h * rate < weights[i] << 32):
            runs.append([])
            weight = 0
    return [r for r in runs if r]


def split_tiers(module: Module, ctx: ModuleContext, funcs: list[int]) -> tuple[list[int], list[int]]:
    """`funcs` (absolute indices) as (full tier, tiny tier)."""
    first = module.num_imported_funcs
    full, tiny = [], []
    for f in funcs:
        (tiny if is_tiny(module, ctx, f - first) else full).append(f)
    return full, tiny
