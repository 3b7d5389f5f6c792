"""Every relaxed-SIMD instruction against the results the spec allows, on x86-64 and
aarch64, through the farm's relaxed rule (tools/diff_farm/harness.py
`relaxed_allowed`).

smith makes few relaxed instructions (almost only relaxed_trunc; README "Relaxed
SIMD"), so the farm alone says little about them.  Here each of the 20 instructions
gets a module of its own, called with many random v128 operands of the farm's kind
(NaN lanes, signed extremes, small lane indices: harness.random_v128): one instruction
per module, so that a run needs one choice of one wasmtime configuration, and the rule
(the native reference, or wasmtime with relaxed_simd_deterministic, or without FMA)
then covers every result wasmaot may legitimately give.  Float results are
canonicalized in the module, as smith does, since NaN payloads are not specified.
"""

from __future__ import annotations

import random
import subprocess

import pytest

from tools.diff_farm import harness
from tools.diff_farm.harness import Variant

RELAXED = {  # instruction: (operands, float shape of the result or None)
    "i8x16.relaxed_swizzle": (2, None),
    "i32x4.relaxed_trunc_f32x4_s": (1, None),
    "i32x4.relaxed_trunc_f32x4_u": (1, None),
    "i32x4.relaxed_trunc_f64x2_s_zero": (1, None),
    "i32x4.relaxed_trunc_f64x2_u_zero": (1, None),
    "f32x4.relaxed_madd": (3, "f32x4"),
    "f32x4.relaxed_nmadd": (3, "f32x4"),
    "f64x2.relaxed_madd": (3, "f64x2"),
    "f64x2.relaxed_nmadd": (3, "f64x2"),
    "i8x16.relaxed_laneselect": (3, None),
    "i16x8.relaxed_laneselect": (3, None),
    "i32x4.relaxed_laneselect": (3, None),
    "i64x2.relaxed_laneselect": (3, None),
    "f32x4.relaxed_min": (2, "f32x4"),
    "f32x4.relaxed_max": (2, "f32x4"),
    "f64x2.relaxed_min": (2, "f64x2"),
    "f64x2.relaxed_max": (2, "f64x2"),
    "i16x8.relaxed_q15mulr_s": (2, None),
    "i16x8.relaxed_dot_i8x16_i7x16_s": (2, None),
    "i32x4.relaxed_dot_i8x16_i7x16_add_s": (3, None),
}
CALLS = 64
CANONICAL_NAN = {"f32x4": "i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000",
                 "f64x2": "i64x2 0x7ff8000000000000 0x7ff8000000000000"}


def module(instr: str) -> bytes:
    operands, shape = RELAXED[instr]
    body = " ".join(f"local.get {i}" for i in range(operands)) + f" {instr}"
    if shape:  # NaN lanes become the canonical NaN: (x == x) ? x : nan
        body += (f" local.tee 3 v128.const {CANONICAL_NAN[shape]} local.get 3 local.get 3 "
                 f"{shape}.eq v128.bitselect")
    text = (f'(module (func (export "f") (param v128 v128 v128) (result v128) '
            f'(local v128) {body}))')
    return subprocess.run([harness.wasm_tools(), "parse", "-"], input=text.encode(),
                          capture_output=True, check=True).stdout


def plan(instr: str) -> list[dict]:
    rng = random.Random(f"relaxed-{instr}")
    return [{"export": "f", "args": [harness.random_v128(rng) for _ in range(3)]}
            for _ in range(CALLS)]


@pytest.mark.parametrize("variant", ["x86_64-O2", "aarch64-O2"])
@pytest.mark.parametrize("instr", sorted(RELAXED))
def test_relaxed_instruction_results_are_allowed(instr, variant, tmp_path):
    wasm = module(instr)
    exports, typed = harness.exports_of(wasm)
    calls = plan(instr)
    trace = harness.reference_trace(wasm, exports, calls, typed)
    v = Variant.parse(variant)
    r = harness.compare(wasm, exports, calls, trace, v, typed, tmp_path)
    if r.status == "mismatch":
        r = harness.relaxed_allowed(r, wasm, exports, calls, typed, v, tmp_path, {})
    assert r.status in ("ok", "relaxed"), r.reason
    assert r.calls == CALLS and r.returned == CALLS
