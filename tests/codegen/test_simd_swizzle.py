"""i8x16.swizzle (and relaxed_swizzle, which shares its lowering): exact on every
index byte, and one byte shuffle where the CPU has one.

The lowering is written as the pattern LLVM's x86 backend matches as a variable
permute (simd.py `_swizzle`); a select per lane hides it and costs ~130
instructions per swizzle, which made the swizzle loops of examples/simdblur
slower than wasmtime's.  The spec files check the values; these tests check
them on every index class (0-15, 16-127, 128-255) at -O0/-O2 on the host CPU
and the SSE2 baseline, and pin the instruction selection."""

from __future__ import annotations

import ctypes
import platform
import random

import llvmlite.binding as llvm
import pytest
from numeric_harness import Jit, TestSink, init_llvm, module_text, optimize

from wasmaot.codegen import simd

OPS = ("i8x16.swizzle", "i8x16.relaxed_swizzle")


def swizzle_function(op: str) -> str:
    """void swz(const u8 a[16], const u8 s[16], u8 out[16])"""
    decls: dict = {}
    sink = TestSink(decls)
    sink.emit("%va = load <2 x i64>, ptr %a, align 1")
    sink.emit("%vs = load <2 x i64>, ptr %s, align 1")
    (r,) = simd.HANDLERS[op](sink, ["%va", "%vs"], ())
    sink.emit(f"store <2 x i64> {r}, ptr %out, align 1")
    body = "\n".join(sink.lines)
    fn = f"define void @swz(ptr %a, ptr %s, ptr %out) {{\n{body}\n  ret void\n}}\n"
    return module_text([fn], decls)


def expected(a: bytes, s: bytes) -> bytes:
    return bytes(a[i] if i < 16 else 0 for i in s)


def index_vectors() -> list[bytes]:
    """Every index class in every lane: in range, just out (16, 127), with the
    top bit set (128, 255: pshufb zeroes on it, tbl on >= 16), and random."""
    rng = random.Random(9)
    fixed = [bytes(range(16)), bytes(range(15, -1, -1)), bytes([16] * 16), bytes([255] * 16),
             bytes([15, 16, 127, 128, 255, 0, 31, 32, 143, 240, 1, 17, 129, 14, 30, 254])]
    return fixed + [bytes(rng.choice((rng.randrange(16), rng.randrange(256)))
                          for _ in range(16)) for _ in range(300)]


BUILDS = [(0, None), (2, None)]
if platform.machine() in ("x86_64", "AMD64"):
    BUILDS += [(0, "x86-64"), (2, "x86-64")]  # SSE2 only: no pshufb


@pytest.mark.parametrize("opt,cpu", BUILDS, ids=[f"O{o}-{c or 'host'}" for o, c in BUILDS])
@pytest.mark.parametrize("op", OPS)
def test_swizzle_selects_lane_or_zero(op, opt, cpu):
    jit = Jit(swizzle_function(op), opt, cpu)
    fn = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)(
        jit.address("swz"))
    a = bytes(range(0xA0, 0xB0))
    out = ctypes.create_string_buffer(16)
    bad = []
    for s in index_vectors():
        fn(a, s, out)
        if out.raw != expected(a, s):
            bad.append(f"s={s.hex()}: {out.raw.hex()} != {expected(a, s).hex()}")
    assert not bad, f"{len(bad)} wrong, e.g. " + "; ".join(bad[:4])


def assembly(triple: str, cpu: str) -> str:
    init_llvm()
    module = llvm.parse_assembly(swizzle_function("i8x16.swizzle"))
    module.triple = triple
    tm = llvm.Target.from_triple(triple).create_target_machine(cpu=cpu, opt=2)
    optimize(module, tm, 2)
    return tm.emit_assembly(module)


@pytest.mark.parametrize("cpu", ["x86-64-v2", "x86-64-v3"])
def test_swizzle_is_one_pshufb_with_ssse3(cpu):
    asm = assembly("x86_64-unknown-linux-gnu", cpu)
    shuffles = asm.count("pshufb")  # vpshufb on v3
    per_lane = sum(asm.count(m) for m in ("pextrb", "pinsrb", "movzbl", "movb"))
    assert (shuffles, per_lane) == (1, 0), asm
