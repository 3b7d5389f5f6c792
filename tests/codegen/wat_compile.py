"""What the codegen tests compile a WAT module into: the text of the one object
(LLVM IR or assembly) wasmaot makes of it compiled in one piece, and the
definitions of its wasm functions in that IR."""

from __future__ import annotations

import re

from wasmaot.driver.compile import CompileRequest, compile_module
from wasmaot.driver.wat import wat_bytes_to_wasm

# One wasm function's definition in LLVM IR; group 1 is its symbol.
FUNCTION_IR = re.compile(r"^define [^@]*@(wasm_f\d+)\(.*?^}", re.MULTILINE | re.DOTALL)


def compiled_text(wat: str, output: str = "llvm-ir", **request) -> str:
    """The module compiled unsplit to `output` ("llvm-ir" or "asm"); `request`
    gives CompileRequest's other fields (opt_level, target, cpu, ...)."""
    req = CompileRequest(output=output, **request)
    objs, _ = compile_module(wat_bytes_to_wasm(wat.encode()), req, split=False)
    return objs[0].decode()


def function_irs(ir: str) -> dict[str, str]:
    """wasm function symbol -> its definition in `ir`."""
    return {m.group(1): m.group(0) for m in FUNCTION_IR.finditer(ir)}
