"""v128 values through wasmtime-py, which has none.

wasmtime-py (the version pinned here) knows the C API's `wasmtime_val_t` with its
16-byte `v128` member, but its `Val` cannot make or read one: calling a function with a
v128 parameter or result, or reading a v128 global, raises.  These helpers do what
`Func.__call__` and `Global.value` do, on the same C API, with v128 values as unsigned
128-bit ints (lane 0 in the low bits, as wasmaot's API returns them); every other value
goes through wasmtime-py's own conversion.  Traps are raised as `Func.__call__` raises
them (`wasmtime.Trap`), through the same `enter_wasm`.  Nothing here may ask wasmtime
for a type with a v128 in it: its C API (`wasm_valtype_t`) aborts the process then.
"""

from __future__ import annotations

import ctypes

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm
from wasmtime._value import Val

MASK128 = (1 << 128) - 1


def _raw_v128(value: int):
    raw = ffi.wasmtime_val_t(kind=ffi.WASMTIME_V128.value)
    raw.of.v128 = ffi.wasmtime_v128(*(value & MASK128).to_bytes(16, "little"))
    return raw


def _from_raw(store, raw):
    if raw.kind == ffi.WASMTIME_V128.value:
        return int.from_bytes(bytes(raw.of.v128), "little")
    return Val._from_raw(store, raw).value


def _raw(store, t: str, value):
    """A `wasmtime_val_t` of type `t` (a harness type name)."""
    if t == "v128":
        return _raw_v128(value)
    vt = getattr(wasmtime.ValType, t)()
    return Val._convert_to_raw(store, vt, value)


def call(store, func: wasmtime.Func, params: tuple, results: tuple, args: list) -> list:
    """`func(*args)`, its type `params` -> `results` (harness type names: the C API
    aborts the process when asked for a function type with a v128 in it, so the
    caller's types are used); v128 arguments and results are ints.  Always a list."""
    raw_params = (ffi.wasmtime_val_t * max(1, len(args)))()
    made = 0
    try:
        for t, value in zip(params, args):
            raw_params[made] = _raw(store, t, value)
            made += 1
        raw_results = (ffi.wasmtime_val_t * max(1, len(results)))()
        with enter_wasm(store) as trap:
            error = ffi.wasmtime_func_call(store._context(), ctypes.byref(func._func),
                                           raw_params, len(args), raw_results,
                                           len(results), trap)
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
    finally:
        for i in range(made):
            ffi.wasmtime_val_unroot(ctypes.byref(raw_params[i]))
    return [_from_raw(store, raw_results[i]) for i in range(len(results))]


def global_value(store, glob: wasmtime.Global):
    """A global's value (a v128 as an int)."""
    raw = ffi.wasmtime_val_t()
    ffi.wasmtime_global_get(store._context(), ctypes.byref(glob._global), ctypes.byref(raw))
    return _from_raw(store, raw)
