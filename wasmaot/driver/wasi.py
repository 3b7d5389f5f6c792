"""The WASI preview1 functions the runtime implements, read from the one table
that defines them: the `WASMAOT_WASI_FUNCTIONS` X-macro of
runtime_c/include/wasmaot_wasi.h (the C declarations are generated from the
same macro, so Python and C cannot disagree)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .toolchain import RUNTIME_INCLUDE_DIR

MODULE = "wasi_snapshot_preview1"
_ROW = re.compile(r"X\((\w+),\s*(ERRNO|NORETURN),\s*((?:I(?:32|64)\(\w+\)\s*)*)\)")
_PARAM = re.compile(r"I(32|64)\(\w+\)")


@dataclass(frozen=True)
class WasiFunction:
    name: str
    params: tuple  # wasm value types
    results: tuple

    @property
    def symbol(self) -> str:
        return f"wasmaot_wasi_{self.name}"


@functools.lru_cache(maxsize=1)
def functions() -> dict[str, WasiFunction]:
    text = (RUNTIME_INCLUDE_DIR / "wasmaot_wasi.h").read_text()
    start = text.index("#define WASMAOT_WASI_FUNCTIONS")
    table = text[start:text.index("#define WASMAOT_WASI_FUNCTION_COUNT")]
    out = {}
    for name, result, params in _ROW.findall(table):
        types = tuple(f"i{bits}" for bits in _PARAM.findall(params))
        out[name] = WasiFunction(name, types, ("i32",) if result == "ERRNO" else ())
    return out
