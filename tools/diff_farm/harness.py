"""Differential testing against wasmtime: generate a module, run it on both, compare.

One *case* is a config preset and a seed (`Case`).  They fix everything: the
`wasm-tools smith` input bytes and options (`smith_module`, configs.py), and the call
plan (`call_plan`: which export is called, in what order, with which arguments).
Running a case (`run_case`) first runs the plan on wasmtime, the reference, and
records what it observes (`Trace`); then each *variant* (wasmaot in this process at
-O0 or -O2, guard pages or explicit bounds checks; an aarch64 test executable under
qemu; or a native x86_64 test executable holding the module compiled as an
executable's, `-exe`: `Variant`) runs the same plan and is compared with the record,
step by step:

  * instantiation: both succeed, or both trap with the same trap;
  * every call: the same results (integers bit-exact; floats by bit pattern, where any
    two NaNs are equal; externrefs the same host object; funcrefs both null or both
    non-null with the same type), or the same trap, or the same host exception;
  * after instantiation and after every call, the observable state: each exported
    memory (size in pages and a CRC-32 of its bytes), each exported global's value,
    each exported table's size (and, after instantiation and at the end, its
    elements), and the log of host-function calls with their arguments.  A variant
    sees what its side can observe (each side's `caps`): a test executable compares
    table elements (as null or not) only after instantiation and at the end, and a
    returned funcref as null or not; under qemu (aarch64) also memories only then.

Half of the seeds of most presets may import host functions, globals, a memory and a
table (`HOST_IMPORTS`); one host function raises `HostError` on odd arguments, which
must reach the Python caller unchanged through the wasm frames of both engines.  The
test-executable variants (aarch64, `-exe`) run only modules without imports (a test
executable has no Python host); the others are skipped there, with that reason.

The first difference ends a variant and is its *mismatch*.  Not mismatches but
*inconclusive*, because the spec allows them to differ: a call that exhausts the stack
on one side only (frames differ in size between engines), after which the states may
legitimately diverge.  A module wasmaot refuses with `UnsupportedFeature` is *skipped*
with the feature as its reason; so is a function export whose signature has a typed
reference the plan cannot make arguments for (its calls are left out and counted).

Three settings (configs.BASE_FLAGS) keep both engines deterministic and comparable:

  * `--ensure-termination`: loops and calls decrement a fuel global and trap
    (`unreachable`) when it runs out, so every call ends.  We export the global and
    refill it to FUEL_PER_CALL (1000) before each call.  More fuel would let recursion
    go deep enough to exhaust the stack, at depths that differ between the engines
    (wasmaot's frames are bigger than wasmtime's), which only gives inconclusive cases;
  * `--canonicalize-nans true`: NaN payloads produced by arithmetic are not specified
    (LLVM's constant folder and the hardware pick different ones), so every float
    result is canonicalized before it can reach memory or a reinterpret;
  * every memory and table has a maximum (<= 1 MiB, <= 1000 elements): a grow beyond
    what a host is willing to give may fail on one engine and succeed on the other.

Run one case by hand (what a mismatch report prints):

    .venv/bin/python -m tools.diff_farm.harness --config base --seed 17 [--variant x86_64-O0]
    .venv/bin/python -m tools.diff_farm.harness --config base --seed 17 --wasm shrunk.wasm

`--worker` is the protocol farm.py uses: one JSON request per stdin line, one JSON
progress line per variant and one JSON report per case on stdout (see `worker`).
Running the cases in a child keeps a crash or a hang of native code from taking the
farm with it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import struct
import subprocess
import sys
import traceback
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: the project's wasmaot, not an installed one
    sys.path.insert(0, str(ROOT))

from tools.diff_farm.configs import FUEL_PER_CALL, PRESETS  # noqa: E402
from wasmaot.wasm.leb128 import read_uleb, uleb  # noqa: E402

CALLS_PER_EXPORT = 4
MAX_CALLS = 48
TABLE_ELEMENTS_COMPARED = 1000


def wasm_tools() -> str:
    cand = Path(sys.executable).parent / "wasm-tools"
    return str(cand) if cand.exists() else "wasm-tools"


@dataclass(frozen=True)
class Case:
    config: str  # a configs.PRESETS name
    seed: int

    @property
    def key(self) -> str:
        return f"{self.config}:{self.seed}"


@dataclass(frozen=True)
class Variant:
    """Where wasmaot runs a case: `x86_64` is this process (the embedding API), any
    other target a test executable (under qemu for a foreign one).  `exe`: a test
    executable on any target, its module compiled as `wasmaot build` compiles an
    executable's (CodegenOptions.standalone: fastcc records, `nounwind` without tags),
    which is sound because a case is one module, alone in the executable."""

    target: str = "x86_64"
    opt: int = 2
    bounds: str = "guard"  # or "explicit"
    exe: bool = False

    SUFFIXES = ("explicit", "exe")  # after the level, in this order

    @property
    def name(self) -> str:
        return (f"{self.target}-O{self.opt}" + ("-explicit" if self.bounds == "explicit" else "")
                + ("-exe" if self.exe else ""))

    @property
    def in_process(self) -> bool:
        """Whether it runs in this process (WasmaotSide) rather than as a test
        executable (remote.RemoteSide)."""
        return self.target == "x86_64" and not self.exe

    @classmethod
    def parse(cls, text: str) -> Variant:
        """`x86_64-O2`, `aarch64-O0`, `x86_64-O2-explicit`, `x86_64-O0-exe`."""
        parts = text.split("-")
        suffixes = parts[2:]
        if len(parts) < 2 or not parts[1].startswith("O") or \
                parts[1][1:] not in ("0", "1", "2", "3") or \
                suffixes != [s for s in cls.SUFFIXES if s in suffixes]:
            raise ValueError(f"not a variant: {text!r} (e.g. x86_64-O2, aarch64-O0, "
                             f"x86_64-O2-explicit, x86_64-O2-exe)")
        return cls(parts[0], int(parts[1][1:]),
                   "explicit" if "explicit" in suffixes else "guard", "exe" in suffixes)


def smith_module(case: Case) -> bytes | None:
    """The module of `case`, or None when smith cannot make one of these bytes
    (exit code 2: rare, and deterministic).  Its fuel global is exported as FUEL."""
    preset = PRESETS[case.config]
    rng = random.Random(f"smith-{case.config}-{case.seed}")
    data = rng.randbytes(rng.randint(1000, 20000))
    flags = preset.smith_flags(case.seed, str(host_imports_path()))
    proc = subprocess.run([wasm_tools(), "smith", *flags],
                          input=data, capture_output=True, check=False)
    if proc.returncode == 2 and b"Usage:" not in proc.stderr:  # not a bad flag
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"wasm-tools smith failed: {proc.stderr.decode(errors='replace')}")
    wasm = export_tags(export_fuel(proc.stdout))
    return unexport_tables(wasm) if preset.private_tables else wasm


# --- the fuel global -------------------------------------------------------------------
#
# `--ensure-termination` adds the fuel counter as the module's last global, after
# `--export-everything` has run, so it is not exported.  We export it (a binary edit of
# the export section) and refill it before every call: otherwise the first busy call
# drains it and every later call traps in its prologue, testing little.

FUEL = "wasmaot-diff-fuel"


def _imported_globals(contents: bytes) -> int:
    """Global imports in an import section (of the MVP-plus encodings smith emits here)."""
    return _imports_of_kind(contents, 3)


def _imports_of_kind(contents: bytes, want: int) -> int:
    """Imports of kind `want` (3 global, 4 tag) in an import section."""
    n, pos = read_uleb(contents, 0)
    count = 0

    def skip_name(pos):
        size, pos = read_uleb(contents, pos)
        return pos + size

    def skip_limits(pos):
        flags = contents[pos]
        _, pos = read_uleb(contents, pos + 1)
        if flags & 1:
            _, pos = read_uleb(contents, pos)
        return pos

    for _ in range(n):
        pos = skip_name(skip_name(pos))
        kind = contents[pos]
        pos += 1
        if kind == 0:  # func: type index
            _, pos = read_uleb(contents, pos)
        elif kind == 1:  # table: reftype, limits
            pos = skip_limits(pos + 1)
        elif kind == 2:  # memory: limits
            pos = skip_limits(pos)
        elif kind == 3:  # global: valtype, mutability
            pos += 2
        elif kind == 4:  # tag: attribute 0, type index
            _, pos = read_uleb(contents, pos + 1)
        else:
            raise ValueError(f"unexpected import kind {kind}")
        count += kind == want
    return count


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    sections = []  # (id, contents)
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = read_uleb(wasm, pos + 1)
        sections.append((sid, wasm[pos:pos + size]))
        pos += size
    return sections


def export_fuel(wasm: bytes) -> bytes:
    """`wasm` with its last global (smith's fuel) exported as FUEL."""
    sections = _sections(wasm)
    globals_ = [c for sid, c in sections if sid == 6]
    if not globals_:
        return wasm
    count, _ = read_uleb(globals_[0], 0)
    imported = sum(_imported_globals(c) for sid, c in sections if sid == 2)
    return _add_exports(wasm, [(FUEL, 3, imported + count - 1)])


TAG_EXPORT = "wasmaot-diff-tag-"


def export_tags(wasm: bytes) -> bytes:
    """`wasm` with each of its tags exported as TAG_EXPORT + index: `--export-everything`
    leaves tags out, and an escaping exception's tag is compared by its export name."""
    sections = _sections(wasm)
    tags = sum(_imports_of_kind(c, 4) for sid, c in sections if sid == 2)
    tags += sum(read_uleb(c, 0)[0] for sid, c in sections if sid == 13)
    return _add_exports(wasm, [(f"{TAG_EXPORT}{i}", 4, i) for i in range(tags)])


def unexport_tables(wasm: bytes) -> bytes:
    """`wasm` without its table exports (the other exports unchanged, in order)."""
    out = bytearray(wasm[:8])
    for sid, contents in _sections(wasm):
        if sid == 7:
            n, pos = read_uleb(contents, 0)
            kept = []
            for _ in range(n):
                start = pos
                size, pos = read_uleb(contents, pos)
                kind = contents[pos + size]
                _, pos = read_uleb(contents, pos + size + 1)
                if kind != 1:  # 1: a table
                    kept.append(contents[start:pos])
            contents = uleb(len(kept)) + b"".join(kept)
        out += bytes([sid]) + uleb(len(contents)) + contents
    return bytes(out)


def _add_exports(wasm: bytes, exports: list[tuple[str, int, int]]) -> bytes:
    """`wasm` with `exports` (name, external kind, index) added to its export section
    (made if there is none)."""
    if not exports:
        return wasm
    sections = _sections(wasm)
    entry = b"".join(uleb(len(name.encode())) + name.encode() + bytes([kind]) + uleb(index)
                     for name, kind, index in exports)
    body = uleb(len(exports)) + entry
    section = b"\x07" + uleb(len(body)) + body
    out = bytearray(wasm[:8])
    placed = False
    for sid, contents in sections:
        if sid == 7:
            n, p = read_uleb(contents, 0)
            contents = uleb(n + len(exports)) + contents[p:] + entry
            placed = True
        elif not placed and sid in (8, 9, 12, 10, 11):  # the sections after exports
            out += section
            placed = True
        out += bytes([sid]) + uleb(len(contents)) + contents
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
    if ty == "v128":
        return random_v128(rng)
    if ty == "exnref":  # no host-made exception objects: the two engines share none
        return None
    raise ValueError(f"no random values of type {ty}")


# v128 arguments are unsigned 128-bit ints, lane 0 in the low bits (both engines take
# them so: wasmaot's API, and wasmtime through wasmtime_raw.py).  A value is built
# lane by lane in one shape, each lane an edge of that shape (signed extremes, float
# NaNs of both signs, signalling NaNs, infinities, zeros of both signs, values
# at the ends of the integer conversions) or random, or all 128 bits random.
V128_SHAPES = {  # shape: (lane bits, edges)
    "i8x16": (8, (0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x0F, 0xFE)),
    "i16x8": (16, (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x00FF, 0xFF00, 0x4000)),
    "i32x4": (32, tuple(v & 0xFFFFFFFF for v in I32_EDGES)),
    "i64x2": (64, tuple(v & 0xFFFFFFFFFFFFFFFF for v in I64_EDGES)),
    "f32x4": (32, F32_EDGES + (0x7FA00000, 0xFF800001, 0x80000001, 0x4EFFFFFF)),
    "f64x2": (64, F64_EDGES + (0x7FF4000000000000, 0xFFF0000000000001)),
}


def random_v128(rng: random.Random) -> int:
    if rng.random() < 0.15:
        return rng.getrandbits(128)
    bits, edges = V128_SHAPES[rng.choice(sorted(V128_SHAPES))]
    value = 0
    for lane in range(128 // bits):
        roll = rng.random()
        if roll < 0.6:
            v = rng.choice(edges)
        elif roll < 0.8:
            v = rng.randrange(0, 64)  # small: lane indices, shift counts, addresses
        else:
            v = rng.getrandbits(bits)
        value |= (v & ((1 << bits) - 1)) << (lane * bits)
    return value


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
    kind: str  # func, memory, table, global, tag
    params: tuple = ()  # functions, tags (the payload's types)
    results: tuple = ()
    valtype: str = ""  # globals: the value type; tables: the element type


def exports_of(wasm: bytes) -> tuple[list[Export], bool]:
    """The module's exports with their types, and whether any function type of the
    module has a typed reference or a v128.  Read with wasmaot's decoder: wasmtime-py
    aborts the process when it meets a typed reference type, and wasmtime's C API when
    it describes a type with a v128, so such a module's funcrefs are compared as null or
    not (a smith module wasmaot rejects is the variants' error, see run_case)."""
    from wasmaot.wasm import decode_module, validate_module
    from wasmaot.wasm.types import FuncType

    ctx = validate_module(decode_module(wasm))
    typed = any({OTHER, "v128", "exnref"} & set(map(_simple, (*c.params, *c.results)))
                for c in ctx.types.comps if type(c) is FuncType)
    out = []
    for e in ctx.module.exports:
        if e.kind in ("func", "func_exact"):
            ft = ctx.types.comp(ctx.funcs[e.index])
            out.append(Export(e.name, "func", tuple(map(_simple, ft.params)),
                              tuple(map(_simple, ft.results))))
        elif e.kind == "memory":
            out.append(Export(e.name, "memory"))
        elif e.kind == "table":
            out.append(Export(e.name, "table", valtype=_simple(ctx.tables[e.index].reftype)))
        elif e.kind == "global":
            out.append(Export(e.name, "global", valtype=_simple(ctx.globals[e.index].valtype)))
        elif e.kind == "tag":
            out.append(Export(e.name, "tag", tuple(map(_simple, ctx.types.comp(
                ctx.tags[e.index]).params))))
    return out, typed


def _valtype(vt) -> str:
    import wasmtime

    for name in ("i32", "i64", "f32", "f64", "funcref", "externref"):
        if vt == getattr(wasmtime.ValType, name)():
            return name
    return OTHER  # a typed reference: (ref $t), (ref null func), ...


# A typed reference type: wasmtime-py cannot handle one (it aborts the process), so a
# function with one in its type is not called, a global of one not compared and a
# table of one compared by its size.
OTHER = "other"


def callable_funcs(exports: list[Export]) -> list[Export]:
    """The function exports the plan calls: wasmtime-py can pass neither arguments
    nor results of a typed reference type."""
    return [e for e in exports if e.kind == "func" and OTHER not in (*e.params, *e.results)]


def call_plan(case: Case, exports: list[Export]) -> list[dict]:
    """The calls of `case`: every exported function CALLS_PER_EXPORT times
    (in a shuffled order, so state built by one export meets another), at most
    MAX_CALLS in all."""
    rng = random.Random(f"calls-{case.config}-{case.seed}")
    funcs = callable_funcs(exports)
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

# The wasmtime configurations a case may run on.  "native" is the reference of every
# case.  The others differ only in the relaxed-SIMD choices they make, and are run only
# to judge a relaxed-SIMD mismatch (`relaxed_allowed`):
#   * "deterministic": `relaxed_simd_deterministic` (wasmtime's one fixed choice per
#     instruction: the non-relaxed counterpart, fused madd, signed dot products);
#   * "no-fma": native lowering with Cranelift's `has_fma` off (madd/nmadd unfused, as on
#     an x86-64 CPU without FMA: wasmaot's default x86-64-v2 makes exactly these choices).
RELAXED_ENGINES = ("deterministic", "no-fma")
_ENGINES: dict = {}


@dataclass(frozen=True)
class RelaxedProfile:
    """One set of relaxed-SIMD choices wasmtime can be made to take: an engine, and
    whether madd/nmadd are first rewritten to their unfused form (`unfused_madd`),
    since no engine setting gives unfused madd with the deterministic other choices."""

    engine: str
    unfused: bool = False

    @property
    def name(self) -> str:
        return self.engine + (" with unfused madd" if self.unfused else "")


# The profiles a relaxed mismatch is judged against, after the native reference.  The
# first is wasmaot's aarch64 choice, the second its x86-64 default level's, the last its
# --deterministic choice (README "Relaxed SIMD and `--deterministic`").
RELAXED_PROFILES = (RelaxedProfile("deterministic"), RelaxedProfile("no-fma"),
                    RelaxedProfile("deterministic", unfused=True))


def _wasmtime_engine(kind: str = "native"):
    if kind not in _ENGINES:
        import wasmtime

        config = wasmtime.Config()
        for feature in ("bulk_memory", "multi_value", "reference_types", "tail_call",
                        "memory64", "multi_memory", "function_references", "gc", "simd",
                        "relaxed_simd", "exceptions"):
            setattr(config, f"wasm_{feature}", True)
        config.max_wasm_stack = 512 * 1024  # wasmaot's default, and wasmtime's
        if kind == "deterministic":
            config.wasm_relaxed_simd_deterministic = True
        elif kind == "no-fma":
            config.cranelift_flag_set("has_fma", "false")
        elif kind != "native":
            raise ValueError(f"no wasmtime configuration {kind!r}")
        _ENGINES[kind] = wasmtime.Engine(config)
    return _ENGINES[kind]


class Trapped(Exception):
    """Either engine trapped; `text` is wasmaot's wording of the trap."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class Thrown(Exception):
    """A wasm exception left the call (or the start function) uncaught: not a trap.
    `payload` is [tag, [[type, value], ...]] (the tag by its export name, values as
    the harness compares them), or None on a side that cannot see it."""

    def __init__(self, payload):
        super().__init__(repr(payload))
        self.payload = payload


UNEXPORTED_TAG = "a tag that is not exported"  # its payload is not compared


class NotApplicable(Exception):
    """A variant cannot run this module (e.g. an executable has no Python host to
    import from); the variant is skipped with this reason."""


# What a side observes (a side compares the reference's state projected on its caps):
MEMORY_ALWAYS = "memory after every call"  # else after instantiation and at the end only
TABLE_ELEMENTS = "table elements"  # else as null or not
FUNCREF_TYPES = "funcref types"  # else a returned funcref as null or not
EXCEPTION_PAYLOAD = "exception payload"  # else only that an exception escaped
ALL_CAPS = frozenset({MEMORY_ALWAYS, TABLE_ELEMENTS, FUNCREF_TYPES, EXCEPTION_PAYLOAD})


def compares_value(glob: Export) -> bool:
    """Whether a state has a global's value: not for a typed reference (wasmtime-py)."""
    return glob.valtype != OTHER


def compares_elements(table: Export, full: bool) -> bool:
    """Whether a state lists a table's elements: after instantiation and after the
    last call (`full`), and never for a typed reference table (wasmtime-py)."""
    return full and table.valtype != OTHER


def _memory_state(pages: int, data: bytes) -> list:
    return ["memory", pages, zlib.crc32(data)]


def _other(v):
    return None if v is None else "ref"


class WasmtimeSide:
    name = "wasmtime"
    caps = ALL_CAPS

    def __init__(self, wasm: bytes, exports: list[Export], funcref_types: bool,
                 engine: str = "native"):
        import wasmtime

        self._wt = wasmtime
        # Off when a function type has a typed reference: describing the type of a
        # returned funcref could meet one, and wasmtime-py aborts on it.
        self.funcref_types = funcref_types
        self.exports = {e.name: e for e in exports}
        self.store = wasmtime.Store(_wasmtime_engine(engine))
        self.host = Host()
        module = wasmtime.Module(_wasmtime_engine(engine), wasm)
        externs = [self._import(imp.name) for imp in module.imports]
        try:
            self.instance = wasmtime.Instance(self.store, module, externs)
        except wasmtime.Trap as t:  # the start function trapped or threw (no tags yet)
            raise self._failure(t, payload=False) from None
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

    def _failure(self, trap, payload: bool = True) -> Exception:
        """A wasmtime.Trap as the harness sees it: an uncaught exception (wasmtime
        reports it as a trap without a code and keeps the exception in the store,
        where it must be taken out) or a trap."""
        from tools.diff_farm import wasmtime_raw

        exn = wasmtime_raw.take_exception(self.store)
        if exn is None:
            return Trapped(self._trap_text(trap))
        try:
            return Thrown(self._payload(exn) if payload else None)
        finally:
            wasmtime_raw.unroot_exnref(exn)

    def _payload(self, exn) -> list:
        from tools.diff_farm import wasmtime_raw

        tag = wasmtime_raw.exnref_tag(self.store, exn)
        name = next((e.name for e in self.exports.values() if e.kind == "tag"
                     and self.items[e.name].eq(self.store, tag)), None)
        if name is None:  # only in a module not made by smith_module (export_tags)
            return [UNEXPORTED_TAG, None]
        types = self.exports[name].params
        fields = wasmtime_raw.exnref_fields(self.store, exn, len(types))
        return [name, [[t, self._result(t, v)] for t, v in zip(types, fields)]]

    def _arg(self, t: str, v):
        wt = self._wt
        if t == "exnref":  # always null (random_value); wasmtime_raw makes it
            return None
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
            if {"v128", "exnref"} & {*e.params, *e.results}:  # wasmtime-py has neither
                from tools.diff_farm import wasmtime_raw

                out = wasmtime_raw.call(self.store, self.items[name], e.params, e.results,
                                        values)
            else:
                out = self.items[name](self.store, *values)
                out = [] if len(e.results) == 0 else [out] if len(e.results) == 1 else out
        except self._wt.Trap as t:
            raise self._failure(t) from None
        return [self._result(t, v) for t, v in zip(e.results, out)]

    def _result(self, t: str, v):
        if isinstance(v, self._wt.Val):
            v = v.value  # tables and globals give a null reference as a Val
        if t in ("f32", "f64"):
            return _float_bits(v, t)
        if t == "externref":
            return None if v is None else ["extern", v.k] if isinstance(v, Extern) else repr(v)
        if t == "funcref":
            if v is None or not self.funcref_types:
                return _other(v)
            ft = v.type(self.store)
            return ["func", list(map(_valtype, ft.params)), list(map(_valtype, ft.results))]
        if t in (OTHER, "exnref"):
            return _other(v)
        return v

    def state(self, full: bool) -> dict:
        from tools.diff_farm import wasmtime_raw

        out = {HOST_LOG: ["host calls", list(self.host.log)]}  # a copy: the log grows
        for name, e in self.exports.items():
            item = self.items[name]
            if e.kind == "memory":
                out[name] = _memory_state(item.size(self.store),
                                          item.read(self.store, 0, item.data_len(self.store)))
            elif e.kind == "global" and e.valtype in ("v128", "exnref"):  # not in wasmtime-py
                out[name] = ["global", self._result(e.valtype,
                                                    wasmtime_raw.global_value(self.store, item))]
            elif e.kind == "global" and compares_value(e):
                out[name] = ["global", self._result(e.valtype, item.value(self.store))]
            elif e.kind == "table":
                size = item.size(self.store)
                elems = None
                if compares_elements(e, full):
                    raw = e.valtype == "exnref"  # not in wasmtime-py
                    elems = [self._result(e.valtype, wasmtime_raw.table_get(self.store, item, i)
                                          if raw else item.get(self.store, i))
                             for i in range(min(size, TABLE_ELEMENTS_COMPARED))]
                out[name] = ["table", size, elems]
        return out


def call_bits(side, name: str, args: list, trap_type) -> list:
    """A call through a wasmaot function's `call_bits` (in this process or in a
    test executable): arguments made by `side._arg`, results read by
    `side._result`, a `trap_type` exception turned into Trapped, an escaping
    WasmException into Thrown (its payload read by `side.payload`)."""
    from wasmaot.errors import WasmException

    e = side.exports[name]
    values = [side._arg(t, v) for t, v in zip(e.params, args)]
    try:
        out = side.items[name].call_bits(*values)
    except trap_type as t:
        raise Trapped(t.message) from None
    except WasmException as x:
        raise Thrown(side.payload(x)) from None
    out = [] if not e.results else [out] if len(e.results) == 1 else out
    return [side._result(t, v) for t, v in zip(e.results, out)]


class WasmaotSide:
    """wasmaot in this process, through the embedding API (x86_64 here)."""

    name = "wasmaot"
    caps = ALL_CAPS

    def __init__(self, wasm: bytes, exports: list[Export], variant: Variant):
        from wasmaot import api
        from wasmaot.errors import Trap

        self._trap = Trap
        self.exports = {e.name: e for e in exports}
        module = api.compile(wasm, opt_level=variant.opt, bounds_checks=variant.bounds)
        self.host = Host()
        imports = {"host": {
            **{name: api.Func(params, results, self._host_func(name), bits=True)
               for name, (params, results) in HOST_FUNCS.items()},
            **{name: api.Global(t, mutable, value) for name, (t, mutable, value) in HOST_GLOBALS.items()},
            "mem": api.Memory(*HOST_MEMORY),
            "tab": api.Table("funcref", *HOST_TABLE),
        }}
        from wasmaot.errors import WasmException

        try:
            self.instance = module.instantiate(imports)
        except Trap as t:
            raise Trapped(t.message) from None
        except WasmException:  # the start function threw: no instance, no tag exports
            raise Thrown(None) from None
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
        return call_bits(self, name, args, self._trap)

    def payload(self, x) -> list:
        """An escaping WasmException's tag (its export name, by identity) and values,
        as the reference's: floats as bits, references as null or not."""
        name = next((e.name for e in self.exports.values()
                     if e.kind == "tag" and self.items[e.name] is x.tag), None)
        if name is None:  # only in a module not made by smith_module (export_tags)
            return [UNEXPORTED_TAG, None]
        types = self.exports[name].params
        values = [_float_bits(v, t) if t in ("f32", "f64") else v for t, v in zip(types, x.values)]
        return [name, [[t, self._result(t, v)] for t, v in zip(types, values)]]

    def _result(self, t: str, v):
        if t == "externref":
            return None if v is None else ["extern", v.k] if isinstance(v, Extern) else repr(v)
        if t == "funcref":
            if v is None:
                return None
            return ["func", list(map(_simple, v.type.params)), list(map(_simple, v.type.results))]
        if t in (OTHER, "exnref"):
            return _other(v)
        return v

    def state(self, full: bool) -> dict:
        out = {HOST_LOG: ["host calls", list(self.host.log)]}  # a copy: the log grows
        for name, e in self.exports.items():
            item = self.items[name]
            if e.kind == "memory":
                out[name] = _memory_state(item.size(), item.read(0, item.data_len()))
            elif e.kind == "global" and compares_value(e):
                out[name] = ["global", self._result(e.valtype, item.get(bits=True))]
            elif e.kind == "table":
                size = item.size()
                elems = None
                if compares_elements(e, full):
                    elems = [self._result(e.valtype, item.get(i))
                             for i in range(min(size, TABLE_ELEMENTS_COMPARED))]
                out[name] = ["table", size, elems]
        return out


def _simple(t) -> str:
    """wasmaot's value type as _valtype names wasmtime's."""
    if isinstance(t, str):
        return t
    if getattr(t, "nullable", False) and t.heap in ("func", "extern", "exn"):
        return f"{t.heap}ref"
    return OTHER


# --- what a side can see of the reference ------------------------------------------------


def project_value(t: str, v, caps: frozenset):
    """A reference value as a side with `caps` observes it."""
    if t == "funcref" and FUNCREF_TYPES not in caps:
        return _other(v)
    return v


def project_state(exports: dict, state: dict, caps: frozenset, full: bool) -> dict:
    out = {}
    for name, v in state.items():
        e = exports.get(name)
        if e is None:
            out[name] = v
        elif e.kind == "memory" and MEMORY_ALWAYS not in caps and not full:
            continue
        elif e.kind == "global":
            out[name] = ["global", project_value(e.valtype, v[1], caps)]
        elif e.kind == "table" and v[2] is not None:
            elems = [project_value(e.valtype, x, caps) for x in v[2]]
            if TABLE_ELEMENTS not in caps:
                elems = [None if x is None else 1 for x in elems]
            out[name] = ["table", v[1], elems]
        else:
            out[name] = v
    return out


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


def same_outcome(results: tuple, a, b) -> bool:
    """Two outcomes of a call: the same kind; the same values (results or an
    exception's tag and payload, floats by bits with any two NaNs equal: a NaN a
    throw carries is not canonicalized); the same trap or host error."""
    if a[0] != b[0]:
        return False
    if a[0] == "ok":
        return same_values(results, a[1], b[1])
    if a[0] == "exception" and a[1] is not None and b[1] is not None:
        (tag_a, fields_a), (tag_b, fields_b) = a[1], b[1]
        if tag_a == UNEXPORTED_TAG or tag_b == UNEXPORTED_TAG:
            return tag_a == tag_b
        return tag_a == tag_b and [t for t, _ in fields_a] == [t for t, _ in fields_b] and \
            same_values([t for t, _ in fields_a], [v for _, v in fields_a],
                        [v for _, v in fields_b])
    return a[1] == b[1]


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


# --- the reference's record --------------------------------------------------------------


@dataclass
class Trace:
    """What wasmtime observed: instantiation, then each call's outcome and the state
    after it.  `states[0]` is after instantiation, `states[i + 1]` after call i."""

    instantiation: tuple = ("ok", None)
    states: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    refuel: bool = False


def _outcome(side, step) -> tuple[str, object]:
    try:
        return "ok", side.call(step["export"], step["args"])
    except Trapped as t:
        return "trap", t.text
    except HostError as e:
        return "host error", str(e)
    except Thrown as x:
        return "exception", x.payload


def _instantiate(make) -> tuple:
    """(side or None, instantiation outcome)."""
    try:
        return make(), ("ok", None)
    except Trapped as t:
        return None, ("trap", t.text)
    except HostError as e:
        return None, ("host error", str(e))
    except Thrown as x:
        return None, ("exception", x.payload)


def reference_trace(wasm: bytes, exports: list[Export], plan: list[dict], typed: bool,
                    engine: str = "native") -> Trace:
    trace = Trace()
    side, trace.instantiation = _instantiate(
        lambda: WasmtimeSide(wasm, exports, not typed, engine))
    if side is None:
        return trace
    trace.states.append(side.state(True))
    by_name = {e.name: e for e in exports}
    fuel = by_name.get(FUEL)
    trace.refuel = fuel is not None and fuel.valtype == "i32" and \
        trace.states[0][FUEL] == ["global", FUEL_PER_CALL]
    for i, step in enumerate(plan):
        if trace.refuel:
            side.refuel()
        trace.outcomes.append(_outcome(side, step))
        trace.states.append(side.state(i == len(plan) - 1))
    return trace


# --- one variant ---------------------------------------------------------------------


@dataclass
class Result:
    """How one variant of a case compared with the reference."""

    variant: str
    # ok, relaxed (ok within the relaxed-SIMD choices: relaxed_allowed), skipped,
    # inconclusive, mismatch, error, hang, crash
    status: str = "ok"
    reason: str = ""
    calls: int = 0
    returned: int = 0  # calls that returned on both sides
    thrown: int = 0  # calls an exception escaped on both sides (the rest trapped)
    traps: dict = field(default_factory=dict)  # trap text -> count (agreeing traps)
    log: list = field(default_factory=list)  # [call, wasmtime outcome, wasmaot outcome]
    known: str = ""  # the known bug this mismatch is (known.py), if any
    seconds: float = 0.0


def side_caps(variant: Variant) -> frozenset:
    if variant.in_process:
        return WasmaotSide.caps
    from tools.diff_farm.remote import RemoteSide

    return RemoteSide.caps_of(variant)


def make_side(wasm: bytes, exports: list[Export], variant: Variant, workdir: Path | None):
    if variant.in_process:
        return WasmaotSide(wasm, exports, variant)
    from tools.diff_farm.remote import RemoteSide

    return RemoteSide(wasm, exports, variant, workdir)


def compare(wasm: bytes, exports: list[Export], plan: list[dict], trace: Trace,
            variant: Variant, typed: bool, workdir: Path | None = None) -> Result:
    from wasmaot.errors import UnsupportedFeature

    r = Result(variant.name)
    try:
        side, inst = _instantiate(lambda: make_side(wasm, exports, variant, workdir))
    except UnsupportedFeature as e:
        r.status, r.reason = "skipped", f"UnsupportedFeature: {e.message}"
        return r
    except NotApplicable as e:
        r.status, r.reason = "skipped", str(e)
        return r
    except Exception as e:  # noqa: BLE001 (a wasmaot crash while compiling or instantiating)
        r.status, r.reason = "error", f"wasmaot: {type(e).__name__}: {e}"
        r.log.append(traceback.format_exc(limit=6))
        return r
    try:
        caps = side_caps(variant) - {FUNCREF_TYPES} if typed else side_caps(variant)
        return _compare_calls(r, side, caps, inst, exports, plan, trace)
    finally:
        close = getattr(side, "close", None)
        if close:
            close()


def _project_outcome(e: Export, outcome, caps: frozenset) -> tuple:
    if outcome[0] == "exception" and (EXCEPTION_PAYLOAD not in caps or outcome[1] is None):
        return "exception", None
    if outcome[0] == "exception" and outcome[1][1] is not None:
        tag, fields = outcome[1]
        return "exception", [tag, [[t, project_value(t, v, caps)] for t, v in fields]]
    if outcome[0] != "ok":
        return tuple(outcome)
    return "ok", [project_value(t, v, caps) for t, v in zip(e.results, outcome[1])]


def _compare_calls(r: Result, side, caps: frozenset, inst, exports, plan,
                   trace: Trace) -> Result:
    by_name = {e.name: e for e in exports}
    r.log.append(["instantiate", list(trace.instantiation), list(inst)])
    if trace.instantiation != inst:
        r.status = "mismatch"
        r.reason = f"instantiation: wasmtime {trace.instantiation}, wasmaot {inst}"
        return r
    if inst[0] != "ok":
        r.traps[f"instantiation: {inst[1]}"] = 1
        return r
    diffs = state_differences(by_name, project_state(by_name, trace.states[0], caps, True),
                              project_state(by_name, side.state(True), caps, True))
    if diffs:
        r.status, r.reason = "mismatch", "after instantiation: " + "; ".join(diffs)
        return r
    for i, step in enumerate(plan):
        if trace.refuel:
            side.refuel()
        e = by_name[step["export"]]
        a = _project_outcome(e, trace.outcomes[i], caps)
        try:
            b = _project_outcome(e, _outcome(side, step), caps)
        except NotApplicable as ex:
            # The calls before agreed; what follows would start from another state.
            r.status = "ok" if r.calls else "skipped"
            r.reason = f"compared {r.calls} calls; call {i}: {ex}"
            return r
        except Exception as ex:  # noqa: BLE001 (reported as an error case)
            r.status = "error"
            r.reason = f"call {i} {step['export']!r}: wasmaot raised {type(ex).__name__}: {ex}"
            r.log.append([step, list(a), None])
            return r
        r.calls += 1
        r.log.append([step, list(a), list(b)])
        if (a[0] == "trap" and a[1] == STACK) != (b[0] == "trap" and b[1] == STACK):
            r.status = "inconclusive"
            r.reason = (f"call {i} {step['export']!r}: the stack was exhausted on one side "
                        f"only (wasmtime {a}, wasmaot {b})")
            return r
        if not same_outcome(e.results, a, b):
            r.status = "mismatch"
            r.reason = (f"call {i} {step['export']}({_short(step['args'])}): "
                        f"wasmtime {_short(list(a))}, wasmaot {_short(list(b))}")
            return r
        if a[0] == "exception":
            r.thrown += 1
        elif a[0] == "host error":
            r.traps["host error"] = r.traps.get("host error", 0) + 1
        elif a[0] == "trap":
            r.traps[a[1]] = r.traps.get(a[1], 0) + 1
        else:
            r.returned += 1
        last = i == len(plan) - 1
        want = project_state(by_name, trace.states[i + 1], caps, last)
        diffs = state_differences(by_name, want, project_state(by_name, side.state(last), caps, last))
        if diffs:
            r.status = "mismatch"
            r.reason = (f"after call {i} {step['export']}({_short(step['args'])}): "
                        + "; ".join(diffs))
            return r
    return r


# --- relaxed SIMD ---------------------------------------------------------------------
#
# A relaxed instruction may give any of a small set of results (the spec lists them
# per instruction), chosen by the implementation and fixed for it.  A wasmaot result
# that differs from wasmtime's is therefore no bug if it is one of the allowed ones.
# We cannot enumerate the allowed results of a whole run in general (they compound
# through later instructions and state), so we ask wasmtime for more of them: the case
# is rerun on wasmtime in each configuration of RELAXED_ENGINES, and the variant is
# compared again with each record.  If one agrees from the start to the end, the
# variant's results are all allowed ones ("relaxed"); if none does, it stays a
# mismatch.  The limit: a run that mixes choices no profile makes is reported as a
# mismatch although the spec allows it; such a report is checked by hand.  The
# profiles include wasmaot's own default choices on both targets (x86-64-v2: wasmtime's
# x86 ones without FMA; aarch64: the deterministic ones with fused madd), so that
# happens only if wasmaot's choices change.

UNFUSED_MADD = {  # instruction -> (helper, body of the helper on its params 0, 1, 2)
    f"{s}.relaxed_{op}": (f"$wasmaot_diff_{s}_{op}",
                          f"local.get 0 local.get 1 {s}.mul{neg} local.get 2 {s}.add")
    for s in ("f32x4", "f64x2") for op, neg in (("madd", ""), ("nmadd", f" {s}.neg"))}


def unfused_madd(wasm: bytes) -> bytes:
    """`wasm` with every relaxed madd/nmadd replaced by a call of a function computing
    it unfused (mul, then add: one of the two results the spec allows).  The helpers
    come after every other function, so no index of the module changes."""
    text = subprocess.run([wasm_tools(), "print", "-"], input=wasm, capture_output=True,
                          check=True).stdout.decode()
    for instr, (helper, _) in UNFUSED_MADD.items():
        text = re.sub(rf"(?<![\w.$]){re.escape(instr)}(?![\w.])", f"call {helper}", text)
    helpers = "".join(f"\n  (func {helper} (param v128 v128 v128) (result v128) {body})"
                      for helper, body in UNFUSED_MADD.values())
    text = text.rstrip()
    if not text.endswith(")"):
        raise ValueError("wasm-tools print gave no module")
    return subprocess.run([wasm_tools(), "parse", "-"], input=(text[:-1] + helpers + ")").encode(),
                          capture_output=True, check=True).stdout


def uses_relaxed_simd(wasm: bytes) -> bool:
    """Whether a function body of `wasm` has a relaxed-SIMD instruction."""
    text = subprocess.run([wasm_tools(), "print", "-"], input=wasm, capture_output=True,
                          check=False).stdout.decode(errors="replace")
    return ".relaxed_" in text


def relaxed_allowed(result: Result, wasm: bytes, exports: list[Export], plan: list[dict],
                    typed: bool, variant: Variant, workdir: Path | None,
                    traces: dict) -> Result:
    """`result` (a mismatch with wasmtime's native record) as "relaxed" if the variant
    agrees with wasmtime in another relaxed-SIMD configuration; `traces` caches those
    records per case."""
    for profile in RELAXED_PROFILES:
        if profile not in traces:
            reference = unfused_madd(wasm) if profile.unfused else wasm
            traces[profile] = reference_trace(reference, exports, plan, typed, profile.engine)
        again = compare(wasm, exports, plan, traces[profile], variant, typed, workdir)
        if again.status in ("ok", "inconclusive"):
            again.status = "relaxed"
            again.reason = (f"relaxed SIMD: agrees with wasmtime {profile.name} (native "
                            f"wasmtime: {result.reason})")
            again.log = []
            return again
    result.reason += (" [relaxed SIMD: no wasmtime configuration agrees either: native, "
                      + ", ".join(p.name for p in RELAXED_PROFILES) + "]")
    return result


# --- one case ------------------------------------------------------------------------


@dataclass
class Report:
    config: str
    seed: int
    status: str = "ok"  # ok, nomodule, refused (by wasmtime), or the variants' worst
    reason: str = ""
    module_bytes: int = 0
    uncallable: int = 0  # function exports left out of the plan (typed-reference params)
    results: list = field(default_factory=list)  # Result, one per variant

    @property
    def case(self) -> Case:
        return Case(self.config, self.seed)


# Worst first: a case's status is its worst variant's.
SEVERITY = ("crash", "error", "hang", "mismatch", "inconclusive", "relaxed", "skipped", "ok")


def worst(statuses) -> str:
    statuses = list(statuses)
    return min(statuses, key=SEVERITY.index) if statuses else "ok"


def run_case(case: Case, variants: list[Variant], wasm: bytes | None = None,
             workdir: Path | None = None, progress=None) -> Report:
    """Runs `case` on wasmtime once and compares every variant with it.  `progress`
    (if given) is called with a variant's name before it runs."""
    import time

    import wasmtime

    from wasmaot.errors import UnsupportedFeature, WasmError

    if wasm is None:
        wasm = smith_module(case)
    report = Report(case.config, case.seed)
    if wasm is None:
        report.status, report.reason = "nomodule", "wasm-tools smith made no module of this seed"
        return report
    report.module_bytes = len(wasm)
    try:
        wasmtime.Module.validate(_wasmtime_engine(), wasm)
    except wasmtime.WasmtimeError as e:  # a module smith made that wasmtime rejects
        report.status, report.reason = "refused", f"wasmtime: {str(e).splitlines()[0]}"
        return report
    try:
        exports, typed = exports_of(wasm)
    except WasmError as e:
        status = "skipped" if isinstance(e, UnsupportedFeature) else "error"
        report.status, report.reason = status, f"wasmaot validate: {type(e).__name__}: {e}"
        report.results = [Result(v.name, status, report.reason) for v in variants]
        return report
    report.uncallable = sum(1 for e in exports if e.kind == "func") - len(callable_funcs(exports))
    plan = call_plan(case, exports)
    try:
        trace = reference_trace(wasm, exports, plan, typed)
    except wasmtime.WasmtimeError as e:  # e.g. its GC heap cannot hold a 2 GB array
        report.status, report.reason = "refused", f"wasmtime: {str(e).splitlines()[0]}"
        return report
    others: dict = {}  # wasmtime's traces in its other relaxed-SIMD configurations
    for variant in variants:
        if progress:
            progress(variant.name)
        start = time.monotonic()
        result = compare(wasm, exports, plan, trace, variant, typed, workdir)
        if result.status == "mismatch" and uses_relaxed_simd(wasm):
            result = relaxed_allowed(result, wasm, exports, plan, typed, variant, workdir, others)
        result.seconds = round(time.monotonic() - start, 3)
        report.results.append(result)
    report.status = worst(r.status for r in report.results)
    return report


def report_from_json(data: dict) -> Report:
    report = Report(**{k: v for k, v in data.items() if k != "results"})
    report.results = [Result(**r) for r in data.get("results", [])]
    return report


# --- command line -------------------------------------------------------------------


def _use_cache_dir(path: str | None) -> None:
    """Compiled modules go to `path` instead of the user's cache (the runtime build
    stays where it is: it is shared and slow to make)."""
    if not path:
        return
    from wasmaot import api

    if hasattr(api, "_cache_dir"):
        api._cache_dir = lambda: Path(path)


def _clear(cache_dir: str | None) -> None:
    """Deletes the shared objects of the last case: a farm makes thousands."""
    if not cache_dir:
        return
    for p in Path(cache_dir).glob("*.so"):
        p.unlink(missing_ok=True)


def worker(cache_dir: str | None) -> None:
    """Serves cases: a request `{"config", "seed", "variants": [names], "wasm": path?}`
    per stdin line; answers `{"progress": variant}` before each variant (so that a
    hang is attributed) and then `{"report": ...}`."""
    _use_cache_dir(cache_dir)
    for line in sys.stdin:
        req = json.loads(line)
        case = Case(req["config"], req["seed"])
        variants = [Variant.parse(v) for v in req["variants"]]
        wasm = Path(req["wasm"]).read_bytes() if req.get("wasm") else None

        def progress(name):
            sys.stdout.write(json.dumps({"progress": name}) + "\n")
            sys.stdout.flush()

        try:
            report = run_case(case, variants, wasm, Path(cache_dir) if cache_dir else None,
                              progress)
        except Exception as e:  # noqa: BLE001 (reported as an error case)
            reason = f"harness: {type(e).__name__}: {e}"
            report = Report(case.config, case.seed, "error", reason, results=[
                Result("harness", "error", reason, log=[traceback.format_exc(limit=8)])])
        for r in report.results:
            if r.status in ("ok", "skipped"):
                r.log = []  # keep the pipe small; a failure's log is what matters
        _clear(cache_dir)
        sys.stdout.write(json.dumps({"report": asdict(report)}) + "\n")
        sys.stdout.flush()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="run one differential case against wasmtime")
    ap.add_argument("--config", default="base", choices=sorted(PRESETS),
                    help="the smith preset (configs.py)")
    ap.add_argument("--seed", type=int, required=False, help="the case's seed")
    ap.add_argument("--variant", action="append", default=[],
                    help="x86_64-O2 (default), x86_64-O0, aarch64-O2, x86_64-O2-explicit, "
                         "x86_64-O2-exe, ...")
    ap.add_argument("--wasm", type=Path, help="use this module instead of smith's (e.g. a shrunk one)")
    ap.add_argument("--save", type=Path, help="write the module here")
    ap.add_argument("--worker", action="store_true", help="serve JSON requests on stdin")
    ap.add_argument("--cache-dir", help="where compiled modules go")
    ap.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.cache_dir)
        return 0
    if args.seed is None:
        ap.error("--seed is required")
    _use_cache_dir(args.cache_dir)
    case = Case(args.config, args.seed)
    variants = [Variant.parse(v) for v in args.variant] or [Variant()]
    wasm = args.wasm.read_bytes() if args.wasm else smith_module(case)
    report = run_case(case, variants, wasm, Path(args.cache_dir) if args.cache_dir else None)
    if args.json:
        print(json.dumps(asdict(report)))
        return 0
    for r in report.results:
        for entry in r.log:
            print(json.dumps(entry) if not isinstance(entry, str) else entry)
        print(f"{case.key} {r.variant}: {r.status} {r.reason}".rstrip())
    print(f"{case.key}: {report.status} {report.reason}".rstrip())
    if args.save and wasm is not None:
        args.save.write_bytes(wasm)
        print(f"wrote {args.save}")
    return 0 if report.status in ("ok", "skipped", "nomodule", "inconclusive", "refused") else 1


if __name__ == "__main__":
    # The module itself, not this __main__ copy: remote.py's Trapped must be ours.
    from tools.diff_farm import harness

    sys.exit(harness.main())
