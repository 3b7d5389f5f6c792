"""How a large module's functions are split for compilation: partitions of
similar cost for parallel workers, and within each partition two tiers.

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

import heapq

from ..wasm.module import Module
from ..wasm.validate_module import ModuleContext

# What LLVM spends on a function whatever its size (its pass pipelines run once
# per function), as bytes of code that cost as much: about 1 ms at -O2, as much
# as 60 bytes of code.  Partitions balance size + this per function, so that
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


def partition_functions(module: Module, ctx: ModuleContext, nparts: int) -> list[list[int]]:
    """Defined functions (absolute indices) split into `nparts` groups of
    similar weight (largest first, each to the lightest group); deterministic."""
    first = module.num_imported_funcs
    weights = [function_weight(module, ctx, i) for i in range(len(module.codes))]
    order = sorted(range(len(module.codes)), key=lambda i: (-weights[i], i))
    parts: list[list[int]] = [[] for _ in range(nparts)]
    loads = [(0, k) for k in range(nparts)]  # a heap of (load, part)
    for i in order:
        load, k = heapq.heappop(loads)
        parts[k].append(first + i)
        heapq.heappush(loads, (load + weights[i], k))
    return [sorted(p) for p in parts]


def split_tiers(module: Module, ctx: ModuleContext, funcs: list[int]) -> tuple[list[int], list[int]]:
    """`funcs` (absolute indices) as (full tier, tiny tier)."""
    first = module.num_imported_funcs
    full, tiny = [], []
    for f in funcs:
        (tiny if is_tiny(module, ctx, f - first) else full).append(f)
    return full, tiny
