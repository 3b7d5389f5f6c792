"""Running lowered numeric instructions natively, and wasmtime as the reference.

`runtime_function` wraps each instruction's IR (from `numeric.lower`) in a
C-callable function; `Jit` compiles a whole batch as wasmaot compiles a module
(driver/llvm.py `compile_ir`: zig's clang, the production LLVM and its steps),
links it into a shared object and loads it; the tests call it through ctypes.
`Reference` runs the same instruction in wasmtime.  Values cross both
boundaries as unsigned bit patterns, so NaN payloads are never touched by
Python floats.  `mismatch` decides whether two outcomes agree under the spec.
"""

from __future__ import annotations

import ctypes
import struct
import tempfile
from pathlib import Path

import wasmtime

from wasmaot.codegen import numeric
from wasmaot.codegen.abi import TRAP_CODES
from wasmaot.codegen.ir import LLVM_TYPE
from wasmaot.driver import llvm as backend
from wasmaot.driver import toolchain
from wasmaot.driver.targets import CodeTarget, host_code_target
from wasmaot.wasm.opcodes import BY_NAME

TRAP_NAMES = {code: name for name, code in TRAP_CODES.items()}
WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}
BITS_TYPE = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}  # how values are passed


def mask(value: int, ty: str) -> int:
    return value & ((1 << WIDTH[ty]) - 1)


def signed(value: int, ty: str) -> int:
    bits = WIDTH[ty]
    value = mask(value, ty)
    return value - (1 << bits) if value >> (bits - 1) else value


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# --- the IR sink used by tests ------------------------------------------------------


class TestSink:
    """An `IRSink` writing one function body.  `trap_if` branches to a block that
    stores the trap code at `trap_ptr` and then runs `after_trap`."""

    __test__ = False  # not a pytest class

    def __init__(self, decls: dict):
        self.lines: list[str] = []
        self.decls = decls  # shared by all functions of a module
        self.trap_ptr = "%trap"
        self.after_trap = "ret void"
        self._n = 0
        self._blocks = 0

    def tmp(self) -> str:
        self._n += 1
        return f"%t{self._n}"

    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def emit_bool(self, r: str, cond: str) -> None:
        self.emit(f"{r} = zext i1 {cond} to i32")

    def trap_if(self, cond: str, trap: str) -> None:
        k = self._blocks
        self._blocks += 1
        self.lines += [
            f"  br i1 {cond}, label %trap{k}, label %ok{k}",
            f"trap{k}:",
            f"  store i32 {TRAP_CODES[trap]}, ptr {self.trap_ptr}",
            f"  {self.after_trap}",
            f"ok{k}:",
        ]

    def declare(self, decl: str) -> None:
        self.decls[decl] = None

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")


def _store_results(sink: TestSink, results: list, types: tuple, slot0: int) -> None:
    for j, (value, ty) in enumerate(zip(results, types)):
        p = sink.tmp()
        sink.emit(f"{p} = getelementptr i64, ptr %out, i64 {slot0 + j}")
        sink.emit(f"store {LLVM_TYPE[ty]} {value}, ptr {p}")


def _param_values(sink: TestSink, params: tuple, names: list) -> list:
    """Runtime parameters arrive as integer bit patterns; floats are bitcast."""
    values = []
    for ty, name in zip(params, names):
        if ty in ("f32", "f64"):
            v = sink.tmp()
            sink.emit(f"{v} = bitcast {BITS_TYPE[ty]} {name} to {LLVM_TYPE[ty]}")
            values.append(v)
        else:
            values.append(name)
    return values


def const_value(sink: TestSink, ty: str, bits: int) -> str:
    """A constant operand the way the emitter produces one: through the const lowering."""
    imm = signed(bits, ty) if ty in ("i32", "i64") else mask(bits, ty)
    return numeric.lower(sink, f"{ty}.const", [], (imm,))[0]


def runtime_function(fname: str, op_name: str, decls: dict, operands=None) -> tuple:
    """`void @fname(ptr %out, ptr %trap, <runtime params>)` applying `op_name`.

    `operands` says, per wasm operand, where it comes from: `("param", k)` for
    runtime parameter k, `("const", bits)` for a constant.  Default: operand i is
    parameter i.  Returns (IR text, wasm types of the runtime parameters).
    """
    op = BY_NAME[op_name]
    if operands is None:
        operands = [("param", i) for i in range(len(op.params))]
    nparams = 1 + max((k for kind, k in operands if kind == "param"), default=-1)
    ptypes = [None] * nparams
    for (kind, k), ty in zip(operands, op.params):
        if kind == "param":
            ptypes[k] = ty
    sink = TestSink(decls)
    pvals = _param_values(sink, ptypes, [f"%a{k}" for k in range(nparams)])
    args = [pvals[k] if kind == "param" else const_value(sink, ty, k)
            for (kind, k), ty in zip(operands, op.params)]
    results = numeric.lower(sink, op_name, args, ())
    _store_results(sink, results, op.results, 0)
    sink.emit("ret void")
    sig = ", ".join(["ptr %out", "ptr %trap"]
                    + [f"{BITS_TYPE[t]} %a{k}" for k, t in enumerate(ptypes)])
    return f"define void @{fname}({sig}) {{\n" + "\n".join(sink.lines) + "\n}\n", tuple(ptypes)


SLOTS_PER_CASE = 3  # two results, then the trap code


def constant_cases_function(fname: str, op_name: str, decls: dict, cases: list,
                            imms_cases: bool = False) -> str:
    """`void @fname(ptr %out)`: `op_name` on each case's constant operands (or, with
    `imms_cases`, each case is the immediate of a const instruction), results and
    trap code of case j at out[3j], out[3j+1], out[3j+2]."""
    op = BY_NAME[op_name]
    sink = TestSink(decls)
    sink.emit("br label %case0")
    for j, case in enumerate(cases):
        sink.label(f"case{j}")
        trap_slot = sink.tmp()
        sink.emit(f"{trap_slot} = getelementptr i64, ptr %out, i64 {j * SLOTS_PER_CASE + 2}")
        sink.trap_ptr, sink.after_trap = trap_slot, f"br label %case{j + 1}"
        if imms_cases:
            results = numeric.lower(sink, op_name, [], (case,))
        else:
            args = [const_value(sink, ty, bits) for ty, bits in zip(op.params, case)]
            results = numeric.lower(sink, op_name, args, ())
        _store_results(sink, results, op.results, j * SLOTS_PER_CASE)
        sink.emit(f"br label %case{j + 1}")
    sink.label(f"case{len(cases)}")
    sink.emit("ret void")
    return f"define void @{fname}(ptr %out) {{\n" + "\n".join(sink.lines) + "\n}\n"


def module_text(functions: list, decls: dict, triple: str = "") -> str:
    head = f'target triple = "{triple}"\n' if triple else ""
    return head + "\n".join(functions) + "\n" + "\n".join(decls) + "\n"


# --- compiling and calling ------------------------------------------------------------

def host_target(cpu: str | None = None) -> CodeTarget:
    """This machine's code target, for its own CPU (`--cpu native`) or for the LLVM
    CPU `cpu` (e.g. the baseline `x86-64`, where rounding becomes libm calls)."""
    host = host_code_target()
    if cpu is None:
        return backend.with_cpu(host, "native")
    return CodeTarget(host.name, host.triple, cpu, "")


class Jit:
    """A module of test functions compiled at `opt` (0: one -O0 step; 2: the IR
    pipeline, then the code generator) by the production back end for `cpu`
    (`host_target`), linked into a shared object and loaded into this process."""

    def __init__(self, text: str, opt: int, cpu: str | None = None):
        obj = backend.compile_ir(text, host_target(cpu), opt)
        with tempfile.TemporaryDirectory(prefix="wasmaot-jit-") as tmp:
            path = Path(tmp) / "jit.o"
            path.write_bytes(obj)
            # Loaded before the directory goes: the mapping outlives the file.
            self.lib = ctypes.CDLL(str(toolchain.link_module_shared(path, Path(tmp) / "jit.so")))

    def address(self, name: str) -> int:
        return ctypes.cast(getattr(self.lib, name), ctypes.c_void_p).value


_CTYPE = {"i32": ctypes.c_uint32, "i64": ctypes.c_uint64}


class RuntimeOp:
    """A compiled `runtime_function`: call(*bits) -> (trap name | None, result bits)."""

    def __init__(self, jit: Jit, fname: str, ptypes: tuple, rtypes: tuple):
        argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [_CTYPE[BITS_TYPE[t]] for t in ptypes]
        self.fn = ctypes.CFUNCTYPE(None, *argtypes)(jit.address(fname))
        self.jit = jit  # keep the engine alive
        self.ptypes = ptypes
        self.rtypes = rtypes
        self.out = (ctypes.c_uint64 * 2)()
        self.trap = ctypes.c_int32()

    def __call__(self, *bits):
        out, trap = self.out, self.trap
        out[0] = out[1] = 0
        trap.value = 0
        self.fn(out, ctypes.byref(trap), *bits)
        if trap.value:
            return TRAP_NAMES[trap.value], ()
        return None, tuple(mask(out[j], t) for j, t in enumerate(self.rtypes))


def run_cases(jit: Jit, fname: str, rtypes: tuple, ncases: int) -> list:
    out = (ctypes.c_uint64 * (SLOTS_PER_CASE * ncases))()
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(jit.address(fname))(out)
    outcomes = []
    for j in range(ncases):
        code = out[j * SLOTS_PER_CASE + 2] & 0xFFFFFFFF
        if code:
            outcomes.append((TRAP_NAMES[code], ()))
        else:
            outcomes.append((None, tuple(mask(out[j * SLOTS_PER_CASE + k], t)
                                         for k, t in enumerate(rtypes))))
    return outcomes


# --- the reference: wasmtime ------------------------------------------------------------

_WASMTIME_TRAPS = {
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "INT_DIV_ZERO",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "INT_OVERFLOW",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "BAD_CONVERSION",
}


def _wat_func(op_name: str) -> str:
    """An export taking and returning bit patterns, applying `op_name` in between."""
    op = BY_NAME[op_name]
    body = []
    for i, t in enumerate(op.params):
        body.append(f"local.get {i}")
        if t in ("f32", "f64"):
            body.append(f"{t}.reinterpret_{BITS_TYPE[t]}")
    body.append(op_name)
    # Several results: stash them in locals to reinterpret each.
    nparams = len(op.params)
    for j, t in reversed(list(enumerate(op.results))):
        body.append(f"local.set {nparams + j}")
    for j, t in enumerate(op.results):
        body.append(f"local.get {nparams + j}")
        if t in ("f32", "f64"):
            body.append(f"{BITS_TYPE[t]}.reinterpret_{t}")
    params = " ".join(BITS_TYPE[t] for t in op.params)
    results = " ".join(BITS_TYPE[t] for t in op.results)
    locals_ = " ".join(op.results)
    return (f'(func (export "{op_name}") (param {params}) (result {results}) (local {locals_})\n  '
            + "\n  ".join(body) + ")")


class Reference:
    """Every non-const numeric op as a wasmtime export; results are cached."""

    def __init__(self, op_names):
        config = wasmtime.Config()
        config.wasm_wide_arithmetic = True
        config.cranelift_nan_canonicalization = False
        engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(engine)
        wat = "(module\n" + "\n".join(_wat_func(n) for n in sorted(op_names)) + ")"
        module = wasmtime.Module(engine, wat)
        instance = wasmtime.Instance(self.store, module, [])
        exports = instance.exports(self.store)
        self.funcs = {n: exports[n] for n in op_names}
        self.cache: dict = {}

    def __call__(self, op_name: str, bits: tuple):
        key = (op_name, bits)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        op = BY_NAME[op_name]
        args = [signed(b, BITS_TYPE[t]) for b, t in zip(bits, op.params)]
        try:
            res = self.funcs[op_name](self.store, *args)
        except wasmtime.Trap as trap:
            outcome = (_WASMTIME_TRAPS[trap.trap_code], ())
        else:
            if len(op.results) == 1:
                res = [res]
            outcome = (None, tuple(mask(v, BITS_TYPE[t]) for v, t in zip(res, op.results)))
        self.cache[key] = outcome
        return outcome


# --- comparing outcomes under the spec ------------------------------------------------------

# Results that must match bit for bit even when they are NaNs (pure bit operations).
BIT_EXACT = {"f32.abs", "f64.abs", "f32.neg", "f64.neg", "f32.copysign", "f64.copysign",
             "f32.reinterpret_i32", "f64.reinterpret_i64", "f32.const", "f64.const"}

_EXP = {"f32": 0x7F800000, "f64": 0x7FF0000000000000}
_QUIET = {"f32": 0x00400000, "f64": 0x0008000000000000}
_PAYLOAD = {"f32": 0x007FFFFF, "f64": 0x000FFFFFFFFFFFFF}


def is_nan(bits: int, ty: str) -> bool:
    return (bits & _EXP[ty]) == _EXP[ty] and bool(bits & _PAYLOAD[ty])


def is_canonical_nan(bits: int, ty: str) -> bool:
    return (bits & _EXP[ty]) == _EXP[ty] and (bits & _PAYLOAD[ty]) == _QUIET[ty]


def is_arithmetic_nan(bits: int, ty: str) -> bool:
    return (bits & _EXP[ty]) == _EXP[ty] and bool(bits & _QUIET[ty])


def mismatch(op_name: str, bits: tuple, ours, ref) -> str | None:
    """None if `ours` is a correct outcome given the reference's, else why not.

    A NaN result need not match wasmtime's payload; instead it must be what the
    spec's `nans` allows: a canonical NaN if no operand is a non-canonical NaN,
    otherwise an arithmetic (quiet) NaN."""
    if ours[0] != ref[0]:
        return f"trap {ours[0]} != reference trap {ref[0]}"
    op = BY_NAME[op_name]
    for j, (a, b, ty) in enumerate(zip(ours[1], ref[1], op.results)):
        if a == b:
            continue
        if ty in ("f32", "f64") and op_name not in BIT_EXACT and is_nan(b, ty):
            inputs_canonical = all(not is_nan(x, t) or is_canonical_nan(x, t)
                                   for x, t in zip(bits, op.params) if t in ("f32", "f64"))
            ok = is_canonical_nan(a, ty) if inputs_canonical else is_arithmetic_nan(a, ty)
            if ok:
                continue
            want = "canonical" if inputs_canonical else "arithmetic"
            return f"result {j}: {a:#x} is not a {want} NaN (reference {b:#x})"
        return f"result {j}: {a:#x} != reference {b:#x}"
    return None


# --- input values -------------------------------------------------------------------------

_I32 = [0, 1, 2, 3, 10, 31, 32, 33, 63, 64, 65, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x12345678, 0x55555555, 0x00FF00FF, 0x01000001, 0x7FFFFF80, 0x7FFFFFC0, 0x7FFFFFFF,
        0x80000000, 0x80000001, 0x9ABCDEF0, 0xFFFFFF80, 0xFFFFFFF6, 0xFFFFFFFD, 0xFFFFFFFE,
        0xFFFFFFFF]
_I64 = [0, 1, 2, 3, 10, 63, 64, 65, 127, 128, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
        0x0020000000000001, 0x0123456789ABCDEF, 0x5555555555555555, 0x7FFFFFFFFFFFFC00,
        0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x8000000000000001, 0x8000008000000001,
        0xFEDCBA9876543210, 0xFFFFFFFF00000000, 0xFFFFFFFF80000000, 0xFFFFFFFFFFFFFBFF,
        0xFFFFFFFFFFFFFFF6, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF]


def _f32s(*xs):
    return [f32_bits(x) for x in xs]


def _f64s(*xs):
    return [f64_bits(x) for x in xs]


_F32 = sorted(set(_f32s(0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -7.0, 123.456,
                        1e10, -1e-10, 3.14159265, 2.0**24, 2.0**31, -2.0**31, 2.0**32, 2.0**63,
                        -2.0**63, 2.0**64, float("inf"), float("-inf")) + [
    0x3F7FFFFF, 0xBF7FFFFF,  # just below +-1
    0x3EFFFFFF,  # just below 0.5
    0x4B000001, 0x4AFFFFFF, 0x4B800001,  # near 2^23 / 2^24: rounding
    0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000,  # subnormals, min normal
    0x7F7FFFFF, 0xFF7FFFFF,  # max finite
    0x4EFFFFFF, 0xCF000001,  # just inside/outside i32 range
    0x4F7FFFFF,  # largest below 2^32
    0x5EFFFFFF, 0xDF000001,  # just inside/outside i64 range
    0x5F7FFFFF,  # largest below 2^64
    0x7FC00000, 0xFFC00000,  # canonical NaNs
    0x7FC12345, 0xFFF00001,  # quiet NaNs with payloads
    0x7FA00000, 0xFF800001, 0x7F800001,  # signalling NaNs
]))
_F64 = sorted(set(_f64s(0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -7.0, 123.456,
                        1e10, -1e-10, 3.141592653589793, 1e308, 2.0**53, 2.0**31, -2.0**31,
                        2147483647.0, 2147483647.9999998, -2147483648.9999998, -2147483649.0,
                        4294967295.0, 4294967295.9999995, 2.0**32, -0.9999999999999999,
                        0.9999999999999999, 2.0**63, -2.0**63, 2.0**64, float("inf"),
                        float("-inf")) + [
    0x4330000000000001,  # 2^52 + 1
    0x43DFFFFFFFFFFFFF, 0xC3E0000000000001,  # just inside/outside i64 range
    0x43EFFFFFFFFFFFFF,  # largest below 2^64
    0x3FF0000010000000, 0x3FF0000030000000, 0x3FF0000010000001,  # demote ties and near-ties
    0x36A0000000000000, 0x3690000000000000,  # smallest f32 subnormal, and half of it
    0x47EFFFFFE0000000, 0x47EFFFFFEFFFFFFF, 0x47EFFFFFF0000000,  # demote at f32's max
    0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x0010000000000000,  # subnormals, min normal
    0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,  # max finite
    0x7FF8000000000000, 0xFFF8000000000000,  # canonical NaNs
    0x7FF8000000012345, 0xFFFE000000000001,  # quiet NaNs with payloads
    0x7FF4000000000000, 0xFFF0000000000001, 0x7FF0000020000000,  # signalling NaNs
]))

EDGES = {"i32": _I32, "i64": _I64, "f32": _F32, "f64": _F64}
# A few per type, for cross products of costly kinds (constants under -O2).
SMALL_EDGES = {
    "i32": [0, 1, 0x1F, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFF],
    "i64": [0, 1, 0x3F, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF],
    "f32": _f32s(0.0, -0.0, 1.0, -1.0, 2.5, float("inf")) + [0x7FC00000, 0x7FA00000, 0xFF800001,
                                                            0xCF000001],
    "f64": _f64s(0.0, -0.0, 1.0, -1.0, 2.5, float("inf"), -2147483649.0) + [
        0x7FF8000000000000, 0x7FF4000000000000, 0xFFF0000000000001],
}


def random_bits(rng, ty: str) -> int:
    """Random bits, edge values, or edge values nudged by a few ulps."""
    roll = rng.random()
    if roll < 0.4:
        return rng.getrandbits(WIDTH[ty])
    edge = rng.choice(EDGES[ty])
    if roll < 0.7:
        return edge
    return mask(edge + rng.randint(-3, 3), ty)
