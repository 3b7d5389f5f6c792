"""Differential testing against wasmtime: generate a module, run it on both, compare.

One *case* is a seed.  The seed fixes everything: the `wasm-tools smith` input bytes
and options (`smith_module`), and the call plan (`call_plan`: which export is called,
in what order, with which arguments).  Running a case (`run_case`) instantiates the
module in wasmtime and in wasmaot (native code at the default -O2 with guard pages, or
as `WASMAOT_DIFF_OPT` and `WASMAOT_DIFF_BOUNDS=explicit` say) and compares, step by step:

  * instantiation: both succeed, or both trap with the same trap;
  * every call: the same results (integers bit-exact; floats by bit pattern, where any
    two NaNs are equal; externrefs the same host object; funcrefs both null or both
    non-null with the same type), or the same trap, or the same host exception;
  * after instantiation and after every call, the observable state: each exported
    memory (size in pages and a hash of its bytes), each exported global's value,
    each exported table's size (and, after instantiation and at the end, its
    elements), and the log of host-function calls with their arguments.

Half of the seeds may import host functions, globals, a memory and a table
(`HOST_IMPORTS`); one host function raises `HostError` on odd arguments, which must
reach the Python caller unchanged through the wasm frames of both engines.

The first difference ends the case and is its *mismatch*.  Two outcomes are not
mismatches but *inconclusive*, because the spec allows them to differ: a call that
exhausts the stack on one side only (frames differ in size between engines), after
which the states may legitimately diverge.  A module wasmaot refuses with
`UnsupportedFeature` is *skipped* with the feature as its reason.

The smith options restrict modules to issue 3's feature set: the MVP, mutable globals,
sign extension, saturating float-to-int, multi-value, bulk memory, reference types
(up to 3 tables), tail calls, memory64, multi-memory (up to 2 memories) and extended
constant expressions.  No SIMD, GC, exceptions, threads, wide arithmetic, custom page
sizes, custom descriptors or compact imports.  Three settings keep both engines
deterministic and comparable:

  * `--ensure-termination`: loops and calls decrement a fuel global and trap
    (`unreachable`) when it runs out, so every call ends.  We export the global and
    refill it to FUEL_PER_CALL (1000) before each call.  More fuel would let recursion
    go deep enough to exhaust the stack, at depths that differ between the engines
    (wasmaot's frames are bigger than wasmtime's), which only gives inconclusive cases;
  * `--canonicalize-nans true`: NaN payloads produced by arithmetic are not specified
    (LLVM's constant folder and the hardware pick different ones), so every float
    result is canonicalized before it can reach memory or a reinterpret;
  * every memory and table has a maximum (≤ 1 MiB, ≤ 1000 elements): a grow beyond
    what a host is willing to give may fail on one engine and succeed on the other.

Run one case by hand (what a mismatch report prints):

    .venv/bin/python tests/differential/diff_harness.py --seed 17 [--save DIR]
    .venv/bin/python tests/differential/diff_harness.py --seed 17 --wasm saved.wasm

`--worker` is the protocol `test_vs_wasmtime.py` uses: one JSON request per stdin line
(`{"seed": N}`), one JSON report per stdout line.  Running the cases in a child keeps a
crash or a hang of native code from taking the test session with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FUEL_PER_CALL = 1000  # loop iterations and calls before a call traps

SMITH_FLAGS = (
    "--ensure-termination", "--fuel", str(FUEL_PER_CALL),
    "--export-everything", "true",
    "--allow-start-export", "false",
    "--min-types", "2",
    "--min-funcs", "3",
    "--max-memories", "2",
    "--max-tables", "3",
    "--memory-max-size-required", "true",
    "--max-memory32-bytes", str(1 << 20),
    "--max-memory64-bytes", str(1 << 20),
    "--table-max-size-required", "true",
    "--max-table-elements", "1000",
    "--canonicalize-nans", "true",
    "--simd-enabled", "false",
    "--relaxed-simd-enabled", "false",
    "--gc-enabled", "false",
    "--exceptions-enabled", "false",
    "--threads-enabled", "false",
    "--shared-everything-threads-enabled", "false",
    "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false",
    "--wide-arithmetic-enabled", "false",
    "--custom-page-sizes-enabled", "false",
    # On (their defaults, spelled out): the feature set under test.
    "--multi-value-enabled", "true",
    "--saturating-float-to-int-enabled", "true",
    "--sign-extension-ops-enabled", "true",
    "--bulk-memory-enabled", "true",
    "--reference-types-enabled", "true",
    "--tail-call-enabled", "true",
    "--extended-const-enabled", "true",
)

# wasmaot's opt level: the default users get, unless WASMAOT_DIFF_OPT says otherwise.
OPT_LEVEL = int(os.environ.get("WASMAOT_DIFF_OPT", "2"))
# "guard" (guard pages for 32-bit memories, the default) or "explicit".
BOUNDS_CHECKS = os.environ.get("WASMAOT_DIFF_BOUNDS", "guard")
CALLS_PER_EXPORT = 4
MAX_CALLS = 48
TABLE_ELEMENTS_COMPARED = 1000


def wasm_tools() -> str:
    cand = Path(sys.executable).parent / "wasm-tools"
    return str(cand) if cand.exists() else "wasm-tools"


def smith_options(seed: int) -> list[str]:
    """Per-seed variation on top of SMITH_FLAGS, so that a range of seeds covers
    small and large bodies, with and without floats, memory64, trap guards and
    imports (half of the seeds may import from HOST_IMPORTS)."""
    rng = random.Random(f"options-{seed}")
    imports = (["--available-imports", str(host_imports_path()), "--max-imports", "10"]
               if rng.random() < 0.5 else ["--max-imports", "0"])
    return [
        *imports,
        "--max-instructions", str(rng.choice((30, 100, 100, 300, 1000))),
        "--memory64-enabled", rng.choice(("true", "false")),
        "--allow-floats", rng.choice(("true", "true", "false")),
        # Guarded loads, divisions and conversions: more calls run to their end.
        "--disallow-traps", rng.choice(("true", "false", "false")),
    ]


def smith_module(seed: int) -> bytes | None:
    """The module of case `seed`, or None when smith cannot make one of these bytes
    (exit code 2: rare, and deterministic).  Its fuel global is exported as FUEL."""
    rng = random.Random(f"smith-{seed}")
    data = rng.randbytes(rng.randint(1000, 20000))
    proc = subprocess.run([wasm_tools(), "smith", *SMITH_FLAGS, *smith_options(seed)],
                          input=data, capture_output=True, check=False)
    if proc.returncode == 2:
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"wasm-tools smith failed: {proc.stderr.decode(errors='replace')}")
    return export_fuel(proc.stdout)


# --- the fuel global -------------------------------------------------------------------
#
# `--ensure-termination` adds the fuel counter as the module's last global, after
# `--export-everything` has run, so it is not exported.  We export it (a binary edit of
# the export section) and refill it before every call: otherwise the first busy call
# drains it and every later call traps in its prologue, testing little.

FUEL = "wasmaot-diff-fuel"


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _imported_globals(contents: bytes) -> int:
    """Global imports in an import section (of the MVP-plus encodings smith emits here)."""
    n, pos = _leb(contents, 0)
    globals_ = 0

    def skip_name(pos):
        size, pos = _leb(contents, pos)
        return pos + size

    def skip_limits(pos):
        flags = contents[pos]
        _, pos = _leb(contents, pos + 1)
        if flags & 1:
            _, pos = _leb(contents, pos)
        return pos

    for _ in range(n):
        pos = skip_name(skip_name(pos))
        kind = contents[pos]
        pos += 1
        if kind == 0:  # func: type index
            _, pos = _leb(contents, pos)
        elif kind == 1:  # table: reftype, limits
            pos = skip_limits(pos + 1)
        elif kind == 2:  # memory: limits
            pos = skip_limits(pos)
        elif kind == 3:  # global: valtype, mutability
            pos += 2
            globals_ += 1
        else:
            raise ValueError(f"unexpected import kind {kind}")
    return globals_


def export_fuel(wasm: bytes) -> bytes:
    """`wasm` with its last global (smith's fuel) exported as FUEL."""
    sections = []  # (id, contents)
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = _leb(wasm, pos + 1)
        sections.append((sid, wasm[pos:pos + size]))
        pos += size
    globals_ = [c for sid, c in sections if sid == 6]
    if not globals_:
        return wasm
    count, _ = _leb(globals_[0], 0)
    imported = sum(_imported_globals(c) for sid, c in sections if sid == 2)
    name = FUEL.encode()
    entry = _uleb(len(name)) + name + b"\x03" + _uleb(imported + count - 1)
    section = b"\x07" + _uleb(len(entry) + 1) + b"\x01" + entry
    out = bytearray(wasm[:8])
    placed = False
    for sid, contents in sections:
        if sid == 7:
            n, p = _leb(contents, 0)
            contents = _uleb(n + 1) + contents[p:] + entry
            placed = True
        elif not placed and sid in (8, 9, 12, 10, 11):  # the sections after exports
            out += section
            placed = True
        out += bytes([sid]) + _uleb(len(contents)) + contents
    if not placed:
        out += section
    return bytes(out)


# --- imports -------------------------------------------------------------------------
#
# Half of the seeds let smith import from this module; both engines get the same host
# functions (deterministic, logging every call with its arguments), a mutable and an
# immutable global, a memory and a table, all made by the host.  The call logs are
# compared as part of the state, so an argument passed wrongly to the host shows.

HOST_IMPORTS = """(module
  (import "host" "i32" (func (param i32) (result i32)))
  (import "host" "i64x2" (func (param i64 i64) (result i64)))
  (import "host" "floats" (func (param f32 f64) (result f64)))
  (import "host" "multi" (func (param i32) (result i32 i64)))
  (import "host" "nothing" (func))
  (import "host" "fail" (func (param i32)))
  (import "host" "g" (global (mut i32)))
  (import "host" "c" (global i64))
  (import "host" "mem" (memory 1 4))
  (import "host" "tab" (table 4 16 funcref)))"""

HOST_FUNCS = {  # name -> (params, results)
    "i32": (("i32",), ("i32",)),
    "i64x2": (("i64", "i64"), ("i64",)),
    "floats": (("f32", "f64"), ("f64",)),
    "multi": (("i32",), ("i32", "i64")),
    "nothing": ((), ()),
    "fail": (("i32",), ()),
}
HOST_GLOBALS = {"g": ("i32", True, 5), "c": ("i64", False, -77)}
HOST_MEMORY = (1, 4)
HOST_TABLE = (4, 16)

_HOST_IMPORTS_PATH = None


def host_imports_path() -> Path:
    """HOST_IMPORTS in binary, for `smith --available-imports` (made once per process)."""
    global _HOST_IMPORTS_PATH
    if _HOST_IMPORTS_PATH is None:
        import tempfile

        wasm = subprocess.run([wasm_tools(), "parse", "-"], input=HOST_IMPORTS.encode(),
                              capture_output=True, check=True).stdout
        import atexit

        fd, name = tempfile.mkstemp(prefix="wasmaot-diff-imports-", suffix=".wasm")
        os.write(fd, wasm)
        os.close(fd)
        atexit.register(os.unlink, name)
        _HOST_IMPORTS_PATH = Path(name)
    return _HOST_IMPORTS_PATH


HOST_LOG = " host calls"  # the state's key for Host.log (no export has this name)


class HostError(Exception):
    """Raised by the host function `fail`; must reach the caller unchanged on both sides."""


class Host:
    """The host functions of one instance, on bit patterns (f32/f64 as ints)."""

    def __init__(self):
        self.log: list = []

    def call(self, name: str, args: list):
        self.log.append([name, [_nan_as_text(t, a) for t, a in zip(HOST_FUNCS[name][0], args)]])
        if name == "i32":
            return _signed(args[0] * 7 + 3, 32)
        if name == "i64x2":
            return _signed((args[0] ^ args[1]) + 1, 64)
        if name == "floats":
            return _float_bits(len(self.log) / 2, "f64")
        if name == "multi":
            return (_signed(args[0] + 1, 32), _signed(args[0] * 2, 64))
        if name == "fail" and args[0] & 1:
            raise HostError(f"host fail({args[0]})")
        return None


def _nan_as_text(t: str, v):
    """NaNs as "nan": wasmtime hands f32 arguments over as Python floats, which
    quiet a signalling NaN, so only NaN-ness is comparable."""
    return "nan" if t in ("f32", "f64") and _is_nan(v, t) else v


# --- values ------------------------------------------------------------------------

I32_EDGES = (0, 1, 2, 7, 8, 31, 32, 63, 64, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
             0x7FFFFFFF, -0x80000000, -1, -2)
I64_EDGES = I32_EDGES + (0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000)
F32_EDGES = (0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0x7F800000,
             0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F7FFFFF, 0x00000001, 0x00800000,
             0x4F000000, 0xCF000000, 0x5F000000, 0xDF000000, 0x4F800000, 0x40490FDB)
F64_EDGES = (0x0000000000000000, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
             0x3FE0000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
             0xFFF8000000000000, 0x7FEFFFFFFFFFFFFF, 0x0000000000000001, 0x0010000000000000,
             0x41E0000000000000, 0xC1E0000000000000, 0x43E0000000000000, 0xC3E0000000000000,
             0x41DFFFFFFFC00000, 0x400921FB54442D18)


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _quiet(bits: int, width: int) -> int:
    """Make a signalling NaN quiet: a Python float (wasmtime's f32 interface) would."""
    exp_bits, quiet = (8, 1 << 22) if width == 32 else (11, 1 << 51)
    exp_mask = ((1 << exp_bits) - 1) << (width - 1 - exp_bits)
    frac_mask = (1 << (width - 1 - exp_bits)) - 1
    if bits & exp_mask == exp_mask and bits & frac_mask:
        bits |= quiet
    return bits


def random_value(rng: random.Random, ty: str):
    """A JSON-able argument: ints for i32/i64, bit patterns for f32/f64,
    ["extern", k] / ["func", export name] / None for references."""
    roll = rng.random()
    if ty in ("i32", "i64"):
        bits = 32 if ty == "i32" else 64
        if roll < 0.4:
            return rng.randrange(0, 1 << 16)  # in-bounds addresses, small counts
        if roll < 0.75:
            return rng.choice(I32_EDGES if ty == "i32" else I64_EDGES)
        return _signed(rng.getrandbits(bits), bits)
    if ty in ("f32", "f64"):
        width = 32 if ty == "f32" else 64
        if roll < 0.45:
            return rng.choice(F32_EDGES if ty == "f32" else F64_EDGES)
        if roll < 0.7:  # a small integer, as a float
            n = rng.randrange(-300, 300)
            return _float_bits(float(n), ty)
        return _quiet(rng.getrandbits(width), width)
    if ty == "externref":
        return None if roll < 0.4 else ["extern", rng.randrange(3)]
    if ty == "funcref":
        return None if roll < 0.5 else ["func", None]  # the name is chosen in call_plan
    raise ValueError(f"no random values of type {ty}")


def _float_bits(x: float, ty: str) -> int:
    if ty == "f32":
        return struct.unpack("<I", struct.pack("<f", x))[0]
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _bits_float(bits: int, ty: str) -> float:
    if ty == "f32":
        return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]
    return struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0]


def _is_nan(bits: int, ty: str) -> bool:
    if ty == "f32":
        return bits & 0x7F800000 == 0x7F800000 and bits & 0x007FFFFF != 0
    return bits & 0x7FF0000000000000 == 0x7FF0000000000000 and bits & 0x000FFFFFFFFFFFFF != 0


class Extern:
    """A host object passed as an externref; the same token is used on both sides."""

    def __init__(self, k: int):
        self.k = k

    def __repr__(self) -> str:
        return f"Extern({self.k})"


EXTERNS = [Extern(k) for k in range(3)]


# --- the plan ------------------------------------------------------------------------


@dataclass
class Export:
    name: str
    kind: str  # func, memory, table, global
    params: tuple = ()
    results: tuple = ()
    valtype: str = ""  # globals: the value type; tables: the element type


def exports_of(wasm: bytes) -> list[Export]:
    """The module's exports with their types, read with wasmtime (the reference)."""
    import wasmtime

    module = wasmtime.Module(_wasmtime_engine(), wasm)
    out = []
    for e in module.exports:
        t = e.type
        if isinstance(t, wasmtime.FuncType):
            out.append(Export(e.name, "func", tuple(map(_valtype, t.params)),
                              tuple(map(_valtype, t.results))))
        elif isinstance(t, wasmtime.MemoryType):
            out.append(Export(e.name, "memory"))
        elif isinstance(t, wasmtime.TableType):
            out.append(Export(e.name, "table", valtype=_valtype(t.element)))
        elif isinstance(t, wasmtime.GlobalType):
            out.append(Export(e.name, "global", valtype=_valtype(t.content)))
    return out


def _valtype(vt) -> str:
    import wasmtime

    for name in ("i32", "i64", "f32", "f64", "funcref", "externref"):
        if vt == getattr(wasmtime.ValType, name)():
            return name
    raise ValueError(f"unexpected value type {vt}")  # str() of externref says anyref


def call_plan(seed: int, exports: list[Export]) -> list[dict]:
    """The calls of case `seed`: every exported function CALLS_PER_EXPORT times
    (in a shuffled order, so state built by one export meets another), at most
    MAX_CALLS in all."""
    rng = random.Random(f"calls-{seed}")
    funcs = [e for e in exports if e.kind == "func"]
    calls = [e for e in funcs for _ in range(CALLS_PER_EXPORT)]
    rng.shuffle(calls)
    plan = []
    for e in calls[:MAX_CALLS]:
        args = []
        for t in e.params:
            v = random_value(rng, t)
            if t == "funcref" and v is not None:
                v = ["func", rng.choice(funcs).name]
            args.append(v)
        plan.append({"export": e.name, "args": args})
    return plan


# --- the two engines -----------------------------------------------------------------

# wasmtime's trap codes and the message wasmaot gives for each.
def _wasmtime_trap_texts() -> dict:
    import wasmtime

    c = wasmtime.TrapCode
    return {
        c.UNREACHABLE: "wasm `unreachable` instruction executed",
        c.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
        c.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
        c.INTEGER_OVERFLOW: "integer overflow",
        c.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
        c.BAD_SIGNATURE: "indirect call type mismatch",
        c.TABLE_OUT_OF_BOUNDS: "undefined element: out of bounds table access",
        c.INDIRECT_CALL_TO_NULL: "uninitialized element",
        c.NULL_REFERENCE: "null reference",
        c.STACK_OVERFLOW: "call stack exhausted",
        c.HEAP_MISALIGNED: "misaligned memory access",
    }


STACK = "call stack exhausted"

_ENGINE = None


def _wasmtime_engine():
    global _ENGINE
    if _ENGINE is None:
        import wasmtime

        config = wasmtime.Config()
        for feature in ("bulk_memory", "multi_value", "reference_types", "tail_call",
                        "memory64", "multi_memory"):
            setattr(config, f"wasm_{feature}", True)
        config.max_wasm_stack = 512 * 1024  # wasmaot's default, and wasmtime's
        _ENGINE = wasmtime.Engine(config)
    return _ENGINE


class Trapped(Exception):
    """Either engine trapped; `text` is wasmaot's wording of the trap."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class WasmtimeSide:
    name = "wasmtime"

    def __init__(self, wasm: bytes, exports: list[Export]):
        import wasmtime

        self._wt = wasmtime
        self.exports = {e.name: e for e in exports}
        self.store = wasmtime.Store(_wasmtime_engine())
        self.host = Host()
        module = wasmtime.Module(_wasmtime_engine(), wasm)
        externs = [self._import(imp.name) for imp in module.imports]
        try:
            self.instance = wasmtime.Instance(self.store, module, externs)
        except wasmtime.Trap as t:
            raise Trapped(self._trap_text(t)) from None
        self.items = self.instance.exports(self.store)

    def refuel(self) -> None:
        self.items[FUEL].set_value(self.store, FUEL_PER_CALL)

    def _import(self, name: str):
        wt = self._wt
        vt = {t: getattr(wt.ValType, t)() for t in ("i32", "i64", "f32", "f64")}
        if name in HOST_FUNCS:
            params, results = HOST_FUNCS[name]

            def fn(*args):
                bits = [_float_bits(a, t) if t in ("f32", "f64") else a for t, a in zip(params, args)]
                out = self.host.call(name, bits)
                if len(results) == 1:
                    out = (out,)
                out = [_bits_float(v, t) if t in ("f32", "f64") else v
                       for t, v in zip(results, out or ())]
                return out[0] if len(out) == 1 else (out or None)

            return wt.Func(self.store, wt.FuncType([vt[t] for t in params],
                                                   [vt[t] for t in results]), fn)
        if name in HOST_GLOBALS:
            t, mutable, value = HOST_GLOBALS[name]
            return wt.Global(self.store, wt.GlobalType(vt[t], mutable), getattr(wt.Val, t)(value))
        if name == "mem":
            return wt.Memory(self.store, wt.MemoryType(wt.Limits(*HOST_MEMORY)))
        if name == "tab":
            return wt.Table(self.store, wt.TableType(wt.ValType.funcref(), wt.Limits(*HOST_TABLE)),
                            None)
        raise ValueError(f"no host import {name!r}")

    def _trap_text(self, trap) -> str:
        return _wasmtime_trap_texts().get(trap.trap_code, f"wasmtime trap code {trap.trap_code}")

    def _arg(self, t: str, v):
        wt = self._wt
        if t in ("f32", "f64"):
            return _bits_float(v, t)
        if t == "externref":
            return wt.Val.externref(None if v is None else EXTERNS[v[1]])
        if t == "funcref":
            return wt.Val.funcref(None if v is None else self.items[v[1]])
        return v

    def call(self, name: str, args: list) -> list:
        e = self.exports[name]
        values = [self._arg(t, v) for t, v in zip(e.params, args)]
        try:
            out = self.items[name](self.store, *values)
        except self._wt.Trap as t:
            raise Trapped(self._trap_text(t)) from None
        if len(e.results) == 0:
            out = []
        elif len(e.results) == 1:
            out = [out]
        return [self._result(t, v) for t, v in zip(e.results, out)]

    def _result(self, t: str, v):
        if isinstance(v, self._wt.Val):
            v = v.value  # tables and globals give a null reference as a Val
        if t in ("f32", "f64"):
            return _float_bits(v, t)
        if t == "externref":
            return None if v is None else ["extern", v.k] if isinstance(v, Extern) else repr(v)
        if t == "funcref":
            if v is None:
                return None
            ft = v.type(self.store)
            return ["func", list(map(_valtype, ft.params)), list(map(_valtype, ft.results))]
        return v

    def state(self, full_tables: bool) -> dict:
        out = {HOST_LOG: ["host calls", self.host.log]}
        for name, e in self.exports.items():
            item = self.items[name]
            if e.kind == "memory":
                data = item.read(self.store, 0, item.data_len(self.store))
                out[name] = ["memory", item.size(self.store), hashlib.sha256(data).hexdigest()]
            elif e.kind == "global":
                out[name] = ["global", self._result(e.valtype, item.value(self.store))]
            elif e.kind == "table":
                size = item.size(self.store)
                elems = None
                if full_tables:
                    elems = [self._result(e.valtype, item.get(self.store, i))
                             for i in range(min(size, TABLE_ELEMENTS_COMPARED))]
                out[name] = ["table", size, elems]
        return out


class WasmaotSide:
    name = "wasmaot"

    def __init__(self, wasm: bytes, exports: list[Export]):
        from wasmaot import api
        from wasmaot.errors import Trap

        self._trap = Trap
        self.exports = {e.name: e for e in exports}
        module = api.compile(wasm, opt_level=OPT_LEVEL, bounds_checks=BOUNDS_CHECKS)
        self.host = Host()
        imports = {"host": {
            **{name: api.Func(params, results, self._host_func(name), bits=True)
               for name, (params, results) in HOST_FUNCS.items()},
            **{name: api.Global(t, mutable, value) for name, (t, mutable, value) in HOST_GLOBALS.items()},
            "mem": api.Memory(*HOST_MEMORY),
            "tab": api.Table("funcref", *HOST_TABLE),
        }}
        try:
            self.instance = module.instantiate(imports)
        except Trap as t:
            raise Trapped(t.message) from None
        self.items = self.instance.exports

    def refuel(self) -> None:
        self.items[FUEL].set(FUEL_PER_CALL)

    def _host_func(self, name: str):
        return lambda *args: self.host.call(name, list(args))

    def _arg(self, t: str, v):
        if t == "externref":
            return None if v is None else EXTERNS[v[1]]
        if t == "funcref":
            return None if v is None else self.items[v[1]]
        return v

    def call(self, name: str, args: list) -> list:
        e = self.exports[name]
        values = [self._arg(t, v) for t, v in zip(e.params, args)]
        try:
            out = self.items[name].call_bits(*values)
        except self._trap as t:
            raise Trapped(t.message) from None
        if len(e.results) == 0:
            out = []
        elif len(e.results) == 1:
            out = [out]
        return [self._result(t, v) for t, v in zip(e.results, out)]

    def _result(self, t: str, v):
        if t == "externref":
            return None if v is None else ["extern", v.k] if isinstance(v, Extern) else repr(v)
        if t == "funcref":
            if v is None:
                return None
            return ["func", list(map(_simple, v.type.params)), list(map(_simple, v.type.results))]
        return v

    def state(self, full_tables: bool) -> dict:
        out = {HOST_LOG: ["host calls", self.host.log]}
        for name, e in self.exports.items():
            item = self.items[name]
            if e.kind == "memory":
                data = item.read(0, item.data_len())
                out[name] = ["memory", item.size(), hashlib.sha256(data).hexdigest()]
            elif e.kind == "global":
                value = item.get(bits=True)
                out[name] = ["global", self._result(e.valtype, value)]
            elif e.kind == "table":
                size = item.size()
                elems = None
                if full_tables:
                    elems = [self._result(e.valtype, item.get(i))
                             for i in range(min(size, TABLE_ELEMENTS_COMPARED))]
                out[name] = ["table", size, elems]
        return out


def _simple(t) -> str:
    if isinstance(t, str):
        return t
    return "externref" if t.heap in ("extern", "noextern") else "funcref"


# --- comparing -------------------------------------------------------------------------


def same_values(types, a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    return all(same_value(t, x, y) for t, x, y in zip(types, a, b))


def same_value(t: str, x, y) -> bool:
    if t in ("f32", "f64") and isinstance(x, int) and isinstance(y, int) \
            and _is_nan(x, t) and _is_nan(y, t):
        return True
    return x == y


def state_differences(exports: dict, a: dict, b: dict) -> list[str]:
    diffs = []
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        kind = exports[name].kind if name in exports else name.strip()
        if kind == "global" and x and y and same_value(exports[name].valtype, x[1], y[1]):
            continue
        if x != y:
            diffs.append(f"{kind} {name!r}: wasmtime {_short(x)}, wasmaot {_short(y)}")
    return diffs


def _short(v) -> str:
    text = json.dumps(v)
    return text if len(text) < 200 else text[:200] + "..."


# --- one case ------------------------------------------------------------------------


@dataclass
class Report:
    seed: int
    status: str = "ok"  # ok, skipped, inconclusive, mismatch, error, nomodule
    reason: str = ""
    module_bytes: int = 0
    calls: int = 0
    returned: int = 0  # calls that returned on both sides (the rest trapped)
    traps: dict = field(default_factory=dict)  # trap text -> count (agreeing traps)
    log: list = field(default_factory=list)  # [call, wasmtime outcome, wasmaot outcome]


def _outcome(side, step) -> tuple[str, object]:
    try:
        return "ok", side.call(step["export"], step["args"])
    except Trapped as t:
        return "trap", t.text
    except HostError as e:
        return "host error", str(e)


def run_case(seed: int, wasm: bytes | None = None) -> Report:
    from wasmaot.errors import UnsupportedFeature

    if wasm is None:
        wasm = smith_module(seed)
    report = Report(seed)
    if wasm is None:
        report.status, report.reason = "nomodule", "wasm-tools smith made no module of this seed"
        return report
    report.module_bytes = len(wasm)
    exports = exports_of(wasm)
    by_name = {e.name: e for e in exports}
    plan = call_plan(seed, exports)

    sides = []
    inst = []
    for cls in (WasmtimeSide, WasmaotSide):
        try:
            sides.append(cls(wasm, exports))
            inst.append(("ok", None))
        except Trapped as t:
            sides.append(None)
            inst.append(("trap", t.text))
        except HostError as e:
            sides.append(None)
            inst.append(("host error", str(e)))
        except UnsupportedFeature as e:
            report.status, report.reason = "skipped", f"UnsupportedFeature: {e.message}"
            return report
        except Exception as e:  # noqa: BLE001 (a wasmaot crash while compiling or instantiating)
            report.status = "error"
            report.reason = f"{cls.name}: {type(e).__name__}: {e}"
            report.log.append(traceback.format_exc(limit=6))
            return report
    report.log.append(["instantiate", list(inst[0]), list(inst[1])])
    if inst[0] != inst[1]:
        report.status = "mismatch"
        report.reason = f"instantiation: wasmtime {inst[0]}, wasmaot {inst[1]}"
        return report
    if inst[0][0] != "ok":
        report.traps[f"instantiation: {inst[0][1]}"] = 1
        return report
    wt, wa = sides
    diffs = state_differences(by_name, wt.state(True), wa.state(True))
    if diffs:
        report.status, report.reason = "mismatch", "after instantiation: " + "; ".join(diffs)
        return report

    fuel = by_name.get(FUEL)
    refuel = fuel is not None and fuel.valtype == "i32" and \
        wt.state(False)[FUEL] == ["global", FUEL_PER_CALL]
    for i, step in enumerate(plan):
        if refuel:
            wt.refuel()
            wa.refuel()
        a = _outcome(wt, step)
        try:
            b = _outcome(wa, step)
        except Exception as e:  # noqa: BLE001 (reported as an error case)
            report.status = "error"
            report.reason = f"call {i} {step['export']!r}: wasmaot raised {type(e).__name__}: {e}"
            report.log.append([step, list(a), None])
            return report
        report.calls += 1
        report.log.append([step, list(a), list(b)])
        e = by_name[step["export"]]
        if (a[0] == "trap" and a[1] == STACK) != (b[0] == "trap" and b[1] == STACK):
            report.status = "inconclusive"
            report.reason = (f"call {i} {step['export']!r}: the stack was exhausted on one side "
                             f"only (wasmtime {a}, wasmaot {b})")
            return report
        if a[0] != b[0] or (a[0] != "ok" and a[1] != b[1]) or (
                a[0] == "ok" and not same_values(e.results, a[1], b[1])):
            report.status = "mismatch"
            report.reason = (f"call {i} {step['export']}({_short(step['args'])}): "
                             f"wasmtime {_short(list(a))}, wasmaot {_short(list(b))}")
            return report
        if a[0] == "host error":
            report.traps["host error"] = report.traps.get("host error", 0) + 1
        elif a[0] == "trap":
            report.traps[a[1]] = report.traps.get(a[1], 0) + 1
        else:
            report.returned += 1
        last = i == len(plan) - 1
        diffs = state_differences(by_name, wt.state(last), wa.state(last))
        if diffs:
            report.status = "mismatch"
            report.reason = (f"after call {i} {step['export']}({_short(step['args'])}): "
                             + "; ".join(diffs))
            return report
    return report


# seed -> Report of this pytest session's cases; conftest.py prints the totals.
REPORTS: dict = {}


def save_case(report: Report, wasm: bytes, out_dir: Path) -> tuple[Path, Path]:
    """Writes `seed-N.wasm` and `seed-N.json` (the report, with every call made)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wasm_path = out_dir / f"seed-{report.seed}.wasm"
    json_path = out_dir / f"seed-{report.seed}.json"
    wasm_path.write_bytes(wasm)
    json_path.write_text(json.dumps(asdict(report), indent=1) + "\n")
    return wasm_path, json_path


def repro_command(seed: int, wasm_path: Path | None = None) -> str:
    cmd = f".venv/bin/python tests/differential/diff_harness.py --seed {seed}"
    return cmd + (f" --wasm {wasm_path}" if wasm_path else "")


# --- command line -------------------------------------------------------------------


def _use_cache_dir(path: str | None) -> None:
    """Compiled modules go to `path` instead of the user's cache (the runtime build
    stays where it is: it is shared and slow to make)."""
    if not path:
        return
    from wasmaot import api

    if hasattr(api, "_cache_dir"):
        api._cache_dir = lambda: Path(path)


def worker(cache_dir: str | None) -> None:
    _use_cache_dir(cache_dir)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            report = run_case(req["seed"])
        except Exception as e:  # noqa: BLE001 (reported as an error case)
            report = Report(req["seed"], "error", f"harness: {type(e).__name__}: {e}",
                            log=[traceback.format_exc(limit=8)])
        if report.status in ("ok", "skipped", "nomodule"):
            report.log = []  # keep the pipe small; a failure's log is what matters
        sys.stdout.write(json.dumps(asdict(report)) + "\n")
        sys.stdout.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="run one differential case against wasmtime")
    ap.add_argument("--seed", type=int, help="the case (its module and call plan)")
    ap.add_argument("--wasm", type=Path, help="use this module instead of smith's (e.g. a shrunk one)")
    ap.add_argument("--save", type=Path, help="write seed-N.wasm and seed-N.json here")
    ap.add_argument("--worker", action="store_true", help="serve JSON requests on stdin")
    ap.add_argument("--cache-dir", help="where compiled modules go")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.worker:
        worker(args.cache_dir)
        return 0
    if args.seed is None:
        ap.error("--seed is required")
    _use_cache_dir(args.cache_dir)
    wasm = args.wasm.read_bytes() if args.wasm else smith_module(args.seed)
    report = run_case(args.seed, wasm)
    for entry in report.log:
        print(json.dumps(entry) if not isinstance(entry, str) else entry)
    print(f"seed {args.seed}: {report.status} {report.reason}".rstrip())
    if args.save and wasm is not None:
        for p in save_case(report, wasm, args.save):
            print(f"wrote {p}")
    return 0 if report.status in ("ok", "skipped", "nomodule", "inconclusive") else 1


if __name__ == "__main__":
    sys.exit(main())
