"""Lowering of the scalar numeric instructions to LLVM IR text.

Covers every row of the opcode table that is a pure numeric operation
(`NUMERIC_OPS`): the MVP's constants, comparisons, integer and float
arithmetic and conversions, plus sign extension, non-trapping float-to-int
and wide arithmetic.  Semantics follow the spec's numerics chapter (4.3)
exactly; no fast-math flag is ever emitted.

Simple instructions are one template each (`_TEMPLATES`): LLVM text with
`{0}`, `{1}`, ... for the operands, `{r}` for the result (`{r0}`, `{r1}` when
there are two) and `{t0}`, `{t1}`, ... for intermediate values; lines are
separated by newlines and intrinsic declarations are derived from the calls.
Instructions that trap or branch are small functions.  Both are turned into
one handler per name at import (`HANDLERS`), so lowering an instruction costs
a dict lookup and a `str.format` per emitted line.

Keeping float semantics exact under LLVM's optimizer
----------------------------------------------------
LLVM assumes a signalling NaN may be treated as quiet, so its folds
`x * 1.0 -> x`, `x / 1.0 -> x`, `x + -0.0 -> x`, `x - 0.0 -> x`, `minimum(x, x) -> x`
and `fptrunc(fpext x) -> x` return a signalling NaN unchanged where wasm requires
an arithmetic (quiet) NaN (testsuite float_exprs.wast: `no_fold_mul_one`,
`no_fold_promote_demote`, ...), and its x86-64 `llvm.minimum`/`maximum` return a
signalling NaN operand as it is.  The lowering therefore never lets the optimizer
see a float constant or the ingredients of those folds, and quiets min/max:

* every float value that may be a compile-time constant is passed through
  `llvm.arithmetic.fence` where it is created: `f32.const`/`f64.const`, and
  the results of `convert_*` and `reinterpret_*` (whose operand may be an
  integer constant);
* `demote` fences its operand (so `fptrunc(fpext x)` is not folded);
* `min`/`max` pass their result through `llvm.canonicalize` (one multiply by
  1.0 on x86-64, one `fminnm` on aarch64), which also makes `minimum(x, x) -> x`
  harmless.

A fence is a no-op in the generated machine code (checked for x86-64 and
aarch64); it only blocks folding.  `tests/codegen/test_numeric.py` runs these
patterns through the -O2 pipeline with signalling NaNs.

`--deterministic`: one NaN on every CPU
---------------------------------------
Where an operation's result is NaN, the spec allows any arithmetic NaN (4.3.3),
and CPUs differ: x86-64 makes `0/0` the negative "default NaN" 0xffc00000 and
passes an operand's payload on, aarch64 makes 0x7fc00000.  With
`CodegenOptions.deterministic`, `DETERMINISTIC_HANDLERS` follows every row of
`NAN_PRODUCING` with `select(isnan(r), canonical, r)`, the positive quiet
canonical NaN (0x7fc00000, 0x7ff8000000000000), so a program prints the same
bytes on every target.  Rows the spec makes bit-exact (`NAN_EXACT`: abs, neg,
copysign, const, reinterpret) and those that never make a NaN (`NEVER_NAN`:
int-to-float conversions) are left alone; every row with a float result is
in exactly one of the three sets (checked at import).  Without the option the
handlers, and so the IR, are exactly those of `HANDLERS`.
"""

from __future__ import annotations

import re
import struct
from typing import Callable

from wasmaot.codegen.ir import IRSink
from wasmaot.wasm.opcodes import OPCODES

# --- which rows are ours ---------------------------------------------------------

NUMERIC_PROPOSALS = frozenset(
    {"mvp", "sign_extension", "saturating_float_to_int", "wide_arithmetic"})


def is_numeric(op) -> bool:
    """A pure numeric row: fixed signature with at least one result and no address
    operand or result (which excludes `nop`, loads, stores and `memory.*`)."""
    return (op.proposal in NUMERIC_PROPOSALS and op.params is not None and bool(op.results)
            and "a" not in op.params and "a" not in op.results)


NUMERIC_OPS: frozenset[str] = frozenset(op.name for op in OPCODES if is_numeric(op))

Handler = Callable[[IRSink, list, tuple], list]

# --- helpers used by templates and handlers --------------------------------------

_INT_BITS = {"i32": 32, "i64": 64}
_FLOAT = {"f32": "float", "f64": "double"}
_FLOAT_BITS_INT = {"f32": "i32", "f64": "i64"}  # the integer type of a float's bit pattern


def float_literal(value: float) -> str:
    """An exact LLVM literal for `value` (hex of its double encoding; for `float`
    operands the value must be exactly representable in f32)."""
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", value))[0]


def _fence(ty: str) -> str:
    return f"@llvm.arithmetic.fence.{'f32' if ty == 'float' else 'f64'}"


# --- templates ----------------------------------------------------------------------
# Each family is instantiated per type: `$I` is the integer type and `$M` its width
# minus one; `$F` is the LLVM float type and `$N` the wasm one (f32/f64).

_INT_TEMPLATES = {
    "eqz": "{t0} = icmp eq $I {0}, 0\n{r} = zext i1 {t0} to i32",
    "eq": "{t0} = icmp eq $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "ne": "{t0} = icmp ne $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "lt_s": "{t0} = icmp slt $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "lt_u": "{t0} = icmp ult $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "gt_s": "{t0} = icmp sgt $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "gt_u": "{t0} = icmp ugt $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "le_s": "{t0} = icmp sle $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "le_u": "{t0} = icmp ule $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "ge_s": "{t0} = icmp sge $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "ge_u": "{t0} = icmp uge $I {0}, {1}\n{r} = zext i1 {t0} to i32",
    "clz": "{r} = call $I @llvm.ctlz.$I($I {0}, i1 false)",
    "ctz": "{r} = call $I @llvm.cttz.$I($I {0}, i1 false)",
    "popcnt": "{r} = call $I @llvm.ctpop.$I($I {0})",
    "add": "{r} = add $I {0}, {1}",
    "sub": "{r} = sub $I {0}, {1}",
    "mul": "{r} = mul $I {0}, {1}",
    "and": "{r} = and $I {0}, {1}",
    "or": "{r} = or $I {0}, {1}",
    "xor": "{r} = xor $I {0}, {1}",
    # Shift counts are taken modulo the width (spec: ishl(i1, i2) shifts by i2 mod N).
    "shl": "{t0} = and $I {1}, $M\n{r} = shl $I {0}, {t0}",
    "shr_s": "{t0} = and $I {1}, $M\n{r} = ashr $I {0}, {t0}",
    "shr_u": "{t0} = and $I {1}, $M\n{r} = lshr $I {0}, {t0}",
    # Funnel shifts take their count modulo the width themselves.
    "rotl": "{r} = call $I @llvm.fshl.$I($I {0}, $I {0}, $I {1})",
    "rotr": "{r} = call $I @llvm.fshr.$I($I {0}, $I {0}, $I {1})",
    "extend8_s": "{t0} = trunc $I {0} to i8\n{r} = sext i8 {t0} to $I",
    "extend16_s": "{t0} = trunc $I {0} to i16\n{r} = sext i16 {t0} to $I",
}

_FLOAT_TEMPLATES = {
    # `ne` is the only unordered comparison: NaN != x is true.
    "eq": "{t0} = fcmp oeq $F {0}, {1}\n{r} = zext i1 {t0} to i32",
    "ne": "{t0} = fcmp une $F {0}, {1}\n{r} = zext i1 {t0} to i32",
    "lt": "{t0} = fcmp olt $F {0}, {1}\n{r} = zext i1 {t0} to i32",
    "gt": "{t0} = fcmp ogt $F {0}, {1}\n{r} = zext i1 {t0} to i32",
    "le": "{t0} = fcmp ole $F {0}, {1}\n{r} = zext i1 {t0} to i32",
    "ge": "{t0} = fcmp oge $F {0}, {1}\n{r} = zext i1 {t0} to i32",
    # Sign operations touch only the sign bit, NaN payloads included.
    "abs": "{r} = call $F @llvm.fabs.$N($F {0})",
    "neg": "{r} = fneg $F {0}",
    "copysign": "{r} = call $F @llvm.copysign.$N($F {0}, $F {1})",
    "ceil": "{r} = call $F @llvm.ceil.$N($F {0})",
    "floor": "{r} = call $F @llvm.floor.$N($F {0})",
    "trunc": "{r} = call $F @llvm.trunc.$N($F {0})",
    "nearest": "{r} = call $F @llvm.roundeven.$N($F {0})",
    "sqrt": "{r} = call $F @llvm.sqrt.$N($F {0})",
    "add": "{r} = fadd $F {0}, {1}",
    "sub": "{r} = fsub $F {0}, {1}",
    "mul": "{r} = fmul $F {0}, {1}",
    "div": "{r} = fdiv $F {0}, {1}",
    # minimum/maximum: NaN if either operand is, and -0 < +0 (spec fmin/fmax).  LLVM
    # may return a signalling NaN operand unchanged (x86-64 does), so the result is
    # canonicalized: that quiets it and is the identity on everything else.
    "min": "{t0} = call $F @llvm.minimum.$N($F {0}, $F {1})\n"
           "{r} = call $F @llvm.canonicalize.$N($F {t0})",
    "max": "{t0} = call $F @llvm.maximum.$N($F {0}, $F {1})\n"
           "{r} = call $F @llvm.canonicalize.$N($F {t0})",
}

# Conversions and wide arithmetic, by full name (types spelled out).
_CONVERSION_TEMPLATES = {
    "i32.wrap_i64": "{r} = trunc i64 {0} to i32",
    "i64.extend_i32_s": "{r} = sext i32 {0} to i64",
    "i64.extend_i32_u": "{r} = zext i32 {0} to i64",
    "i64.extend32_s": "{t0} = trunc i64 {0} to i32\n{r} = sext i32 {t0} to i64",
    "f32.demote_f64": "{t0} = call double @llvm.arithmetic.fence.f64(double {0})\n"
                      "{r} = fptrunc double {t0} to float",
    "f64.promote_f32": "{r} = fpext float {0} to double",
    "i32.reinterpret_f32": "{r} = bitcast float {0} to i32",
    "i64.reinterpret_f64": "{r} = bitcast double {0} to i64",
    "f32.reinterpret_i32": "{t0} = bitcast i32 {0} to float\n"
                           "{r} = call float @llvm.arithmetic.fence.f32(float {t0})",
    "f64.reinterpret_i64": "{t0} = bitcast i64 {0} to double\n"
                           "{r} = call double @llvm.arithmetic.fence.f64(double {t0})",
    # wide-arithmetic: 128-bit values as (low, high) i64 pairs.
    "i64.add128": (
        "{t0} = zext i64 {0} to i128\n{t1} = zext i64 {1} to i128\n{t2} = shl i128 {t1}, 64\n"
        "{t3} = or i128 {t0}, {t2}\n{t4} = zext i64 {2} to i128\n{t5} = zext i64 {3} to i128\n"
        "{t6} = shl i128 {t5}, 64\n{t7} = or i128 {t4}, {t6}\n{t8} = add i128 {t3}, {t7}\n"
        "{r0} = trunc i128 {t8} to i64\n{t9} = lshr i128 {t8}, 64\n{r1} = trunc i128 {t9} to i64"),
    "i64.sub128": (
        "{t0} = zext i64 {0} to i128\n{t1} = zext i64 {1} to i128\n{t2} = shl i128 {t1}, 64\n"
        "{t3} = or i128 {t0}, {t2}\n{t4} = zext i64 {2} to i128\n{t5} = zext i64 {3} to i128\n"
        "{t6} = shl i128 {t5}, 64\n{t7} = or i128 {t4}, {t6}\n{t8} = sub i128 {t3}, {t7}\n"
        "{r0} = trunc i128 {t8} to i64\n{t9} = lshr i128 {t8}, 64\n{r1} = trunc i128 {t9} to i64"),
    "i64.mul_wide_s": (
        "{t0} = sext i64 {0} to i128\n{t1} = sext i64 {1} to i128\n{t2} = mul i128 {t0}, {t1}\n"
        "{r0} = trunc i128 {t2} to i64\n{t3} = lshr i128 {t2}, 64\n{r1} = trunc i128 {t3} to i64"),
    "i64.mul_wide_u": (
        "{t0} = zext i64 {0} to i128\n{t1} = zext i64 {1} to i128\n{t2} = mul i128 {t0}, {t1}\n"
        "{r0} = trunc i128 {t2} to i64\n{t3} = lshr i128 {t2}, 64\n{r1} = trunc i128 {t3} to i64"),
}


def _conversion_families() -> dict[str, str]:
    out = {}
    for fw, fty in _FLOAT.items():
        for iw in _INT_BITS:
            fence = f"{{r}} = call {fty} {_fence(fty)}({fty} {{t0}})"
            out[f"{fw}.convert_{iw}_s"] = f"{{t0}} = sitofp {iw} {{0}} to {fty}\n{fence}"
            out[f"{fw}.convert_{iw}_u"] = f"{{t0}} = uitofp {iw} {{0}} to {fty}\n{fence}"
            for sign, llvm_sign in (("s", "si"), ("u", "ui")):
                out[f"{iw}.trunc_sat_{fw}_{sign}"] = (
                    f"{{r}} = call {iw} @llvm.fpto{llvm_sign}.sat.{iw}.{fw}({fty} {{0}})")
    return out


def _instantiate() -> dict[str, str]:
    templates = {}
    for it, bits in _INT_BITS.items():
        for name, text in _INT_TEMPLATES.items():
            templates[f"{it}.{name}"] = text.replace("$I", it).replace("$M", str(bits - 1))
    for ft, fty in _FLOAT.items():
        for name, text in _FLOAT_TEMPLATES.items():
            templates[f"{ft}.{name}"] = text.replace("$F", fty).replace("$N", ft)
    templates.update(_CONVERSION_TEMPLATES)
    templates.update(_conversion_families())
    return templates


_TEMPLATES = _instantiate()

# A type is a vector (`<4 x float>`) or one word (`i32`).
_TYPE = r"(?:<\d+ x \w+>|\S+)"
_CALL = re.compile(rf"call ({_TYPE}) (@llvm\.[\w.]+)\((.*)\)$")
_ARG_TYPE = re.compile(rf"({_TYPE}) (?:\S+ \(\S+ \S+\)|[^,]+)(?:, |$)")


def _declaration(line: str) -> str:
    """`{r} = call i32 @llvm.ctpop.i32(i32 {0})` -> `declare i32 @llvm.ctpop.i32(i32)`;
    vector types and `splat (...)` constants as arguments too."""
    m = _CALL.search(line)
    ret, name, args = m.groups()
    return f"declare {ret} {name}({', '.join(_ARG_TYPE.findall(args))})"


_FIELD = re.compile(r"\{(\w+)\}")


def template_handler(text: str) -> Handler:
    """A handler for one template.  Named fields are renumbered after the operands
    (`{t0}` -> `{2}` for a binary op), so a line costs one positional `str.format`;
    the frequent shapes get a specialised closure."""
    lines = text.split("\n")
    fields = [f for line in lines for f in _FIELD.findall(line)]
    nargs = 1 + max((int(f) for f in fields if f.isdigit()), default=-1)
    # Named fields in order of first use, so temporaries are numbered in emission order.
    names = list(dict.fromkeys(f for f in fields if not f.isdigit()))
    slot = {n: str(nargs + k) for k, n in enumerate(names)}
    results = ["r"] if "r" in names else sorted(n for n in names if n[0] == "r")
    result_slots = [nargs + names.index(r) for r in results]
    decls = tuple(dict.fromkeys(_declaration(line) for line in lines if "@llvm." in line))
    fmts = tuple(_FIELD.sub(lambda m: "{" + slot.get(m[1], m[1]) + "}", line).format
                 for line in lines)
    nnames = len(names)

    if nnames == 1 and len(fmts) == 1 and not decls:  # `{r} = add i32 {0}, {1}`
        fmt = fmts[0]

        def one_line(sink, args, imms):
            r = sink.tmp()
            sink.emit(fmt(*args, r))
            return [r]

        return one_line
    if nnames == 1 and len(fmts) == 1:  # one intrinsic call
        fmt, decl = fmts[0], decls

        def one_call(sink, args, imms):
            for d in decl:
                sink.declare(d)
            r = sink.tmp()
            sink.emit(fmt(*args, r))
            return [r]

        return one_call
    if names == ["t0", "r"] and lines[1] == "{r} = zext i1 {t0} to i32":  # a comparison
        f0 = fmts[0]

        def compare(sink, args, imms):
            t0 = sink.tmp()
            r = sink.tmp()
            sink.emit(f0(*args, t0))
            sink.emit_bool(r, t0)
            return [r]

        return compare
    if names == ["t0", "r"] and len(fmts) == 2 and not decls:  # trunc + sext
        f0, f1 = fmts

        def two_lines(sink, args, imms):
            t0 = sink.tmp()
            r = sink.tmp()
            sink.emit(f0(*args, t0))
            sink.emit(f1(*args, t0, r))
            return [r]

        return two_lines

    def general(sink, args, imms):
        tmp = sink.tmp
        values = list(args)
        for _ in range(nnames):
            values.append(tmp())
        for d in decls:
            sink.declare(d)
        emit = sink.emit
        for f in fmts:
            emit(f(*values))
        return [values[k] for k in result_slots]

    return general


# --- constants --------------------------------------------------------------------


def _int_const(sink, args, imms):
    return [str(imms[0])]


def _float_const_handler(ft: str) -> Handler:
    """Build the value from its bit pattern, so every NaN payload survives exactly,
    and fence it so the optimizer cannot fold with it (see the module docstring)."""
    fty, bty = _FLOAT[ft], _FLOAT_BITS_INT[ft]
    bits = _INT_BITS[bty]
    half, full = 1 << (bits - 1), 1 << bits
    decl = f"declare {fty} {_fence(fty)}({fty})"
    cast = f"{{}} = bitcast {bty} {{}} to {fty}".format
    fence = f"{{}} = call {fty} {_fence(fty)}({fty} {{}})".format

    def const(sink, args, imms):
        b = imms[0]
        if b >= half:
            b -= full
        t, r = sink.tmp(), sink.tmp()
        sink.declare(decl)
        sink.emit(cast(t, b))
        sink.emit(fence(r, t))
        return [r]

    return const


# --- integer division ---------------------------------------------------------------


def _safe_divisor(d: str) -> bool:
    """True if `d` is a literal other than 0 and -1 (no trap, no overflow possible)."""
    if d[0] not in "-0123456789":
        return False
    try:
        return int(d) not in (0, -1)
    except ValueError:
        return False


def _div_handler(it: str, op: str) -> Handler:
    """div_s/div_u/rem_s/rem_u: trap on a zero divisor; div_s also traps on
    INT_MIN / -1, and rem_s(INT_MIN, -1) is 0 (computed as x rem 1, since LLVM's
    srem is undefined there)."""
    bits = _INT_BITS[it]
    int_min = -(1 << (bits - 1))
    instr = {"div_s": "sdiv", "div_u": "udiv", "rem_s": "srem", "rem_u": "urem"}[op]

    def div(sink, args, imms):
        a, b = args
        tmp, emit = sink.tmp, sink.emit
        if not _safe_divisor(b):
            z = tmp()
            emit(f"{z} = icmp eq {it} {b}, 0")
            sink.trap_if(z, "INT_DIV_ZERO")
            if op == "div_s":
                c1, c2, c = tmp(), tmp(), tmp()
                emit(f"{c1} = icmp eq {it} {a}, {int_min}")
                emit(f"{c2} = icmp eq {it} {b}, -1")
                emit(f"{c} = and i1 {c1}, {c2}")
                sink.trap_if(c, "INT_OVERFLOW")
            elif op == "rem_s":
                m, d = tmp(), tmp()
                emit(f"{m} = icmp eq {it} {b}, -1")
                emit(f"{d} = select i1 {m}, {it} 1, {it} {b}")
                b = d
        r = tmp()
        emit(f"{r} = {instr} {it} {a}, {b}")
        return [r]

    return div


# --- trapping float-to-int ------------------------------------------------------------

# (wasm float type, integer type, signed) -> exclusive bounds (lo, hi): the input is
# valid iff lo < x < hi.  Each bound is the float nearest the integer range whose
# truncation falls outside it, so both are exactly representable: below -2^31 the
# f32 spacing is 2^8, so f32 -> i32 signed has lo = -2^31 - 2^8; f64 has lo = -2^31 - 1.
TRUNC_BOUNDS = {
    ("f32", "i32", True): (-2.0**31 - 2.0**8, 2.0**31),
    ("f64", "i32", True): (-2.0**31 - 1.0, 2.0**31),
    ("f32", "i64", True): (-2.0**63 - 2.0**40, 2.0**63),
    ("f64", "i64", True): (-2.0**63 - 2.0**11, 2.0**63),
    ("f32", "i32", False): (-1.0, 2.0**32),
    ("f64", "i32", False): (-1.0, 2.0**32),
    ("f32", "i64", False): (-1.0, 2.0**64),
    ("f64", "i64", False): (-1.0, 2.0**64),
}


def _trunc_handler(ft: str, it: str, signed: bool) -> Handler:
    """Trap BAD_CONVERSION on NaN, INT_OVERFLOW unless lo < x < hi, then convert
    (fptosi/fptoui are exact on that range, which includes (-1, 0) for unsigned)."""
    fty = _FLOAT[ft]
    lo, hi = (float_literal(v) for v in TRUNC_BOUNDS[ft, it, signed])
    instr = "fptosi" if signed else "fptoui"

    def trunc(sink, args, imms):
        x = args[0]
        tmp, emit = sink.tmp, sink.emit
        n = tmp()
        emit(f"{n} = fcmp uno {fty} {x}, 0.0")
        sink.trap_if(n, "BAD_CONVERSION")
        below, above, out = tmp(), tmp(), tmp()
        emit(f"{below} = fcmp ole {fty} {x}, {lo}")
        emit(f"{above} = fcmp oge {fty} {x}, {hi}")
        emit(f"{out} = or i1 {below}, {above}")
        sink.trap_if(out, "INT_OVERFLOW")
        r = tmp()
        emit(f"{r} = {instr} {fty} {x} to {it}")
        return [r]

    return trunc


_SHIFTS = {"shl": "shl", "shr_s": "ashr", "shr_u": "lshr"}


def _shift_handler(general: Handler, it: str, instr: str) -> Handler:
    """A shift by a constant count (nearly all of them) masks the count here: the
    `and` of the template (wasm takes the count modulo the width) would be an
    instruction of two constants for LLVM to parse and select at -O0."""
    mask = _INT_BITS[it] - 1

    def shift(sink, args, imms):
        x, n = args
        if not n.lstrip("-").isdigit():  # an SSA value: the template's `and`
            return general(sink, args, imms)
        r = sink.tmp()
        sink.emit(f"{r} = {instr} {it} {x}, {int(n) & mask}")
        return [r]

    return shift


# --- the dispatch table -----------------------------------------------------------------


def _build_handlers() -> dict[str, Handler]:
    handlers = {name: template_handler(text) for name, text in _TEMPLATES.items()}
    handlers["i32.const"] = handlers["i64.const"] = _int_const
    handlers["f32.const"] = _float_const_handler("f32")
    handlers["f64.const"] = _float_const_handler("f64")
    for it in _INT_BITS:
        for op, instr in _SHIFTS.items():
            name = f"{it}.{op}"
            handlers[name] = _shift_handler(handlers[name], it, instr)
    for it in _INT_BITS:
        for op in ("div_s", "div_u", "rem_s", "rem_u"):
            handlers[f"{it}.{op}"] = _div_handler(it, op)
        for ft in _FLOAT:
            for signed in (True, False):
                name = f"{it}.trunc_{ft}_{'s' if signed else 'u'}"
                handlers[name] = _trunc_handler(ft, it, signed)
    # Everything we lower and nothing else: the table decides, not this module.
    extra, missing = handlers.keys() - NUMERIC_OPS, NUMERIC_OPS - handlers.keys()
    if extra or missing:
        raise AssertionError(f"numeric lowering: extra {sorted(extra)}, missing {sorted(missing)}")
    return handlers


HANDLERS: dict[str, Handler] = _build_handlers()


# --- --deterministic: canonical NaNs ------------------------------------------------------

# The positive quiet canonical NaN, as LLVM writes it for `float` and `double` alike.
CANONICAL_NAN = "0x7FF8000000000000"

_NAN_OPS = ("add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc", "nearest")
# Float results the spec leaves to the CPU when they are NaN.
NAN_PRODUCING: frozenset[str] = frozenset(
    [f"{ft}.{op}" for ft in _FLOAT for op in _NAN_OPS] + ["f32.demote_f64", "f64.promote_f32"])
# Float results the spec fixes bit for bit (sign operations, constants, reinterpret).
NAN_EXACT: frozenset[str] = frozenset(
    [f"{ft}.{op}" for ft in _FLOAT for op in ("abs", "neg", "copysign", "const")]
    + ["f32.reinterpret_i32", "f64.reinterpret_i64"])
NEVER_NAN: frozenset[str] = frozenset(
    f"{ft}.convert_{it}_{s}" for ft in _FLOAT for it in _INT_BITS for s in "su")


def emit_canonical_nan(sink: IRSink, ty: str, value: str, lanes: int = 0) -> str:
    """Emit `select(isnan(value), canonical NaN, value)` for a float (`ty` "float" or
    "double") or, with `lanes`, a `<lanes x ty>` vector; returns the new value.

    `value` is fenced first: LLVM lets an operation that makes a NaN make any NaN,
    so without the fence it proves the select redundant and deletes it (x86-64
    codegen turns `select(x < 0, NaN, sqrt(x))` back into a bare `sqrtsd`)."""
    vty = f"<{lanes} x {ty}>" if lanes else ty
    nan = f"splat ({ty} {CANONICAL_NAN})" if lanes else CANONICAL_NAN
    suffix = f"v{lanes}f{_LANE_BITS_OF[ty]}" if lanes else f"f{_LANE_BITS_OF[ty]}"
    fence = f"@llvm.arithmetic.fence.{suffix}"
    fenced, is_nan, out = sink.tmp(), sink.tmp(), sink.tmp()
    sink.declare(f"declare {vty} {fence}({vty})")
    sink.emit(f"{fenced} = call {vty} {fence}({vty} {value})")
    sink.emit(f"{is_nan} = fcmp uno {vty} {fenced}, {fenced}")
    sink.emit(f"{out} = select {'<%d x i1>' % lanes if lanes else 'i1'} {is_nan}, "
              f"{vty} {nan}, {vty} {fenced}")
    return out


_LANE_BITS_OF = {"float": 32, "double": 64}


def with_canonical_nan(handler: Handler, ty: str) -> Handler:
    """`handler`, its one float result made the canonical NaN if it is a NaN."""
    def canonical(sink, args, imms):
        return [emit_canonical_nan(sink, ty, handler(sink, args, imms)[0])]
    return canonical


def _float_result_rows() -> frozenset[str]:
    return frozenset(op.name for op in OPCODES if op.name in NUMERIC_OPS
                     and any(t in _FLOAT for t in op.results))


def check_nan_classes(what: str, floats, classes: tuple) -> None:
    """Every row of `floats` (names of rows with a float result) is in exactly one
    of the NaN `classes`, and the classes hold nothing else: a new float row
    cannot slip past --deterministic unclassified."""
    unclassified = sorted(n for n in floats if sum(n in c for c in classes) != 1)
    stray = sorted(frozenset().union(*classes) - set(floats))
    if unclassified or stray:
        raise AssertionError(f"{what} NaN classes: unclassified {unclassified}, "
                             f"not float rows {stray}")


def _build_deterministic() -> dict[str, Handler]:
    check_nan_classes("scalar", _float_result_rows(), (NAN_PRODUCING, NAN_EXACT, NEVER_NAN))
    out = dict(HANDLERS)
    for name in NAN_PRODUCING:
        out[name] = with_canonical_nan(HANDLERS[name], _FLOAT[name[:3]])
    return out


# HANDLERS with every NaN a float operation produces made canonical (--deterministic).
DETERMINISTIC_HANDLERS: dict[str, Handler] = _build_deterministic()


def lower(sink: IRSink, op_name: str, args: list[str], imms: tuple = ()) -> list[str]:
    """Emit the IR for numeric instruction `op_name` applied to operand values `args`
    (IR text, in stack order) and return its result values.  Emitters in a hot loop
    may call `HANDLERS[op_name](sink, args, imms)` directly."""
    return HANDLERS[op_name](sink, args, imms)
