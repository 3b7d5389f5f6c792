"""Lowering of the 128-bit SIMD and relaxed-SIMD instructions to LLVM vector IR.

A v128 value is `<2 x i64>` everywhere (locals, operands, globals, the ABI);
each instruction bitcasts it to the lane shape it works on (`<16 x i8>` ...
`<2 x double>`) and back, which costs nothing: LLVM folds the casts and picks
the target's vector instructions (SSE2 on baseline x86-64, NEON on aarch64).

Like the scalar lowering (numeric.py), most instructions are one template of
LLVM text per row, generated per shape from a handful of families, and turned
into handlers by `numeric.template_handler`.  Fields: `{0}`... the operands
(v128 or scalar, in stack order), `{r}` the result, any other name a fresh
temporary.  `_unpack` makes the first lines of a template: the operands cast
to their lane shape.

Exact semantics where LLVM's natural lowering differs from wasm's:
- Float lanes get the scalar rules (numeric.py's docstring): every float vector
  made from a v128 passes through `llvm.arithmetic.fence` (so the optimizer
  cannot fold `x * 1.0 -> x` and return a signalling NaN), min/max are
  `llvm.minimum/maximum` made canonical, pmin/pmax are the spec's selects.
- Shift counts are taken modulo the lane width; saturating arithmetic, narrowing
  and `trunc_sat` clamp exactly; swizzle indices >= 16 select 0.

Three tables of handlers, all derived from the same rows (module.handlers_for
picks one per module):
- `HANDLERS`, portable: correct on every target.  Each relaxed instruction takes
  its non-relaxed counterpart's result (exact signed dot products; madd/nmadd
  `llvm.fmuladd`, fused where the CPU has FMA); see `_relaxed_templates`.
- `NATIVE_HANDLERS`, the default: per target architecture and the CPU features
  of its --cpu level (CodegenOptions.arch / cpu_features), `HANDLERS` with the
  target's own instruction for the relaxed rows where that is cheaper, as
  wasmtime does on the same CPU, always a result the spec allows, and for a few
  exact rows with the same semantics (`NATIVE_CHOICES`; the table above
  `NativeChoice` says which row takes which choice per target and level).  In
  short: x86-64 relaxed trunc_s is cvttps2dq/cvttpd2dq and relaxed min/max
  minps/maxps (every CPU); relaxed_swizzle pshufb, relaxed_q15mulr pmulhrsw, the
  relaxed dots pmaddubsw, and the exact swizzle and q15mulr_sat_s pshufb and
  pmulhrsw with a fix-up (SSSE3); i8x16/i32x4/i64x2 laneselect blendv (SSE4.1);
  aarch64 swizzle (both) tbl, q15mulr (both) sqrdmulh, trunc f64x2 zero (all
  four) fcvtz + saturating narrow, relaxed dot_add sadalp: the exact results, as
  every other relaxed row there (NEON's natural instructions are exact).
- `DETERMINISTIC_HANDLERS` (`--deterministic`): the portable choices with
  relaxed madd/nmadd unfused (see `_deterministic_templates`), and every float
  lane a row of `NAN_PRODUCING` computes made the canonical NaN if it is a NaN
  (the scalar rule, numeric.py's docstring), so results are the same bytes on
  every target and CPU level.

Memory instructions (loads, stores, lane loads and stores) are in memory.py:
they get their pointer from the one bounds-checked effective address.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..wasm.opcodes import OPCODES
from .numeric import Handler, check_nan_classes, emit_canonical_nan, template_handler

V = "<2 x i64>"

SIMD_PROPOSALS = frozenset({"simd", "relaxed_simd"})

# shape -> (lane type, lane count, intrinsic suffix)
SHAPES = {
    "i8x16": ("i8", 16, "v16i8"), "i16x8": ("i16", 8, "v8i16"), "i32x4": ("i32", 4, "v4i32"),
    "i64x2": ("i64", 2, "v2i64"), "f32x4": ("float", 4, "v4f32"), "f64x2": ("double", 2, "v2f64"),
}
_INT_SHAPES = ("i8x16", "i16x8", "i32x4", "i64x2")
_FLOAT_SHAPES = ("f32x4", "f64x2")
_LANE_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "float": 32, "double": 64}
# The wider shape of the extending instructions: i8x16 -> i16x8 -> ...
_WIDER = {"i8x16": "i16x8", "i16x8": "i32x4", "i32x4": "i64x2"}


def vec(shape: str) -> str:
    lane, n, _ = SHAPES[shape]
    return f"<{n} x {lane}>"


def _is_float(shape: str) -> bool:
    return shape[0] == "f"


def _splat(lane: str, value) -> str:
    """A constant vector (of the type the context gives) with every lane `value`."""
    return f"splat ({lane} {value})"


def _mask(indices) -> str:
    return "<" + ", ".join(f"i32 {i}" for i in indices) + ">"


def _unpack(shape: str, *operands: int) -> str:
    """Lines casting the v128 operands to `shape` as `{a<k>}`; float lanes are fenced."""
    lines = []
    for k in operands:
        if _is_float(shape):
            lines.append(f"{{c{k}}} = bitcast {V} {{{k}}} to {vec(shape)}")
            lines.append(f"{{a{k}}} = call {vec(shape)} @llvm.arithmetic.fence.{SHAPES[shape][2]}"
                         f"({vec(shape)} {{c{k}}})")
        else:
            lines.append(f"{{a{k}}} = bitcast {V} {{{k}}} to {vec(shape)}")
    return "\n".join(lines)


def _pack(shape: str, value: str) -> str:
    return f"{{r}} = bitcast {vec(shape)} {value} to {V}"


def _lanewise(shape: str, body: str, nargs: int) -> str:
    """`body` computes `{v}` from `{a0}`.. in `shape`; the result is cast back."""
    return "\n".join((_unpack(shape, *range(nargs)), body, _pack(shape, "{v}")))


# --- integer lanes ---------------------------------------------------------------------

def _int_templates() -> dict[str, str]:
    out = {}
    for s in _INT_SHAPES:
        lane, n, sfx = SHAPES[s]
        T, bits = vec(s), _LANE_BITS[lane]
        binops = {"add": "add", "sub": "sub", "mul": "mul"}
        for name, instr in binops.items():
            out[f"{s}.{name}"] = _lanewise(s, f"{{v}} = {instr} {T} {{a0}}, {{a1}}", 2)
        out[f"{s}.neg"] = _lanewise(s, f"{{v}} = sub {T} zeroinitializer, {{a0}}", 1)
        out[f"{s}.abs"] = _lanewise(s, f"{{v}} = call {T} @llvm.abs.{sfx}({T} {{a0}}, i1 false)", 1)
        for name, intr in (("add_sat_s", "sadd.sat"), ("add_sat_u", "uadd.sat"),
                           ("sub_sat_s", "ssub.sat"), ("sub_sat_u", "usub.sat"),
                           ("min_s", "smin"), ("min_u", "umin"), ("max_s", "smax"),
                           ("max_u", "umax")):
            out[f"{s}.{name}"] = _lanewise(
                s, f"{{v}} = call {T} @llvm.{intr}.{sfx}({T} {{a0}}, {T} {{a1}})", 2)
        # avgr_u: (a + b + 1) / 2 without overflow, in lanes twice as wide.
        W = f"<{n} x i{2 * bits}>"
        out[f"{s}.avgr_u"] = _lanewise(s, "\n".join((
            f"{{w0}} = zext {T} {{a0}} to {W}", f"{{w1}} = zext {T} {{a1}} to {W}",
            f"{{s0}} = add {W} {{w0}}, {{w1}}", f"{{s1}} = add {W} {{s0}}, {_splat(f'i{2 * bits}', 1)}",
            f"{{s2}} = lshr {W} {{s1}}, {_splat(f'i{2 * bits}', 1)}",
            f"{{v}} = trunc {W} {{s2}} to {T}")), 2)
        for cmp in ("eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"):
            pred = {"eq": "eq", "ne": "ne"}.get(cmp) or \
                cmp[-1] + {"lt": "lt", "gt": "gt", "le": "le", "ge": "ge"}[cmp[:2]]
            out[f"{s}.{cmp}"] = _lanewise(s, f"{{m}} = icmp {pred} {T} {{a0}}, {{a1}}\n"
                                             f"{{v}} = sext <{n} x i1> {{m}} to {T}", 2)
        # Shift counts are taken modulo the lane width (spec: ishl(i1, i2 mod N)).
        for name, instr in (("shl", "shl"), ("shr_s", "ashr"), ("shr_u", "lshr")):
            # The count as a lane value: truncated, widened, or (i32 lanes) as it is.
            cast = {8: "trunc", 16: "trunc", 64: "zext"}.get(bits)
            k1 = "{k1}" if cast else "{k0}"
            count = (f"{{k0}} = and i32 {{1}}, {bits - 1}\n"
                     + (f"{{k1}} = {cast} i32 {{k0}} to {lane}\n" if cast else "")
                     + f"{{k2}} = insertelement {T} poison, {lane} {k1}, i32 0\n"
                     f"{{k3}} = shufflevector {T} {{k2}}, {T} poison, <{n} x i32> zeroinitializer")
            out[f"{s}.{name}"] = _lanewise(s, f"{count}\n{{v}} = {instr} {T} {{a0}}, {{k3}}", 1)
        out[f"{s}.all_true"] = (
            f"{_unpack(s, 0)}\n{{m}} = icmp ne {T} {{a0}}, zeroinitializer\n"
            f"{{b}} = call i1 @llvm.vector.reduce.and.v{n}i1(<{n} x i1> {{m}})\n"
            f"{{r}} = zext i1 {{b}} to i32")
        out[f"{s}.bitmask"] = (
            f"{_unpack(s, 0)}\n{{m}} = icmp slt {T} {{a0}}, zeroinitializer\n"
            f"{{b}} = bitcast <{n} x i1> {{m}} to i{n}\n"
            f"{{r}} = zext i{n} {{b}} to i32")
    out["i8x16.popcnt"] = _lanewise("i8x16", "{v} = call <16 x i8> @llvm.ctpop.v16i8(<16 x i8> {a0})", 1)
    return out


def _widening_templates() -> dict[str, str]:
    """extend, extmul, extadd_pairwise, narrow, dot, q15mulr."""
    out = {}
    for narrow, wide in _WIDER.items():
        lane, n, _ = SHAPES[narrow]
        wlane, wn, _ = SHAPES[wide]
        T, WT = vec(narrow), vec(wide)
        half_lo, half_hi = _mask(range(wn)), _mask(range(wn, n))
        for sign, ext in (("s", "sext"), ("u", "zext")):
            for part, mask in (("low", half_lo), ("high", half_hi)):
                pick = (f"{{h0}} = shufflevector {T} {{a0}}, {T} poison, <{wn} x i32> {mask}\n"
                        f"{{e0}} = {ext} <{wn} x {lane}> {{h0}} to {WT}")
                out[f"{wide}.extend_{part}_{narrow}_{sign}"] = (
                    f"{_unpack(narrow, 0)}\n{pick}\n{_pack(wide, '{e0}')}")
                pick2 = (f"{{h1}} = shufflevector {T} {{a1}}, {T} poison, <{wn} x i32> {mask}\n"
                         f"{{e1}} = {ext} <{wn} x {lane}> {{h1}} to {WT}")
                out[f"{wide}.extmul_{part}_{narrow}_{sign}"] = (
                    f"{_unpack(narrow, 0, 1)}\n{pick}\n{pick2}\n{{p}} = mul {WT} {{e0}}, {{e1}}\n"
                    f"{_pack(wide, '{p}')}")
            if narrow in ("i8x16", "i16x8"):
                FW = f"<{n} x {wlane}>"
                out[f"{wide}.extadd_pairwise_{narrow}_{sign}"] = (
                    f"{_unpack(narrow, 0)}\n{{e0}} = {ext} {T} {{a0}} to {FW}\n"
                    f"{{ev}} = shufflevector {FW} {{e0}}, {FW} poison, <{wn} x i32> {_mask(range(0, n, 2))}\n"
                    f"{{od}} = shufflevector {FW} {{e0}}, {FW} poison, <{wn} x i32> {_mask(range(1, n, 2))}\n"
                    f"{{p}} = add {WT} {{ev}}, {{od}}\n{_pack(wide, '{p}')}")
        if narrow in ("i8x16", "i16x8"):
            # narrow: the wide lanes of both operands, clamped to the narrow range.
            bits = _LANE_BITS[lane]
            for sign, lo, hi in (("s", -(1 << (bits - 1)), (1 << (bits - 1)) - 1),
                                 ("u", 0, (1 << bits) - 1)):
                body = [_unpack(wide, 0, 1)]
                for k in (0, 1):
                    body += [(f"{{l{k}}} = call {WT} @llvm.smax.{SHAPES[wide][2]}({WT} {{a{k}}}, "
                              f"{WT} {_splat(wlane, lo)})"),
                             (f"{{h{k}}} = call {WT} @llvm.smin.{SHAPES[wide][2]}({WT} {{l{k}}}, "
                              f"{WT} {_splat(wlane, hi)})"),
                             f"{{n{k}}} = trunc {WT} {{h{k}}} to <{wn} x {lane}>"]
                body += [(f"{{v}} = shufflevector <{wn} x {lane}> {{n0}}, <{wn} x {lane}> {{n1}}, "
                          f"<{n} x i32> {_mask(range(n))}"), _pack(narrow, "{v}")]
                out[f"{narrow}.narrow_{wide}_{sign}"] = "\n".join(body)
    out["i32x4.dot_i16x8_s"] = (
        f"{_unpack('i16x8', 0, 1)}\n{{e0}} = sext <8 x i16> {{a0}} to <8 x i32>\n"
        "{e1} = sext <8 x i16> {a1} to <8 x i32>\n{p} = mul <8 x i32> {e0}, {e1}\n"
        f"{{ev}} = shufflevector <8 x i32> {{p}}, <8 x i32> poison, <4 x i32> {_mask(range(0, 8, 2))}\n"
        f"{{od}} = shufflevector <8 x i32> {{p}}, <8 x i32> poison, <4 x i32> {_mask(range(1, 8, 2))}\n"
        "{s} = add <4 x i32> {ev}, {od}\n" + _pack("i32x4", "{s}"))
    # q15mulr_sat_s: (a * b + 2^14) >> 15, saturated (only -2^15 * -2^15 overflows).
    q15 = (f"{_unpack('i16x8', 0, 1)}\n{{e0}} = sext <8 x i16> {{a0}} to <8 x i32>\n"
           "{e1} = sext <8 x i16> {a1} to <8 x i32>\n{p} = mul <8 x i32> {e0}, {e1}\n"
           f"{{q}} = add <8 x i32> {{p}}, {_splat('i32', 16384)}\n"
           f"{{s}} = ashr <8 x i32> {{q}}, {_splat('i32', 15)}\n"
           f"{{c}} = call <8 x i32> @llvm.smin.v8i32(<8 x i32> {{s}}, <8 x i32> {_splat('i32', 32767)})\n"
           "{t} = trunc <8 x i32> {c} to <8 x i16>\n" + _pack("i16x8", "{t}"))
    out["i16x8.q15mulr_sat_s"] = q15
    return out


# --- bitwise --------------------------------------------------------------------------

_BITWISE = {
    "v128.not": f"{{r}} = xor {V} {{0}}, <i64 -1, i64 -1>",
    "v128.and": f"{{r}} = and {V} {{0}}, {{1}}",
    "v128.or": f"{{r}} = or {V} {{0}}, {{1}}",
    "v128.xor": f"{{r}} = xor {V} {{0}}, {{1}}",
    "v128.andnot": f"{{n}} = xor {V} {{1}}, <i64 -1, i64 -1>\n{{r}} = and {V} {{0}}, {{n}}",
    # bitselect(v1, v2, c) = (v1 & c) | (v2 & ~c)
    "v128.bitselect": f"{{x}} = and {V} {{0}}, {{2}}\n{{n}} = xor {V} {{2}}, <i64 -1, i64 -1>\n"
                      f"{{y}} = and {V} {{1}}, {{n}}\n{{r}} = or {V} {{x}}, {{y}}",
    "v128.any_true": f"{{w}} = bitcast {V} {{0}} to i128\n{{b}} = icmp ne i128 {{w}}, 0\n"
                     "{r} = zext i1 {b} to i32",
}


# --- float lanes ---------------------------------------------------------------------

def _float_templates() -> dict[str, str]:
    out = {}
    for s in _FLOAT_SHAPES:
        lane, n, sfx = SHAPES[s]
        T, IT = vec(s), f"<{n} x i{_LANE_BITS[lane]}>"
        for name, instr in (("add", "fadd"), ("sub", "fsub"), ("mul", "fmul"), ("div", "fdiv")):
            out[f"{s}.{name}"] = _lanewise(s, f"{{v}} = {instr} {T} {{a0}}, {{a1}}", 2)
        out[f"{s}.neg"] = _lanewise(s, f"{{v}} = fneg {T} {{a0}}", 1)
        for name, intr in (("abs", "fabs"), ("sqrt", "sqrt"), ("ceil", "ceil"), ("floor", "floor"),
                           ("trunc", "trunc"), ("nearest", "roundeven")):
            out[f"{s}.{name}"] = _lanewise(s, f"{{v}} = call {T} @llvm.{intr}.{sfx}({T} {{a0}})", 1)
        for name, intr in (("min", "minimum"), ("max", "maximum")):
            out[f"{s}.{name}"] = _lanewise(
                s, f"{{m}} = call {T} @llvm.{intr}.{sfx}({T} {{a0}}, {T} {{a1}})\n"
                   f"{{v}} = call {T} @llvm.canonicalize.{sfx}({T} {{m}})", 2)
        # pmin(a, b) = b < a ? b : a;  pmax(a, b) = a < b ? b : a  (spec fpmin/fpmax)
        out[f"{s}.pmin"] = _lanewise(s, f"{{m}} = fcmp olt {T} {{a1}}, {{a0}}\n"
                                        f"{{v}} = select <{n} x i1> {{m}}, {T} {{a1}}, {T} {{a0}}", 2)
        out[f"{s}.pmax"] = _lanewise(s, f"{{m}} = fcmp olt {T} {{a0}}, {{a1}}\n"
                                        f"{{v}} = select <{n} x i1> {{m}}, {T} {{a1}}, {T} {{a0}}", 2)
        for cmp, pred in (("eq", "oeq"), ("ne", "une"), ("lt", "olt"), ("gt", "ogt"),
                          ("le", "ole"), ("ge", "oge")):
            out[f"{s}.{cmp}"] = (f"{_unpack(s, 0, 1)}\n{{m}} = fcmp {pred} {T} {{a0}}, {{a1}}\n"
                                 f"{{v}} = sext <{n} x i1> {{m}} to {IT}\n"
                                 f"{{r}} = bitcast {IT} {{v}} to {V}")
    return out


def _fenced(shape: str, value: str, name: str) -> str:
    """A line fencing a float vector made by a conversion (numeric.py does the same)."""
    return f"{{{name}}} = call {vec(shape)} @llvm.arithmetic.fence.{SHAPES[shape][2]}({vec(shape)} {value})"


def _conversion_templates() -> dict[str, str]:
    out = {}
    for sign, cvt, fpto in (("s", "sitofp", "fptosi"), ("u", "uitofp", "fptoui")):
        out[f"f32x4.convert_i32x4_{sign}"] = (
            f"{_unpack('i32x4', 0)}\n{{f}} = {cvt} <4 x i32> {{a0}} to <4 x float>\n"
            f"{_fenced('f32x4', '{f}', 'g')}\n{_pack('f32x4', '{g}')}")
        out[f"f64x2.convert_low_i32x4_{sign}"] = (
            f"{_unpack('i32x4', 0)}\n"
            f"{{h}} = shufflevector <4 x i32> {{a0}}, <4 x i32> poison, <2 x i32> <i32 0, i32 1>\n"
            f"{{f}} = {cvt} <2 x i32> {{h}} to <2 x double>\n"
            f"{_fenced('f64x2', '{f}', 'g')}\n{_pack('f64x2', '{g}')}")
        out[f"i32x4.trunc_sat_f32x4_{sign}"] = (
            f"{_unpack('f32x4', 0)}\n"
            f"{{v}} = call <4 x i32> @llvm.{fpto}.sat.v4i32.v4f32(<4 x float> {{a0}})\n"
            + _pack("i32x4", "{v}"))
        out[f"i32x4.trunc_sat_f64x2_{sign}_zero"] = (
            f"{_unpack('f64x2', 0)}\n"
            f"{{t}} = call <2 x i32> @llvm.{fpto}.sat.v2i32.v2f64(<2 x double> {{a0}})\n"
            "{v} = shufflevector <2 x i32> {t}, <2 x i32> zeroinitializer, "
            "<4 x i32> <i32 0, i32 1, i32 2, i32 3>\n" + _pack("i32x4", "{v}"))
    out["f32x4.demote_f64x2_zero"] = (
        f"{_unpack('f64x2', 0)}\n{{d}} = fptrunc <2 x double> {{a0}} to <2 x float>\n"
        "{v} = shufflevector <2 x float> {d}, <2 x float> zeroinitializer, "
        "<4 x i32> <i32 0, i32 1, i32 2, i32 3>\n" + _pack("f32x4", "{v}"))
    out["f64x2.promote_low_f32x4"] = (
        f"{_unpack('f32x4', 0)}\n"
        "{h} = shufflevector <4 x float> {a0}, <4 x float> poison, <2 x i32> <i32 0, i32 1>\n"
        "{v} = fpext <2 x float> {h} to <2 x double>\n" + _pack("f64x2", "{v}"))
    return out


# --- relaxed SIMD ---------------------------------------------------------------------
# The portable choices (HANDLERS, and so --deterministic, on every target): each
# relaxed instruction takes the result of its non-relaxed counterpart (swizzle,
# trunc_sat, min/max, bitselect, q15mulr_sat), the dot products compute exactly
# (b's lanes as signed, which the spec allows for every b), and madd/nmadd are
# `llvm.fmuladd`: fused where the CPU has FMA (x86-64-v3 and up, every aarch64),
# unfused elsewhere (under --deterministic unfused everywhere, see
# `_deterministic_templates`).  `NATIVE_CHOICES` below replaces some of them with
# the target's own instruction where that is cheaper.

def _relaxed_templates(t: dict[str, str]) -> dict[str, str]:
    out = {
        "i32x4.relaxed_trunc_f32x4_s": t["i32x4.trunc_sat_f32x4_s"],
        "i32x4.relaxed_trunc_f32x4_u": t["i32x4.trunc_sat_f32x4_u"],
        "i32x4.relaxed_trunc_f64x2_s_zero": t["i32x4.trunc_sat_f64x2_s_zero"],
        "i32x4.relaxed_trunc_f64x2_u_zero": t["i32x4.trunc_sat_f64x2_u_zero"],
        "i16x8.relaxed_q15mulr_s": t["i16x8.q15mulr_sat_s"],
    }
    for s in _FLOAT_SHAPES:
        T, sfx = vec(s), SHAPES[s][2]
        out[f"{s}.relaxed_min"] = t[f"{s}.min"]
        out[f"{s}.relaxed_max"] = t[f"{s}.max"]
        out[f"{s}.relaxed_madd"] = _lanewise(
            s, f"{{v}} = call {T} @llvm.fmuladd.{sfx}({T} {{a0}}, {T} {{a1}}, {T} {{a2}})", 3)
        out[f"{s}.relaxed_nmadd"] = _lanewise(
            s, f"{{n}} = fneg {T} {{a0}}\n"
               f"{{v}} = call {T} @llvm.fmuladd.{sfx}({T} {{n}}, {T} {{a1}}, {T} {{a2}})", 3)
    for s in _INT_SHAPES:
        out[f"{s}.relaxed_laneselect"] = _BITWISE["v128.bitselect"]
    out["i16x8.relaxed_dot_i8x16_i7x16_s"] = f"{_dot_pairs()}\n{_pack('i16x8', '{s}')}"
    out["i32x4.relaxed_dot_i8x16_i7x16_add_s"] = (
        f"{_dot_pairs()}\n{{w}} = sext <8 x i16> {{s}} to <8 x i32>\n"
        f"{{x}} = shufflevector <8 x i32> {{w}}, <8 x i32> poison, <4 x i32> {_mask(range(0, 8, 2))}\n"
        f"{{y}} = shufflevector <8 x i32> {{w}}, <8 x i32> poison, <4 x i32> {_mask(range(1, 8, 2))}\n"
        "{z} = add <4 x i32> {x}, {y}\n"
        f"{{c2}} = bitcast {V} {{2}} to <4 x i32>\n{{q}} = add <4 x i32> {{z}}, {{c2}}\n"
        + _pack("i32x4", "{q}"))
    return out


def _dot_pairs() -> str:
    """The exact signed dot product's pair sums `{s}` (<8 x i16>, wrapping) of a, b."""
    return (f"{_unpack('i8x16', 0, 1)}\n{{e0}} = sext <16 x i8> {{a0}} to <16 x i16>\n"
            "{e1} = sext <16 x i8> {a1} to <16 x i16>\n{p} = mul <16 x i16> {e0}, {e1}\n"
            f"{{ev}} = shufflevector <16 x i16> {{p}}, <16 x i16> poison, <8 x i32> {_mask(range(0, 16, 2))}\n"
            f"{{od}} = shufflevector <16 x i16> {{p}}, <16 x i16> poison, <8 x i32> {_mask(range(1, 16, 2))}\n"
            "{s} = add <8 x i16> {ev}, {od}")


def _deterministic_templates() -> dict[str, str]:
    """--deterministic relaxed SIMD: the rows whose portable lowering may differ
    between targets.  madd/nmadd round twice, an `fmul` then an `fadd`: SSE2
    (baseline x86-64) has no fused multiply-add, so the fused choice would be a
    libm call per lane there, while the unfused one is two instructions on both
    targets (LLVM fuses only `llvm.fmuladd`, never a plain fmul/fadd pair without
    the `contract` flag).  Every other relaxed row's portable lowering is already
    one target-independent choice (its non-relaxed counterpart; exact signed dot
    products), which the spec allows on every CPU; the native choices
    (`NATIVE_CHOICES`) are never used with the flag."""
    out = {}
    for s in _FLOAT_SHAPES:
        T = vec(s)
        out[f"{s}.relaxed_madd"] = _lanewise(
            s, f"{{m}} = fmul {T} {{a0}}, {{a1}}\n{{v}} = fadd {T} {{m}}, {{a2}}", 3)
        out[f"{s}.relaxed_nmadd"] = _lanewise(
            s, f"{{n}} = fneg {T} {{a0}}\n{{m}} = fmul {T} {{n}}, {{a1}}\n"
               f"{{v}} = fadd {T} {{m}}, {{a2}}", 3)
    return out


# --- the target's native choices ------------------------------------------------------
# By default (not --deterministic) a relaxed instruction takes the result of the
# target's own instruction where that is cheaper than the exact semantics, as
# wasmtime does on the same CPU, always one of the results the spec allows; a few
# exact rows get a native instruction with exactly their semantics too.
#
#   x86-64, every CPU (SSE2):
#     relaxed_trunc_f32x4_s, _f64x2_s_zero  cvttps2dq / cvttpd2dq: NaN and out of
#                                           range give 0x80000000 (INT32_MIN)
#     relaxed_min / relaxed_max             minps/maxps/minpd/maxpd as pmin/pmax:
#                                           b < a ? b : a (max: a < b ? b : a), so
#                                           a NaN or a zero pair gives the first operand
#   x86-64 with SSSE3 (x86-64-v2 and up):
#     relaxed_swizzle                       pshufb: an index 16..127 picks a[i & 15]
#     swizzle (exact)                       pshufb of (index +saturating 0x70): in-range
#                                           indices keep their low bits, others get
#                                           the top bit, which pshufb zeroes
#     relaxed_q15mulr_s                     pmulhrsw: -32768 * -32768 gives -32768
#     q15mulr_sat_s (exact)                 pmulhrsw, and 32767 where it gave -32768
#     relaxed_dot_i8x16_i7x16_s (_add_s)    pmaddubsw (b's lanes unsigned, a's signed,
#                                           pair sums saturated to i16), then for
#                                           _add_s pmaddwd by 1 and paddd
#   x86-64 with SSE4.1 (x86-64-v2 and up):
#     relaxed_laneselect i8x16/i32x4/i64x2  pblendvb/blendvps/blendvpd: each lane by
#                                           its mask's top bit (i16x8 has no blendv:
#                                           it stays bitselect)
#   aarch64, every CPU (NEON):
#     swizzle and relaxed_swizzle           tbl: an index >= 16 gives 0 (exact)
#     q15mulr_sat_s and relaxed_q15mulr_s   sqrdmulh (exact: it saturates)
#     trunc_sat_f64x2_{s,u}_zero and the    fcvtzs/fcvtzu to i64, then sqxtn/uqxtn
#       relaxed ones                        (exact: both saturate)
#     relaxed_dot_i8x16_i7x16_add_s         the exact dot, then sadalp (exact)
#     every other relaxed row is already NEON's natural instruction with the exact
#     result (fcvtzs saturates, fmin/fmax propagate NaN, bsl is bitselect, smull
#     and addp make the exact dot), and fmla fuses madd.
#
# Unsigned relaxed_trunc stays trunc_sat_u on x86-64 (wasmtime's choice there:
# SSE has no unsigned conversion).  madd/nmadd stay `llvm.fmuladd` (fused with
# FMA: x86-64-v3 and up, every aarch64).  The dot products stay exact on aarch64.


@dataclass(frozen=True)
class NativeChoice:
    """Lowerings of some rows on the CPUs of `arch` that have `feature` (LLVM's
    name, as driver/cpu.py FEATURES gives it; None: every CPU of `arch`)."""

    arch: str
    feature: str | None
    templates: dict[str, str]


def _x86_sse2(t: dict[str, str]) -> dict[str, str]:
    out = {
        "i32x4.relaxed_trunc_f32x4_s": (
            f"{_unpack('f32x4', 0)}\n"
            "{v} = call <4 x i32> @llvm.x86.sse2.cvttps2dq(<4 x float> {a0})\n"
            + _pack("i32x4", "{v}")),
        # cvttpd2dq zeroes the two upper lanes, as the _zero form wants.
        "i32x4.relaxed_trunc_f64x2_s_zero": (
            f"{_unpack('f64x2', 0)}\n"
            "{v} = call <4 x i32> @llvm.x86.sse2.cvttpd2dq(<2 x double> {a0})\n"
            + _pack("i32x4", "{v}")),
    }
    for s in _FLOAT_SHAPES:
        # The pmin/pmax selects, which x86 lowers to one min/max instruction.
        out[f"{s}.relaxed_min"] = t[f"{s}.pmin"]
        out[f"{s}.relaxed_max"] = t[f"{s}.pmax"]
    return out


def _pshufb(index: str) -> str:
    return f"{{v}} = call <16 x i8> @llvm.x86.ssse3.pshuf.b.128(<16 x i8> {{a0}}, <16 x i8> {index})"


def _pmulhrsw(out: str) -> str:
    return f"{out} = call <8 x i16> @llvm.x86.ssse3.pmul.hr.sw.128(<8 x i16> {{a0}}, <8 x i16> {{a1}})"


def _x86_ssse3() -> dict[str, str]:
    # pmaddubsw takes its first operand's bytes as unsigned: b's, so that a's
    # stay signed as the spec requires.
    pairs = (f"{_unpack('i8x16', 0, 1)}\n"
             "{d} = call <8 x i16> @llvm.x86.ssse3.pmadd.ub.sw.128(<16 x i8> {a1}, <16 x i8> {a0})")
    return {
        "i8x16.relaxed_swizzle": "\n".join((_unpack("i8x16", 0, 1), _pshufb("{a1}"),
                                            _pack("i8x16", "{v}"))),
        "i8x16.swizzle": "\n".join((
            _unpack("i8x16", 0, 1),
            f"{{s}} = call <16 x i8> @llvm.uadd.sat.v16i8(<16 x i8> {{a1}}, <16 x i8> {_splat('i8', 0x70)})",
            _pshufb("{s}"), _pack("i8x16", "{v}"))),
        "i16x8.relaxed_q15mulr_s": _lanewise("i16x8", _pmulhrsw("{v}"), 2),
        # pmulhrsw gives -32768 only for the one overflow (-32768 * -32768, whose
        # result is 32768): flipping its bits there saturates it to 32767.
        "i16x8.q15mulr_sat_s": _lanewise("i16x8", "\n".join((
            _pmulhrsw("{p}"),
            f"{{o}} = icmp eq <8 x i16> {{p}}, {_splat('i16', -32768)}",
            "{m} = sext <8 x i1> {o} to <8 x i16>", "{v} = xor <8 x i16> {p}, {m}")), 2),
        "i16x8.relaxed_dot_i8x16_i7x16_s": f"{pairs}\n{_pack('i16x8', '{d}')}",
        "i32x4.relaxed_dot_i8x16_i7x16_add_s": (
            f"{pairs}\n"
            f"{{z}} = call <4 x i32> @llvm.x86.sse2.pmadd.wd(<8 x i16> {{d}}, <8 x i16> {_splat('i16', 1)})\n"
            f"{{c2}} = bitcast {V} {{2}} to <4 x i32>\n{{q}} = add <4 x i32> {{z}}, {{c2}}\n"
            + _pack("i32x4", "{q}")),
    }


def _x86_sse41() -> dict[str, str]:
    # A select on the mask's sign, which x86 lowers to blendv (SSE4.1).
    return {f"{s}.relaxed_laneselect": _lanewise(
        s, f"{{m}} = icmp slt {vec(s)} {{a2}}, zeroinitializer\n"
           f"{{v}} = select <{SHAPES[s][1]} x i1> {{m}}, {vec(s)} {{a0}}, {vec(s)} {{a1}}", 3)
        for s in ("i8x16", "i32x4", "i64x2")}


def _aarch64_neon() -> dict[str, str]:
    tbl = _lanewise("i8x16", "{v} = call <16 x i8> @llvm.aarch64.neon.tbl1.v16i8("
                             "<16 x i8> {a0}, <16 x i8> {a1})", 2)
    sqrdmulh = _lanewise("i16x8", "{v} = call <8 x i16> @llvm.aarch64.neon.sqrdmulh.v8i16("
                                  "<8 x i16> {a0}, <8 x i16> {a1})", 2)
    out = {"i8x16.swizzle": tbl, "i8x16.relaxed_swizzle": tbl,
           "i16x8.q15mulr_sat_s": sqrdmulh, "i16x8.relaxed_q15mulr_s": sqrdmulh}
    # f64 -> i32 saturating: to i64 (fcvtzs/fcvtzu saturate, NaN is 0), then a
    # saturating narrow, which also zeroes the upper lanes.
    for sign, narrow in (("s", "sqxtn"), ("u", "uqxtn")):
        out[f"i32x4.trunc_sat_f64x2_{sign}_zero"] = out[f"i32x4.relaxed_trunc_f64x2_{sign}_zero"] = (
            f"{_unpack('f64x2', 0)}\n"
            f"{{w}} = call <2 x i64> @llvm.aarch64.neon.fcvtz{sign}.v2i64.v2f64(<2 x double> {{a0}})\n"
            f"{{n}} = call <2 x i32> @llvm.aarch64.neon.{narrow}.v2i32(<2 x i64> {{w}})\n"
            "{v} = shufflevector <2 x i32> {n}, <2 x i32> zeroinitializer, "
            "<4 x i32> <i32 0, i32 1, i32 2, i32 3>\n" + _pack("i32x4", "{v}"))
    # The exact signed dot's pair sums (as the portable row), widened pairwise by saddlp.
    out["i32x4.relaxed_dot_i8x16_i7x16_add_s"] = (
        f"{_dot_pairs()}\n{{w}} = call <4 x i32> @llvm.aarch64.neon.saddlp.v4i32.v8i16(<8 x i16> {{s}})\n"
        f"{{c2}} = bitcast {V} {{2}} to <4 x i32>\n{{q}} = add <4 x i32> {{w}}, {{c2}}\n"
        + _pack("i32x4", "{q}"))
    return out


def _native_choices(t: dict[str, str]) -> tuple[NativeChoice, ...]:
    return (NativeChoice("x86_64", None, _x86_sse2(t)),
            NativeChoice("x86_64", "ssse3", _x86_ssse3()),
            NativeChoice("x86_64", "sse4.1", _x86_sse41()),
            NativeChoice("aarch64", None, _aarch64_neon()))


# Float-shape rows whose NaN lanes the spec leaves to the CPU (canonical under
# --deterministic), and those it fixes bit for bit or that never make a NaN.
_NAN_OPS = ("add", "sub", "mul", "div", "sqrt", "min", "max", "ceil", "floor", "trunc",
            "nearest", "relaxed_min", "relaxed_max", "relaxed_madd", "relaxed_nmadd")
NAN_PRODUCING: frozenset[str] = frozenset(
    [f"{s}.{op}" for s in _FLOAT_SHAPES for op in _NAN_OPS]
    + ["f32x4.demote_f64x2_zero", "f64x2.promote_low_f32x4"])
NAN_EXACT: frozenset[str] = frozenset(
    f"{s}.{op}" for s in _FLOAT_SHAPES
    for op in ("abs", "neg", "pmin", "pmax", "splat", "replace_lane", "extract_lane"))
NEVER_NAN: frozenset[str] = frozenset(
    [f"{s}.{cmp}" for s in _FLOAT_SHAPES for cmp in ("eq", "ne", "lt", "gt", "le", "ge")]
    + [f"f32x4.convert_i32x4_{u}" for u in "su"] + [f"f64x2.convert_low_i32x4_{u}" for u in "su"])


def _with_canonical_nan(handler: Handler, shape: str) -> Handler:
    lane, n, _ = SHAPES[shape]

    def canonical(sink, args, imms):
        r = handler(sink, args, imms)[0]
        f, out = sink.tmp(), sink.tmp()
        sink.emit(f"{f} = bitcast {V} {r} to {vec(shape)}")
        c = emit_canonical_nan(sink, lane, f, n)
        sink.emit(f"{out} = bitcast {vec(shape)} {c} to {V}")
        return [out]
    return canonical


# --- lanes: const, splat, extract, replace, shuffle, swizzle --------------------------

def _lane_templates() -> dict[str, str]:
    out = {}
    for s, (lane, n, sfx) in SHAPES.items():
        T = vec(s)
        scalar = "i32" if lane in ("i8", "i16") else lane
        narrow = f"{{x}} = trunc i32 {{0}} to {lane}\n" if scalar != lane else ""
        x = "{x}" if narrow else "{0}"
        out[f"{s}.splat"] = (f"{narrow}{{i}} = insertelement {T} poison, {lane} {x}, i32 0\n"
                             f"{{v}} = shufflevector {T} {{i}}, {T} poison, <{n} x i32> zeroinitializer\n"
                             + _pack(s, "{v}"))
    return out


def _lane_handlers() -> dict[str, Handler]:
    """Rows with a lane index (or shuffle mask) immediate."""
    handlers: dict[str, Handler] = {}
    for s, (lane, n, sfx) in SHAPES.items():
        handlers.update(_extract_replace(s, lane, n))
    return handlers


def _extract_replace(s: str, lane: str, n: int) -> dict[str, Handler]:
    T = vec(s)
    fence = (f"@llvm.arithmetic.fence.{'f32' if lane == 'float' else 'f64'}"
             if _is_float(s) else None)

    def extract(ext: str | None):
        def handler(sink, args, imms):
            c, e = sink.tmp(), sink.tmp()
            sink.emit(f"{c} = bitcast {V} {args[0]} to {T}")
            sink.emit(f"{e} = extractelement {T} {c}, i32 {imms[0]}")
            if ext:
                r = sink.tmp()
                sink.emit(f"{r} = {ext} {lane} {e} to i32")
                return [r]
            if fence:
                r = sink.tmp()
                sink.declare(f"declare {lane} {fence}({lane})")
                sink.emit(f"{r} = call {lane} {fence}({lane} {e})")
                return [r]
            return [e]
        return handler

    def replace(sink, args, imms):
        c, i, r = sink.tmp(), sink.tmp(), sink.tmp()
        x = args[1]
        if lane in ("i8", "i16"):
            x = sink.tmp()
            sink.emit(f"{x} = trunc i32 {args[1]} to {lane}")
        sink.emit(f"{c} = bitcast {V} {args[0]} to {T}")
        sink.emit(f"{i} = insertelement {T} {c}, {lane} {x}, i32 {imms[0]}")
        sink.emit(f"{r} = bitcast {T} {i} to {V}")
        return [r]

    out = {f"{s}.replace_lane": replace}
    if lane in ("i8", "i16"):
        out[f"{s}.extract_lane_s"] = extract("sext")
        out[f"{s}.extract_lane_u"] = extract("zext")
    else:
        out[f"{s}.extract_lane"] = extract(None)
    return out


def _v128_const(sink, args, imms):
    bits = imms[0]
    lo, hi = bits & (2**64 - 1), bits >> 64
    signed = [x - 2**64 if x >> 63 else x for x in (lo, hi)]
    return [f"<i64 {signed[0]}, i64 {signed[1]}>"]


def _shuffle(sink, args, imms):
    a, b, va, r = sink.tmp(), sink.tmp(), sink.tmp(), sink.tmp()
    sink.emit(f"{a} = bitcast {V} {args[0]} to <16 x i8>")
    sink.emit(f"{b} = bitcast {V} {args[1]} to <16 x i8>")
    sink.emit(f"{va} = shufflevector <16 x i8> {a}, <16 x i8> {b}, <16 x i32> {_mask(imms[0])}")
    sink.emit(f"{r} = bitcast <16 x i8> {va} to {V}")
    return [r]


def _swizzle(sink, args, imms):
    """result[i] = a[s[i]] if s[i] < 16 else 0.  LLVM has no byte-table lookup
    instruction, so this is the pattern its backends match as a variable
    permute (x86 `LowerBUILD_VECTORAsVariablePermute`: one pshufb with SSSE3):
    every lane `extractelement a, (s & 15)[i]` with nothing in between, then one
    vector select zeroes the out-of-range lanes.  A select per lane (how this
    was first written) hides the pattern: x86-64-v2 then made ~130 instructions
    of a swizzle instead of 5.  Without SSSE3 (and on aarch64, where LLVM does
    not match it to `tbl`) it becomes a spill and 16 byte loads."""
    a, s, low = sink.tmp(), sink.tmp(), sink.tmp()
    sink.emit(f"{a} = bitcast {V} {args[0]} to <16 x i8>")
    sink.emit(f"{s} = bitcast {V} {args[1]} to <16 x i8>")
    sink.emit(f"{low} = and <16 x i8> {s}, {_splat('i8', 15)}")
    acc = "poison"
    for i in range(16):
        idx, pick, nxt = sink.tmp(), sink.tmp(), sink.tmp()
        sink.emit(f"{idx} = extractelement <16 x i8> {low}, i32 {i}")
        sink.emit(f"{pick} = extractelement <16 x i8> {a}, i8 {idx}")
        sink.emit(f"{nxt} = insertelement <16 x i8> {acc}, i8 {pick}, i32 {i}")
        acc = nxt
    inb, r, v = sink.tmp(), sink.tmp(), sink.tmp()
    sink.emit(f"{inb} = icmp ult <16 x i8> {s}, {_splat('i8', 16)}")
    sink.emit(f"{v} = select <16 x i1> {inb}, <16 x i8> {acc}, <16 x i8> zeroinitializer")
    sink.emit(f"{r} = bitcast <16 x i8> {v} to {V}")
    return [r]


# --- the dispatch table ---------------------------------------------------------------

def _all_templates() -> dict[str, str]:
    """The families generate every shape (the pmin/pmax of relaxed min/max too)."""
    t = {**_int_templates(), **_widening_templates(), **_BITWISE, **_float_templates(),
         **_conversion_templates(), **_lane_templates()}
    t.update(_relaxed_templates(t))
    return t


def is_simd_value_op(op) -> bool:
    """A SIMD row lowered here: every row of the two proposals without a memarg
    (those are memory.py's)."""
    return op.proposal in SIMD_PROPOSALS and "memarg" not in op.imms


SIMD_OPS: frozenset[str] = frozenset(op.name for op in OPCODES if is_simd_value_op(op))


def _build_handlers(templates: dict[str, str]) -> dict[str, Handler]:
    """The portable table; the opcode table says which rows exist (no i8x16.mul,
    no i64x2.lt_u ...)."""
    handlers = {name: template_handler(text) for name, text in templates.items()
                if name in SIMD_OPS}
    handlers.update(_lane_handlers())
    handlers["v128.const"] = _v128_const
    handlers["i8x16.shuffle"] = _shuffle
    handlers["i8x16.swizzle"] = handlers["i8x16.relaxed_swizzle"] = _swizzle
    extra, missing = handlers.keys() - SIMD_OPS, SIMD_OPS - handlers.keys()
    if extra or missing:
        raise AssertionError(f"SIMD lowering: extra {sorted(extra)}, missing {sorted(missing)}")
    return handlers


_TEMPLATES = _all_templates()
# The portable lowering: correct on every target, and the base of the others.
HANDLERS: dict[str, Handler] = _build_handlers(_TEMPLATES)
NATIVE_CHOICES: tuple[NativeChoice, ...] = _native_choices(_TEMPLATES)


def _check_native_choices() -> dict[str, frozenset[str]]:
    """Each choice lowers existing rows, and a row has at most one choice per
    architecture (so a table never depends on their order).  Returns the features
    some choice depends on, per architecture."""
    features: dict[str, set] = {}
    seen: set[tuple[str, str]] = set()
    for c in NATIVE_CHOICES:
        features.setdefault(c.arch, set()).update([c.feature] if c.feature else [])
        for name in c.templates:
            if name not in SIMD_OPS:
                raise AssertionError(f"native choice for {c.arch}: no SIMD row {name}")
            if (c.arch, name) in seen:
                raise AssertionError(f"{name}: two native choices for {c.arch}")
            seen.add((c.arch, name))
    return {arch: frozenset(f) for arch, f in features.items()}


# The CPU features that change the lowering, per architecture with native choices.
NATIVE_FEATURES: dict[str, frozenset[str]] = _check_native_choices()
# The key of the portable table in NATIVE_HANDLERS: no target known.
PORTABLE = ("", frozenset())


def native_key(arch: str, features) -> tuple[str, frozenset[str]]:
    """The key of NATIVE_HANDLERS for a target: its architecture and those of its
    CPU's features (LLVM names) that some native choice depends on; PORTABLE
    for an architecture without native choices (or "")."""
    if arch not in NATIVE_FEATURES:
        return PORTABLE
    return arch, frozenset(features) & NATIVE_FEATURES[arch]


def _build_native(arch: str, features: frozenset[str]) -> dict[str, Handler]:
    out = dict(HANDLERS)
    for c in NATIVE_CHOICES:
        if c.arch == arch and (c.feature is None or c.feature in features):
            out.update({name: template_handler(text) for name, text in c.templates.items()})
    return out


def _subsets(items: frozenset[str]) -> list[frozenset[str]]:
    out = [frozenset()]
    for item in sorted(items):
        out += [s | {item} for s in out]
    return out


# Every table the default (not --deterministic) lowering may use, by `native_key`.
NATIVE_HANDLERS: dict[tuple[str, frozenset[str]], dict[str, Handler]] = {
    PORTABLE: HANDLERS,
    **{(arch, subset): _build_native(arch, subset)
       for arch, features in NATIVE_FEATURES.items() for subset in _subsets(features)},
}


def _build_deterministic() -> dict[str, Handler]:
    """HANDLERS with the deterministic relaxed rows and canonical NaN lanes; every
    float-shape row must be in exactly one NaN class (checked here)."""
    check_nan_classes("SIMD", {n for n in SIMD_OPS if n.split(".")[0] in _FLOAT_SHAPES},
                      (NAN_PRODUCING, NAN_EXACT, NEVER_NAN))
    out = dict(HANDLERS)
    out.update({name: template_handler(text) for name, text in _deterministic_templates().items()})
    for name in NAN_PRODUCING:
        out[name] = _with_canonical_nan(out[name], name.split(".")[0])
    return out


DETERMINISTIC_HANDLERS: dict[str, Handler] = _build_deterministic()
