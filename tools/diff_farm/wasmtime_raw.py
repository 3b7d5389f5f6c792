"""v128 and exnref values, and uncaught exceptions, through wasmtime-py, which has
none of them.

wasmtime-py (the version pinned here) knows the C API's `wasmtime_val_t` with its
16-byte `v128` member, but its `Val` cannot make or read one: calling a function with a
v128 parameter or result, or reading a v128 global, raises.  These helpers do what
`Func.__call__` and `Global.value` do, on the same C API, with v128 values as unsigned
128-bit ints (lane 0 in the low bits, as wasmaot's API returns them); every other value
goes through wasmtime-py's own conversion.  Traps are raised as `Func.__call__` raises
them (`wasmtime.Trap`), through the same `enter_wasm`.  Nothing here may ask wasmtime
for a type with a v128 in it: its C API (`wasm_valtype_t`) aborts the process then.

exnref (issue 10): `Val` does not know that kind either (it raises on a result, a
global or a table element of it), and describing a type with an exnref aborts as a v128
does.  An exnref is read as None (null) or an opaque "ref" and unrooted at once: the
harness compares exnrefs as null or not.  An exception that leaves a call is a
`wasmtime.Trap` without a trap code, the exception itself left in the store:
`take_exception` takes it out (else the store keeps it), `exnref_tag` and
`exnref_fields` read it.
"""

from __future__ import annotations

import ctypes

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._func import enter_wasm
from wasmtime._value import Val

MASK128 = (1 << 128) - 1
EXNREF = 8  # WASMTIME_EXNREF, a wasmtime_valkind_t that wasmtime-py does not name
def _raw_v128(value: int):
    raw = ffi.wasmtime_val_t(kind=ffi.WASMTIME_V128.value)
    raw.of.v128 = ffi.wasmtime_v128(*(value & MASK128).to_bytes(16, "little"))
    return raw


def _from_raw(store, raw):
    """The value in `raw`; an exnref is unrooted here (Val takes over the others)."""
    if raw.kind == ffi.WASMTIME_V128.value:
        return int.from_bytes(bytes(raw.of.v128), "little")
    if raw.kind == EXNREF:
        value = None if raw.of.exnref.store_id == 0 else "ref"
        ffi.wasmtime_val_unroot(ctypes.byref(raw))
        return value
    return Val._from_raw(store, raw).value


def _raw(store, t: str, value):
    """A `wasmtime_val_t` of type `t` (a harness type name)."""
    if t == "v128":
        return _raw_v128(value)
    if t == "exnref":
        if value is not None:
            raise ValueError("only a null exnref can be passed (the host makes none)")
        return ffi.wasmtime_val_t(kind=EXNREF)  # store_id 0: null
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


def table_get(store, table: wasmtime.Table, index: int):
    """An element of a table (of exnrefs: None or "ref")."""
    raw = ffi.wasmtime_val_t()
    if not ffi.wasmtime_table_get(store._context(), ctypes.byref(table._table), index,
                                  ctypes.byref(raw)):
        raise IndexError(f"table index {index} out of bounds")
    return _from_raw(store, raw)


def take_exception(store):
    """The exception a call left uncaught (a wasmtime_exnref_t to unroot), or None."""
    exn = ffi.wasmtime_exnref_t()
    if not ffi.wasmtime_context_take_exception(store._context(), ctypes.byref(exn)):
        return None
    return exn


def unroot_exnref(exn) -> None:
    ffi.wasmtime_exnref_unroot(ctypes.byref(exn))


def exnref_tag(store, exn) -> wasmtime.Tag:
    tag = ffi.wasmtime_tag_t()
    error = ffi.wasmtime_exnref_tag(store._context(), ctypes.byref(exn), ctypes.byref(tag))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return wasmtime.Tag._from_raw(tag)


def exnref_fields(store, exn, count: int) -> list:
    """The payload of `exn`: `count` values (the caller knows the tag's arity)."""
    have = ffi.wasmtime_exnref_field_count(store._context(), ctypes.byref(exn))
    if have != count:
        raise ValueError(f"an exception with {have} fields, its tag has {count}")
    out = []
    for i in range(count):
        raw = ffi.wasmtime_val_t()
        error = ffi.wasmtime_exnref_field(store._context(), ctypes.byref(exn), i,
                                          ctypes.byref(raw))
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)
        out.append(_from_raw(store, raw))
    return out
