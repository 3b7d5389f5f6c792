"""Every SIMD instruction against wasmtime on edge operands, on x86-64 and aarch64.

The farm's smith modules reach an instruction with the operands the generated code
happens to compute; here every row of the `simd` proposal in wasm/opcodes.py gets an
export of its own that applies it to its parameters, called with the farm's v128
arguments (harness.random_v128: NaN lanes of both signs, signalling NaNs, signed
extremes, conversion limits, small lane values) and i32/i64/f32/f64 edges.  Lane
instructions get an export per lane (first, middle, last), the shuffle a few masks, the
memory instructions an export at offset 0 and at an unaligned offset, their addresses
mostly inside a page whose start and end hold random bytes, sometimes out of bounds.
Results are compared bit-exactly, except that NaN lanes of float arithmetic are
canonicalized in the module (the spec leaves their payload open; smith does the same);
abs, neg, pmin/pmax, splat and lane moves are bit-exact operations and stay exact.
One module, compiled once per variant; the calls run on the farm's comparator, so the
memory after every call is compared too.  A difference fails with its instruction.
"""

from __future__ import annotations

import random
import subprocess

import pytest

from tools.diff_farm import harness
from tools.diff_farm.harness import Export, Variant
from wasmaot.wasm.opcodes import OPCODES

CALLS_PER_EXPORT = 24
LANES = {"lane16": 16, "lane8": 8, "lane4": 4, "lane2": 2}
EXACT_FLOAT_OPS = ("abs", "neg", "pmin", "pmax", "splat", "replace_lane", "eq", "ne", "lt",
                   "gt", "le", "ge")
CANONICAL_NAN = {"f32x4": "i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000",
                 "f64x2": "i64x2 0x7ff8000000000000 0x7ff8000000000000"}
SHUFFLES = (tuple(range(16)), tuple(range(31, 15, -1)), (0, 17, 2, 19, 4, 21, 6, 23, 8, 25,
                                                          10, 27, 12, 29, 14, 31),
            tuple(random.Random(9).randrange(32) for _ in range(16)))


def _canonicalizes(name: str) -> str | None:
    """The float shape whose NaN lanes the export canonicalizes, if any."""
    shape, _, op = name.partition(".")
    if shape in CANONICAL_NAN and not op.startswith(EXACT_FLOAT_OPS) and \
            not op.startswith("convert_"):
        return shape
    return None


def _immediates(op) -> list[str]:
    """The immediates text of each export made of `op` (one export per entry)."""
    if op.imms == ():
        return [""]
    if op.imms == ("shuffle",):
        return [" ".join(map(str, m)) for m in SHUFFLES]
    lanes = [LANES[k] for k in op.imms if k in LANES]
    lane_texts = [""] if not lanes else \
        sorted({str(i) for i in (0, lanes[0] // 2, lanes[0] - 1)})
    if "memarg" in op.imms:
        return [f"offset={off} {lane}".strip() for off in (0, 13) for lane in lane_texts]
    return lane_texts


def simd_module() -> tuple[str, list[tuple[str, str]]]:
    """The module's text and its exports as (export name, instruction)."""
    funcs, names = [], []
    for op in OPCODES:
        if op.proposal != "simd" or op.name == "v128.const":
            continue
        params = ["i32" if t == "a" else t for t in op.params]
        for k, imm in enumerate(_immediates(op)):
            name = f"{op.name}#{k}"
            body = " ".join(f"local.get {i}" for i in range(len(params)))
            body += f" {op.mnemonic} {imm}".rstrip()
            shape = _canonicalizes(op.name)
            if shape and op.results == ("v128",):
                body += (f" local.tee {len(params)} v128.const {CANONICAL_NAN[shape]} "
                         f"local.get {len(params)} local.get {len(params)} {shape}.eq "
                         f"v128.bitselect")
            funcs.append(f'(func (export "{name}") (param {" ".join(params)}) '
                         f'(result {" ".join(op.results)}) (local v128) {body})')
            names.append((name, op.name))
    data = random.Random(7).randbytes(512)
    edge = bytes([0x00, 0x00, 0xC0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0x7F,
                  0x01, 0x00, 0x80, 0xFF]) * 16
    text = ('(module (memory (export "mem") 1 1)\n'
            f'(data (i32.const 0) "{_escape(data)}")\n'
            f'(data (i32.const 65280) "{_escape(edge)}")\n' + "\n".join(funcs) + ")")
    return text, names


def _escape(b: bytes) -> str:
    return "".join(f"\\{x:02x}" for x in b)


def plan(exports: list[Export], seed: str = "simd-ops",
         per_export: int = CALLS_PER_EXPORT) -> list[dict]:
    """`per_export` calls of every export, shuffled (a longer sweep: another `seed`)."""
    rng = random.Random(seed)
    calls = []
    for e in exports:
        if e.kind != "func":
            continue
        for _ in range(per_export):
            args = []
            for t in e.params:
                if t == "i32" and e.name.startswith("v128.") and not args and rng.random() < 0.6:
                    args.append(rng.choice((rng.randrange(0, 512), rng.randrange(65260, 65536))))
                else:
                    args.append(harness.random_value(rng, t))
            calls.append({"export": e.name, "args": args})
    rng.shuffle(calls)
    return calls


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    text, names = simd_module()
    wasm = subprocess.run([harness.wasm_tools(), "parse", "-"], input=text.encode(),
                          capture_output=True, check=True).stdout
    exports, typed = harness.exports_of(wasm)
    calls = plan(exports)
    trace = harness.reference_trace(wasm, exports, calls, typed)
    return wasm, exports, typed, calls, trace, dict(names)


def test_every_simd_row_but_v128_const_has_an_export(case):
    _, _, _, _, _, names = case
    rows = {op.name for op in OPCODES if op.proposal == "simd"} - {"v128.const"}
    assert set(names.values()) == rows


@pytest.mark.parametrize("variant", ["x86_64-O0", "x86_64-O2", "x86_64-O2-explicit",
                                     "aarch64-O0", "aarch64-O2"])
def test_every_simd_instruction_matches_wasmtime(variant, case, tmp_path):
    wasm, exports, typed, calls, trace, _ = case
    r = harness.compare(wasm, exports, calls, trace, Variant.parse(variant), typed, tmp_path)
    assert r.status == "ok", r.reason
    assert r.calls == len(calls)
    # Most calls return (the rest trap alike: out-of-bounds addresses).
    assert r.returned > 0.8 * len(calls)
