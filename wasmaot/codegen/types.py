"""wasm value types as LLVM IR types, and their zero values."""

from __future__ import annotations

from ..wasm.types import RefType
from .ir import LLVM_TYPE


def llvm_type(t) -> str:
    """References are pointers (a `wasmaot_funcref*` or an externref)."""
    if type(t) is RefType:
        return "ptr"
    return LLVM_TYPE[t]


_ZERO = {"i32": "0", "i64": "0", "float": "0.0", "double": "0.0", "ptr": "null",
         "<2 x i64>": "zeroinitializer"}


def zero_value(llvm_ty: str) -> str:
    return _ZERO[llvm_ty]
