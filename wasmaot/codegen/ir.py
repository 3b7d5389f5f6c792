"""What lowering code needs from the function being emitted.

Lowering produces LLVM IR *text* (not llvmlite's `ir` builder objects: text
from templates is an order of magnitude cheaper per instruction, see
docs/RATIONALE.md).  Every lowering helper writes into an `IRSink`; the real
one is `codegen.function.FunctionEmitter`, tests use a small stand-in.

Value conventions: a value is its IR text, either an SSA name (`%t12`) or a
literal (`42`, `true`).  wasm types map to LLVM types by `LLVM_TYPE`.
"""

from __future__ import annotations

from typing import Protocol

LLVM_TYPE = {
    "i32": "i32",
    "i64": "i64",
    "f32": "float",
    "f64": "double",
    "v128": "<2 x i64>",
}


class IRSink(Protocol):
    def tmp(self) -> str:
        """A fresh SSA name, e.g. `%t7`."""

    def emit(self, line: str) -> None:
        """Append one instruction (without indentation or newline)."""

    def trap_if(self, cond: str, trap: str) -> None:
        """If the i1 `cond` is true, trap with `abi.TRAP_CODES[trap]`; emission
        continues in a fresh basic block where `cond` was false."""

    def emit_bool(self, r: str, cond: str) -> None:
        """Append `r = zext i1 cond to i32`: a comparison's i32 result, which
        a branch or select on `r` may test as `cond` itself."""

    def declare(self, decl: str) -> None:
        """Make a module-level declaration available, e.g.
        `declare i32 @llvm.ctlz.i32(i32, i1)`; repeated declarations are merged."""
